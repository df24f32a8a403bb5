package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/clitest"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/internal/serve"
	"github.com/parlae/sikka-connect/internal/syncbuf"
)

// runMainEnv makes this test binary run the demo's real main instead of
// the tests: the start-up tests check the process as a user sees it (its
// exit code, every line it prints), panics included.
const runMainEnv = "SIKKA_DEMO_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	clitest.Main(m, runMainEnv, main)
}

// runMain runs the demo's main in a child process with args and only the
// environment given (no DATABASE_URL, VAULT_ADDR… of the machine), and
// returns its exit code, stdout and stderr.
func runMain(t *testing.T, args []string, env ...string) (int, string, string) {
	t.Helper()
	return clitest.Run(t, runMainEnv, args, env...)
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	return clitest.ClosedAddr(t)
}

// assertOneLineExit1 checks a failed start as the user sees it: exit code
// 1, nothing on stdout, one line on stderr naming the demo, no panic.
func assertOneLineExit1(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	assert.True(t, clitest.OneLineExit1("sikka-demo", code, stdout, stderr),
		"want exit code 1, no stdout and one line on stderr, no panic; got exit code %d, stdout %q, stderr:\n%s",
		code, stdout, stderr)
}

// Every start-up error is one line that says what failed and what to do,
// with exit code 1: the README's first command used to panic (a nil
// pointer, after the named result was set to nil before a deferred close)
// on each of these.
func TestStartupErrorsAreOneLineAndExit1(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cases := []struct {
		name string
		args []string
		env  []string
		want []string // in the line
	}{
		{"busy port", []string{"-addr", busy.Addr().String()}, nil,
			[]string{"-addr " + busy.Addr().String(), "address already in use", "pick another port"}},
		{"busy port from env", nil, []string{"SIKKA_DEMO_ADDR=" + busy.Addr().String()},
			[]string{"address already in use", "SIKKA_DEMO_ADDR"}},
		{"unreachable database", []string{"-addr", "127.0.0.1:0",
			"-database-url", "postgres://demo:hunter2@" + closedAddr(t) + "/demo?sslmode=disable"}, nil,
			[]string{"-database-url", "is PostgreSQL running"}},
		{"vault without VAULT_ADDR", []string{"-addr", "127.0.0.1:0", "-secrets", "vault"}, nil,
			[]string{"-secrets vault", "VAULT_ADDR"}},
		{"bad state keys", []string{"-addr", "127.0.0.1:0", "-state-keys", "no-colon"}, nil,
			[]string{"-state-keys", "id:base64secret"}},
		{"state key not base64", []string{"-addr", "127.0.0.1:0", "-state-keys", "k1:s3cr3t!!"}, nil,
			[]string{"-state-keys", "not base64"}},
		{"bad sikka url", []string{"-addr", "127.0.0.1:0", "-sikka-url", "mock:8089"}, nil,
			[]string{"-sikka-url", "absolute http or https URL"}},
		{"unknown flag", []string{"-nope"}, nil, []string{"-nope", "-h"}},
		{"bad flag value", []string{"-refresh-interval", "soon"}, nil, []string{"-refresh-interval", "-h"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, c.args, c.env...)
			assertOneLineExit1(t, code, stdout, stderr)
			for _, w := range c.want {
				assert.Contains(t, stderr, w)
			}
			assert.NotContains(t, stderr, "hunter2", "no password in the error")
			assert.NotContains(t, stderr, "s3cr3t", "no state key in the error")
		})
	}
}

// demo is a demo started in this process.
type demo struct {
	url  string // base URL
	app  *app
	logs *syncbuf.Buffer
}

// startDemo starts the demo with args (and the given environment), after
// tweak changes the parsed options; it stops when the test ends.
func startDemo(t *testing.T, args []string, env map[string]string, tweak func(*options)) *demo {
	t.Helper()
	o, err := parseOptions(append([]string{"-addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	if tweak != nil {
		tweak(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &demo{logs: &syncbuf.Buffer{}}
	d.app, err = newApp(ctx, o, d.logs)
	require.NoError(t, err)
	stdoutR, stdoutW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- d.app.serve(ctx, stdoutW)
		d.app.close()
		stdoutW.Close()
	}()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	require.NoError(t, err, "logs: %s", d.logs.String())
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()
	d.url = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "open "), "/agent/setup/pms")
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("the demo did not stop")
		}
	})
	return d
}

