// What a host's own HTTP calls to Sikka need from a Client: where the API
// lives, the transport to reach it, and how to tell that an answer rejected
// the request key (the same rule the Client's own calls follow).

package sikka

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// BaseURL returns a copy of the API base URL the client calls (scheme, host
// and any path prefix; no query); nil when the URL given to WithBaseURL was
// invalid.
func (c *Client) BaseURL() *url.URL {
	if c.base == nil {
		return nil
	}
	u := *c.base
	return &u
}

// Transport returns the RoundTripper the client's requests go through: the
// Transport of the http.Client given to WithHTTPClient, or the client's
// default transport (http.DefaultTransport when that http.Client has none).
// A caller sending its own requests to Sikka through it shares the
// client's connections.
func (c *Client) Transport() http.RoundTripper {
	if c.hc.Transport == nil {
		return http.DefaultTransport
	}
	return c.hc.Transport
}

// RejectsKey reports whether resp, the answer to a request that sent a
// Request-Key header, rejects that key, by the very rule the Client's own
// calls follow for ErrKeyRejected: status 401 or 403; or 400 whose error
// envelope has error code API1004 (missing or invalid) or API1025
// (expired); or a 2xx answer whose body is such an envelope (an http_code of
// 400 with those codes, or 401 or 403). An error answer whose body is not
// JSON came from something other than Sikka (a proxy) and rejects nothing.
// body is resp's body, read by the caller (resp.Body is not touched); it
// may be cut short, and may be nil for an answer without one.
func RejectsKey(resp *http.Response, body []byte) bool {
	r := &request{op: "RejectsKey", requestKey: true}
	c := &Client{now: time.Now}
	e := c.response(r, resp, body, func([]byte, time.Time) error { return nil })
	return e != nil && e.keyRejected
}

// RateLimit reads Sikka's rate headers of an answer: X-Rate-Limit-Remaining
// (calls left in the window) and X-Rate-Limit-Reset (time until the window
// ends, sent as seconds). ok is false when Remaining is absent or
// unreadable; reset is 0 when Reset is.
func RateLimit(h http.Header) (remaining int, reset time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("X-Rate-Limit-Remaining"))
	if v == "" {
		return 0, 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, 0, false
	}
	return n, parseRateLimitReset(h.Get("X-Rate-Limit-Reset")), true
}

// RetryWait is how long Sikka asked a caller to wait before trying again,
// read as the Client does: Retry-After (seconds or an HTTP date, measured
// from now), else, on a 429, X-Rate-Limit-Reset; 0 when it asked for none.
func RetryWait(resp *http.Response, now time.Time) time.Duration {
	if d := parseRetryAfter(resp.Header.Get("Retry-After"), now); d > 0 {
		return d
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return parseRateLimitReset(resp.Header.Get("X-Rate-Limit-Reset"))
	}
	return 0
}
