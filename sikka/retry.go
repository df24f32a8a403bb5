package sikka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Backoff returns how long to wait before retry number retry (1 for the
// first retry) when Sikka sent no Retry-After. It must be safe for
// concurrent use.
type Backoff func(retry int) time.Duration

// ExponentialBackoff returns a Backoff that waits base·2^(retry-1), capped
// at maxWait, with equal jitter: a uniformly random duration between half
// of that and all of it, so that clients failing together do not retry
// together.
func ExponentialBackoff(base, maxWait time.Duration) Backoff {
	return func(retry int) time.Duration {
		d := maxWait
		if retry < 1 {
			retry = 1
		}
		if retry <= 62 {
			if step := base << (retry - 1); step > 0 && step < maxWait {
				d = step
			}
		}
		if d <= 1 {
			return max(d, 0)
		}
		half := d / 2
		return half + rand.N(d-half+1)
	}
}

// DefaultBackoff waits about 250ms, 500ms, 1s, 2s… capped at 5s, jittered,
// before retry number attempt (1 for the first retry). It is a function, not
// a variable, so no caller can change the default of every other client.
func DefaultBackoff(attempt int) time.Duration { return defaultBackoff(attempt) }

var defaultBackoff = ExponentialBackoff(250*time.Millisecond, 5*time.Second)

// retryMode says which failures of a call may be retried.
type retryMode int

const (
	// retryNever: never (ExchangeCode).
	retryNever retryMode = iota
	// retryUnsent: only 429, or a failure before any connection existed
	// (RequestKey, RefreshKey).
	retryUnsent
	// retryIdempotent: 429, and any ErrUnavailable (GET and DELETE).
	retryIdempotent
)

// request is one API call, possibly made in several attempts.
type request struct {
	op     string
	method string
	path   string
	query  url.Values
	header http.Header // may hold secrets: never logged
	body   []byte      // may hold secrets: never logged
	mode   retryMode
	// grant marks POST /v4/request_key, where 400 is ErrInvalidGrant.
	grant bool
	// requestKey marks a call that sends a Request-Key header, whose
	// rejection matches ErrKeyRejected.
	requestKey bool
	// notFound, when set, is the sentinel of a 404 answer, and of a 401 or
	// 403 with Sikka's API2007 ("not authorized for this practice").
	notFound error
	// secrets are scrubbed from error text.
	secrets scrubber
}

func (r *request) endpoint() string { return r.method + " " + r.path }

// withSentKey returns r, its secrets extended by the request key sent on
// the wire (the response's request) when the HTTP client set one itself
// (DataVia), so that an echo of it is scrubbed too.
func (r *request) withSentKey(sent *http.Request) *request {
	if sent == nil {
		return r
	}
	key := sent.Header.Get("Request-Key")
	if key == "" || slices.Contains(r.secrets, key) {
		return r
	}
	cp := *r
	cp.secrets = append(slices.Clip(r.secrets), key)
	return &cp
}

func jsonBody(v any) ([]byte, error) { return json.Marshal(v) }

// do runs r until it succeeds, fails for good, or runs out of attempts.
// decode reads a 2xx body; its failure is ErrUnavailable.
func (c *Client) do(ctx context.Context, r *request, decode func(body []byte, receivedAt time.Time) error) error {
	if c.baseErr != nil {
		return &Error{Op: r.op, Endpoint: r.endpoint(), Err: c.baseErr}
	}
	u := c.base.JoinPath(r.path)
	u.RawQuery = r.query.Encode()
	target := u.String()
	for attempt := 1; ; attempt++ {
		e := c.attempt(ctx, r, target, attempt, decode)
		if e == nil {
			return nil
		}
		if ctx.Err() != nil || attempt >= c.maxAttempts || !retryable(r.mode, e) {
			return e
		}
		wait := c.backoff(attempt)
		if asked := askedWait(e); asked > 0 {
			if asked > c.maxRetryWait {
				c.log.LogAttrs(ctx, slog.LevelDebug, "sikka: not retrying: the wait Sikka asked for exceeds the maximum wait",
					slog.String("op", r.op), slog.String("endpoint", r.endpoint()),
					slog.Duration("asked", asked), slog.Duration("max_wait", c.maxRetryWait))
				return e
			}
			wait = asked
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			c.log.LogAttrs(ctx, slog.LevelDebug, "sikka: not retrying: the context ends before the wait",
				slog.String("op", r.op), slog.String("endpoint", r.endpoint()), slog.Duration("wait", wait))
			return e
		}
		c.log.LogAttrs(ctx, slog.LevelInfo, "sikka: retrying",
			slog.String("op", r.op), slog.String("endpoint", r.endpoint()),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", e.Error()))
		if err := c.sleep(ctx, wait); err != nil {
			abandoned := *e
			if e.Err != nil {
				abandoned.Err = fmt.Errorf("%w; retry abandoned: %w", e.Err, err)
			} else {
				abandoned.Err = fmt.Errorf("retry abandoned: %w", err)
			}
			return &abandoned
		}
	}
}

// askedWait is the wait Sikka asked for before a retry: Retry-After, else,
// on a 429, what is left of the rate window (X-Rate-Limit-Reset); 0 when it
// asked for none.
func askedWait(e *Error) time.Duration {
	if e.RetryAfter > 0 {
		return e.RetryAfter
	}
	if e.kind == ErrRateLimited {
		return e.RateLimitReset
	}
	return 0
}

// retryable tells whether a failed attempt of a call in mode may be tried
// again (attempts and waits permitting).
func retryable(mode retryMode, e *Error) bool {
	switch mode {
	case retryIdempotent:
		return e.kind == ErrUnavailable || e.kind == ErrRateLimited
	case retryUnsent:
		return e.StatusCode == http.StatusTooManyRequests || e.unsent
	}
	return false
}

// attempt makes one HTTP attempt of r; nil means success (decode accepted
// the body).
func (c *Client) attempt(ctx context.Context, r *request, target string, n int, decode func([]byte, time.Time) error) *Error {
	actx := ctx
	if c.attemptTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, c.attemptTimeout)
		defer cancel()
	}
	var connected atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	})
	var body *bytes.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := newRequest(actx, r.method, target, body)
	if err != nil {
		return &Error{Op: r.op, Endpoint: r.endpoint(), Err: r.secrets.cause(err)}
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sikka-connect-go")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		e := c.transportError(ctx, actx, r, err, connected.Load())
		c.logAttempt(ctx, r, n, 0, start, e)
		return e
	}
	defer resp.Body.Close()
	data, err := readBody(resp.Body)
	if err != nil {
		e := c.transportError(ctx, actx, r, err, true)
		c.logAttempt(ctx, r, n, resp.StatusCode, start, e)
		return e
	}
	e := c.response(r.withSentKey(resp.Request), resp, data, decode)
	c.logAttempt(ctx, r, n, resp.StatusCode, start, e)
	return e
}

