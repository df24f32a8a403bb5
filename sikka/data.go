// The data client: a practice's data and writebacks, with a request key
// from any source.

package sikka

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// KeySource returns the request key a data call sends (header Request-Key).
// It is called once per request (each page of a list, each poll of a
// writeback), so a source that renews its key, such as one reading the
// integration's cached credentials, is asked again each time. It must be
// safe for concurrent use. Its error ends the call and stays reachable
// with errors.Is; it must not contain the key.
type KeySource func(ctx context.Context) (string, error)

// StaticKey returns a KeySource that always returns requestKey.
func StaticKey(requestKey string) KeySource {
	return func(context.Context) (string, error) { return requestKey, nil }
}

// DataClient reads one practice's data and submits its writebacks (GET
// /v4/<endpoint>, POST /v4/<writeback>, GET /v4/writeback_status). Make
// one with Client.Data (a KeySource) or Client.DataVia (an *http.Client
// that authenticates by itself). It is safe for concurrent use; it takes
// the base URL, attempt timeout, retries, page size and cap, logger and
// clock of the Client it was made from.
//
// Every error is an *Error, as for Client methods: it matches at most one
// of ErrUnauthorized, ErrRateLimited, ErrUnavailable, ErrSPUOffline,
// ErrNoSuchWriteback and ErrWritebackFailed, and ErrKeyRejected when Sikka
// refused the request key (400 API1004 or API1025, 401, 403). The request
// key never appears in an error's text or a log line, also when it was set
// by the HTTP client of DataVia.
type DataClient struct {
	c *Client
	// keys gives the request key; nil when the HTTP client sets it.
	keys KeySource
}

// Data returns a client of the practice whose request key keys returns
// (StaticKey for a key you hold). When Sikka refuses the key, calls fail
// with ErrKeyRejected: renew it and call again; DataVia with the
// integration's per-account HTTP client does that by itself. With nil keys
// every call fails with ErrKeyRejected before anything is sent.
func (c *Client) Data(keys KeySource) *DataClient {
	if keys == nil {
		keys = StaticKey("")
	}
	return &DataClient{c: c, keys: keys}
}

// DataVia returns a client of the practice that hc authenticates: hc sets
// the Request-Key header itself, as integration.Service.HTTPClient(accountID)
// does for requests to Sikka's base URL (which must be c's). The calls go
// through hc instead of c's HTTP client, with c's base URL, timeouts,
// retries and logging; redirects are refused, as for every Client. hc's
// own retries (such as one after a rejected key) happen within each of
// this client's attempts. nil hc means c's own HTTP client, so no key is
// sent.
func (c *Client) DataVia(hc *http.Client) *DataClient {
	cc := *c
	if hc != nil {
		h := *hc
		h.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		cc.hc = &h
	}
	return &DataClient{c: &cc}
}

// call makes one data call through the Client's machinery: the request
// key from the key source (or the HTTP client), retries per mode, errors
// classified and scrubbed. decode reads a 2xx body.
func (dc *DataClient) call(ctx context.Context, op, method, path string, query url.Values, body []byte, mode retryMode, decode func([]byte) error) error {
	r := &request{
		op:         op,
		method:     method,
		path:       path,
		query:      query,
		body:       body,
		header:     http.Header{},
		mode:       mode,
		requestKey: true,
		secrets:    scrubber{dc.c.appKey},
	}
	if dc.keys != nil {
		key, err := dc.keys(ctx)
		if err != nil {
			return &Error{Op: op, Endpoint: r.endpoint(), Err: err}
		}
		if key == "" {
			return errEmptyRequestKey(op)
		}
		r.header.Set("Request-Key", key)
		r.secrets = append(r.secrets, key)
	}
	return dc.c.do(ctx, r, func(b []byte, _ time.Time) error { return decode(b) })
}
