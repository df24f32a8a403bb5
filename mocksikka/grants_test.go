package mocksikka_test

import (
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestKeyResponseShape(t *testing.T) {
	e := newEnv(t)
	k := e.officeKey()
	assert.Regexp(t, hex32, k["request_key"])
	assert.Regexp(t, hex32, k["refresh_key"])
	assert.NotEqual(t, k["request_key"], k["refresh_key"])
	assert.Equal(t, e.srv.URL+"/v4/request_key_info?request_key="+k["request_key"], k["href"])
	assert.Equal(t, "2026-02-10T04:00:28", k["start_time"])
	assert.Equal(t, "2026-02-11T04:00:28", k["end_time"])
	assert.Equal(t, "86400 second(s)", k["expires_in"])
	assert.Equal(t, mocksikka.DefaultOfficeID, k["issued_to"])
	assert.Equal(t, "active", k["status"])
	assert.Equal(t, "0", k["request_count"])
	assert.NotEmpty(t, k["scope"])
	assert.Equal(t, "Dental", k["domain"])
}

func TestGrants(t *testing.T) {
	type tc struct {
		name   string
		setup  func(e *env) map[string]string // the body
		status int
		code   string // error_code, "" on success
	}
	base := func(grant string, kv ...string) map[string]string {
		m := map[string]string{"grant_type": grant, "app_id": mocksikka.DefaultAppID, "app_key": mocksikka.DefaultAppKey}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	otherApp := mocksikka.App{ID: "other-app", Key: "other-key", RedirectURIs: []string{"https://other.example/cb"}}
	cases := []tc{
		{"code ok", func(e *env) map[string]string { return base("authorization_code", "code", e.code()) }, 200, ""},
		{"code unknown", func(e *env) map[string]string { return base("authorization_code", "code", "nope") }, 400, "API1026"},
		{"code missing", func(e *env) map[string]string { return base("authorization_code") }, 400, "API1020"},
		{"code reused", func(e *env) map[string]string {
			c := e.code()
			require.Equal(e.t, 200, e.grant("authorization_code", "code", c).status)
			return base("authorization_code", "code", c)
		}, 400, "API1026"},
		{"code expired", func(e *env) map[string]string {
			c := e.code()
			e.mock.Advance(10 * time.Minute)
			return base("authorization_code", "code", c)
		}, 400, "API1026"},
		{"code just before expiry", func(e *env) map[string]string {
			c := e.code()
			e.mock.Advance(10*time.Minute - time.Second)
			return base("authorization_code", "code", c)
		}, 200, ""},
		{"code of another app", func(e *env) map[string]string {
			require.NoError(e.t, e.mock.AddApp(otherApp))
			c, err := e.mock.IssueCode(otherApp.ID, mocksikka.DefaultOfficeID)
			require.NoError(e.t, err)
			return base("authorization_code", "code", c)
		}, 400, "API1026"},
		{"code with wrong app key", func(e *env) map[string]string {
			return base("authorization_code", "code", e.code(), "app_key", "wrong")
		}, 401, "API2003"},
		{"unknown app", func(e *env) map[string]string {
			return base("authorization_code", "code", e.code(), "app_id", "who")
		}, 401, "API2003"},
		{"missing app_key", func(e *env) map[string]string {
			return base("authorization_code", "code", e.code(), "app_key", "")
		}, 400, "API1002"},
		{"office ok", func(e *env) map[string]string {
			return base("request_key", "office_id", mocksikka.DefaultOfficeID, "secret_key", mocksikka.DefaultSecretKey)
		}, 200, ""},
		{"office wrong secret", func(e *env) map[string]string {
			return base("request_key", "office_id", mocksikka.DefaultOfficeID, "secret_key", "wrong")
		}, 401, "API2003"},
		{"office unknown", func(e *env) map[string]string {
			return base("request_key", "office_id", "X1", "secret_key", mocksikka.DefaultSecretKey)
		}, 401, "API2003"},
		{"office missing secret", func(e *env) map[string]string {
			return base("request_key", "office_id", mocksikka.DefaultOfficeID)
		}, 400, "API1005"},
		{"office missing office_id", func(e *env) map[string]string {
			return base("request_key", "secret_key", mocksikka.DefaultSecretKey)
		}, 400, "API1020"},
		{"missing app_id", func(e *env) map[string]string {
			return base("request_key", "office_id", mocksikka.DefaultOfficeID, "secret_key", mocksikka.DefaultSecretKey, "app_id", "")
		}, 400, "API1001"},
		{"refresh ok", func(e *env) map[string]string {
			return base("refresh_key", "refresh_key", e.officeKey()["refresh_key"])
		}, 200, ""},
		{"refresh unknown", func(e *env) map[string]string { return base("refresh_key", "refresh_key", "nope") }, 401, "API2003"},
		{"refresh missing", func(e *env) map[string]string { return base("refresh_key") }, 400, "API1020"},
		{"refresh of another app", func(e *env) map[string]string {
			require.NoError(e.t, e.mock.AddApp(otherApp))
			rk := e.officeKey()["refresh_key"]
			return map[string]string{"grant_type": "refresh_key", "refresh_key": rk, "app_id": otherApp.ID, "app_key": otherApp.Key}
		}, 401, "API2003"},
		{"refresh long after its request key expired", func(e *env) map[string]string {
			rk := e.officeKey()["refresh_key"]
			e.mock.Advance(90 * 24 * time.Hour)
			return base("refresh_key", "refresh_key", rk)
		}, 200, ""},
		{"refresh after its request key was revoked", func(e *env) map[string]string {
			k := e.officeKey()
			require.Equal(e.t, 200, e.do("DELETE", "/v4/request_key", nil, "Request-Key", k["request_key"]).status)
			return base("refresh_key", "refresh_key", k["refresh_key"])
		}, 200, ""},
		{"refresh key deleted", func(e *env) map[string]string {
			rk := e.officeKey()["refresh_key"]
			require.Equal(e.t, 200, e.do("DELETE", "/v4/refresh_key", nil, "Refresh-Key", rk,
				"App-Id", mocksikka.DefaultAppID, "App-Key", mocksikka.DefaultAppKey).status)
			return base("refresh_key", "refresh_key", rk)
		}, 401, "API2003"},
		{"unknown grant", func(e *env) map[string]string { return base("password") }, 400, "API1026"},
		{"missing grant", func(e *env) map[string]string { return base("") }, 400, "API1020"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.do("POST", "/v4/request_key", c.setup(e))
			if c.code == "" {
				require.Equal(t, c.status, r.status, "body: %s", r.body)
				k := r.strings(t)
				assert.Equal(t, mocksikka.DefaultOfficeID, k["issued_to"])
				assert.Regexp(t, hex32, k["request_key"])
				return
			}
			assert.Equal(t, c.code, r.envelope(t, c.status)["error_code"])
		})
	}
}

func TestRequestKeyBadBodies(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, body, ctype string
		status            int
		code              string
	}{
		{"not json", "grant_type=request_key", "application/json", 400, "API1026"},
		{"array", "[]", "application/json", 400, "API1026"},
		{"number value", `{"grant_type":"authorization_code","code":123}`, "application/json", 400, "API1026"},
		{"trailing data", `{"grant_type":"request_key"} {}`, "application/json", 400, "API1026"},
		{"null", "null", "application/json", 400, "API1020"},
		{"empty", "", "application/json", 400, "API1026"},
		{"form content type", `{"grant_type":"request_key"}`, "application/x-www-form-urlencoded", 415, "API1006"},
		{"no content type", `{"grant_type":"request_key"}`, "", 415, "API1006"},
		{"json with charset", `{"grant_type":"nope"}`, "application/json; charset=utf-8", 400, "API1026"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", e.srv.URL+"/v4/request_key", stringsReader(c.body))
			require.NoError(t, err)
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			r := send(t, e, req)
			assert.Equal(t, c.code, r.envelope(t, c.status)["error_code"])
		})
	}
}

func TestCodeSingleUseUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	code := e.code()
	const n = 50
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses <- e.grant("authorization_code", "code", code).status
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	assert.Equal(t, map[int]int{200: 1, 400: n - 1}, counts)
}

func TestKeyExpiresOnTheMockClock(t *testing.T) {
	e := newEnv(t)
	k := e.officeKey()
	get := func() response {
		return e.do("GET", "/v4/authorized_practices", nil, "Request-Key", k["request_key"])
	}
	require.Equal(t, 200, get().status)
	e.mock.Advance(23*time.Hour + 59*time.Minute)
	info := e.do("GET", "/v4/request_key_info", nil, "Request-Key", k["request_key"]).strings(t)
	assert.Equal(t, "60 second(s)", info["expires_in"])
	require.Equal(t, 200, get().status)
	e.mock.Advance(time.Minute)
	for _, r := range []response{get(), e.do("GET", "/v4/request_key_info", nil, "Request-Key", k["request_key"])} {
		env := r.envelope(t, 400)
		assert.Equal(t, map[string]string{
			"http_code": "400", "http_code_desc": "BadRequest", "error_code": "API1025",
			"short_message": "Request key expired", "long_message": "Request key is not valid, it is expired.",
			"more_information": "Please generate new request key and make new request.",
		}, env, "section 7: API1025")
		assert.Equal(t, "Wed, 11 Feb 2026 04:00:28 GMT", r.header.Get("Request-Key-Expires"), "end_time once expired")
	}

	// An expired key is remembered for ExpiredKeyMemory, then unknown.
	e.mock.Advance(mocksikka.ExpiredKeyMemory - time.Second)
	e.officeKey() // issuing sweeps
	assert.Equal(t, "API1025", get().envelope(t, 400)["error_code"])
	e.mock.Advance(time.Second + mocksikka.SweepInterval)
	e.officeKey()
	assert.Equal(t, "API1004", get().envelope(t, 400)["error_code"])
}

