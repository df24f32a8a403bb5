package mocksikka_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is the frozen start of the mock clock in most tests.
var t0 = time.Date(2026, 2, 10, 4, 0, 28, 0, time.UTC)

// env is a mock served over HTTP, with a client that does not follow redirects.
type env struct {
	t    *testing.T
	mock *mocksikka.Server
	srv  *httptest.Server
	hc   *http.Client
}

func newEnv(t *testing.T, opts ...mocksikka.Option) *env {
	t.Helper()
	mock := mocksikka.New(append([]mocksikka.Option{mocksikka.WithClock(t0)}, opts...)...)
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	hc := srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &env{t: t, mock: mock, srv: srv, hc: hc}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// strings decodes a JSON object whose values are all strings; it fails the test otherwise.
func (r response) strings(t *testing.T) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// envelope asserts the error envelope for status and returns it.
func (r response) envelope(t *testing.T, status int) map[string]string {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	m := r.strings(t)
	assert.Equal(t, sheetDesc(status), m["http_code_desc"])
	assert.Equal(t, itoa(status), m["http_code"])
	for _, k := range []string{"error_code", "short_message", "long_message", "more_information"} {
		assert.NotEmpty(t, m[k], k)
	}
	return m
}

// sheetDesc is http_code_desc as section 7 of the sheet spells it; statuses it does not list
// are Go's status text without spaces.
func sheetDesc(status int) string {
	if d, ok := map[int]string{
		200: "OK", 201: "Created", 204: "NoContent", 400: "BadRequest", 401: "Unauthorized",
		404: "NotFound", 409: "Conflict", 410: "Gone", 422: "Unprocessable", 415: "UnsupportedMediaType",
		500: "InternalServerError", 503: "ServiceUnavailable", 429: "Too Many Requests",
		405: "Method Not Allowed", 412: "Precondition Failed", 504: "Gateway Timeout",
	}[status]; ok {
		return d
	}
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// do sends a request; body is JSON-encoded unless it is a string or nil. It is sent as
// application/json when there is one, and so is every admin change (a POST without a body too).
func (e *env) do(method, path string, body any, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if body != nil || strings.HasPrefix(path, "/_mock/") && method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.hc.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// postForm posts a form to the consent page.
func (e *env) postForm(v url.Values) response {
	e.t.Helper()
	resp, err := e.hc.PostForm(e.srv.URL+"/portal/authapp.aspx", v)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// grant posts a grant to /v4/request_key with the default app's credentials.
func (e *env) grant(grant string, fields ...string) response {
	e.t.Helper()
	body := map[string]string{"grant_type": grant, "app_id": mocksikka.DefaultAppID, "app_key": mocksikka.DefaultAppKey}
	for i := 0; i+1 < len(fields); i += 2 {
		body[fields[i]] = fields[i+1]
	}
	return e.do("POST", "/v4/request_key", body)
}

// officeKey returns a fresh key pair for the default office through the request_key grant.
func (e *env) officeKey() map[string]string {
	e.t.Helper()
	r := e.grant("request_key", "office_id", mocksikka.DefaultOfficeID, "secret_key", mocksikka.DefaultSecretKey)
	require.Equal(e.t, http.StatusOK, r.status, "body: %s", r.body)
	return r.strings(e.t)
}

// code returns a code for the default app and office.
func (e *env) code() string {
	e.t.Helper()
	c, err := e.mock.IssueCode(mocksikka.DefaultAppID, mocksikka.DefaultOfficeID)
	require.NoError(e.t, err)
	return c
}

// list decodes a list envelope.
type list struct {
	Offset, Limit, TotalCount, ExecutionTime string
	Pagination                               map[string]string
	Items                                    []map[string]string
}

func (r response) list(t *testing.T) list {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var raw struct {
		Offset        string              `json:"offset"`
		Limit         string              `json:"limit"`
		TotalCount    string              `json:"total_count"`
		ExecutionTime string              `json:"execution_time"`
		Pagination    map[string]string   `json:"pagination"`
		Items         []map[string]string `json:"items"`
	}
	require.NoError(t, json.Unmarshal(r.body, &raw), "body: %s", r.body)
	return list{raw.Offset, raw.Limit, raw.TotalCount, raw.ExecutionTime, raw.Pagination, raw.Items}
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// send sends a prepared request.
func send(t *testing.T, e *env, req *http.Request) response {
	t.Helper()
	resp, err := e.hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}
