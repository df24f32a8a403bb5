package mocksikka_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sheetCodes is the status of each documented code the mock answers (section 7 of the sheet).
var sheetCodes = map[string]int{
	"API0002": 200, "API1001": 400, "API1002": 400, "API1004": 400, "API1005": 400, "API1006": 415,
	"API1020": 400, "API1025": 400, "API1026": 400, "API2003": 401, "API2009": 404, "API2011": 429,
	"API2012": 429, "API2013": 409, "API2014": 405,
}

// Section 7: every error is the documented envelope, with the documented code, status,
// http_code_desc and, where the sheet gives them, texts.
func TestErrorsAsDocumented(t *testing.T) {
	office := func(e *env) string { return e.officeKey()["request_key"] }
	cases := []struct {
		name              string
		do                func(e *env) response
		status            int
		code              string
		short, long, more string // "" = not checked
	}{
		{"request key missing", func(e *env) response { return e.do("GET", "/v4/practices", nil) },
			400, "API1004", "Missing Parameter", "Requestkey is missing.", "Please provide the requestkey."},
		{"request key unknown", func(e *env) response {
			return e.do("GET", "/v4/practices", nil, "Request-Key", "d7ab733c766917fa5ef8ae3a54100620")
		},
			400, "API1004", "Missing Parameter", "Requestkey is missing/invalid", "Please provide correct requestkey"},
		{"request key revoked", func(e *env) response {
			k := office(e)
			require.Equal(e.t, 200, e.do("DELETE", "/v4/request_key", nil, "Request-Key", k).status)
			return e.do("GET", "/v4/request_key_info", nil, "Request-Key", k)
		}, 400, "API1004", "Missing Parameter", "Requestkey is missing/invalid", "Please provide correct requestkey"},
		{"request key expired", func(e *env) response {
			k := office(e)
			e.mock.Advance(24 * time.Hour)
			return e.do("GET", "/v4/practices", nil, "Request-Key", k)
		}, 400, "API1025", "Request key expired", "Request key is not valid, it is expired.", "Please generate new request key and make new request."},
		{"bad app credentials", func(e *env) response {
			return e.do("GET", "/v4/authorized_practices", nil, "App-Id", mocksikka.DefaultAppID, "App-Key", "wrong")
		}, 401, "API2003", "Authentication/Authorization Failed", "ID or key is incorrect.", ""},
		{"bad app credentials on a grant", func(e *env) response {
			return e.grant("request_key", "office_id", mocksikka.DefaultOfficeID, "secret_key", mocksikka.DefaultSecretKey, "app_key", "wrong")
		}, 401, "API2003", "Authentication/Authorization Failed", "ID or key is incorrect.", ""},
		{"App-Key without App-Id", func(e *env) response {
			return e.do("GET", "/v4/authorized_practices", nil, "App-Key", mocksikka.DefaultAppKey)
		}, 400, "API1001", "", "", ""},
		{"App-Id without App-Key", func(e *env) response {
			return e.do("GET", "/v4/authorized_practices", nil, "App-Id", mocksikka.DefaultAppID)
		}, 400, "API1002", "", "", ""},
		{"secret_key missing", func(e *env) response {
			return e.grant("request_key", "office_id", mocksikka.DefaultOfficeID)
		}, 400, "API1005", "", "", ""},
		{"grant_type missing", func(e *env) response { return e.grant("") }, 400, "API1020", "", "", ""},
		{"unknown path", func(e *env) response { return e.do("POST", "/v4/token", nil) }, 404, "API2009", "Resource not found", "", ""},
		{"wrong method", func(e *env) response { return e.do("PUT", "/v4/request_key", nil) }, 405, "API2014", "", "", ""},
		{"not JSON", func(e *env) response {
			return e.do("POST", "/v4/request_key", nil, "Content-Type", "text/plain")
		}, 415, "API1006", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := c.do(e)
			m := r.envelope(t, c.status)
			assert.Len(t, m, 6, "the envelope's six fields")
			assert.Equal(t, c.code, m["error_code"])
			assert.Equal(t, c.status, sheetCodes[c.code], "the code's documented status")
			for k, want := range map[string]string{"short_message": c.short, "long_message": c.long, "more_information": c.more} {
				if want != "" {
					assert.Equal(t, want, m[k], k)
				}
			}
		})
	}
}

// The mock's own codes (MOCK…) are never a documented number.
func TestMockCodesAreMarked(t *testing.T) {
	e := newEnv(t, mocksikka.WithRateLimit(1))
	e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/request_key_info", Count: 1, Status: 500})
	assert.Equal(t, "MOCK9000", e.do("GET", "/v4/request_key_info", nil).envelope(t, 500)["error_code"])
	assert.Equal(t, "MOCK4029", e.do("GET", "/v4/request_key_info", nil).envelope(t, 429)["error_code"])
	req, err := http.NewRequest("GET", e.srv.URL+"/_mock/journal", nil)
	require.NoError(t, err)
	req.Host = "evil.example"
	assert.Equal(t, "MOCK4003", send(t, e, req).envelope(t, 403)["error_code"])
}

