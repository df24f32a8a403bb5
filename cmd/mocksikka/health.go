package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// timeouts bound every connection of the server, so that an idle keep-alive
// or a trickled request cannot hold a connection for ever.
type timeouts struct {
	// readHeader bounds reading a request's headers.
	readHeader time.Duration
	// read bounds reading a whole request, body included.
	read time.Duration
	// write bounds the time from the end of the request's headers to the
	// end of the response: a fault's Delay longer than this is cut.
	write time.Duration
	// idle bounds how long a keep-alive connection waits for its next
	// request.
	idle time.Duration
}

// defaultTimeouts are the mock's: the same as the demo's, whose callback
// may wait up to a minute on the mock.
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

// withHealth serves the probes in front of the mock (whose own paths are
// the Sikka API's and /_mock/'s): GET /healthz answers 200 "ok" and GET
// /readyz 200 {"status":"ready"} while the mock serves, since it depends
// on nothing else. Probes are not logged nor journaled by the mock.
func withHealth(mock http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
	mux.Handle("/", mock)
	return mux
}

// healthcheckTimeout bounds the whole -healthcheck probe.
const healthcheckTimeout = 3 * time.Second

// healthcheck is the -healthcheck mode (for container healthchecks, where
// the image has no curl): it GETs /healthz of the mock listening on addr
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
		return fmt.Errorf("healthcheck: %w (is mocksikka running, with this -addr?)", err)
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
		return "", fmt.Errorf("healthcheck: -addr %q has no fixed port: give the port the mock listens on", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// listenHint says what to do about a failed listen.
func listenHint(err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return "another process holds the port: stop it, or pick another port with -addr or MOCKSIKKA_ADDR; port 0 picks a free one"
	}
	return "check -addr or MOCKSIKKA_ADDR (want host:port, e.g. 127.0.0.1:8089)"
}
