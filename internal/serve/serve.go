// Package serve is what the repository's two binaries, mocksikka and
// sikka-demo, share to serve HTTP: bounded server timeouts, the
// -healthcheck probe of a running server, and the hint printed when a
// listen fails.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Timeouts bound every connection of a server, so that an idle keep-alive
// or a trickled request cannot hold a connection for ever.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included.
	Read time.Duration
	// Write bounds the time from the end of the request's headers to the
	// end of the response: an answer that takes longer (a mock fault's
	// Delay, say) is cut.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next
	// request.
	Idle time.Duration
}

// DefaultTimeouts are the binaries' timeouts. Write is 90 s: over the
// demo callback's detached connect bound (one minute), which may wait that
// long on the mock, so that a slow connect's answer is not cut.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		ReadHeader: 10 * time.Second,
		Read:       30 * time.Second,
		Write:      90 * time.Second,
		Idle:       2 * time.Minute,
	}
}

// Server returns an http.Server serving h with t.
func (t Timeouts) Server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
	}
}

// healthcheckTimeout bounds the whole Healthcheck probe.
const healthcheckTimeout = 3 * time.Second

// Healthcheck is a binary's -healthcheck mode (for container healthchecks,
// where the image has no curl): it GETs /healthz of program (the binary's
// name, for the error text) listening on addr (its -addr setting; an
// unspecified host such as 0.0.0.0 is reached on 127.0.0.1) and returns nil
// on 200 OK, or an error of one line saying what to check. It never goes
// through a proxy of the environment and never follows a redirect.
func Healthcheck(ctx context.Context, addr, program string) error {
	u, err := healthzURL(addr, program)
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
		return fmt.Errorf("healthcheck: %w (is %s running, with this -addr?)", err, program)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s answered %s, want 200 OK", u, res.Status)
	}
	return nil
}

// healthzURL is the /healthz URL of program listening on addr.
func healthzURL(addr, program string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("healthcheck: -addr %q is not host:port: %w", addr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("healthcheck: -addr %q has no fixed port: give the port %s listens on", addr, program)
	}
	return "http://" + net.JoinHostPort(LocalHost(host), port) + "/healthz", nil
}

// LocalHost is host as a client on the same machine reaches a server
// listening on it: an unspecified host ("", 0.0.0.0, ::) becomes 127.0.0.1,
// any other host is returned as it is.
func LocalHost(host string) string {
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}

// LocalURL is the http:// URL, with no path, at which a client on the same
// machine reaches a server listening on addr (a listener's address): its
// host as LocalHost gives it, and its port.
func LocalURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil { // a TCP listener's address always splits
		return "http://" + addr.String()
	}
	return "http://" + net.JoinHostPort(LocalHost(host), port)
}

// ListenHint says what to do about err, a failed listen on the address
// that flag -flagName or environment variable envName set: free or change
// a busy port, else give a host:port such as example.
func ListenHint(err error, flagName, envName, example string) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Sprintf("another process holds the port: stop it, or pick another port with -%s or %s; port 0 picks a free one", flagName, envName)
	}
	return fmt.Sprintf("check -%s or %s (want host:port, e.g. %s)", flagName, envName, example)
}
