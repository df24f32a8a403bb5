// Package testservers is the one place that knows how to start the real
// servers the tests run on: a throwaway PostgreSQL cluster (the binaries of
// a Debian postgresql package) and a Vault server (the binary
// scripts/lib/servers.sh builds), each on a free loopback port. The e2e
// tests start their own through it to stop and restart them as faults;
// scripts/lib/servers.sh starts the shared ones through its command
// (internal/testservers/cmd/testservers), which prints the variables the
// tests read (SIKKA_TEST_DATABASE_URL, SIKKA_TEST_PGBIN,
// SIKKA_TEST_VAULT_ADDR, SIKKA_TEST_VAULT_TOKEN, SIKKA_TEST_VAULT_BIN).
package testservers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/parlae/sikka-connect/internal/syncbuf"
)

// FreePort returns a 127.0.0.1 port nothing listens on right now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ---- PostgreSQL ----------------------------------------------------------------

// Postgres is a throwaway cluster under /tmp, made with the binaries in
// Bin: initdb and pg_ctl run as the postgres user (runuser) when the
// process runs as root. It keeps its port across restarts.
type Postgres struct {
	Bin, Dir string
	Port     int
	URL      string // postgres://postgres@127.0.0.1:port/sikka_test?sslmode=disable
	options  string // extra server options
}

// StartPostgres makes and starts a cluster with a database sikka_test on a
// free port (another if one is taken meanwhile). maxConns > 0 sets
// max_connections. Remove stops it and deletes its folder.
func StartPostgres(bin string, maxConns int) (*Postgres, error) {
	dir, err := os.MkdirTemp("", "sikka-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Postgres{Bin: bin, Dir: dir}
	if maxConns > 0 {
		c.options = fmt.Sprintf(" -c max_connections=%d", maxConns)
	}
	if err := c.create(); err != nil {
		c.Remove()
		return nil, err
	}
	return c, nil
}

func (c *Postgres) create() error {
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "postgres:postgres", c.Dir).CombinedOutput(); err != nil {
			return fmt.Errorf("chown %s: %v: %s", c.Dir, err, out)
		}
	}
	out, err := c.Run("initdb", "-D", c.Dir+"/data", "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync")
	if err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	// The port is free a moment ago; another process may take it first.
	for attempt := 1; ; attempt++ {
		if c.Port, err = FreePort(); err != nil {
			return err
		}
		c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/sikka_test?sslmode=disable", c.Port)
		out, err := c.start()
		if err == nil {
			break
		}
		log, _ := os.ReadFile(c.Dir + "/server.log")
		if attempt == 5 || !strings.Contains(string(log), "could not bind") {
			return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
		}
	}
	out, err = c.Run("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres", "sikka_test")
	if err != nil {
		return fmt.Errorf("createdb: %v: %s", err, out)
	}
	return nil
}

// Run runs a PostgreSQL program of Bin, as the postgres user when we are root.
func (c *Postgres) Run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.Bin, prog)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	return cmd.CombinedOutput()
}

