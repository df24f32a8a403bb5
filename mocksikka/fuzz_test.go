package mocksikka_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/parlae/sikka-connect/mocksikka"
)

// Arbitrary bodies to POST /v4/request_key: never a panic, always JSON of strings, 2xx or 4xx,
// and every 4xx is the error envelope.
func FuzzRequestKeyBody(f *testing.F) {
	creds := `"app_id":"` + mocksikka.DefaultAppID + `","app_key":"` + mocksikka.DefaultAppKey + `"`
	for _, seed := range []string{
		`{"grant_type":"request_key","office_id":"D36225","secret_key":"` + mocksikka.DefaultSecretKey + `",` + creds + `}`,
		`{"grant_type":"authorization_code","code":"0123456789abcdef0123456789abcdef",` + creds + `}`,
		`{"grant_type":"refresh_key","refresh_key":"x",` + creds + `}`,
		`{"grant_type":"password"}`, `{"grant_type":1}`, `[]`, `null`, `""`, `{`, ``, `{"grant_type":"request_key"}{}`,
		`{"grant_type":"\u0000","app_id":{"nested":[1,2,3]}}`,
	} {
		f.Add([]byte(seed))
	}
	mock := mocksikka.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v4/request_key", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mock.ServeHTTP(rec, req)
		if rec.Code/100 != 2 && rec.Code/100 != 4 {
			t.Fatalf("status %d", rec.Code)
		}
		var m map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON object of strings: %v: %s", err, rec.Body.Bytes())
		}
		if rec.Code/100 == 4 && (m["http_code"] != strconv.Itoa(rec.Code) || m["error_code"] == "") {
			t.Fatalf("not an error envelope: %s", rec.Body.Bytes())
		}
		if rec.Code == 200 && (m["request_key"] == "" || m["issued_to"] == "") {
			t.Fatalf("not a key: %s", rec.Body.Bytes())
		}
	})
}

// Arbitrary query strings to GET and POST /portal/authapp.aspx: never a panic, never a 5xx,
// and a redirect only ever goes to the redirect URI asked for, when it is registered.
func FuzzAuthappQuery(f *testing.F) {
	ok := url.Values{"app_id": {mocksikka.DefaultAppID}, "redirect_uri": {mocksikka.DefaultRedirectURI}, "state": {"s"}}
	allow := url.Values{"app_id": {mocksikka.DefaultAppID}, "redirect_uri": {"http://127.0.0.1:3000/cb?x=1"},
		"state": {"s"}, "office_id": {"D36225"}, "decision": {"allow"}}
	for _, seed := range []struct {
		q          string
		post, auto bool
	}{
		{ok.Encode(), false, false},
		{ok.Encode(), false, true},
		{allow.Encode(), true, false},
		{strings.Replace(allow.Encode(), "allow", "deny", 1), true, false},
		{"app_id=" + mocksikka.DefaultAppID + "&redirect_uri=http://127.0.0.1:1@evil.example/&decision=allow&office_id=D36225", true, true},
		{"app_id=" + mocksikka.DefaultAppID + "&redirect_uri=https://evil.example/cb", false, true},
		{"%zz&&==;redirect_uri=%", false, false},
		{"", true, false},
	} {
		f.Add(seed.q, seed.post, seed.auto)
	}
	f.Fuzz(func(t *testing.T, q string, post, auto bool) {
		var opts []mocksikka.Option
		if auto {
			opts = append(opts, mocksikka.WithAutoApprove(mocksikka.DefaultOfficeID))
		}
		mock := mocksikka.New(opts...)
		var req *http.Request
		if post {
			req = httptest.NewRequest("POST", "/portal/authapp.aspx", strings.NewReader(q))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest("GET", "/portal/authapp.aspx", nil)
			req.URL.RawQuery = q
		}
		rec := httptest.NewRecorder()
		mock.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d", rec.Code)
		case rec.Code/100 != 3:
			if loc := rec.Header().Get("Location"); loc != "" {
				t.Fatalf("status %d with Location %q", rec.Code, loc)
			}
			return
		}
		params, _ := url.ParseQuery(q)
		asked := params.Get("redirect_uri")
		if !registered(asked) {
			t.Fatalf("redirected for unregistered redirect_uri %q", asked)
		}
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil {
			t.Fatalf("bad Location: %v", err)
		}
		want, _ := url.Parse(asked)
		if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path || loc.User != nil {
			t.Fatalf("Location %q is not the redirect_uri %q", loc, asked)
		}
		if loc.Query().Get("code") == "" && loc.Query().Get("error") != "access_denied" {
			t.Fatalf("Location %q has neither code nor error", loc)
		}
	})
}

// registered is the test's own statement of the default app's rule.
func registered(uri string) bool {
	if uri == mocksikka.DefaultRedirectURI {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" {
		return false
	}
	h := u.Hostname()
	return h == "127.0.0.1" || h == "localhost" || h == "::1"
}