func (d *demo) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(d.url + path)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

func (d *demo) readyz(t *testing.T) (int, readiness) {
	t.Helper()
	res, body := d.get(t, "/readyz")
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	var r readiness
	require.NoError(t, json.Unmarshal([]byte(body), &r), body)
	return res.StatusCode, r
}

func TestHealthReadyAndMetrics(t *testing.T) {
	d := startDemo(t, nil, nil, nil)

	res, body := d.get(t, "/healthz")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "ok\n", body)

	code, r := d.readyz(t)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, readiness{Status: "ready"}, r)

	// The collector of middleware/metrics counts the flows.
	res, _ = d.get(t, "/agent/setup/pms/start")
	require.Equal(t, http.StatusFound, res.StatusCode)
	res, body = d.get(t, "/metrics")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "sikka_connect_flows_started_total 1\n")
	assert.Contains(t, body, `sikka_connect_refreshes_total{result="refreshed"} 0`)
}

func TestReadyzNamesTheSikkaAPIWhenUnreachable(t *testing.T) {
	d := startDemo(t, []string{"-sikka-url", "http://" + closedAddr(t)}, nil, nil)
	code, r := d.readyz(t)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, readiness{Status: "unavailable", Failing: []string{"sikka"}}, r)
	assert.Contains(t, d.logs.String(), "dependency=sikka")

	// Liveness does not depend on Sikka.
	res, _ := d.get(t, "/healthz")
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

func TestReadyzNamesTheSecretStoreWhenUnreachable(t *testing.T) {
	// The Vault store reads the process environment.
	t.Setenv("VAULT_ADDR", "http://"+closedAddr(t))
	t.Setenv("VAULT_TOKEN", "test-token")
	t.Setenv("SIKKA_VAULT_TIMEOUT", "1s")
	d := startDemo(t, []string{"-secrets", "vault"}, nil, nil)
	code, r := d.readyz(t)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, readiness{Status: "unavailable", Failing: []string{"secrets"}}, r)
	assert.NotContains(t, d.logs.String(), "test-token")
}

func TestReadyzChecksPostgreSQL(t *testing.T) {
	d := startDemo(t, []string{"-database-url", pgtest.URL(t)}, nil, nil)
	code, r := d.readyz(t)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, readiness{Status: "ready"}, r)

	require.NoError(t, d.app.db.Close()) // PostgreSQL gone, as far as the demo can tell
	code, r = d.readyz(t)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, readiness{Status: "unavailable", Failing: []string{"postgres"}}, r)
}

// readyz's answer is 503 while a dependency is down, and names each one.
func TestReadyzNamesEveryFailingDependency(t *testing.T) {
	h := readyz([]dependency{
		{"postgres", func(context.Context) error { return errors.New("down") }},
		{"secrets", func(context.Context) error { return nil }},
		{"sikka", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}, // hangs: bounded by readyTimeout
	}, slogDiscard())
	srv := &http.Server{Handler: h}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()
	res, err := http.Get("http://" + ln.Addr().String() + "/readyz")
	require.NoError(t, err)
	defer res.Body.Close()
	var r readiness
	require.NoError(t, json.NewDecoder(res.Body).Decode(&r))
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Equal(t, readiness{Status: "unavailable", Failing: []string{"postgres", "sikka"}}, r)
}

