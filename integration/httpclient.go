package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parlae/sikka-connect/internal/ctxsleep"
	"github.com/parlae/sikka-connect/sikka"
)

// DefaultMaxRateLimitWait is the default of Config.MaxRateLimitWait.
const DefaultMaxRateLimitWait = time.Minute

// ErrForeignHost: an HTTPClient was asked to send a request elsewhere than
// Sikka's base URL (another scheme, host, port or path prefix). Nothing was
// sent: the account's key goes to Sikka only.
var ErrForeignHost = errors.New("integration: the account's HTTP client sends requests only to Sikka's base URL")

// noHintWait is the wait before retrying a GET after a 429 that named none
// (no Retry-After, no X-Rate-Limit-Reset).
const noHintWait = time.Second

// maxRejectionBody bounds how much of a 400, 401 or 403 answer is read to
// tell whether it rejects the key; the body is handed on whole either way.
const maxRejectionBody = 64 << 10

// HTTPClient returns an *http.Client that calls Sikka's API as the account:
// each request gets the account's current Request-Key header (from the
// cache, as Credentials). Make one per account and call or keep it as long
// as wanted; it is safe for concurrent use and cheap to make.
//
// What it promises, per request:
//   - Only requests to the Sikka client's base URL (scheme, host and port,
//     and its path prefix) are sent; any other URL fails with
//     ErrForeignHost before anything is sent. Redirects are never followed
//     (the 3xx answer is returned), so the key never leaves for another
//     host.
//   - A key with less than RefreshMargin left is renewed first, as by
//     Credentials (one refresh per account across the process and, by the
//     account's lock, across replicas).
//   - When Sikka rejects the key (sikka.RejectsKey, the rule of
//     sikka.ErrKeyRejected: 400 API1004 or API1025, 401 or 403), the key is renewed once, or, when the store already holds
//     another key (another replica renewed it), that one is read instead;
//     then the request is sent again with it if it can be: a rejected
//     request was not processed, and a body is replayed only when the
//     request has GetBody (http.NewRequest sets it for in-memory bodies).
//     Otherwise the rejecting answer is returned (its body intact) and the
//     next request uses the new key. 2xx answers are handed on unread.
//   - A NEEDS_REAUTH or disconnected account fails before anything is sent,
//     with an error matching ErrNeedsReauth or ErrNotConnected (as does a
//     renewal that ends in NEEDS_REAUTH).
//   - Rate limits, per practice (office) in this process: after an answer
//     with X-Rate-Limit-Remaining 0, the next request waits until its
//     X-Rate-Limit-Reset; a 429 to a GET or HEAD is waited out
//     (Retry-After, else X-Rate-Limit-Reset, else a second) and the
//     request sent once more (if its body, if any, can be replayed). Both
//     waits are bounded by Config.MaxRateLimitWait and by the request's
//     context; a 429 asking for longer is returned as is.
//
// Errors come wrapped in *url.Error by the http.Client, as always; match
// them with errors.Is. The key never appears in an error or a log line.
func (s *Service) HTTPClient(accountID string) *http.Client {
	return &http.Client{
		Transport:     &accountTransport{s: s, account: accountID, base: s.cfg.Sikka.BaseURL(), next: s.cfg.Sikka.Transport()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// accountTransport is the RoundTripper of HTTPClient.
type accountTransport struct {
	s       *Service
	account string
	base    *url.URL          // the Sikka client's base URL; nil when invalid
	next    http.RoundTripper // the Sikka client's transport
}

// RoundTrip implements http.RoundTripper (see HTTPClient).
func (t *accountTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s := t.s
	ctx := req.Context()
	fail := func(err error) (*http.Response, error) {
		if req.Body != nil {
			req.Body.Close()
		}
		if errors.Is(err, ErrNotConnected) || errors.Is(err, ErrNeedsReauth) || errors.Is(err, ErrForeignHost) {
			err = refusal{err} // final: a client of ours (sikka.DataVia) does not retry it
		}
		return nil, err
	}
	if err := t.sameBase(req.URL); err != nil {
		return fail(err)
	}
	sec, err := s.secret(ctx, t.account)
	if err != nil {
		return fail(fmt.Errorf("integration: account %q: %w", t.account, err))
	}
	next := t.next
	office := sec.OfficeID
	if err := s.rates.pace(ctx, office, s.cfg.MaxRateLimitWait, s.log); err != nil {
		return fail(err)
	}
	resp, err := s.send(next, req, req.Body, sec.RequestKey, office)
	if err != nil {
		return nil, err
	}

	rejected, err := rejectsKey(resp)
	if err != nil {
		return nil, err
	}
	resendable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if rejected {
		s.log.Info("integration: Sikka rejected the account's key; renewing it",
			"account_id", t.account, "office_id", office, "status", resp.StatusCode, "resend", resendable)
		if resendable {
			discard(resp)
		}
		renewed, err := s.renew(ctx, t.account, sec.RequestKey)
		if err != nil {
			if !resendable {
				discard(resp)
			}
			return nil, fmt.Errorf("integration: account %q: Sikka rejected the key, and it could not be renewed: %w", t.account, err)
		}
		if !resendable {
			return resp, nil
		}
		body, err := replayBody(req)
		if err != nil {
			return nil, err
		}
		sec = renewed
		if resp, err = s.send(next, req, body, sec.RequestKey, office); err != nil {
			return nil, err
		}
	}

	if resp.StatusCode == http.StatusTooManyRequests && resendable &&
		(req.Method == http.MethodGet || req.Method == http.MethodHead) {
		wait := sikka.RetryWait(resp, time.Now())
		if wait <= 0 {
			wait = noHintWait // Sikka said nothing: do not retry at once
		}
		if wait > s.cfg.MaxRateLimitWait {
			return resp, nil
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return resp, nil
		}
		discard(resp)
		s.log.Info("integration: Sikka answered 429; waiting before one retry",
			"account_id", t.account, "office_id", office, "wait", wait)
		if err := ctxsleep.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		body, err := replayBody(req)
		if err != nil {
			return nil, err
		}
		return s.send(next, req, body, sec.RequestKey, office)
	}
	return resp, nil
}

// send sends a copy of req with body and the Request-Key header through next,
// and notes the answer's rate headers for office.
func (s *Service) send(next http.RoundTripper, req *http.Request, body io.ReadCloser, key, office string) (*http.Response, error) {
	out := *req // a shallow copy, with headers of its own: req is the caller's
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = make(http.Header, 1)
	}
	out.Header["Request-Key"] = []string{key}
	out.Body = body
	resp, err := next.RoundTrip(&out)
	if err != nil {
		return nil, err
	}
	if remaining, reset, ok := sikka.RateLimit(resp.Header); ok {
		s.rates.observe(office, remaining, reset, time.Now())
	}
	return resp, nil
}

// rejectsKey tells whether resp rejects the key it carried
// (sikka.RejectsKey). Only the body of a 400, 401 or 403 is read (at most
// maxRejectionBody), and put back whole for the caller; 2xx answers are not
// read.
func rejectsKey(resp *http.Response) (bool, error) {
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
	default:
		return false, nil
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxRejectionBody))
	if err != nil {
		resp.Body.Close()
		return false, fmt.Errorf("integration: read Sikka's %d answer: %w", resp.StatusCode, err)
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return sikka.RejectsKey(resp, head), nil
}

// replayBody returns a fresh copy of req's body for a second send (the
// caller checked that it has none or has GetBody).
func replayBody(req *http.Request) (io.ReadCloser, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody == nil {
		return req.Body, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("integration: replay the request body: %w", err)
	}
	return body, nil
}

// discard reads a little of an answer not handed on (so its connection can
// be reused) and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxRejectionBody))
	resp.Body.Close()
}

