package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/syncbuf"
	"github.com/parlae/sikka-connect/mocksikka"
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
	build := exec.Command("go", "build", "-o", demoBinary, "../cmd/sikka-demo")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building sikka-demo:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// mockSikka is the mock Sikka in the test process, wrapped so the test sees
// every authorization code it hands to a browser (to scan the demo's logs
// for them).
type mockSikka struct {
	*mocksikka.Server
	URL string

	mu    sync.Mutex
	codes []string
	keys  []string
}

func startMock(t *testing.T) *mockSikka {
	t.Helper()
	m := &mockSikka{Server: mocksikka.New()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		m.Server.ServeHTTP(rec, r)
		m.mu.Lock()
		defer m.mu.Unlock()
		if u, err := url.Parse(rec.location); err == nil {
			if code := u.Query().Get("code"); code != "" {
				m.codes = append(m.codes, code)
			}
		}
		var key struct {
			RequestKey string `json:"request_key"`
			RefreshKey string `json:"refresh_key"`
		}
		if r.URL.Path == "/v4/request_key" && json.Unmarshal(rec.body.Bytes(), &key) == nil {
			for _, k := range []string{key.RequestKey, key.RefreshKey} {
				if k != "" {
					m.keys = append(m.keys, k)
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

func (m *mockSikka) issuedCodes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.codes...)
}

// issuedKeys returns every request and refresh key the mock handed out.
func (m *mockSikka) issuedKeys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.keys...)
}

// recorder keeps a copy of a response's Location header and body.
type recorder struct {
	http.ResponseWriter
	location string
	body     bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.location = r.Header().Get("Location")
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
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
	cmd.Env = append(os.Environ(), env...)
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

// chromiumPath is Debian's Chromium, which scripts/test.sh installs.
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts a headless Chromium with a profile of its own, for one
// test. The first action starts it; that one must not carry a timeout.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found: run scripts/test.sh, which installs Debian's chromium", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1024, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "starting Chromium")
	return ctx
}

// artifactDir is where screenshots go (not committed): $SIKKA_ARTIFACTS, or
// artifacts/ at the repository root.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("SIKKA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}