// -healthcheck probes /healthz of a running demo: exit 0 when it answers
// 200, else one line and exit 1.
func TestHealthcheckFlag(t *testing.T) {
	d := startDemo(t, nil, nil, nil)
	addr := strings.TrimPrefix(d.url, "http://")

	code, stdout, stderr := runMain(t, []string{"-healthcheck", "-addr", addr})
	assert.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Empty(t, stdout)
	assert.Empty(t, stderr)

	// The address from the environment, as docker-compose sets it, with the
	// unspecified host a container listens on.
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	code, _, stderr = runMain(t, []string{"-healthcheck"}, "SIKKA_DEMO_ADDR=0.0.0.0:"+port)
	assert.Equal(t, 0, code, "stderr: %s", stderr)

	code, stdout, stderr = runMain(t, []string{"-healthcheck", "-addr", closedAddr(t)})
	assertOneLineExit1(t, code, stdout, stderr)
	assert.Contains(t, stderr, "connection refused")

	code, stdout, stderr = runMain(t, []string{"-healthcheck", "-addr", "127.0.0.1:0"})
	assertOneLineExit1(t, code, stdout, stderr)
	assert.Contains(t, stderr, "no fixed port")

	// Anything but 200 is unhealthy.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/healthz", r.URL.Path)
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()
	code, stdout, stderr = runMain(t, []string{"-healthcheck", "-addr", ln.Addr().String()})
	assertOneLineExit1(t, code, stdout, stderr)
	assert.Contains(t, stderr, "503")
}

// The connection tests set one timeout small, the others over testBound,
// so that each test sees the timeout it is about (an http.Server without
// IdleTimeout uses its ReadTimeout for idle connections).
var (
	smallIdle = serve.Timeouts{ReadHeader: time.Minute, Read: time.Minute, Write: time.Minute, Idle: 300 * time.Millisecond}
	smallRead = serve.Timeouts{ReadHeader: time.Minute, Read: 300 * time.Millisecond, Write: time.Minute, Idle: time.Minute}
)

// testBound bounds every wait of the connection tests: well above the
// small timeouts, well below "held for ever".
const testBound = 10 * time.Second

// assertClosedByServer reads conn to its end and checks that the server
// closed it (EOF or a reset) rather than the test's bound expiring.
func assertClosedByServer(t *testing.T, conn net.Conn, r io.Reader) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(testBound)))
	_, err := io.Copy(io.Discard, r)
	if err != nil && errors.Is(err, syscall.ECONNRESET) {
		err = nil
	}
	assert.NoError(t, err, "the server should close the connection")
}

func TestServersCloseIdleKeepAlives(t *testing.T) {
	d := startDemo(t, nil, nil, func(o *options) { o.timeouts = smallIdle })
	for name, base := range map[string]string{"host app": d.url, "in-process mock": d.app.sikkaURL} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), testBound)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(testBound)))
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			assert.False(t, res.Close, "a keep-alive connection")
			// Now idle: the server must hang up.
			assertClosedByServer(t, conn, br)
		})
	}
}

func TestServersCutATrickledBody(t *testing.T) {
	d := startDemo(t, nil, nil, func(o *options) { o.timeouts = smallRead })
	for name, req := range map[string]struct{ base, path string }{
		"host app":        {d.url, "/healthz"},
		"in-process mock": {d.app.sikkaURL, "/v4/request_key"},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", strings.TrimPrefix(req.base, "http://"), testBound)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, "POST "+req.path+" HTTP/1.1\r\nHost: 127.0.0.1\r\n"+
				"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
			require.NoError(t, err)
			// One byte every 20 ms: the whole body would take 20 s.
			stop := make(chan struct{})
			trickled := make(chan struct{})
			go func() {
				defer close(trickled)
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			assertClosedByServer(t, conn, conn)
			close(stop)
			<-trickled
		})
	}
}

// The demo's sign-in is a cookie anyone can set: its pages say so, and
// forbid framing.
func TestPagesSayDemoOnlyAndForbidFraming(t *testing.T) {
	d := startDemo(t, nil, nil, nil)
	res, body := d.get(t, "/agent/setup/pms")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `id="demo-only"`)
	assert.Contains(t, body, "Demo only.")
	assert.Contains(t, body, "never expose it to others")
	for _, path := range []string{"/agent/setup/pms", "/demo/login?account=second-account", "/", "/agent/setup/pms/status"} {
		res, _ := d.get(t, path)
		assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"), path)
		assert.Equal(t, "frame-ancestors 'none'", res.Header.Get("Content-Security-Policy"), path)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
