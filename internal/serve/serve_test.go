package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The servers bound every phase of a connection, and a response may take
// longer than the demo callback's detached connect (one minute).
func TestDefaultTimeouts(t *testing.T) {
	srv := DefaultTimeouts().Server(nil)
	assert.Positive(t, srv.ReadHeaderTimeout)
	assert.Positive(t, srv.ReadTimeout)
	assert.Positive(t, srv.IdleTimeout)
	assert.Greater(t, srv.WriteTimeout, time.Minute, "longer than the demo's detached connect")
}

func TestServerSetsEachTimeout(t *testing.T) {
	h := http.NotFoundHandler()
	srv := Timeouts{ReadHeader: 1, Read: 2, Write: 3, Idle: 4}.Server(h)
	assert.Equal(t, []time.Duration{1, 2, 3, 4},
		[]time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout})
	assert.NotNil(t, srv.Handler)
}

func TestHealthzURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8089": "http://127.0.0.1:8089/healthz",
		"0.0.0.0:8089":   "http://127.0.0.1:8089/healthz",
		":8089":          "http://127.0.0.1:8089/healthz",
		"[::]:8080":      "http://127.0.0.1:8080/healthz",
		"[::1]:8080":     "http://[::1]:8080/healthz",
		"localhost:8080": "http://localhost:8080/healthz",
	} {
		got, err := healthzURL(addr, "prog")
		require.NoError(t, err, addr)
		assert.Equal(t, want, got, addr)
	}
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.1", "nowhere"} {
		_, err := healthzURL(addr, "prog")
		assert.Error(t, err, addr)
	}
}

// Healthcheck passes on 200 only, and each failure is one line naming
// what to check: the program, its -addr.
func TestLocalURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8089": "http://127.0.0.1:8089",
		"0.0.0.0:8089":   "http://127.0.0.1:8089",
		"[::]:8089":      "http://127.0.0.1:8089",
		"[::1]:8089":     "http://[::1]:8089",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		require.NoError(t, err)
		assert.Equal(t, want, LocalURL(a), addr)
	}
}

func TestHealthcheck(t *testing.T) {
	ctx := context.Background()
	answer := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				code = http.StatusNotFound
			}
			w.WriteHeader(code)
		}))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	require.NoError(t, Healthcheck(ctx, answer(http.StatusOK), "prog"))

	for name, c := range map[string]struct {
		addr string
		want []string
	}{
		"unhealthy": {answer(http.StatusServiceUnavailable), []string{"503", "want 200 OK"}},
		"redirect":  {answer(http.StatusFound), []string{"302"}},
		"refused":   {closedAddr(t), []string{"connection refused", "is prog running", "-addr"}},
		"port 0":    {"127.0.0.1:0", []string{"-addr", "no fixed port", "prog listens on"}},
		"no port":   {"nowhere", []string{"-addr", "not host:port"}},
	} {
		t.Run(name, func(t *testing.T) {
			err := Healthcheck(ctx, c.addr, "prog")
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "\n")
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// The hint names the flag and the variable the user set, and says what
// to do: free the port, or give a host:port like the example.
func TestListenHint(t *testing.T) {
	busy := &net.OpError{Op: "listen", Net: "tcp", Err: fmt.Errorf("bind: %w", syscall.EADDRINUSE)}
	assert.Equal(t, "another process holds the port: stop it, or pick another port with -mock-addr or DEMO_MOCK_ADDR; port 0 picks a free one",
		ListenHint(busy, "mock-addr", "DEMO_MOCK_ADDR", "127.0.0.1:8080"))
	assert.Equal(t, "check -addr or MOCK_ADDR (want host:port, e.g. 127.0.0.1:8089)",
		ListenHint(errors.New("missing port in address"), "addr", "MOCK_ADDR", "127.0.0.1:8089"))

	// As a real listen on a busy port fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, err = net.Listen("tcp", ln.Addr().String())
	require.Error(t, err)
	assert.Contains(t, ListenHint(err, "addr", "MOCK_ADDR", "x"), "pick another port with -addr or MOCK_ADDR")
}
