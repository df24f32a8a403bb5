package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

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
		writeJSON(w, code, body)
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