// Sections 1 and 2: the request key is taken from the Request-Key header in any case, or
// from the request_key query; every answer about a known key carries Request-Key-Expires.
func TestRequestKeyHeaderQueryAndExpires(t *testing.T) {
	e := newEnv(t, mocksikka.WithKeyTTL(2*time.Hour))
	k := e.officeKey()["request_key"]
	const expires = "Tue, 10 Feb 2026 06:00:28 GMT" // t0 + key TTL, RFC 1123 in GMT
	for _, c := range []struct {
		name, method, path string
		header             []string
	}{
		{"info, header", "GET", "/v4/request_key_info", []string{"Request-Key", k}},
		{"info, lower-case header", "GET", "/v4/request_key_info", []string{"request-key", k}},
		{"info, query", "GET", "/v4/request_key_info?request_key=" + k, nil},
		{"practices, query", "GET", "/v4/practices?request_key=" + k, nil},
		{"practices, header", "GET", "/v4/practices", []string{"REQUEST-KEY", k}},
		{"authorized_practices, query", "GET", "/v4/authorized_practices?request_key=" + k, nil},
	} {
		r := e.do(c.method, c.path, nil, c.header...)
		assert.Equal(t, 200, r.status, "%s: %s", c.name, r.body)
		assert.Equal(t, expires, r.header.Get("Request-Key-Expires"), c.name)
	}
	r := e.do("GET", "/v4/practices", nil, "Request-Key", "nope")
	assert.Empty(t, r.header.Get("Request-Key-Expires"), "no key, no expiry")
	e.mock.Advance(3 * time.Hour)
	r = e.do("GET", "/v4/practices?request_key="+k, nil)
	assert.Equal(t, "API1025", r.envelope(t, 400)["error_code"])
	assert.Equal(t, expires, r.header.Get("Request-Key-Expires"), "end_time once expired")
}

// Section 2: scope is a comma list starting "start,end,".
func TestScope(t *testing.T) {
	e := newEnv(t)
	scope := e.officeKey()["scope"]
	assert.True(t, strings.HasPrefix(scope, "start,end,"), scope)
	assert.NotContains(t, scope, " ")
}

// Section 8 and 9: X-Rate-Limit-* on every API answer; a per-app limit over a 60 s window,
// then 429 with Remaining 0; each app counts alone; the window ends after 60 s.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, mocksikka.WithRateLimit(3))
	other := mocksikka.App{ID: "other-app", Key: "other-key"}
	require.NoError(t, e.mock.AddApp(other))
	k := e.officeKey() // call 1 of the default app
	headers := func(r response) [3]string {
		return [3]string{r.header.Get("X-Rate-Limit-Limit"), r.header.Get("X-Rate-Limit-Remaining"), r.header.Get("X-Rate-Limit-Reset")}
	}
	e.mock.Advance(10 * time.Second)
	r := e.do("GET", "/v4/practices", nil, "Request-Key", k["request_key"])
	assert.Equal(t, [3]string{"3", "1", "50"}, headers(r), "call 2, 50 s left")
	r = e.do("GET", "/v4/authorized_practices", nil, "App-Id", mocksikka.DefaultAppID, "App-Key", "wrong")
	assert.Equal(t, [3]string{"3", "0", "50"}, headers(r), "call 3: errors count too")
	r = e.do("GET", "/v4/request_key_info?request_key="+k["request_key"], nil)
	m := r.envelope(t, 429)
	assert.Equal(t, "MOCK4029", m["error_code"])
	assert.Equal(t, "Too Many Requests", m["http_code_desc"])
	assert.Equal(t, [3]string{"3", "0", "50"}, headers(r))

	r = e.do("GET", "/v4/authorized_practices", nil, "App-Id", other.ID, "App-Key", other.Key)
	assert.Equal(t, 204, r.status, "another app has its own count (no office authorized it: no content)")
	assert.Equal(t, [3]string{"3", "2", "60"}, headers(r), "the headers on a 204 too (its own window)")

	e.mock.Advance(50 * time.Second)
	r = e.do("GET", "/v4/practices", nil, "Request-Key", k["request_key"])
	assert.Equal(t, 200, r.status, "a new window")
	assert.Equal(t, [3]string{"3", "2", "60"}, headers(r))

	// Unknown paths and calls of no app carry the headers too (a shared count).
	r = e.do("GET", "/v4/nope", nil)
	assert.Equal(t, "3", r.header.Get("X-Rate-Limit-Limit"))
}

