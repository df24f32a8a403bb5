package e2e

// The sikka-demo binary, built once for the package, and its processes.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/syncbuf"
)

// demoBinary is the sikka-demo binary TestMain builds once for all tests.
var demoBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sikka-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	demoBinary = filepath.Join(dir, "sikka-demo")
	build := exec.Command("go", "build", "-o", demoBinary, "github.com/parlae/sikka-connect/cmd/sikka-demo")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building sikka-demo:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// demo is a running sikka-demo process.
type demo struct {
	URL  string // the setup page
	Base string // scheme://host:port of the host app
	logs *syncbuf.Buffer
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// startDemo runs the sikka-demo binary with args and extra environment,
// waits for the URL on its first line of stdout, and stops it (SIGTERM) when
// the test ends, failing the test if it does not stop cleanly. A demo the
// test killed (Kill) is not checked.
func startDemo(t *testing.T, env []string, args ...string) *demo {
	t.Helper()
	cmd := exec.Command(demoBinary, append([]string{"-addr", "127.0.0.1:0", "-log-format", "json"}, args...)...)
	// A webhook key of the test's own: with an external mock, the demo warns about its public
	// default key (a flag or env of the test still wins).
	cmd.Env = append(append(os.Environ(), "SIKKA_WEBHOOK_KEYS=e2e-webhook-key"), env...)
	logs := &syncbuf.Buffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	d := &demo{logs: logs, cmd: cmd, done: make(chan struct{})}
	go func() { d.err = cmd.Wait(); close(d.done) }()

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout) //nolint:errcheck // drain
	}()
	var first string
	select {
	case first = <-lines:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("sikka-demo printed no URL; its log:\n%s", logs)
	}
	pageURL, ok := strings.CutPrefix(first, "open ")
	require.True(t, ok, "first line %q; log:\n%s", first, logs)
	u, err := url.Parse(pageURL)
	require.NoError(t, err)
	d.URL, d.Base = pageURL, u.Scheme+"://"+u.Host

	t.Cleanup(func() {
		select {
		case <-d.done:
			return // killed or exited on purpose
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
			if d.err != nil {
				t.Errorf("sikka-demo did not stop cleanly: %v; log:\n%s", d.err, logs)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("sikka-demo did not stop within 20s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("sikka-demo log:\n%s", logs)
		}
	})
	return d
}

// Kill stops the demo at once with SIGKILL, as a crash would, and waits
// until it is gone.
func (d *demo) Kill(t *testing.T) {
	t.Helper()
	require.NoError(t, d.cmd.Process.Kill())
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatal("sikka-demo still running 10s after SIGKILL")
	}
}

// waitDemoLog waits until the demo logged a line containing text.
func waitDemoLog(t *testing.T, d *demo, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(d.logs.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("sikka-demo never logged %q; its log:\n%s", text, d.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// demoLogRecord returns the first JSON log line whose msg is msg (waiting for
// it: stderr is copied to the buffer concurrently with stdout).
func demoLogRecord(t *testing.T, d *demo, msg string) map[string]any {
	t.Helper()
	waitDemoLog(t, d, `"msg":"`+msg+`"`)
	sc := bufio.NewScanner(strings.NewReader(d.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	t.Fatalf("no %q in the demo's log:\n%s", msg, d.logs)
	return nil
}
