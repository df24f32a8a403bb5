// Package harness is the test support shared by the end-to-end tests (e2e)
// and the middleware's own tests and benchmarks: one plain-HTTP browser.
// The e2e world (a sikka-demo process on real stores) and its invariant
// checker live in e2e/world_test.go; the servers they run on in
// internal/testservers.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FlowCookiePrefix starts the name of every binding cookie the middleware
// sets for a flow.
const FlowCookiePrefix = "sikka_flow_"

// Browser is one person's browser without a browser: a cookie jar of its
// own (Go's jar sends Secure cookies to loopback, as Chromium does) and an
// HTTP client that follows no redirect, so that each hop is seen.
type Browser struct {
	TB   testing.TB
	Jar  *cookiejar.Jar
	HTTP *http.Client // its Timeout may be changed between requests
}

// Option sets up a Browser.
type Option func(*Browser)

// WithTimeout bounds each request (the default: none).
func WithTimeout(d time.Duration) Option { return func(b *Browser) { b.HTTP.Timeout = d } }

// WithTransport sends the requests through rt (to share connections between
// browsers, say).
func WithTransport(rt http.RoundTripper) Option { return func(b *Browser) { b.HTTP.Transport = rt } }

// NewBrowser returns a browser with an empty jar.
func NewBrowser(tb testing.TB, opts ...Option) *Browser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	b := &Browser{TB: tb, Jar: jar, HTTP: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Hop GETs u, which must answer 302, and returns the Location, resolved.
func (b *Browser) Hop(u string) (*url.URL, error) {
	loc, _, err := b.HopContext(context.Background(), http.MethodGet, u, nil)
	return loc, err
}

// HopContext sends a request (a form POST when form is not nil) that must
// answer 302, reads the body to the end, and returns its Location resolved
// and as sent. Errors name the path only: a URL's query may hold a code or a
// state, which must stay out of test logs. A transport error keeps its type
// (*url.Error, a net.Error), so a timeout can be told.
func (b *Browser) HopContext(ctx context.Context, method, u string, form url.Values) (*url.URL, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = req.URL.Path
		}
		return nil, "", err
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained for reuse
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, "", fmt.Errorf("%s %s: %s, want 302", method, req.URL.Path, resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	return loc, resp.Header.Get("Location"), nil
}

// Location GETs u, reads the body to the end and returns the Location
// header as sent ("" when there is none), whatever the status: the
// benchmarks' step, with nothing checked on the way.
func (b *Browser) Location(u string) string {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		b.TB.Fatal(err)
	}
	resp, err := b.HTTP.Do(req)
	if err != nil {
		b.TB.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained for reuse
	resp.Body.Close()
	return resp.Header.Get("Location")
}

// SetCookie puts c into the jar as if the server at base (scheme://host:port)
// had set it.
func (b *Browser) SetCookie(base string, c *http.Cookie) {
	b.Jar.SetCookies(b.url(base, "/"), []*http.Cookie{c})
}

// FlowCookies returns the binding cookies the jar would send to the
// callback at base + callbackPath.
func (b *Browser) FlowCookies(base, callbackPath string) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range b.Jar.Cookies(b.url(base, callbackPath)) {
		if strings.HasPrefix(c.Name, FlowCookiePrefix) {
			out = append(out, c)
		}
	}
	return out
}

// PlantFlowCookie puts a binding cookie into the jar, as the middleware sets
// one (Path the callback, Secure, HttpOnly), as if it had been set for this
// browser (an attacker who could toss cookies, or a browser that kept one).
// An empty value deletes it.
func (b *Browser) PlantFlowCookie(base, callbackPath, name, value string) {
	// The middleware scopes binding cookies to the callback's directory.
	dir := callbackPath[:strings.LastIndexByte(callbackPath, '/')+1]
	c := &http.Cookie{Name: name, Value: value, Path: dir, Secure: true, HttpOnly: true}
	if value == "" {
		c.MaxAge = -1
	}
	b.Jar.SetCookies(b.url(base, callbackPath), []*http.Cookie{c})
}

func (b *Browser) url(base, path string) *url.URL {
	u, err := url.Parse(base)
	if err != nil {
		b.TB.Fatal(err)
	}
	u.Path = path
	return u
}

// WithParam returns a copy of u with query parameter k set to v; an empty v
// removes it.
func WithParam(u *url.URL, k, v string) *url.URL {
	c := *u
	q := c.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	c.RawQuery = q.Encode()
	return &c
}