// newRequest wraps http.NewRequestWithContext so that a nil *bytes.Reader
// becomes a nil body.
func newRequest(ctx context.Context, method, target string, body *bytes.Reader) (*http.Request, error) {
	if body == nil {
		return http.NewRequestWithContext(ctx, method, target, nil)
	}
	return http.NewRequestWithContext(ctx, method, target, body)
}

func (c *Client) logAttempt(ctx context.Context, r *request, n, status int, start time.Time, e *Error) {
	attrs := []slog.Attr{
		slog.String("op", r.op),
		slog.String("endpoint", r.endpoint()),
		slog.Int("attempt", n),
		slog.Int("status", status),
		slog.Duration("elapsed", time.Since(start)),
	}
	if e != nil {
		attrs = append(attrs, slog.String("error", e.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "sikka: attempt", attrs...)
}

// response turns an HTTP response into nil (success) or an *Error.
func (c *Client) response(r *request, resp *http.Response, data []byte, decode func([]byte, time.Time) error) *Error {
	receivedAt := c.now()
	status := resp.StatusCode
	e := &Error{Op: r.op, Endpoint: r.endpoint(), StatusCode: status}
	if len(data) > maxBodySize {
		e.kind = ErrUnavailable
		e.Err = fmt.Errorf("response larger than %d bytes", maxBodySize)
		return e
	}
	trimmed := bytes.TrimSpace(data)

	if status >= 200 && status < 300 {
		// An error envelope in a 2xx answer is an error all the same.
		if env, code, ok := embeddedError(trimmed); ok {
			r.classify(e, code, env.ErrorCode)
			if e.kind == nil && !e.keyRejected {
				e.kind = ErrUnavailable
			}
			e.Envelope = r.secrets.envelope(env)
			e.Err = fmt.Errorf("error envelope (http_code %d) in a %d response", code, status)
			return e
		}
		if err := decode(data, receivedAt); err != nil {
			e.kind = ErrUnavailable
			if len(trimmed) > 0 && !json.Valid(trimmed) {
				err = notJSON(resp, len(data))
			}
			e.Err = r.secrets.cause(fmt.Errorf("unreadable response: %w", err))
			return e
		}
		return nil
	}

	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), receivedAt)
	e.RateLimitReset = parseRateLimitReset(resp.Header.Get("X-Rate-Limit-Reset"))
	var ej envelopeJSON
	if len(trimmed) > 0 {
		if err := json.Unmarshal(trimmed, &ej); err != nil {
			// Not Sikka's JSON: a proxy or another server answered.
			e.kind = kindForStatus(status, r.grant)
			if status != http.StatusTooManyRequests {
				e.kind = ErrUnavailable
			}
			e.Err = notJSON(resp, len(data))
			return e
		}
		e.Envelope = r.secrets.envelope(ej.envelope())
	}
	r.classify(e, status, string(ej.ErrorCode))
	return e
}