// sameBase is nil when u is under the base URL: same scheme, same host and
// port (default ports made explicit, host names in any case), and a path
// under the base's path prefix; else an error matching ErrForeignHost,
// naming the host asked for (never the query).
func (t *accountTransport) sameBase(u *url.URL) error {
	base := t.base
	if base == nil {
		return fmt.Errorf("%w: the Sikka client's base URL is invalid", ErrForeignHost)
	}
	sameHost := u.Scheme == base.Scheme && u.Host == base.Host || // as written: the usual case
		strings.EqualFold(u.Scheme, base.Scheme) && hostPort(u) == hostPort(base)
	if !sameHost || !underPrefix(base.Path, u) {
		return fmt.Errorf("%w: refused %s://%s (Sikka is %s)", ErrForeignHost, u.Scheme, u.Host, base.Redacted())
	}
	return nil
}

// hostPort is u's host, lower-cased, with its port (the scheme's default
// when none is given).
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// underPrefix tells whether u's path lies under prefix (whole segments), with
// no dot segment that could climb out of it.
func underPrefix(prefix string, u *url.URL) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	p := u.EscapedPath()
	if p != prefix && !strings.HasPrefix(p, prefix+"/") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." || strings.EqualFold(seg, "%2e%2e") {
			return false
		}
	}
	return true
}

// rateLimits paces calls per practice (office) in the process by Sikka's
// rate headers: it remembers the offices whose last answer said no call was
// left in the window, until the window ends.
type rateLimits struct {
	mu        sync.Mutex
	exhausted map[string]time.Time // office → end of its spent window (real time)
	// spent is len(exhausted), read without the lock: while no window is
	// spent (the usual case), a request takes no lock for pacing.
	spent atomic.Int64
}

// observe notes an answer's rate headers for office, received at now.
func (r *rateLimits) observe(office string, remaining int, reset time.Duration, now time.Time) {
	if remaining > 0 && r.spent.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() { r.spent.Store(int64(len(r.exhausted))) }()
	if remaining > 0 {
		delete(r.exhausted, office)
		return
	}
	if reset <= 0 {
		return // nothing to wait for
	}
	if r.exhausted == nil {
		r.exhausted = make(map[string]time.Time)
	}
	r.exhausted[office] = now.Add(reset)
}

// pace waits, when office's window is spent, until it ends: at most
// maxWait, and no longer than ctx lives.
func (r *rateLimits) pace(ctx context.Context, office string, maxWait time.Duration, log interface {
	Info(string, ...any)
}) error {
	if r.spent.Load() == 0 {
		return nil
	}
	r.mu.Lock()
	until, ok := r.exhausted[office]
	r.mu.Unlock()
	if !ok {
		return nil
	}
	wait := min(time.Until(until), maxWait)
	if wait <= 0 {
		r.mu.Lock()
		if r.exhausted[office] == until {
			delete(r.exhausted, office)
			r.spent.Store(int64(len(r.exhausted)))
		}
		r.mu.Unlock()
		return nil
	}
	log.Info("integration: Sikka's rate window is spent for this practice; waiting for it to end",
		"office_id", office, "wait", wait)
	return ctxsleep.Sleep(ctx, wait)
}

// refusal is a request HTTPClient refused before sending anything, for a
// reason a retry does not change; it is a sikka.Refusal, so the sikka
// client (DataVia) neither retries it nor calls it ErrUnavailable.
type refusal struct{ error }

func (r refusal) Unwrap() error              { return r.error }
func (r refusal) RefusedBeforeSending() bool { return true }
