package sikka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/parlae/sikka-connect/internal/ctxsleep"
	"github.com/parlae/sikka-connect/internal/redact"
)

// Defaults of a Client made by New; each has an Option to change it.
const (
	// DefaultBaseURL is Sikka's production API.
	DefaultBaseURL = "https://api.sikkasoft.com"
	// DefaultAttemptTimeout bounds each HTTP attempt (connect, send, read
	// the whole response). The caller's context bounds the whole call.
	DefaultAttemptTimeout = 10 * time.Second
	// DefaultMaxAttempts is how many attempts a retryable call makes at most,
	// the first one included.
	DefaultMaxAttempts = 3
	// DefaultMaxRetryWait is the longest wait Sikka may ask for (Retry-After,
	// or X-Rate-Limit-Reset on a 429) that the client waits out; Sikka
	// asking for longer ends the call with the error at once.
	DefaultMaxRetryWait = 30 * time.Second
	// DefaultPageSize is the limit asked for per page of a list.
	DefaultPageSize = 50
	// DefaultMaxPages is how many pages a list call reads at most before it
	// gives up on a server that never ends (ErrUnavailable).
	DefaultMaxPages = 200
)

// Client calls the Sikka v4 API on behalf of one app (app id and app key).
// Make one with New; it is safe for concurrent use and does not change
// after New returns.
//
// Every method takes the caller's context first; its cancellation or
// deadline ends the call, waits between retries included. Every error is an
// *Error matching at most one of ErrInvalidGrant, ErrUnauthorized,
// ErrRateLimited, ErrUnavailable and ErrNoSuchPractice, and, for a call that
// sent a request key, possibly ErrKeyRejected besides. No secret (app key, code, secret key,
// request key, refresh key) ever appears in an error's text or in a log line
// the client writes.
type Client struct {
	appID  string
	appKey string

	base    *url.URL
	baseErr error

	// authPage is the authorization page set by WithAuthorizeURL (nil:
	// derived from base); authPageSet is true when one was given, valid or
	// not.
	authPage    *url.URL
	authPageSet bool

	hc             *http.Client
	attemptTimeout time.Duration
	maxAttempts    int
	backoff        Backoff
	maxRetryWait   time.Duration
	log            *slog.Logger
	now            func() time.Time
	pageSize       int
	maxPages       int

	// sleep waits d or until ctx ends; replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a client for the app with the given id and key, with the
// defaults above changed by opts (applied in order).
func New(appID, appKey string, opts ...Option) *Client {
	c := &Client{
		appID:          appID,
		appKey:         appKey,
		hc:             &http.Client{Transport: defaultTransport},
		attemptTimeout: DefaultAttemptTimeout,
		maxAttempts:    DefaultMaxAttempts,
		backoff:        DefaultBackoff,
		maxRetryWait:   DefaultMaxRetryWait,
		log:            slog.New(slog.DiscardHandler),
		now:            time.Now,
		pageSize:       DefaultPageSize,
		maxPages:       DefaultMaxPages,
		sleep:          ctxsleep.Sleep,
	}
	WithBaseURL(DefaultBaseURL)(c)
	for _, opt := range opts {
		opt(c)
	}
	hc := *c.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	return c
}

// AppID returns the app id the client calls for.
func (c *Client) AppID() string { return c.appID }

// String describes the client without its app key.
func (c *Client) String() string {
	base := "<invalid>"
	if c.base != nil {
		base = c.base.Redacted()
	}
	return fmt.Sprintf("sikka.Client{AppID:%q AppKey:%q BaseURL:%q}", c.appID, redact.IfSet(c.appKey), base)
}

// GoString returns the same text as String (for %#v).
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb, so the app key never shows.
func (c *Client) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// AuthorizeURL returns the page where a practice authorizes the app, with
// app_id, redirect_uri and state added to its query (URL-encoded): by
// default {base}/portal/authapp.aspx, or the page set by WithAuthorizeURL,
// whose own query is kept. Sikka redirects back to redirectURI with code
// and state (or error=access_denied and state). "" when that URL is invalid.
func (c *Client) AuthorizeURL(redirectURI, state string) string {
	var u *url.URL
	switch {
	case c.authPage != nil:
		page := *c.authPage
		u = &page
	case c.authPageSet || c.base == nil:
		return ""
	default:
		u = c.base.JoinPath("portal", "authapp.aspx")
	}
	add := url.Values{
		"app_id":       {c.appID},
		"redirect_uri": {redirectURI},
		"state":        {state},
	}.Encode()
	if u.RawQuery != "" {
		add = u.RawQuery + "&" + add
	}
	u.RawQuery = add
	return u.String()
}

// Paths of the endpoints, relative to the base URL.
const (
	pathRequestKey          = "/v4/request_key"
	pathRequestKeyInfo      = "/v4/request_key_info"
	pathAuthorizedPractices = "/v4/authorized_practices"
	pathRefreshKey          = "/v4/refresh_key"
)

// errNoRequestKey: a 2xx answer to a grant without a request key.
var errNoRequestKey = errors.New("response has no request_key")

// ExchangeCode trades the code from Sikka's authorization redirect for a
// request key (POST /v4/request_key, grant_type authorization_code).
//
// It is never retried: the code is single-use, and a retry after Sikka may
// have received it would burn the code or answer "already used". A failure
// is returned as is; the practice authorizes again for a new code.
// Errors: ErrInvalidGrant (unknown, expired or already used code; an empty
// code), ErrUnauthorized (wrong app id or key), ErrRateLimited,
// ErrUnavailable.
func (c *Client) ExchangeCode(ctx context.Context, code string) (*Key, error) {
	const op = "ExchangeCode"
	if code == "" {
		return nil, &Error{Op: op, kind: ErrInvalidGrant, Err: errors.New("empty authorization code")}
	}
	return c.grant(ctx, op, retryNever, map[string]string{
		"grant_type": "authorization_code",
		"code":       code,
	}, code)
}

// RequestKey mints a new request key from a practice's stored office id and
// secret key (POST /v4/request_key, grant_type request_key), the fallback
// when a refresh key no longer works.
//
// Retried only when Sikka answered 429 or the request surely never reached
// Sikka (dialing failed before any connection existed): whether a second
// grant invalidates the first key is unknown, so a request Sikka may have
// processed is not repeated. Errors: ErrUnauthorized (wrong office id or
// secret key, wrong app credentials), ErrInvalidGrant (400; an empty office
// id or secret key), ErrRateLimited, ErrUnavailable.
func (c *Client) RequestKey(ctx context.Context, officeID, secretKey string) (*Key, error) {
	const op = "RequestKey"
	if officeID == "" || secretKey == "" {
		return nil, &Error{Op: op, kind: ErrInvalidGrant, Err: errors.New("empty office id or secret key")}
	}
	return c.grant(ctx, op, retryUnsent, map[string]string{
		"grant_type": "request_key",
		"office_id":  officeID,
		"secret_key": secretKey,
	}, secretKey)
}

// RefreshKey renews a request key before it expires (POST /v4/request_key,
// grant_type refresh_key). The returned Key holds the new request key and
// refresh key; store both. Whether Sikka invalidates the old keys is
// unknown: use the new ones from now on.
//
// Retried like RequestKey, only on 429 or when the request surely never
// left: a refresh Sikka processed but whose answer was lost may have used up
// the refresh key. A refresh key Sikka refuses (unknown, expired, used,
// revoked) comes back as ErrUnauthorized (401, the mock's answer) or
// ErrInvalidGrant (400; an empty refresh key); either way the refresh key is
// dead: fall back to RequestKey. Other errors: ErrRateLimited,
// ErrUnavailable.
func (c *Client) RefreshKey(ctx context.Context, refreshKey string) (*Key, error) {
	const op = "RefreshKey"
	if refreshKey == "" {
		return nil, &Error{Op: op, kind: ErrInvalidGrant, Err: errors.New("empty refresh key")}
	}
	return c.grant(ctx, op, retryUnsent, map[string]string{
		"grant_type":  "refresh_key",
		"refresh_key": refreshKey,
	}, refreshKey)
}

// grant posts one grant to /v4/request_key; secrets are the caller's
// secrets in fields, scrubbed from any error text.
func (c *Client) grant(ctx context.Context, op string, mode retryMode, fields map[string]string, secrets ...string) (*Key, error) {
	fields["app_id"] = c.appID
	fields["app_key"] = c.appKey
	body, err := jsonBody(fields)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	var key Key
	err = c.do(ctx, &request{
		op:      op,
		method:  http.MethodPost,
		path:    pathRequestKey,
		body:    body,
		mode:    mode,
		grant:   true,
		secrets: append(scrubber{c.appKey}, secrets...),
	}, func(b []byte, receivedAt time.Time) error {
		k, err := parseKey(b, receivedAt)
		if err != nil {
			return err
		}
		if k.RequestKey == "" {
			return errNoRequestKey
		}
		key = k
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &key, nil
}

// RequestKeyInfo asks Sikka about a request key (GET /v4/request_key_info,
// header Request-Key): whom it was issued to, its status and expiry. The
// returned Key's RequestKey is requestKey when Sikka does not repeat it.
// Retried on 429, 5xx and transport failures. Errors: ErrKeyRejected
// (unknown, expired or revoked key: 400 API1004 or API1025, or 401/403,
// which match ErrUnauthorized too; an empty key), ErrRateLimited,
// ErrUnavailable.
func (c *Client) RequestKeyInfo(ctx context.Context, requestKey string) (*Key, error) {
	const op = "RequestKeyInfo"
	if requestKey == "" {
		return nil, errEmptyRequestKey(op)
	}
	var key Key
	err := c.do(ctx, &request{
		op:         op,
		method:     http.MethodGet,
		path:       pathRequestKeyInfo,
		header:     http.Header{"Request-Key": {requestKey}},
		mode:       retryIdempotent,
		requestKey: true,
		secrets:    scrubber{c.appKey, requestKey},
	}, func(b []byte, receivedAt time.Time) error {
		k, err := parseKey(b, receivedAt)
		if err != nil {
			return err
		}
		if k.RequestKey == "" {
			k.RequestKey = requestKey
		}
		key = k
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &key, nil
}

// RevokeKey asks Sikka to end a request key's session (DELETE
// /v4/request_key, headers Request-Key and Content-Type); Sikka answers 200
// with the API0002 envelope ("Request Session terminated successfully"),
// and any 2xx without an error envelope is success. Callers disconnecting a
// practice treat it as best effort: log a failure and go on. Retried on 429,
// 5xx and transport failures. A key Sikka no longer accepts gives
// ErrKeyRejected (400 API1004 or API1025, or 401/403), which a caller may
// take as done.
func (c *Client) RevokeKey(ctx context.Context, requestKey string) error {
	const op = "RevokeKey"
	if requestKey == "" {
		return errEmptyRequestKey(op)
	}
	return c.do(ctx, &request{
		op:         op,
		method:     http.MethodDelete,
		path:       pathRequestKey,
		header:     http.Header{"Request-Key": {requestKey}, "Content-Type": {"application/json"}},
		mode:       retryIdempotent,
		requestKey: true,
		secrets:    scrubber{c.appKey, requestKey},
	}, func([]byte, time.Time) error { return nil })
}

// RevokeRefreshKey asks Sikka to delete a refresh key (DELETE
// /v4/refresh_key, headers Refresh-Key, App-Id, App-Key and Content-Type);
// Sikka answers 200 with the API0002 envelope, and any 2xx without an error
// envelope is success. A refresh key lives until deleted, so a practice
// disconnecting should have it deleted; callers treat it as best effort.
// Retried on 429, 5xx and transport failures.
//
// Errors: ErrInvalidGrant, without a request, for an empty refresh key;
// ErrUnauthorized (401/403: wrong app id or key, or a refresh key Sikka
// refuses); a 400 matches no sentinel (Sikka does not document its answer
// to an unknown or deleted refresh key: Error.Envelope.ErrorCode says which,
// API1004 presumably); ErrRateLimited; ErrUnavailable. ErrKeyRejected never
// matches: the call sends no request key.
func (c *Client) RevokeRefreshKey(ctx context.Context, refreshKey string) error {
	const op = "RevokeRefreshKey"
	if refreshKey == "" {
		return &Error{Op: op, kind: ErrInvalidGrant, Err: errors.New("empty refresh key")}
	}
	return c.do(ctx, &request{
		op:     op,
		method: http.MethodDelete,
		path:   pathRefreshKey,
		header: http.Header{
			"Refresh-Key":  {refreshKey},
			"App-Id":       {c.appID},
			"App-Key":      {c.appKey},
			"Content-Type": {"application/json"},
		},
		mode:    retryIdempotent,
		secrets: scrubber{c.appKey, refreshKey},
	}, func([]byte, time.Time) error { return nil })
}

func errEmptyRequestKey(op string) error {
	return &Error{Op: op, kind: ErrUnauthorized, keyRejected: true, Err: errors.New("empty request key")}
}

// AuthorizedPractices lists the practices a request key may read (GET
// /v4/authorized_practices, header Request-Key): the office the key was
// issued to (Key.IssuedTo). Use PrimaryPractice to pick it.
//
// It asks with show=all, so every practice of the office comes back, not
// only practice id "1" (a practice numbered otherwise, like the "1-1" of
// Sikka's own examples, would be missing without it). It reads every page
// (offset is a page number from 0), and stops when a page is empty, when
// total_count items were read, when the pagination object has no next link,
// when a page brings nothing new, or, for a list without total_count nor
// pagination, after a short page. Duplicates (same office and practice id)
// and items without an office id are dropped; order is the server's. No
// content (a 204, an empty body, or Sikka's API2005 envelope in a 2xx
// answer) is an empty page: no practices, or, after the first page, the end
// of the list. More than the page cap (WithMaxPages) is ErrUnavailable. Each
// page is retried on 429, 5xx and transport failures. Errors:
// ErrKeyRejected (unknown, expired or revoked key: 400 API1004 or API1025,
// or 401/403, which match ErrUnauthorized too; an empty key),
// ErrRateLimited, ErrUnavailable.
func (c *Client) AuthorizedPractices(ctx context.Context, requestKey string) ([]Practice, error) {
	const op = "AuthorizedPractices"
	if requestKey == "" {
		return nil, errEmptyRequestKey(op)
	}
	return c.listPractices(ctx, op, http.Header{"Request-Key": {requestKey}}, true, scrubber{c.appKey, requestKey})
}

// AuthorizedPracticesForApp lists every practice that authorized the app,
// authenticated by the app id and app key (headers App-Id and App-Key)
// rather than a request key. Pagination, show=all, retries and errors as
// for AuthorizedPractices; ErrUnauthorized means a wrong app id or key.
func (c *Client) AuthorizedPracticesForApp(ctx context.Context) ([]Practice, error) {
	const op = "AuthorizedPracticesForApp"
	return c.listPractices(ctx, op, http.Header{"App-Id": {c.appID}, "App-Key": {c.appKey}}, false, scrubber{c.appKey})
}

// AuthorizedPractice returns the practice of one office that authorized the
// app (GET /v4/authorized_practices/{office_id}, headers App-Id and App-Key).
// Sikka does not document this path nor its answer: the client takes the
// list envelope, a bare array or a bare practice object, and returns the item
// of that office, preferring practice id "1" as PrimaryPractice does. When
// the server does not serve the path (404 or 405), it falls back to the
// documented list (AuthorizedPracticesForApp) and picks the office there.
// Retried on 429, 5xx and transport failures.
//
// Errors: ErrNoSuchPractice (404, 401/403 with API2007, no content, or no
// item of that office, the last two with StatusCode 0; an empty office id),
// ErrUnauthorized (wrong app id or key),
// ErrRateLimited, ErrUnavailable.
func (c *Client) AuthorizedPractice(ctx context.Context, officeID string) (*Practice, error) {
	const op = "AuthorizedPractice"
	path := pathAuthorizedPractices + "/" + url.PathEscape(officeID)
	if officeID == "" || officeID == "." || officeID == ".." {
		return nil, &Error{Op: op, kind: ErrNoSuchPractice, Err: errors.New("empty or invalid office id")}
	}
	var (
		p     Practice
		found bool
	)
	err := c.do(ctx, &request{
		op:       op,
		method:   http.MethodGet,
		path:     path,
		header:   http.Header{"App-Id": {c.appID}, "App-Key": {c.appKey}},
		mode:     retryIdempotent,
		notFound: ErrNoSuchPractice,
		secrets:  scrubber{c.appKey},
	}, func(b []byte, _ time.Time) error {
		items, err := parsePracticeOrPage(b)
		if err != nil {
			return err
		}
		p, found = PrimaryPractice(items, officeID)
		return nil
	})
	var se *Error
	if errors.As(err, &se) && (se.StatusCode == http.StatusNotFound || se.StatusCode == http.StatusMethodNotAllowed) {
		// The per-office path is inferred from the list's hrefs; a server
		// without it still has the documented list.
		all, lerr := c.AuthorizedPracticesForApp(ctx)
		var le *Error
		switch {
		case errors.As(lerr, &le) && le.StatusCode == http.StatusNotFound:
			// no list either: the office's 404 stands
		case lerr != nil:
			return nil, lerr
		default:
			p, found = PrimaryPractice(all, officeID)
			err = nil
		}
	}
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &Error{Op: op, Endpoint: http.MethodGet + " " + path,
			kind: ErrNoSuchPractice, Err: errors.New("the answer does not list that office")}
	}
	return &p, nil
}

func (c *Client) listPractices(ctx context.Context, op string, header http.Header, byRequestKey bool, secrets scrubber) ([]Practice, error) {
	var (
		out     []Practice
		seen    = make(map[string]bool)
		fetched int
	)
	for page := 0; ; page++ {
		if page >= c.maxPages {
			return nil, &Error{
				Op:       op,
				Endpoint: http.MethodGet + " " + pathAuthorizedPractices,
				kind:     ErrUnavailable,
				Err:      fmt.Errorf("list did not end after %d pages", c.maxPages),
			}
		}
		var pg practicePage
		err := c.do(ctx, &request{
			op:     op,
			method: http.MethodGet,
			path:   pathAuthorizedPractices,
			query: url.Values{
				"limit":  {fmt.Sprint(c.pageSize)},
				"offset": {fmt.Sprint(page)},
				"show":   {"all"},
			},
			header:     header,
			mode:       retryIdempotent,
			requestKey: byRequestKey,
			secrets:    secrets,
		}, func(b []byte, _ time.Time) error {
			var err error
			pg, err = parsePracticePage(b)
			return err
		})
		if err != nil {
			return nil, err
		}
		fetched += len(pg.items)
		added := 0
		for _, p := range pg.items {
			id := p.OfficeID + "\x00" + p.PracticeID
			if p.OfficeID == "" || seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, p)
			added++
		}
		switch {
		case len(pg.items) == 0, added == 0:
			return out, nil
		case pg.total >= 0 && fetched >= pg.total:
			return out, nil
		case pg.hasPagination && pg.next == "":
			return out, nil
		case pg.total < 0 && !pg.hasPagination && len(pg.items) < c.pageSize:
			return out, nil
		}
	}
}

// maxBodySize bounds a response body; a larger one is ErrUnavailable.
const maxBodySize = 8 << 20

// readBody reads at most maxBodySize+1 bytes of r.
func readBody(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, maxBodySize+1))
}