// classify sets the sentinels of e, an answer of r with this HTTP status
// (or the envelope's http_code) and Sikka's error code.
func (r *request) classify(e *Error, status int, errorCode string) {
	e.kind = kindForStatus(status, r.grant)
	if r.notFound != nil && (status == http.StatusNotFound ||
		e.kind == ErrUnauthorized && strings.EqualFold(strings.TrimSpace(errorCode), codePracticeNotAuthorized)) {
		e.kind = r.notFound
	}
	e.keyRejected = r.requestKey && keyRejection(status, errorCode)
}

// embeddedError reports an error envelope with an http_code of 400 or
// more sent as the body of a 2xx answer.
func embeddedError(body []byte) (Envelope, int, bool) {
	if len(body) == 0 || body[0] != '{' || !bytes.Contains(body, []byte("http_code")) {
		return Envelope{}, 0, false
	}
	var ej envelopeJSON
	if json.Unmarshal(body, &ej) != nil {
		return Envelope{}, 0, false
	}
	code, err := strconv.Atoi(string(ej.HTTPCode))
	if err != nil || code < 400 || code > 599 {
		return Envelope{}, 0, false
	}
	return ej.envelope(), code, true
}

// notJSON describes a body that is not JSON, without quoting it (it could
// echo anything).
func notJSON(resp *http.Response, size int) error {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || len(mt) > 64 {
		mt = "unknown type"
	}
	return fmt.Errorf("response is not JSON (%s, %d bytes)", mt, size)
}

// Refusal is what an http.RoundTripper may implement on its errors to say
// that it refused a request before sending anything, for a reason a retry
// would not change (integration.Service.HTTPClient does for a disconnected
// or NEEDS_REAUTH account and for a foreign host). The client does not
// retry such a failure, and it does not match ErrUnavailable: the error
// keeps the RoundTripper's, for errors.Is.
type Refusal interface {
	error
	RefusedBeforeSending() bool
}

// transportError wraps a failure to get or read a response: ErrUnavailable,
// with the caller's context error reachable when that is why; or, for a
// Refusal, the refusal alone, not retried.
func (c *Client) transportError(ctx, actx context.Context, r *request, err error, connected bool) *Error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	var rf Refusal
	if errors.As(cause, &rf) && rf.RefusedBeforeSending() && ctx.Err() == nil {
		return &Error{Op: r.op, Endpoint: r.endpoint(), Err: r.secrets.cause(cause)}
	}
	switch {
	case ctx.Err() != nil:
		if !errors.Is(cause, ctx.Err()) {
			cause = fmt.Errorf("%w: %w", ctx.Err(), cause)
		}
	case actx.Err() != nil:
		// Not wrapped: context.DeadlineExceeded matches only when the
		// caller's own context expired.
		cause = fmt.Errorf("attempt timed out after %s", c.attemptTimeout)
	}
	return &Error{
		Op:       r.op,
		Endpoint: r.endpoint(),
		Err:      r.secrets.cause(cause),
		kind:     ErrUnavailable,
		unsent:   !connected && isDialError(err),
	}
}

// isDialError tells whether err happened while dialing (DNS, connect):
// before any byte of the request could leave.
func isDialError(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// parseRateLimitReset reads X-Rate-Limit-Reset: the seconds left in the
// rate window (a whole or decimal number); 0 when absent, unreadable or not
// positive.
func parseRateLimitReset(v string) time.Duration {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !(f > 0) {
		return 0
	}
	if f >= float64(maxExpiresIn/time.Second) {
		return maxExpiresIn
	}
	return time.Duration(f * float64(time.Second))
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date (measured
// from now); 0 when absent, unreadable or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxExpiresIn/time.Second) {
			return maxExpiresIn
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
