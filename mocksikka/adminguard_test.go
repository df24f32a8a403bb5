package mocksikka_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// raw sends method path with the given Host (the server's own when ""), Content-Type (none
// when "") and body.
func (e *env) raw(method, path, host, contentType, body string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	if body == "" {
		req.Body, req.ContentLength = nil, 0
	}
	if host != "" {
		req.Host = host
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return send(e.t, e, req)
}

// adminChanges is one request of every admin route that changes the mock, with a valid body.
var adminChanges = []struct{ method, path, body string }{
	{"POST", "/_mock/reset", ""},
	{"POST", "/_mock/apps", `{"app_id":"x","app_key":"k","redirect_uris":["https://x.example/cb"]}`},
	{"POST", "/_mock/practices", `{"office_id":"N9","secret_key":"s","practice_name":"New"}`},
	{"PUT", "/_mock/auto-approve", `{"office_id":"D36225"}`},
	{"POST", "/_mock/faults", `{"endpoint":"*","status":500}`},
	{"DELETE", "/_mock/faults", ""},
	{"DELETE", "/_mock/journal", ""},
	{"POST", "/_mock/clock", `{"advance":"25h"}`},
	{"PUT", "/_mock/settings", `{"key_ttl":"1h"}`},
	{"POST", "/_mock/codes", `{"app_id":"b0cac8c638d52c92f9c0312159fc4518","office_id":"D36225"}`},
}

// snapshot is what the admin changes above would change.
type snapshot struct {
	now      time.Time
	faults   []mocksikka.Fault
	journal  int
	sizes    mocksikka.Sizes
	settings string
}

func takeSnapshot(e *env) snapshot {
	e.t.Helper()
	return snapshot{e.mock.Now(), e.mock.Faults(), len(e.mock.Journal()), e.mock.StoreSizes(),
		string(e.do("GET", "/_mock/settings", nil).body)}
}

// prepared gives the mock some state that a reset or a clear would remove.
func prepared(t *testing.T, opts ...mocksikka.Option) *env {
	e := newEnv(t, opts...)
	e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/practices", Status: 503})
	e.code()
	e.officeKey()
	require.NoError(t, e.mock.AddApp(mocksikka.App{ID: "added", Key: "k"}))
	return e
}

// Item 1: a cross-site page can send text/plain, a form or no body at all without a CORS
// preflight; every admin change refuses them with 415 and changes nothing.
func TestAdminChangesRequireJSON(t *testing.T) {
	e := prepared(t)
	before := takeSnapshot(e)
	for _, ct := range []string{"", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/jsonx", "application/json-patch+json", "json"} {
		for _, c := range adminChanges {
			r := e.raw(c.method, c.path, "", ct, c.body)
			m := r.envelope(t, http.StatusUnsupportedMediaType)
			assert.Equal(t, "API1006", m["error_code"], "%s %s %q", c.method, c.path, ct)
			assert.Contains(t, m["long_message"], "Content-Type: application/json", "it says what to send")
		}
	}
	after := takeSnapshot(e)
	assert.Equal(t, before, after, "nothing changed")
	assert.Equal(t, 400, e.do("GET", "/portal/authapp.aspx?app_id=x&redirect_uri=https://x.example/cb", nil).status, "no app added")

	// Reads need no Content-Type.
	for _, p := range []string{"/_mock/faults", "/_mock/journal", "/_mock/count", "/_mock/clock", "/_mock/settings"} {
		assert.Equal(t, 200, e.raw("GET", p, "", "", "").status, p)
	}
	// JSON with parameters, in any case, is accepted, with a body or without one.
	assert.Equal(t, 200, e.raw("POST", "/_mock/clock", "", "Application/JSON; charset=utf-8", `{"advance":"1h"}`).status)
	assert.Equal(t, before.now.Add(time.Hour), e.mock.Now())
	assert.Equal(t, 200, e.raw("DELETE", "/_mock/faults", "", "application/json", "").status)
	assert.Empty(t, e.mock.Faults())
	assert.Equal(t, 200, e.raw("POST", "/_mock/reset", "", "application/json", "").status)
	assert.Equal(t, mocksikka.Sizes{}, e.mock.StoreSizes())
}

// Item 1: a page that rebinds its own name to the mock's address sends its own name as Host;
// the admin API refuses every Host but loopback and configured ones, for reads, changes and
// unknown admin paths alike, and changes nothing.
func TestAdminRequiresLoopbackOrConfiguredHost(t *testing.T) {
	e := prepared(t, mocksikka.WithAdminHosts("mocksikka:8089", "Admin.Internal"))
	before := takeSnapshot(e)
	foreign := []string{"evil.example", "evil.example:8089", "127.0.0.1.evil.example", "localhost.evil.example",
		"mocksikka", "mocksikka:9999", "mocksikka.evil.example:8089", "10.0.0.1:8089", "[::2]:8089"}
	for _, host := range foreign {
		for _, c := range adminChanges {
			m := e.raw(c.method, c.path, host, "application/json", c.body).envelope(t, http.StatusForbidden)
			assert.Equal(t, "MOCK4003", m["error_code"], "%s %s Host %s", c.method, c.path, host)
			assert.Contains(t, m["long_message"], "-admin-host", "it says how to allow a host")
		}
		assert.Equal(t, 403, e.raw("GET", "/_mock/journal", host, "", "").status, host)
		assert.Equal(t, 403, e.raw("GET", "/_mock/nope", host, "", "").status, host)
	}
	assert.Equal(t, before, takeSnapshot(e), "nothing changed")

	// An empty Host (HTTP/1.0) is refused too.
	req := httptest.NewRequest("GET", "/_mock/clock", nil)
	req.Host = ""
	rec := httptest.NewRecorder()
	e.mock.ServeHTTP(rec, req)
	assert.Equal(t, 403, rec.Code)

	for _, host := range []string{"127.0.0.1", "127.0.0.1:1", "127.0.0.2:8089", "localhost", "LocalHost:8089",
		"[::1]", "[::1]:8089", "mocksikka:8089", "MOCKSIKKA:8089", "admin.internal", "admin.internal:1234"} {
		assert.Equal(t, 200, e.raw("GET", "/_mock/clock", host, "", "").status, host)
	}
	assert.Equal(t, 200, e.raw("POST", "/_mock/clock", "mocksikka:8089", "application/json", `{"advance":"1h"}`).status)
	assert.Equal(t, before.now.Add(time.Hour), e.mock.Now())

	// Without WithAdminHosts, only loopback.
	plain := newEnv(t)
	assert.Equal(t, 403, plain.raw("GET", "/_mock/clock", "mocksikka:8089", "", "").status)
	assert.Equal(t, 200, plain.raw("GET", "/_mock/clock", "localhost:8089", "", "").status)
}

// Item 1: the Sikka API routes answer any Host (the demo in docker-compose calls the mock as
// mocksikka:8089; a browser reaches the consent page under any name).
func TestAPIRoutesAnswerAnyHost(t *testing.T) {
	e := newEnv(t)
	const host = "evil.example:8089"
	assert.Equal(t, 200, e.raw("GET", authQuery(mocksikka.DefaultRedirectURI, "s"), host, "", "").status)
	r := e.raw("POST", "/v4/request_key", host, "application/json", `{"grant_type":"request_key","office_id":"`+
		mocksikka.DefaultOfficeID+`","secret_key":"`+mocksikka.DefaultSecretKey+`","app_id":"`+mocksikka.DefaultAppID+
		`","app_key":"`+mocksikka.DefaultAppKey+`"}`)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	k := r.strings(t)
	assert.Equal(t, "http://"+host+"/v4/request_key_info?request_key="+k["request_key"], k["href"])
	req, err := http.NewRequest("GET", e.srv.URL+"/v4/practices", nil)
	require.NoError(t, err)
	req.Host = host
	req.Header.Set("Request-Key", k["request_key"])
	assert.Equal(t, 200, send(t, e, req).status)
	assert.Equal(t, 415, e.raw("POST", "/v4/request_key", host, "text/plain", "{}").status, "the API's own rules are unchanged")
}

func TestAdminHostsAreChecked(t *testing.T) {
	for _, bad := range []string{"", "http://mocksikka:8089", "mocksikka:8089/", "user@mocksikka", "a,b", "mocksikka:port", " mocksikka", ":8089"} {
		assert.ErrorIs(t, mocksikka.Config{AdminHosts: []string{bad}}.Validate(), mocksikka.ErrInvalid, "%q", bad)
		assert.Panics(t, func() { mocksikka.New(mocksikka.WithAdminHosts(bad)) }, "%q", bad)
	}
	for _, good := range []string{"mocksikka", "mocksikka:8089", "[::1]:1", "10.0.0.1", "Admin.Internal"} {
		assert.NoError(t, mocksikka.Config{AdminHosts: []string{good}}.Validate(), good)
	}
}