func TestRateLimitOffByDefault(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/v4/practices", nil)
	assert.Equal(t, "2147483647", r.header.Get("X-Rate-Limit-Limit"))
	assert.Equal(t, "2147483646", r.header.Get("X-Rate-Limit-Remaining"))
	assert.Equal(t, "60", r.header.Get("X-Rate-Limit-Reset"))
	assert.Empty(t, e.do("GET", "/_mock/journal", nil).header.Get("X-Rate-Limit-Limit"), "not on the admin API")
	assert.Panics(t, func() { mocksikka.New(mocksikka.WithRateLimit(-1)) })
}

// Section 9: per-practice daily caps, when configured: 429 API2012 past the request cap,
// API2011 once the data cap is reached; a new UTC day starts over.
func TestDailyCaps(t *testing.T) {
	t.Run("requests", func(t *testing.T) {
		e := newEnv(t, mocksikka.WithDailyLimits(2, 0))
		k := e.officeKey()["request_key"]
		for range 2 {
			require.Equal(t, 200, e.do("GET", "/v4/practices", nil, "Request-Key", k).status)
		}
		r := e.do("GET", "/v4/practices", nil, "Request-Key", k)
		assert.Equal(t, "API2012", r.envelope(t, 429)["error_code"])
		assert.NotEmpty(t, r.header.Get("X-Rate-Limit-Limit"))
		other := e.grant("request_key", "office_id", mocksikka.MapleLeafOfficeID, "secret_key", mocksikka.DefaultPractices()[1].SecretKey).strings(t)
		assert.Equal(t, 200, e.do("GET", "/v4/practices", nil, "Request-Key", other["request_key"]).status, "per practice")
		e.mock.Advance(20 * time.Hour) // 2026-02-11 00:00:28 UTC
		assert.Equal(t, 200, e.do("GET", "/v4/practices", nil, "Request-Key", k).status, "a new day")
	})
	t.Run("data", func(t *testing.T) {
		e := newEnv(t, mocksikka.WithDailyLimits(0, 100))
		k := e.officeKey()["request_key"]
		require.Equal(t, 200, e.do("GET", "/v4/practices", nil, "Request-Key", k).status, "under the cap when it starts")
		r := e.do("GET", "/v4/practices", nil, "Request-Key", k)
		assert.Equal(t, "API2011", r.envelope(t, 429)["error_code"])
	})
}

// Section 1: Accept-Encoding gzip,compress → Content-Encoding gzip.
func TestGzip(t *testing.T) {
	e := newEnv(t)
	k := e.officeKey()["request_key"]
	for _, c := range []struct {
		accept string
		gz     bool
	}{{"gzip,compress", true}, {"gzip, deflate, br", true}, {"GZIP;q=0.5", true}, {"gzip;q=0", false}, {"identity", false}, {"", false}} {
		req, err := http.NewRequest("GET", e.srv.URL+"/v4/request_key_info", nil)
		require.NoError(t, err)
		req.Header.Set("Request-Key", k)
		if c.accept != "" {
			req.Header.Set("Accept-Encoding", c.accept)
		} else {
			req.Header.Set("Accept-Encoding", "identity") // keep the transport from asking for gzip itself
		}
		r := send(t, e, req)
		require.Equal(t, 200, r.status, c.accept)
		body := r.body
		if c.gz {
			assert.Equal(t, "gzip", r.header.Get("Content-Encoding"), c.accept)
			zr, err := gzip.NewReader(bytes.NewReader(r.body))
			require.NoError(t, err)
			body, err = io.ReadAll(zr)
			require.NoError(t, err)
		} else {
			assert.Empty(t, r.header.Get("Content-Encoding"), c.accept)
		}
		assert.Contains(t, string(body), `"issued_to":"`+mocksikka.DefaultOfficeID+`"`, c.accept)
	}
	// Errors are compressed too; the admin API is not.
	req, _ := http.NewRequest("GET", e.srv.URL+"/v4/practices", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	assert.Equal(t, "gzip", send(t, e, req).header.Get("Content-Encoding"))
	req, _ = http.NewRequest("GET", e.srv.URL+"/_mock/journal", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	assert.Empty(t, send(t, e, req).header.Get("Content-Encoding"))
}

// The key answers carry the fields of Sikka's examples in their order (SIKKA_API.md section 2):
// the grant's with refresh_key last, request_key_info's with status second and no refresh_key.
func TestKeyAnswersInTheSheetsOrder(t *testing.T) {
	e := newEnv(t)
	r := e.grant("request_key", "office_id", mocksikka.DefaultOfficeID, "secret_key", mocksikka.DefaultSecretKey)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, []string{"href", "request_key", "start_time", "end_time", "expires_in", "issued_to",
		"status", "request_count", "scope", "domain", "refresh_key"}, objectKeys(t, r.body))

	key := r.strings(t)["request_key"]
	info := e.do("GET", "/v4/request_key_info", nil, "Request-Key", key)
	require.Equal(t, http.StatusOK, info.status, "body: %s", info.body)
	assert.Equal(t, []string{"href", "status", "request_key", "start_time", "end_time", "expires_in",
		"issued_to", "request_count", "scope", "domain"}, objectKeys(t, info.body))
}
