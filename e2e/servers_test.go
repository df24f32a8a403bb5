package e2e

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
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/syncbuf"
)

// Servers of a test's own, which the test may stop and start again: the
// fault tests count a real restart as a fault. Each keeps its port across
// restarts, so the demo's URL stays right.

// freePort returns a 127.0.0.1 port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// pgCluster is a throwaway PostgreSQL cluster under /tmp, made with the
// binaries of SIKKA_TEST_PGBIN, as scripts/test.sh makes its own: initdb and
// pg_ctl run as the postgres user (runuser) when the test runs as root.
type pgCluster struct {
	bin, dir string
	port     int
	URL      string // postgres://postgres@127.0.0.1:port/sikka_test?sslmode=disable
}

// startPostgres makes and starts a cluster with a database sikka_test, and
// removes it when the test ends. It skips without SIKKA_TEST_PGBIN.
func startPostgres(t *testing.T) *pgCluster {
	t.Helper()
	bin := os.Getenv("SIKKA_TEST_PGBIN")
	if bin == "" {
		t.Skip("SIKKA_TEST_PGBIN not set: run scripts/test.sh, which exports the PostgreSQL binaries")
	}
	dir, err := os.MkdirTemp("", "sikka-pgfault-")
	require.NoError(t, err)
	if os.Geteuid() == 0 {
		require.NoError(t, exec.Command("chown", "postgres:postgres", dir).Run())
	}
	c := &pgCluster{bin: bin, dir: dir, port: freePort(t)}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/sikka_test?sslmode=disable", c.port)
	t.Cleanup(func() {
		c.pg(t, "pg_ctl", "-D", c.dir+"/data", "-m", "immediate", "-w", "stop") //nolint:errcheck // may be stopped
		os.RemoveAll(c.dir)
	})
	out, err := c.pg(t, "initdb", "-D", dir+"/data", "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync")
	require.NoError(t, err, "initdb: %s", out)
	// The port was free a moment ago; another process may take it first.
	for attempt := 1; ; attempt++ {
		out, err := c.start(t)
		if err == nil {
			break
		}
		log, _ := os.ReadFile(c.dir + "/server.log")
		if attempt == 3 || !strings.Contains(string(log), "could not bind") {
			t.Fatalf("pg_ctl start: %v: %s\n%s", err, out, log)
		}
		c.port = freePort(t)
		c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/sikka_test?sslmode=disable", c.port)
	}
	out, err = c.pg(t, "createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres", "sikka_test")
	require.NoError(t, err, "createdb: %s", out)
	return c
}

// pg runs a PostgreSQL program as the postgres user when we are root.
func (c *pgCluster) pg(t *testing.T, prog string, args ...string) ([]byte, error) {
	t.Helper()
	path := filepath.Join(c.bin, prog)
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
func (c *pgCluster) Start(t *testing.T) {
	t.Helper()
	out, err := c.start(t)
	require.NoError(t, err, "pg_ctl start: %s", out)
}

func (c *pgCluster) start(t *testing.T) ([]byte, error) {
	return c.pg(t, "pg_ctl", "-D", c.dir+"/data", "-l", c.dir+"/server.log", "-w", "-t", "30", "-o",
		fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off", c.port, c.dir), "start")
}

// Stop stops the cluster with mode "fast" (clients disconnected, a clean
// shutdown) or "immediate" (every process killed, as a crash), and waits.
func (c *pgCluster) Stop(t *testing.T, mode string) {
	t.Helper()
	out, err := c.pg(t, "pg_ctl", "-D", c.dir+"/data", "-m", mode, "-w", "-t", "30", "stop")
	require.NoError(t, err, "pg_ctl stop: %s", out)
}

// pids returns the cluster's postmaster and its children (the backends and
// helpers), read from postmaster.pid and /proc.
func (c *pgCluster) pids(t *testing.T) []int {
	t.Helper()
	b, err := os.ReadFile(c.dir + "/data/postmaster.pid")
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(b), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(first))
	require.NoError(t, err)
	pids := []int{postmaster}
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
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
	return pids
}

// vaultServer is a Vault dev server of the test's own (SIKKA_TEST_VAULT_BIN)
// on a fixed port with a fixed root token. Dev mode keeps everything in
// memory: a restart comes back with an empty secret/ (KV v2) and the same
// token, and every secret written before is gone. So a restart test on it
// can assert what the flow does while Vault is down and that it succeeds
// once Vault is back, but not that secrets survive the restart: that takes
// startVaultPersistent.
type vaultServer struct {
	bin, Addr, Token string
	port             int
	cmd              *exec.Cmd
	done             chan struct{}
	logs             *syncbuf.Buffer

	// A persistent server (startVaultPersistent) keeps its data in dir.
	dir       string
	unsealKey string
	sealed    bool // the next Start leaves it sealed
}

// startVaultPersistent starts a Vault server that is not in dev mode: file
// storage under a folder of the test's own, initialised with one unseal key,
// KV v2 mounted at secret/. Its data survives a restart; each Start unseals
// it again unless StartSealed is used. Stopped when the test ends.
func startVaultPersistent(t *testing.T) *vaultServer {
	t.Helper()
	return runVault(t, &vaultServer{dir: t.TempDir()})
}

// firstStart picks the server's port and starts it, on another port if
// another process took the free one first.
func (v *vaultServer) firstStart(t *testing.T) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		v.port = freePort(t)
		v.Addr = fmt.Sprintf("http://127.0.0.1:%d", v.port)
		if v.dir != "" {
			cfg := fmt.Sprintf(`storage "file" { path = %q }
listener "tcp" {
  address     = "127.0.0.1:%d"
  tls_disable = true
}
disable_mlock = true
api_addr      = %q
`, v.dir+"/data", v.port, v.Addr)
			require.NoError(t, os.WriteFile(v.dir+"/vault.hcl", []byte(cfg), 0o600))
		}
		err := v.start(t)
		if err == nil {
			return
		}
		if attempt == 3 || !strings.Contains(v.logs.String(), "address already in use") {
			t.Fatalf("%v; its log:\n%s", err, v.logs)
		}
		v.logs = &syncbuf.Buffer{}
	}
}

