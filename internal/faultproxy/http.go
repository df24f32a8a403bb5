package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Rule is an HTTP fault: it applies to the requests it matches, Count times
// (0: until cleared). The first rule matching a request applies, and only
// that one.
type Rule struct {
	// Method matches the request method ("" any); PathPrefix the start of
	// its path ("" any), e.g. "/v1/secret/data/".
	Method     string
	PathPrefix string
	// Count is how many matching requests the rule applies to; 0 means
	// until ClearRules or Heal.
	Count int
	// Status, when not 0, is answered instead of the target's answer, with
	// a body in Vault's error shape ({"errors":[...]}).
	Status int
	// Delay holds the request back before it goes to the target (or,
	// with After, holds the answer back), or until the client goes away.
	Delay time.Duration
	// After lets the request reach the target first: it takes effect, and
	// only then are Delay and Status applied to its answer — an answer lost
	// (Status) or late (Delay) after the write was done.
	After bool
	// Hook, when set, is called with each matching request before anything
	// else (to fail another dependency at this exact moment, say).
	Hook func(*http.Request)
}

func (r *Rule) matches(req *http.Request) bool {
	return (r.Method == "" || strings.EqualFold(r.Method, req.Method)) &&
		strings.HasPrefix(req.URL.Path, r.PathPrefix)
}

// HTTP is a reverse proxy to an HTTP server with injectable Rules, behind a
// TCP Proxy whose faults (Refuse, Blackhole, SetLatency, CloseConns) apply
// too. Safe for concurrent use.
type HTTP struct {
	*Proxy
	srv *httptest.Server
	rp  *httputil.ReverseProxy

	mu    sync.Mutex
	rules []*activeRule
	hits  int // requests a rule applied to
}

type activeRule struct {
	Rule
	remaining int
}

// NewHTTP starts a proxy on a free 127.0.0.1 port in front of target
// ("http://host:port").
func NewHTTP(target string) (*HTTP, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q: want http://host:port", target)
	}
	h := &HTTP{rp: httputil.NewSingleHostReverseProxy(u)}
	h.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, context.Canceled) {
			return
		}
		writeError(w, http.StatusBadGateway, "faultproxy: target: "+err.Error())
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serveHTTP))
	p, err := New(h.srv.Listener.Addr().String())
	if err != nil {
		h.srv.Close()
		return nil, err
	}
	h.Proxy = p
	return h, nil
}

// URL is "http://" + Addr().
func (h *HTTP) URL() string { return "http://" + h.Addr() }

// Inject adds r after the rules already injected.
func (h *HTTP) Inject(r Rule) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rules = append(h.rules, &activeRule{Rule: r, remaining: r.Count})
}

// ClearRules removes every rule.
func (h *HTTP) ClearRules() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rules = nil
}

// Hits returns how many requests a rule has applied to.
func (h *HTTP) Hits() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits
}

// Heal removes every rule and ends the TCP faults (Proxy.Heal).
func (h *HTTP) Heal() error {
	h.ClearRules()
	return h.Proxy.Heal()
}

// Close stops the proxy and the reverse proxy behind it.
func (h *HTTP) Close() error {
	err := h.Proxy.Close()
	h.srv.CloseClientConnections()
	h.srv.Close()
	return err
}

func (h *HTTP) take(req *http.Request) (Rule, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, r := range h.rules {
		if !r.matches(req) {
			continue
		}
		if r.Count > 0 {
			r.remaining--
			if r.remaining <= 0 {
				h.rules = append(h.rules[:i:i], h.rules[i+1:]...)
			}
		}
		h.hits++
		return r.Rule, true
	}
	return Rule{}, false
}

func (h *HTTP) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r, ok := h.take(req)
	if !ok {
		h.rp.ServeHTTP(w, req)
		return
	}
	if r.Hook != nil {
		r.Hook(req)
	}
	if !r.After {
		if !wait(req.Context(), r.Delay) {
			return
		}
		if r.Status != 0 {
			writeError(w, r.Status, fmt.Sprintf("faultproxy: injected %d %s", r.Status, http.StatusText(r.Status)))
			return
		}
		h.rp.ServeHTTP(w, req)
		return
	}
	// After: the target answers first; its answer is then delayed or lost.
	rec := httptest.NewRecorder()
	h.rp.ServeHTTP(rec, req)
	if !wait(req.Context(), r.Delay) {
		return
	}
	if r.Status != 0 {
		writeError(w, r.Status, fmt.Sprintf("faultproxy: injected %d %s after the target answered %d",
			r.Status, http.StatusText(r.Status), rec.Code))
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes()) //nolint:errcheck // the client went away
}

// wait sleeps d, or until ctx ends (false).
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[%q]}`+"\n", msg)
}
