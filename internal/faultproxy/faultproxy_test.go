package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// echoServer answers every line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c) //nolint:errcheck // echo until closed
			}()
		}
	}()
	return ln.Addr().String()
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes line and reads it back within d; it returns the error
// of the read (a timeout for a hanging server).
func roundTrip(c net.Conn, line string, d time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	buf := make([]byte, len(line)+1)
	_, err := io.ReadFull(c, buf)
	return strings.TrimSuffix(string(buf), "\n"), err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestForwards(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	got, err := roundTrip(c, "hello", 2*time.Second)
	if err != nil || got != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	if p.Conns() != 1 || p.Accepted() != 1 {
		t.Fatalf("conns %d accepted %d, want 1 1", p.Conns(), p.Accepted())
	}
}

func TestRefuseThenHealOnTheSamePort(t *testing.T) {
	p := newProxy(t, echoServer(t))
	open := dial(t, p.Addr())
	if err := p.Refuse(); err != nil {
		t.Fatal(err)
	}
	_, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial while refusing: %v, want ECONNREFUSED", err)
	}
	// A connection opened before is left alone.
	if got, err := roundTrip(open, "still", 2*time.Second); err != nil || got != "still" {
		t.Fatalf("open connection: %q, %v", got, err)
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	if got, err := roundTrip(dial(t, p.Addr()), "back", 2*time.Second); err != nil || got != "back" {
		t.Fatalf("after Heal: %q, %v", got, err)
	}
}

func TestBlackholeHoldsThenHealDelivers(t *testing.T) {
	p := newProxy(t, echoServer(t))
	old := dial(t, p.Addr())
	if _, err := roundTrip(old, "warm", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Blackhole()
	fresh := dial(t, p.Addr()) // accepted: a blackhole is not a refusal
	for name, c := range map[string]net.Conn{"open": old, "new": fresh} {
		if _, err := roundTrip(c, "lost?", 200*time.Millisecond); !isTimeout(err) {
			t.Fatalf("%s connection in a blackhole: %v, want a timeout", name, err)
		}
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	// What was held now arrives, then the connections work again.
	for name, c := range map[string]net.Conn{"open": old, "new": fresh} {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "lost?\n" {
			t.Fatalf("%s connection after Heal: %q, %v", name, line, err)
		}
	}
}

func TestCloseConnsDropsBothSides(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	if _, err := roundTrip(c, "x", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Blackhole() // a connection waiting in a blackhole is dropped too
	w := dial(t, p.Addr())
	deadline := time.Now().Add(2 * time.Second)
	for p.Conns() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := p.CloseConns(); n != 2 {
		t.Fatalf("CloseConns closed %d, want 2", n)
	}
	for _, conn := range []net.Conn{c, w} {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Fatalf("read after CloseConns: %v, want EOF or reset", err)
		}
	}
}

func TestLatency(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	p.SetLatency(100 * time.Millisecond)
	begin := time.Now()
	if _, err := roundTrip(c, "slow", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < 200*time.Millisecond {
		t.Fatalf("round trip took %v, want at least 2×100ms", d)
	}
	p.Heal()
	begin = time.Now()
	roundTrip(c, "fast", 2*time.Second)
	if d := time.Since(begin); d > 100*time.Millisecond {
		t.Fatalf("round trip after Heal took %v", d)
	}
}

func TestTargetDownClosesTheClient(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	target := ln.Addr().String()
	ln.Close()
	p := newProxy(t, target)
	c := dial(t, p.Addr())
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read: %v, want the connection closed", err)
	}
}

func newHTTP(t *testing.T, h http.HandlerFunc) (*HTTP, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	p, err := NewHTTP(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, &calls
}

func get(t *testing.T, url string) (int, string, error) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

func TestHTTPRules(t *testing.T) {
	p, calls := newHTTP(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok "+r.URL.Path) })

	if code, body, err := get(t, p.URL()+"/v1/a"); err != nil || code != 200 || body != "ok /v1/a" {
		t.Fatalf("pass-through: %d %q %v", code, body, err)
	}

	var hooked atomic.Int32
	p.Inject(Rule{Method: "GET", PathPrefix: "/v1/secret/", Count: 2, Status: 503,
		Hook: func(*http.Request) { hooked.Add(1) }})
	for i := 0; i < 2; i++ {
		code, body, err := get(t, p.URL()+"/v1/secret/x")
		if err != nil || code != 503 || !strings.Contains(body, `"errors"`) {
			t.Fatalf("injected: %d %q %v", code, body, err)
		}
	}
	if code, _, _ := get(t, p.URL()+"/v1/secret/x"); code != 200 {
		t.Fatalf("after Count: %d", code)
	}
	if calls.Load() != 2 || hooked.Load() != 2 || p.Hits() != 2 {
		t.Fatalf("target calls %d, hooks %d, hits %d; want 2 2 2", calls.Load(), hooked.Load(), p.Hits())
	}

	// After: the target is called, the answer is lost.
	p.Inject(Rule{PathPrefix: "/v1/write", Status: 500, After: true})
	if code, _, _ := get(t, p.URL()+"/v1/write"); code != 500 {
		t.Fatalf("after-rule: %d", code)
	}
	if calls.Load() != 3 {
		t.Fatalf("the after-rule did not reach the target (calls %d)", calls.Load())
	}
	p.ClearRules()

	// Delay, before: slow but answered.
	p.Inject(Rule{Delay: 150 * time.Millisecond, Count: 1})
	begin := time.Now()
	if code, _, _ := get(t, p.URL()+"/v1/slow"); code != 200 || time.Since(begin) < 150*time.Millisecond {
		t.Fatalf("delay: %d after %v", code, time.Since(begin))
	}

	// A delay longer than the client waits: a timeout.
	p.Inject(Rule{Delay: 5 * time.Second})
	if _, _, err := get(t, p.URL()+"/v1/hang"); !isTimeout(err) {
		t.Fatalf("long delay: %v, want a client timeout", err)
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}

	// TCP faults apply in front of the HTTP proxy.
	p.Refuse()
	if _, _, err := get(t, p.URL()+"/v1/a"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refused: %v", err)
	}
	p.Heal()
	if code, _, err := get(t, p.URL()+"/v1/a"); err != nil || code != 200 {
		t.Fatalf("healed: %d %v", code, err)
	}
}

func TestHTTPTargetDownIsBadGateway(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	target := "http://" + ln.Addr().String()
	ln.Close()
	p, err := NewHTTP(target)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if code, _, err := get(t, p.URL()+"/"); err != nil || code != http.StatusBadGateway {
		t.Fatalf("%d %v, want 502", code, err)
	}
}