func TestKeyTTLSetting(t *testing.T) {
	e := newEnv(t, mocksikka.WithKeyTTL(time.Hour))
	assert.Equal(t, "3600 second(s)", e.officeKey()["expires_in"])
	e.mock.SetKeyTTL(2 * time.Hour)
	assert.Equal(t, "7200 second(s)", e.officeKey()["expires_in"])
	e.mock.SetKeyTTL(0) // ignored
	assert.Equal(t, "7200 second(s)", e.officeKey()["expires_in"])
	e.mock.Reset()
	assert.Equal(t, "3600 second(s)", e.officeKey()["expires_in"])
}

func TestRefresh(t *testing.T) {
	for _, invalidate := range []bool{true, false} {
		t.Run(map[bool]string{true: "invalidates old", false: "keeps old"}[invalidate], func(t *testing.T) {
			e := newEnv(t, mocksikka.WithRefreshInvalidatesOld(invalidate))
			old := e.officeKey()
			e.mock.Advance(23 * time.Hour)
			r := e.grant("refresh_key", "refresh_key", old["refresh_key"])
			require.Equal(t, 200, r.status, "body: %s", r.body)
			fresh := r.strings(t)
			assert.NotEqual(t, old["request_key"], fresh["request_key"])
			assert.Equal(t, old["refresh_key"], fresh["refresh_key"], "a refresh answers the same refresh key")
			assert.Equal(t, "86400 second(s)", fresh["expires_in"])
			assert.Equal(t, "2026-02-11T03:00:28", fresh["start_time"])
			assert.Equal(t, mocksikka.DefaultOfficeID, fresh["issued_to"])

			useOld := e.do("GET", "/v4/practices", nil, "Request-Key", old["request_key"])
			if invalidate {
				assert.Equal(t, "API1004", useOld.envelope(t, 400)["error_code"], "revoked: API1004")
			} else {
				assert.Equal(t, 200, useOld.status)
			}
			assert.Equal(t, 200, e.do("GET", "/v4/practices", nil, "Request-Key", fresh["request_key"]).status)
			assert.Equal(t, 200, e.grant("refresh_key", "refresh_key", old["refresh_key"]).status, "the refresh key is used again")
		})
	}
}

// Refresh keys live until deleted and can be used any number of times, also at once; with
// refresh-invalidates-old, only the request key issued last stays usable.
func TestRefreshKeyReusableUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	rk := e.officeKey()["refresh_key"]
	const n = 20
	var wg sync.WaitGroup
	keys := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.grant("refresh_key", "refresh_key", rk)
			if r.status == 200 {
				keys <- r.strings(t)["request_key"]
			}
		}()
	}
	wg.Wait()
	close(keys)
	usable := 0
	got := 0
	for k := range keys {
		got++
		if e.do("GET", "/v4/request_key_info", nil, "Request-Key", k).status == 200 {
			usable++
		}
	}
	assert.Equal(t, n, got, "every refresh succeeds")
	assert.Equal(t, 1, usable, "only the last request key issued is usable")
}

// sessionEnded is the documented answer of DELETE request_key and refresh_key (section 2).
var sessionEnded = map[string]string{
	"http_code": "200", "http_code_desc": "OK", "error_code": "API0002", "short_message": "OK",
	"long_message": "Request Session terminated successfully.", "more_information": "",
}

