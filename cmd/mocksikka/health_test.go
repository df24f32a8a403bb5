package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/clitest"
	"github.com/parlae/sikka-connect/internal/serve"
)

// runMainEnv makes this test binary run mocksikka's real main instead of
// the tests: the start-up tests check the process as a user sees it (its
// exit code, every line it prints).
const runMainEnv = "MOCKSIKKA_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	clitest.Main(m, runMainEnv, main)
}

// runMain runs main in a child process with args and only the environment
// given, and returns its exit code, stdout and stderr.
func runMain(t *testing.T, args []string, environ ...string) (int, string, string) {
	t.Helper()
	return clitest.Run(t, runMainEnv, args, environ...)
}

func closedAddr(t *testing.T) string {
	t.Helper()
	return clitest.ClosedAddr(t)
}

// assertOneLineExit1 checks a failed start as the user sees it.
func assertOneLineExit1(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	assert.True(t, clitest.OneLineExit1("mocksikka", code, stdout, stderr),
		"want exit code 1, no stdout and one line on stderr, no panic; got exit code %d, stdout %q, stderr:\n%s",
		code, stdout, stderr)
}

// Every start-up error is one line saying what failed and what to do, and
// exit code 1 (a usage error used to print the whole usage, exit code 2).
func TestStartupErrorsAreOneLineAndExit1(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cases := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"busy port", []string{"-addr", busy.Addr().String()}, nil,
			[]string{"-addr " + busy.Addr().String(), "address already in use", "pick another port"}},
		{"busy port from env", nil, []string{"MOCKSIKKA_ADDR=" + busy.Addr().String()},
			[]string{"address already in use", "MOCKSIKKA_ADDR"}},
		{"unknown flag", []string{"-nope"}, nil, []string{"-nope", "mocksikka -h"}},
		{"bad flag value", []string{"-key-ttl", "soon"}, nil, []string{"-key-ttl", "mocksikka -h"}},
		{"positional", []string{"serve"}, nil, []string{"serve", "mocksikka -h"}},
		{"bad env", nil, []string{"MOCKSIKKA_KEY_TTL=soon"}, []string{"MOCKSIKKA_KEY_TTL"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, c.args, c.env...)
			assertOneLineExit1(t, code, stdout, stderr)
			for _, w := range c.want {
				assert.Contains(t, stderr, w)
			}
		})
	}
}

func TestHealthAndReady(t *testing.T) {
	st := start(t, []string{"-addr", "127.0.0.1:0"}, nil)
	resp := st.get(t, "/healthz")
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok\n", string(body))

	resp = st.get(t, "/readyz")
	body, _ = io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"status":"ready"}`, string(body))

	// The mock's own paths are still the mock's.
	assert.Equal(t, http.StatusBadRequest, st.get(t, "/v4/authorized_practices").StatusCode)
	assert.Equal(t, http.StatusNotFound, st.get(t, "/healthz/more").StatusCode)
}

// -healthcheck probes /healthz of a running mock: exit 0 when it answers
// 200, else one line and exit 1.
func TestHealthcheckFlag(t *testing.T) {
	st := start(t, []string{"-addr", "127.0.0.1:0"}, nil)
	addr := strings.TrimPrefix(st.url, "http://")

	code, stdout, stderr := runMain(t, []string{"-healthcheck", "-addr", addr})
	assert.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Empty(t, stdout)
	assert.Empty(t, stderr)

	// The address from the environment, as docker-compose sets it.
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	code, _, stderr = runMain(t, []string{"-healthcheck"}, "MOCKSIKKA_ADDR=0.0.0.0:"+port)
	assert.Equal(t, 0, code, "stderr: %s", stderr)

	code, stdout, stderr = runMain(t, []string{"-healthcheck", "-addr", closedAddr(t)})
	assertOneLineExit1(t, code, stdout, stderr)
	assert.Contains(t, stderr, "connection refused")

	code, stdout, stderr = runMain(t, []string{"-healthcheck", "-addr", "127.0.0.1:0"})
	assertOneLineExit1(t, code, stdout, stderr)
	assert.Contains(t, stderr, "no fixed port")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()
	code, stdout, stderr = runMain(t, []string{"-healthcheck", "-addr", ln.Addr().String()})
	assertOneLineExit1(t, code, stdout, stderr)
	assert.Contains(t, stderr, "503")
}

// One timeout small, the others over testBound, so that each test sees the
// timeout it is about (an http.Server without IdleTimeout uses its
// ReadTimeout for idle connections).
var (
	smallIdle = serve.Timeouts{ReadHeader: time.Minute, Read: time.Minute, Write: time.Minute, Idle: 300 * time.Millisecond}
	smallRead = serve.Timeouts{ReadHeader: time.Minute, Read: 300 * time.Millisecond, Write: time.Minute, Idle: time.Minute}
)

// testBound bounds every wait of the connection tests.
const testBound = 10 * time.Second

// The mock serves with the shared default timeouts (internal/serve tests
// what they bound).
func TestDefaultTimeouts(t *testing.T) {
	s, err := parse(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, serve.DefaultTimeouts(), s.timeouts)
}

// assertClosedByServer reads r to its end and checks that the server
// closed conn (EOF or a reset) before the test's bound.
func assertClosedByServer(t *testing.T, conn net.Conn, r io.Reader) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(testBound)))
	_, err := io.Copy(io.Discard, r)
	if err != nil && errors.Is(err, syscall.ECONNRESET) {
		err = nil
	}
	assert.NoError(t, err, "the server should close the connection")
}

func TestServerClosesIdleKeepAlives(t *testing.T) {
	st := startWith(t, []string{"-addr", "127.0.0.1:0"}, nil, func(s *settings) { s.timeouts = smallIdle })
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(st.url, "http://"), testBound)
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
	assertClosedByServer(t, conn, br)
}

func TestServerCutsATrickledBody(t *testing.T) {
	st := startWith(t, []string{"-addr", "127.0.0.1:0"}, nil, func(s *settings) { s.timeouts = smallRead })
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(st.url, "http://"), testBound)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v4/request_key HTTP/1.1\r\nHost: 127.0.0.1\r\n"+
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
}