// Start starts the cluster (again) on its port and waits until it accepts
// connections.
func (c *Postgres) Start() error {
	if out, err := c.start(); err != nil {
		return fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	return nil
}

func (c *Postgres) start() ([]byte, error) {
	return c.Run("pg_ctl", "-D", c.Dir+"/data", "-l", c.Dir+"/server.log", "-w", "-t", "30", "-o",
		fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off%s", c.Port, c.Dir, c.options), "start")
}

// Stop stops the cluster with mode "fast" (clients disconnected, a clean
// shutdown) or "immediate" (every process killed, as a crash), and waits.
func (c *Postgres) Stop(mode string) error {
	if out, err := c.Run("pg_ctl", "-D", c.Dir+"/data", "-m", mode, "-w", "-t", "30", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// Remove stops the cluster if it runs and deletes its folder.
func (c *Postgres) Remove() {
	c.Run("pg_ctl", "-D", c.Dir+"/data", "-m", "immediate", "-w", "stop") //nolint:errcheck // may be stopped
	os.RemoveAll(c.Dir)
}

// PIDs returns the cluster's postmaster and its children (the backends and
// helpers), read from postmaster.pid and /proc.
func (c *Postgres) PIDs() ([]int, error) {
	b, err := os.ReadFile(c.Dir + "/data/postmaster.pid")
	if err != nil {
		return nil, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return nil, err
	}
	pids := []int{postmaster}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so cut at the last ')'.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(postmaster) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// ---- Vault ---------------------------------------------------------------------

// Vault is a Vault server of the Bin binary on a fixed port. A dev server
// (StartVaultDev) keeps everything in memory: a restart comes back with an
// empty secret/ (KV v2) and the same token. A persistent one
// (StartVaultPersistent) keeps its data in a folder, so secrets survive a
// restart; each Start unseals it again unless StartSealed is used.
type Vault struct {
	Bin, Addr, Token string
	Port             int
	Logs             *syncbuf.Buffer // the server's output, across restarts

	cmd  *exec.Cmd
	done chan struct{}
	home string // HOME of the server (a dev server writes a token helper file there)

	// A persistent server keeps its data in dir.
	dir       string
	unsealKey string
	sealed    bool // the next Start leaves it sealed
}

// StartVaultDev starts a dev server with the root token given on a free
// port (another if one is taken meanwhile). home is its HOME.
func StartVaultDev(bin, token, home string) (*Vault, error) {
	v := &Vault{Bin: bin, Token: token, home: home, Logs: &syncbuf.Buffer{}}
	return v, v.firstStart()
}

// StartVaultPersistent starts a server that is not in dev mode: file
// storage under dir, initialised with one unseal key, KV v2 mounted at
// secret/. home is its HOME.
func StartVaultPersistent(bin, dir, home string) (*Vault, error) {
	v := &Vault{Bin: bin, dir: dir, home: home, Logs: &syncbuf.Buffer{}}
	return v, v.firstStart()
}

// firstStart picks the server's port and starts it, on another port if
// another process took the free one first.
func (v *Vault) firstStart() error {
	for attempt := 1; ; attempt++ {
		var err error
		if v.Port, err = FreePort(); err != nil {
			return err
		}
		v.Addr = fmt.Sprintf("http://127.0.0.1:%d", v.Port)
		if v.dir != "" {
			cfg := fmt.Sprintf(`storage "file" { path = %q }
listener "tcp" {
  address     = "127.0.0.1:%d"
  tls_disable = true
}
disable_mlock = true
api_addr      = %q
`, v.dir+"/data", v.Port, v.Addr)
			if err := os.WriteFile(v.dir+"/vault.hcl", []byte(cfg), 0o600); err != nil {
				return err
			}
		}
		err = v.start()
		if err == nil {
			return nil
		}
		if attempt == 3 || !strings.Contains(v.Logs.String(), "address already in use") {
			return fmt.Errorf("%v; its log:\n%s", err, v.Logs)
		}
		v.Logs = &syncbuf.Buffer{}
	}
}

// API returns a Vault client on v with its root token.
func (v *Vault) API() (*vaultapi.Client, error) {
	c, err := vaultapi.NewClient(&vaultapi.Config{Address: v.Addr, Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	c.SetToken(v.Token)
	return c, nil
}

// initialise initialises a new persistent server (one key share), unseals
// it and mounts KV v2 at secret/.
func (v *Vault) initialise() error {
	c, err := v.API()
	if err != nil {
		return err
	}
	res, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return fmt.Errorf("vault operator init: %w", err)
	}
	v.unsealKey, v.Token = res.Keys[0], res.RootToken
	if err := v.Unseal(); err != nil {
		return err
	}
	c.SetToken(v.Token)
	if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		return err
	}
	// KV v2 finishes its set-up in the background: wait until it writes.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.KVv2("secret").Put(context.Background(), "probe", map[string]any{"ok": "1"})
		if err == nil {
			return c.KVv2("secret").DeleteMetadata(context.Background(), "probe")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("KV v2 at secret/ not writable after 30s: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Unseal unseals a persistent server and waits until it is active.
func (v *Vault) Unseal() error {
	c, err := v.API()
	if err != nil {
		return err
	}
	st, err := c.Sys().Unseal(v.unsealKey)
	if err != nil {
		return fmt.Errorf("vault operator unseal: %w", err)
	}
	if st.Sealed {
		return errors.New("vault still sealed after unseal")
	}
	return v.waitHealth(http.StatusOK)
}

// StartSealed starts a persistent server again without unsealing it: Vault
// answers 503 "Vault is sealed" until Unseal.
func (v *Vault) StartSealed() error {
	v.sealed = true
	defer func() { v.sealed = false }()
	return v.Start()
}

// Start starts the server (again) and waits until /v1/sys/health answers
// 200 (a persistent server is initialised the first time, unsealed the
// next ones).
func (v *Vault) Start() error {
	if err := v.start(); err != nil {
		return fmt.Errorf("%v; its log:\n%s", err, v.Logs)
	}
	return nil
}

// start is Start, with an error when the server exits at once (its port
// taken, say).
func (v *Vault) start() error {
	if v.cmd != nil {
		return errors.New("vault already running")
	}
	var cmd *exec.Cmd
	if v.dir == "" {
		cmd = exec.Command(v.Bin, "server", "-dev", "-dev-root-token-id="+v.Token,
			fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", v.Port), "-dev-no-store-token")
	} else {
		cmd = exec.Command(v.Bin, "server", "-config="+v.dir+"/vault.hcl")
	}
	cmd.Stdout, cmd.Stderr = v.Logs, v.Logs
	cmd.Env = append(os.Environ(), "HOME="+v.home)
	if err := cmd.Start(); err != nil {
		return err
	}
	v.cmd, v.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(v.done) //nolint:errcheck // exit status is not the point
	code := http.StatusOK
	switch {
	case v.dir == "":
	case v.unsealKey == "":
		code = http.StatusNotImplemented // not initialised
	default:
		code = http.StatusServiceUnavailable // sealed
	}
	if err := v.waitHealth(code); err != nil {
		if !errors.Is(err, errExited) {
			_ = v.Stop()
		}
		v.cmd = nil
		return err
	}
	switch {
	case v.dir == "" || v.sealed:
		return nil
	case v.unsealKey == "":
		return v.initialise()
	default:
		return v.Unseal()
	}
}

var errExited = errors.New("vault exited at start")

// waitHealth waits until /v1/sys/health answers code (200 active, 501 not
// initialised, 503 sealed); errExited if the server exits meanwhile.
func (v *Vault) waitHealth(code int) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-v.done:
			return errExited
		default:
		}
		res, err := client.Get(v.Addr + "/v1/sys/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == code {
				// Make sure it was ours that answered, not a server that
				// took the port first while ours failed to bind.
				select {
				case <-v.done:
					return errExited
				case <-time.After(200 * time.Millisecond):
					return nil
				}
			}
		}
		select {
		case <-v.done:
			return errExited
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("vault health not %d after 60s", code)
}

// Stop stops the server (SIGTERM, then SIGKILL after 10s) and waits until
// its port is closed.
func (v *Vault) Stop() error {
	if v.cmd == nil {
		return nil
	}
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.done:
	case <-time.After(10 * time.Second):
		_ = v.cmd.Process.Kill()
		<-v.done
	}
	v.cmd = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", v.Port), 200*time.Millisecond)
		if err != nil {
			return nil
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("vault port %d still open after stop", v.Port)
}
