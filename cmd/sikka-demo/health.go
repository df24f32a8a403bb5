package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errAddrInUse is what a listen on a busy port wraps.
var errAddrInUse error = syscall.EADDRINUSE

// timeouts bound every connection of the demo's servers (the host app and
// the in-process mock), so that an idle keep-alive or a trickled request
// cannot hold a connection for ever.
type timeouts struct {
	// readHeader bounds reading a request's headers.
	readHeader time.Duration
	// read bounds reading a whole request, body included.
	read time.Duration
	// write bounds the time from the end of the request's headers to the
	// end of the response: it must exceed the callback's detached connect
	// bound (one minute), or a slow connect's answer would be cut.
	write time.Duration
	// idle bounds how long a keep-alive connection waits for its next
	// request.
	idle time.Duration
}

// defaultTimeouts are the demo's; tests use small ones.
var defaultTimeouts = timeouts{
	readHeader: 10 * time.Second,
	read:       30 * time.Second,
	write:      90 * time.Second,
	idle:       2 * time.Minute,
}

// server returns an http.Server serving h with t.
func (t timeouts) server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
	}
}

// healthcheckTimeout bounds the whole -healthcheck probe.
const healthcheckTimeout = 3 * time.Second

// healthcheck is the -healthcheck mode (for container healthchecks, where
// the image has no curl): it GETs /healthz of the server listening on addr
// (the -addr setting; an unspecified host such as 0.0.0.0 is reached on
// 127.0.0.1) and returns nil on 200 OK, or an error of one line.
func healthcheck(ctx context.Context, addr string) error {
	u, err := healthzURL(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	client := &http.Client{
		// Never through a proxy of the environment: the server is local.
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Do(req)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("healthcheck: GET %s: no answer within %s", u, healthcheckTimeout)
	}
	if err != nil {
		return fmt.Errorf("healthcheck: %w (is sikka-demo running, with this -addr?)", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s answered %s, want 200 OK", u, res.Status)
	}
	return nil
}

// healthzURL is the /healthz URL of a server listening on addr.
func healthzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("healthcheck: -addr %q is not host:port: %w", addr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("healthcheck: -addr %q has no fixed port: give the port the server listens on", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// healthz answers the liveness probe: 200 "ok" while the process serves.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// dependency is one thing /readyz checks; check returns nil when it is up.
type dependency struct {
	name  string
	check func(ctx context.Context) error
}

// readyTimeout bounds each readiness probe; they run concurrently.
const readyTimeout = 2 * time.Second

// readiness is the JSON body of /readyz.
type readiness struct {
	Status  string   `json:"status"`            // "ready" or "unavailable"
	Failing []string `json:"failing,omitempty"` // the dependencies down, in check order
}

// readyz answers the readiness probe: it checks every dependency at once,
// each within readyTimeout, and answers 200 {"status":"ready"} when all are
// up, else 503 {"status":"unavailable","failing":[names…]}. Why each one
// failed goes to the log, not to the (unauthenticated) answer.
func readyz(deps []dependency, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		errs := make([]error, len(deps))
		var wg sync.WaitGroup
		for i, d := range deps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = d.check(ctx)
			}()
		}
		wg.Wait()
		body, code := readiness{Status: "ready"}, http.StatusOK
		for i, err := range errs {
			if err != nil {
				body.Failing = append(body.Failing, deps[i].name)
				log.Warn("sikka-demo: not ready", "dependency", deps[i].name, "error", err)
			}
		}
		if len(body.Failing) > 0 {
			body.Status, code = "unavailable", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
}

// reachable returns a check that base answers HTTP at all: any status
// counts, since the point is that the network path and TLS work.
func reachable(base string) func(context.Context) error {
	client := &http.Client{
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		return nil
	}
}

// securityHeaders forbids framing every page of the demo (its sign-in is a
// cookie anyone can set, so a framed page must not be clickable).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// oneLine makes err's text a single line, for the one line main prints.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// listenHint says what to do about a failed listen on addr.
func listenHint(err error, flagName, envName string) string {
	if errors.Is(err, errAddrInUse) {
		return fmt.Sprintf("another process holds the port: stop it, or pick another port with -%s or %s ; port 0 picks a free one", flagName, envName)
	}
	return fmt.Sprintf("check -%s or %s (want host:port, e.g. 127.0.0.1:8080)", flagName, envName)
}