// api returns a Vault client on v with its root token.
func (v *vaultServer) api(t *testing.T) *vaultapi.Client {
	t.Helper()
	c, err := vaultapi.NewClient(&vaultapi.Config{Address: v.Addr, Timeout: 10 * time.Second})
	require.NoError(t, err)
	c.SetToken(v.Token)
	return c
}

// initialise initialises a new persistent server (one key share), unseals
// it and mounts KV v2 at secret/.
func (v *vaultServer) initialise(t *testing.T) {
	t.Helper()
	c := v.api(t)
	res, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	require.NoError(t, err, "vault operator init")
	v.unsealKey, v.Token = res.Keys[0], res.RootToken
	v.Unseal(t)
	c.SetToken(v.Token)
	require.NoError(t, c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}))
	// KV v2 finishes its set-up in the background: wait until it writes.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.KVv2("secret").Put(context.Background(), "probe", map[string]any{"ok": "1"})
		if err == nil {
			require.NoError(t, c.KVv2("secret").DeleteMetadata(context.Background(), "probe"))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("KV v2 at secret/ not writable after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Unseal unseals a persistent server and waits until it is active.
func (v *vaultServer) Unseal(t *testing.T) {
	t.Helper()
	st, err := v.api(t).Sys().Unseal(v.unsealKey)
	require.NoError(t, err, "vault operator unseal")
	require.False(t, st.Sealed)
	require.NoError(t, v.waitHealth(t, http.StatusOK))
}

// startVault starts a dev server and stops it when the test ends. It skips
// without SIKKA_TEST_VAULT_BIN.
func startVault(t *testing.T) *vaultServer {
	t.Helper()
	return runVault(t, &vaultServer{Token: "fault-" + randomHex(t)})
}

// runVault starts v (dev mode, or persistent when v.dir is set) with the
// binary of SIKKA_TEST_VAULT_BIN, skipping without it, and stops it when the
// test ends, showing its log if the test failed.
func runVault(t *testing.T, v *vaultServer) *vaultServer {
	t.Helper()
	v.bin = os.Getenv("SIKKA_TEST_VAULT_BIN")
	if v.bin == "" {
		t.Skip("SIKKA_TEST_VAULT_BIN not set: run scripts/test.sh, which builds the Vault server")
	}
	v.logs = &syncbuf.Buffer{}
	t.Cleanup(func() {
		if v.cmd != nil {
			v.Stop(t)
		}
		if t.Failed() {
			t.Logf("vault log:\n%s", v.logs)
		}
	})
	v.firstStart(t)
	return v
}

// StartSealed starts a persistent server again without unsealing it: Vault
// answers 503 "Vault is sealed" until Unseal.
func (v *vaultServer) StartSealed(t *testing.T) {
	t.Helper()
	v.sealed = true
	defer func() { v.sealed = false }()
	v.Start(t)
}

// Start starts the server (again) and waits until /v1/sys/health answers
// 200 (a persistent server is initialised the first time, unsealed the
// next ones).
func (v *vaultServer) Start(t *testing.T) {
	t.Helper()
	if err := v.start(t); err != nil {
		t.Fatalf("%v; its log:\n%s", err, v.logs)
	}
}

// start is Start, returning an error when the server exits at once (its
// port taken, say).
func (v *vaultServer) start(t *testing.T) error {
	t.Helper()
	require.Nil(t, v.cmd, "vault already running")
	var cmd *exec.Cmd
	if v.dir == "" {
		cmd = exec.Command(v.bin, "server", "-dev", "-dev-root-token-id="+v.Token,
			fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", v.port), "-dev-no-store-token")
	} else {
		cmd = exec.Command(v.bin, "server", "-config="+v.dir+"/vault.hcl")
	}
	cmd.Stdout, cmd.Stderr = v.logs, v.logs
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	require.NoError(t, cmd.Start())
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
	if err := v.waitHealth(t, code); err != nil {
		v.cmd = nil
		return err
	}
	switch {
	case v.dir == "" || v.sealed:
	case v.unsealKey == "":
		v.initialise(t)
	default:
		v.Unseal(t)
	}
	return nil
}

// waitHealth waits until /v1/sys/health answers code (200 active, 501 not
// initialised, 503 sealed); an error if the server exits meanwhile.
func (v *vaultServer) waitHealth(t *testing.T, code int) error {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-v.done:
			return errors.New("vault exited at start")
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
					return errors.New("vault exited at start")
				case <-time.After(200 * time.Millisecond):
					return nil
				}
			}
		}
		select {
		case <-v.done:
			return errors.New("vault exited at start")
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("vault health not %d after 60s; its log:\n%s", code, v.logs)
	return nil
}

// Stop stops the server (SIGTERM, then SIGKILL after 10s) and waits until
// its port is closed.
func (v *vaultServer) Stop(t *testing.T) {
	t.Helper()
	if v.cmd == nil {
		return
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
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", v.port), 200*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("vault port %d still open after stop", v.port)
}
