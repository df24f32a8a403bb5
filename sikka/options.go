// The options of New.

package sikka

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Option changes one setting of a Client made by New.
type Option func(*Client)

// WithBaseURL sets where the API lives (default DefaultBaseURL; "" keeps
// the default). It must be an absolute http or https URL; it may have a path
// prefix. An invalid URL makes every call fail with an *Error naming it.
func WithBaseURL(base string) Option {
	return func(c *Client) {
		if strings.TrimSpace(base) == "" {
			base = DefaultBaseURL
		}
		u, err := url.Parse(strings.TrimSpace(base))
		switch {
		case err != nil:
			c.base, c.baseErr = nil, fmt.Errorf("invalid base URL: %w", err)
		case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			c.base, c.baseErr = nil, errors.New("invalid base URL: want an absolute http or https URL")
		default:
			u.RawQuery, u.Fragment = "", ""
			c.base, c.baseErr = u, nil
		}
	}
}

// WithAuthorizeURL sets the page where a practice authorizes the app, which
// AuthorizeURL adds its parameters to (its own query is kept). Default: the
// base URL's /portal/authapp.aspx, Sikka's page as the original notes give
// it ("" keeps the default). It must be an absolute http or https URL;
// AuthorizeURL returns "" for an invalid one.
func WithAuthorizeURL(page string) Option {
	return func(c *Client) {
		page = strings.TrimSpace(page)
		c.authPage, c.authPageSet = nil, page != ""
		if page == "" {
			return
		}
		u, err := url.Parse(page)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return
		}
		u.Fragment = ""
		c.authPage = u
	}
}

// defaultTransport is the transport of clients without WithHTTPClient:
// http.DefaultTransport's settings, keeping up to 16 idle connections to
// Sikka instead of 2, so concurrent refreshes (sweeps run several at once)
// reuse their connections instead of opening new ones.
var defaultTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	return t
}()

// WithHTTPClient sets the HTTP client (default: an http.Client on a
// transport shared by such clients, like http.DefaultTransport but keeping
// 16 idle connections per host). Its Timeout, if any, applies to each attempt on
// top of the attempt timeout. The Client uses a copy of hc whose
// CheckRedirect refuses every redirect: a redirect would carry the request's
// credentials (headers, and the body of a 307) to wherever it points, so a
// 3xx answer is returned as ErrUnavailable instead. nil restores the
// default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc == nil {
			hc = &http.Client{Transport: defaultTransport}
		}
		c.hc = hc
	}
}

// WithAttemptTimeout bounds each HTTP attempt (default
// DefaultAttemptTimeout). d <= 0 removes the bound; the caller's context
// still applies.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *Client) { c.attemptTimeout = d }
}

// WithMaxAttempts sets how many attempts a retryable call makes at most,
// the first included (default DefaultMaxAttempts). n < 1 means 1: no retry.
func WithMaxAttempts(n int) Option {
	return func(c *Client) { c.maxAttempts = max(n, 1) }
}

// WithBackoff sets the wait before each retry when Sikka sent no
// Retry-After (default DefaultBackoff). nil restores the default.
func WithBackoff(b Backoff) Option {
	return func(c *Client) {
		if b == nil {
			b = DefaultBackoff
		}
		c.backoff = b
	}
}

// WithMaxRetryWait sets the longest wait Sikka may ask for that the client
// waits out before a retry: Retry-After, or on a 429 without it
// X-Rate-Limit-Reset (default DefaultMaxRetryWait). When Sikka asks for
// longer, the call ends at once with the error, its RetryAfter or
// RateLimitReset set.
func WithMaxRetryWait(d time.Duration) Option {
	return func(c *Client) { c.maxRetryWait = max(d, 0) }
}

// WithLogger sets where the client logs (default: nowhere). Attempts log at
// Debug, retries at Info; lines hold the call, method, path, status,
// attempt and timing, never a header, a body or a secret. nil restores the
// default.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.log = l
	}
}

// WithClock sets the clock that Key.Expiry is computed from (expires_in is
// added to the time the response arrived) and that an HTTP-date
// Retry-After is measured against (default time.Now). Waits themselves use
// real time. nil restores the default.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now == nil {
			now = time.Now
		}
		c.now = now
	}
}

// WithPageSize sets the limit asked for per page of a list (default
// DefaultPageSize). n < 1 means the default.
func WithPageSize(n int) Option {
	return func(c *Client) {
		if n < 1 {
			n = DefaultPageSize
		}
		c.pageSize = n
	}
}

// WithMaxPages sets how many pages a list call reads at most (default
// DefaultMaxPages); a list with more fails with ErrUnavailable rather than
// return a partial answer. n < 1 means the default.
func WithMaxPages(n int) Option {
	return func(c *Client) {
		if n < 1 {
			n = DefaultMaxPages
		}
		c.maxPages = n
	}
}