func TestRevokeRequestKey(t *testing.T) {
	cases := []struct {
		name   string
		revoke func(e *env, key string) response
		status int
		code   string
	}{
		{"header", func(e *env, key string) response {
			return e.do("DELETE", "/v4/request_key", nil, "Content-Type", "application/json", "Request-Key", key)
		}, 200, "API0002"},
		{"lower-case header", func(e *env, key string) response {
			return e.do("DELETE", "/v4/request_key", nil, "request-key", key)
		}, 200, "API0002"},
		{"query", func(e *env, key string) response {
			return e.do("DELETE", "/v4/request_key?request_key="+key, nil)
		}, 200, "API0002"},
		{"unknown key", func(e *env, key string) response {
			return e.do("DELETE", "/v4/request_key", nil, "Request-Key", "nope")
		}, 400, "API1004"},
		{"nothing", func(e *env, key string) response { return e.do("DELETE", "/v4/request_key", nil) }, 400, "API1004"},
		{"expired", func(e *env, key string) response {
			e.mock.Advance(24 * time.Hour)
			return e.do("DELETE", "/v4/request_key", nil, "Request-Key", key)
		}, 400, "API1025"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			k := e.officeKey()
			r := c.revoke(e, k["request_key"])
			use := e.do("GET", "/v4/practices", nil, "Request-Key", k["request_key"])
			if c.status != 200 {
				assert.Equal(t, c.code, r.envelope(t, c.status)["error_code"])
				if c.code == "API1004" {
					assert.Equal(t, 200, use.status)
				}
				return
			}
			require.Equal(t, 200, r.status, "body: %s", r.body)
			assert.Equal(t, sessionEnded, r.strings(t))
			assert.Equal(t, "Wed, 11 Feb 2026 04:00:28 GMT", r.header.Get("Request-Key-Expires"))
			assert.Equal(t, "API1004", use.envelope(t, 400)["error_code"], "revoked: API1004")
			assert.Equal(t, 200, e.grant("refresh_key", "refresh_key", k["refresh_key"]).status, "the refresh key lives on")
			assert.Equal(t, "API1004", c.revoke(e, k["request_key"]).envelope(t, 400)["error_code"], "revoking twice")
		})
	}
}

func TestRevokeRefreshKey(t *testing.T) {
	otherApp := mocksikka.App{ID: "other-app", Key: "other-key"}
	creds := func(rk string) []string {
		return []string{"Refresh-Key", rk, "App-Id", mocksikka.DefaultAppID, "App-Key", mocksikka.DefaultAppKey}
	}
	cases := []struct {
		name   string
		header func(e *env, rk string) []string
		status int
		code   string
	}{
		{"ok", func(_ *env, rk string) []string { return creds(rk) }, 200, "API0002"},
		{"lower-case headers", func(_ *env, rk string) []string {
			return []string{"refresh-key", rk, "app-id", mocksikka.DefaultAppID, "app-key", mocksikka.DefaultAppKey}
		}, 200, "API0002"},
		{"missing App-Id", func(_ *env, rk string) []string { return creds(rk)[:2] }, 400, "API1001"},
		{"missing App-Key", func(_ *env, rk string) []string { return creds(rk)[:4] }, 400, "API1002"},
		{"missing Refresh-Key", func(_ *env, rk string) []string { return creds(rk)[2:] }, 400, "API1020"},
		{"wrong App-Key", func(_ *env, rk string) []string { return append(creds(rk)[:4], "App-Key", "x") }, 401, "API2003"},
		{"unknown refresh key", func(_ *env, _ string) []string { return creds("nope") }, 401, "API2003"},
		{"another app's refresh key", func(e *env, rk string) []string {
			require.NoError(e.t, e.mock.AddApp(otherApp))
			return []string{"Refresh-Key", rk, "App-Id", otherApp.ID, "App-Key", otherApp.Key}
		}, 401, "API2003"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			k := e.officeKey()
			r := e.do("DELETE", "/v4/refresh_key", nil, c.header(e, k["refresh_key"])...)
			if c.status != 200 {
				assert.Equal(t, c.code, r.envelope(t, c.status)["error_code"])
				assert.Equal(t, 200, e.grant("refresh_key", "refresh_key", k["refresh_key"]).status, "the refresh key still works")
				return
			}
			require.Equal(t, 200, r.status, "body: %s", r.body)
			assert.Equal(t, sessionEnded, r.strings(t))
			assert.Equal(t, "API2003", e.grant("refresh_key", "refresh_key", k["refresh_key"]).envelope(t, 401)["error_code"])
			assert.Equal(t, 200, e.do("GET", "/v4/practices", nil, "Request-Key", k["request_key"]).status,
				"its request key works until it expires")
			again := e.do("DELETE", "/v4/refresh_key", nil, creds(k["refresh_key"])...)
			assert.Equal(t, "API2003", again.envelope(t, 401)["error_code"], "deleting twice")
		})
	}
}
