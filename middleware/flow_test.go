package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
)

// The happy path on each backend: start, Sikka's page (auto-approve), the
// callback, the frontend with status=success, then the status JSON.
func TestFlowSuccess(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			w := newWorld(t, backend)
			b := w.browser(acct1)
			w.assertLanded(b.connect(), middleware.StatusSuccess, "")

			o := w.lastOutcome()
			assert.Equal(t, middleware.StatusSuccess, o.Status)
			assert.NoError(t, o.Err)
			assert.Equal(t, acct1, o.AccountID)
			assert.Equal(t, office, o.Record.OfficeID)
			assert.Equal(t, "Successfully connected to Happy Dental Clinic (Dentrix)",
				middleware.SuccessMessage(o.Record.PracticeName, o.Record.PMSType))

			rec := w.status(acct1)
			assert.Equal(t, integration.StatusActive, rec.Status)
			creds, ok := w.secret(acct1)
			require.True(t, ok)
			assert.Equal(t, office, creds.OfficeID)
			assert.Empty(t, b.flowCookies(), "the binding cookie is cleared")

			body, raw := b.statusJSON(http.StatusOK)
			assert.True(t, body.Connected)
			assert.Equal(t, "ACTIVE", body.Status)
			assert.Equal(t, "Happy Dental Clinic", body.PracticeName)
			assert.Equal(t, "Dentrix", body.PMSType)
			assert.Equal(t, office, body.OfficeID)
			require.NotNil(t, body.ConnectedAt)
			assert.WithinDuration(t, time.Now(), *body.ConnectedAt, time.Minute)
			assert.Equal(t, "Connected to Happy Dental Clinic (Dentrix)", body.Message)
			for _, secret := range []string{creds.SecretKey, creds.RequestKey, creds.RefreshKey, rec.SecretRef, "secret"} {
				assert.NotContains(t, raw, secret)
			}
		})
	}
}

// statusJSON GETs the status route and decodes it.
func (b *browser) statusJSON(wantCode int) (middleware.StatusBody, string) {
	b.t.Helper()
	resp := b.get(b.w.appURL + prefix + "/status")
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	require.Equal(b.t, wantCode, resp.StatusCode, string(raw))
	var body middleware.StatusBody
	if wantCode == http.StatusOK {
		assert.Equal(b.t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Equal(b.t, "no-store", resp.Header.Get("Cache-Control"))
		require.NoError(b.t, json.Unmarshal(raw, &body))
	}
	return body, string(raw)
}

// The start route: where it sends the browser and the cookie it sets.
func TestStart(t *testing.T) {
	w := newWorld(t, "memory")
	b := w.browser(acct1)
	resp := b.get(w.appURL + prefix + "/start")
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := resp.Location()
	require.NoError(t, err)
	assert.Equal(t, w.mockURL+"/portal/authapp.aspx", loc.Scheme+"://"+loc.Host+loc.Path)
	q := loc.Query()
	assert.Equal(t, mocksikka.DefaultAppID, q.Get("app_id"))
	assert.Equal(t, w.appURL+prefix+"/callback", q.Get("redirect_uri"))
	assert.Regexp(t, `^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$`, q.Get("state"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	assert.Regexp(t, `^sikka_flow_[0-9a-f]{16}$`, c.Name)
	assert.True(t, c.HttpOnly)
	assert.False(t, c.Secure, "plain-http loopback in DevMode (TestBindingCookieSecureFollowsTheRedirectScheme)")
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, prefix+"/", c.Path, "the callback's directory: start sees the cookies too")
	assert.Equal(t, int((middleware.DefaultStateTTL + middleware.ClockSkew).Seconds()), c.MaxAge)
	assert.NotContains(t, q.Get("state"), c.Value, "the cookie value is not in clear in the state")

	// Signed out: 401, no state, no cookie.
	anon := w.browser("")
	resp = anon.get(w.appURL + prefix + "/start")
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Empty(t, resp.Cookies())
	assert.Equal(t, 1, w.started)
}

// Several tabs: each flow has its own cookie, and they finish in any order.
func TestSeveralTabs(t *testing.T) {
	w := newWorld(t, "memory")
	b := w.browser(acct1)
	first := b.toCallback()
	second := b.toCallback()
	assert.Len(t, b.flowCookies(), 2)
	w.assertLanded(b.finish(second), middleware.StatusSuccess, "")
	assert.Len(t, b.flowCookies(), 1, "only the finished flow's cookie is cleared")
	// The first tab's code is still good; reconnecting the same account overwrites in place.
	w.assertLanded(b.finish(first), middleware.StatusSuccess, "")
	assert.Empty(t, b.flowCookies())
}

// Every refusal of the callback sends the browser to the same invalid_state
// outcome, spends no code and stores nothing, while the hook and the log get
// the precise error.
func TestCallbackRefusals(t *testing.T) {
	tests := []struct {
		name string
		// tamper gets the callback URL Sikka sent the browser to and returns
		// the one the browser requests.
		tamper func(w *world, b *browser, cb *url.URL) *url.URL
		want   error
	}{
		{"missing state", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			return with(cb, "state", "")
		}, middleware.ErrStateMissing},
		{"malformed state", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			return with(cb, "state", "account_abc123_1738123456_x7y8z9")
		}, middleware.ErrStateMalformed},
		{"tampered MAC", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			// Change the MAC's first character: it carries six whole bits,
			// so the result is still canonical base64url (the last one is
			// not: its low bits must be zero).
			s := cb.Query().Get("state")
			i := strings.IndexByte(s, '.') + 1
			c := "A"
			if s[i] == 'A' {
				c = "B"
			}
			return with(cb, "state", s[:i]+c+s[i+1:])
		}, middleware.ErrStateTampered},
		{"unknown key id", func(w *world, b *browser, cb *url.URL) *url.URL {
			// A state minted by a replica signing with a key this one lacks.
			other, _ := w.replica(func(c *middleware.Config) { c.StateKeys = []middleware.Key{keyNew} })
			w.serve(other, w.back)
			return b.toCallback()
		}, middleware.ErrStateUnknownKey},
		{"expired", func(w *world, _ *browser, cb *url.URL) *url.URL {
			w.clock.Advance(middleware.DefaultStateTTL + middleware.ClockSkew + time.Second)
			return cb
		}, middleware.ErrStateExpired},
		{"replayed", func(w *world, b *browser, cb *url.URL) *url.URL {
			c := b.lastCookie()
			w.assertLanded(b.finish(cb), middleware.StatusSuccess, "")
			b.setFlowCookie(c.Name, c.Value) // the attacker kept the cookie too
			return cb
		}, middleware.ErrStateReplayed},
		{"foreign account", func(_ *world, b *browser, cb *url.URL) *url.URL {
			b.signIn(acct2)
			return cb
		}, middleware.ErrStateForeignAccount},
		{"signed out", func(_ *world, b *browser, cb *url.URL) *url.URL {
			b.signIn("")
			return cb
		}, middleware.ErrNotSignedIn},
		{"no cookie", func(_ *world, b *browser, cb *url.URL) *url.URL {
			b.setFlowCookie(b.lastCookie().Name, "")
			return cb
		}, middleware.ErrStateNoCookie},
		{"cookie of another value", func(_ *world, b *browser, cb *url.URL) *url.URL {
			b.setFlowCookie(b.lastCookie().Name, "AAAAAAAAAAAAAAAAAAAAAA")
			return cb
		}, middleware.ErrStateNoCookie},
		{"cookie of another flow", func(_ *world, b *browser, cb *url.URL) *url.URL {
			c := b.lastCookie()
			b.setFlowCookie(c.Name, "")
			b.toCallback() // another tab: its own cookie only
			return cb
		}, middleware.ErrStateNoCookie},
		{"code and error", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			return with(cb, "error", "access_denied")
		}, middleware.ErrCallbackAmbiguous},
		{"missing code", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			return with(cb, "code", "")
		}, middleware.ErrCodeMissing},

		{"repeated state", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			c := *cb
			c.RawQuery += "&state=" + url.QueryEscape(cb.Query().Get("state"))
			return &c
		}, middleware.ErrCallbackMalformed},
		{"unparsable query", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			c := *cb
			c.RawQuery += "&x=%zz"
			return &c
		}, middleware.ErrCallbackMalformed},
		{"cancel with a tampered state", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			s := cb.Query().Get("state")
			c := with(with(cb, "code", ""), "error", "access_denied")
			return with(c, "state", "x"+s)
		}, middleware.ErrStateMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "memory")
			b := w.browser(acct1)
			cb := b.toCallback()
			cb = tt.tamper(w, b, cb)
			exchanges := w.mock.Count("POST /v4/request_key", "authorization_code")
			w.assertLanded(b.finish(cb), middleware.StatusError, middleware.ReasonInvalidState)

			o := w.lastOutcome()
			assert.ErrorIs(t, o.Err, tt.want)
			assert.Equal(t, middleware.ReasonInvalidState, o.Reason)
			assert.Equal(t, exchanges, w.mock.Count("POST /v4/request_key", "authorization_code"), "no code spent")
			if tt.want != middleware.ErrStateReplayed {
				assert.Equal(t, integration.Record{}, w.status(acct1), "nothing stored")
				_, stored := w.secret(acct1)
				assert.False(t, stored)
			}
			assert.Contains(t, w.logs.String(), tt.want.Error(), "the log names the cause")
		})
	}
}

// A genuine flow whose code is too long or holds a character no code has is
// refused as invalid_code without calling Sikka.
func TestCallbackMalformedCode(t *testing.T) {
	for name, code := range map[string]string{
		"oversized":      strings.Repeat("a", middleware.MaxCodeLen+1),
		"CRLF":           "abc\r\ndef",
		"space":          "abc def",
		"non-UTF-8 byte": "abc\xffdef",
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, "memory")
			b := w.browser(acct1)
			cb := with(b.toCallback(), "code", code)
			exchanges := w.mock.Count("POST /v4/request_key", "authorization_code")
			w.assertLanded(b.finish(cb), middleware.StatusError, middleware.ReasonInvalidCode)
			assert.ErrorIs(t, w.lastOutcome().Err, middleware.ErrCodeMalformed)
			assert.Equal(t, exchanges, w.mock.Count("POST /v4/request_key", "authorization_code"), "Sikka never called")
			assert.Equal(t, integration.Record{}, w.status(acct1), "nothing stored")
		})
	}
	w := newWorld(t, "memory")
	b := w.browser(acct1)
	cb := with(b.toCallback(), "code", strings.Repeat("a", middleware.MaxCodeLen)) // long, but a code's shape: Sikka decides
	w.assertLanded(b.finish(cb), middleware.StatusError, middleware.ReasonInvalidCode)
	assert.ErrorIs(t, w.lastOutcome().Err, integration.ErrInvalidCode, "sent to Sikka, which refused it")
}

// A verified state that fails a later check cannot be retried with the
// cookie fixed: the binding cookie is gone. Without fixing, the flow is
// still usable by its own browser.
func TestRefusalKeepsNonceForTheRightBrowser(t *testing.T) {
	w := newWorld(t, "memory")
	b := w.browser(acct1)
	cb := b.toCallback()
	thief := w.browser(acct1) // same account, another browser: no cookie
	w.assertLanded(thief.finish(cb), middleware.StatusError, middleware.ReasonInvalidState)
	assert.ErrorIs(t, w.lastOutcome().Err, middleware.ErrStateNoCookie)
	w.assertLanded(b.finish(cb), middleware.StatusSuccess, "")
}

// Cancelling on Sikka's page: status=cancelled, nothing stored.
func TestFlowCancelled(t *testing.T) {
	w := newWorld(t, "memory")
	w.mock.SetAutoApprove("")
	b := w.browser(acct1)
	page := b.follow(w.appURL+prefix+"/start", func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/authapp.aspx") })
	q := page.Query()
	resp := b.get(page.String())
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the consent page")

	form := url.Values{"app_id": {q.Get("app_id")}, "redirect_uri": {q.Get("redirect_uri")},
		"state": {q.Get("state")}, "office_id": {office}, "decision": {"deny"}}
	req, err := http.NewRequest(http.MethodPost, w.mockURL+"/portal/authapp.aspx", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp = b.do(req)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	cb, err := resp.Location()
	require.NoError(t, err)
	assert.Equal(t, "access_denied", cb.Query().Get("error"))

	w.assertLanded(b.finish(cb), middleware.StatusCancelled, "")
	o := w.lastOutcome()
	assert.Equal(t, middleware.StatusCancelled, o.Status)
	assert.NoError(t, o.Err)
	assert.Empty(t, b.flowCookies())
	assert.Equal(t, integration.Record{}, w.status(acct1))
	assert.Equal(t, 0, w.mock.Count("POST /v4/request_key", ""))

	// The cancelled state cannot be used again, even with a code.
	w.assertLanded(b.finish(with(with(cb, "error", ""), "code", "whatever")), middleware.StatusError, middleware.ReasonInvalidState)
}

// What Sikka and the service say, mapped to the frontend's reasons.
func TestCallbackErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(w *world, b *browser, cb *url.URL) *url.URL
		reason string
		want   error
	}{
		{"reused code", func(w *world, b *browser, cb *url.URL) *url.URL {
			w.assertLanded(w.browser(acct2).connect(), middleware.StatusSuccess, "")
			used := w.lastCallbackCode(t)
			return with(cb, "code", used)
		}, middleware.ReasonInvalidCode, integration.ErrInvalidCode},
		{"unknown code", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			return with(cb, "code", "0123456789abcdef")
		}, middleware.ReasonInvalidCode, integration.ErrInvalidCode},
		{"already connected", func(w *world, b *browser, cb *url.URL) *url.URL {
			// Another account connected the same practice meanwhile.
			w.assertLanded(w.browser(acct2).connect(), middleware.StatusSuccess, "")
			return cb
		}, middleware.ReasonAlreadyConnected, integration.ErrAlreadyConnected},
		{"provider down", func(w *world, _ *browser, cb *url.URL) *url.URL {
			w.mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: http.StatusServiceUnavailable})
			return cb
		}, middleware.ReasonProviderUnavailable, integration.ErrProviderUnavailable},
		{"practices down", func(w *world, _ *browser, cb *url.URL) *url.URL {
			w.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/authorized_practices", Count: 0, Status: http.StatusBadGateway})
			return cb
		}, middleware.ReasonProviderUnavailable, integration.ErrProviderUnavailable},
		{"Sikka error", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			return with(with(cb, "code", ""), "error", "server_error")
		}, middleware.ReasonProviderUnavailable, middleware.ErrProviderDenied},
		{"Sikka refusal", func(_ *world, _ *browser, cb *url.URL) *url.URL {
			return with(with(cb, "code", ""), "error", "invalid_request")
		}, middleware.ReasonInvalidCode, middleware.ErrProviderDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "memory")
			b := w.browser(acct1)
			cb := tt.setup(w, b, b.toCallback())
			w.assertLanded(b.finish(cb), middleware.StatusError, tt.reason)
			o := w.lastOutcome()
			assert.ErrorIs(t, o.Err, tt.want)
			assert.Equal(t, acct1, o.AccountID)
			assert.Equal(t, integration.Record{}, w.status(acct1), "nothing stored")
			_, stored := w.secret(acct1)
			assert.False(t, stored, "no secret stored")
			assert.Empty(t, b.flowCookies())
			body, _ := b.statusJSON(http.StatusOK)
			assert.False(t, body.Connected)
		})
	}
}

// lastCallbackCode returns the code of the last callback URL the mock sent
// any browser of the test to.
func (w *world) lastCallbackCode(t *testing.T) string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NotEmpty(t, w.codes)
	return w.codes[len(w.codes)-1]
}

// Disconnect: only same-origin POSTs; afterwards status says disconnected.
func TestDisconnect(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			w := newWorld(t, backend)
			b := w.browser(acct1)
			w.assertLanded(b.connect(), middleware.StatusSuccess, "")

			refused := []struct {
				name    string
				headers map[string]string
			}{
				{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
				{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://sub.127.0.0.1"}},
				{"old browser, foreign Origin", map[string]string{"Origin": "https://evil.example"}},
				{"old browser, null Origin", map[string]string{"Origin": "null"}},
				{"old browser, foreign Referer", map[string]string{"Referer": "https://evil.example/page"}},
			}
			for _, r := range refused {
				resp := b.post(prefix+"/disconnect", r.headers, "")
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.Equal(t, http.StatusForbidden, resp.StatusCode, r.name)
				assert.JSONEq(t, `{"error":"cross_origin"}`, string(raw), r.name)
			}
			assert.Equal(t, integration.StatusActive, w.status(acct1).Status, "no state change")
			_, stored := w.secret(acct1)
			assert.True(t, stored)

			resp := b.get(w.appURL + prefix + "/disconnect")
			resp.Body.Close()
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
			assert.Equal(t, "POST", resp.Header.Get("Allow"))
			assert.Equal(t, integration.StatusActive, w.status(acct1).Status)

			resp = b.post(prefix+"/disconnect", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": w.appURL}, "")
			var body middleware.StatusBody
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.False(t, body.Connected)
			assert.Equal(t, "REVOKED", body.Status)

			assert.Equal(t, integration.StatusRevoked, w.status(acct1).Status)
			_, stored = w.secret(acct1)
			assert.False(t, stored, "secret deleted")
			got, _ := b.statusJSON(http.StatusOK)
			assert.False(t, got.Connected)
			assert.Equal(t, "Not connected.", got.Message)
		})
	}
}

func TestDisconnectAnswers(t *testing.T) {
	tests := []struct {
		name        string
		headers     map[string]string
		body        string
		code        int
		location    string
		contentType string
	}{
		{"fetch, same origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, "", http.StatusOK, "", "application/json; charset=utf-8"},
		{"non-browser client", nil, "", http.StatusOK, "", "application/json; charset=utf-8"},
		{"old browser, own Origin", map[string]string{"Origin": "{app}"}, "", http.StatusOK, "", "application/json; charset=utf-8"},
		{"old browser, own Referer", map[string]string{"Referer": "{app}/agent/setup/pms"}, "", http.StatusOK, "", "application/json; charset=utf-8"},
		{"HTML form", map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded"}, "x=1", http.StatusSeeOther, "{app}/agent/setup/pms?step=pms", ""},
		{"form asking for JSON", map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}, "x=1", http.StatusOK, "", "application/json; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "memory")
			b := w.browser(acct1)
			w.assertLanded(b.connect(), middleware.StatusSuccess, "")
			hdr := map[string]string{}
			for k, v := range tt.headers {
				hdr[k] = strings.ReplaceAll(v, "{app}", w.appURL)
			}
			resp := b.post(prefix+"/disconnect", hdr, tt.body)
			resp.Body.Close()
			assert.Equal(t, tt.code, resp.StatusCode)
			assert.Equal(t, strings.ReplaceAll(tt.location, "{app}", w.appURL), resp.Header.Get("Location"))
			assert.Equal(t, tt.contentType, resp.Header.Get("Content-Type"))
			assert.Equal(t, integration.StatusRevoked, w.status(acct1).Status)
		})
	}
}

func (b *browser) post(path string, headers map[string]string, body string) *http.Response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.w.appURL+path, strings.NewReader(body))
	require.NoError(b.t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

// Status and disconnect need a signed-in account.
func TestSignedOut(t *testing.T) {
	w := newWorld(t, "memory")
	b := w.browser("")
	_, raw := b.statusJSON(http.StatusUnauthorized)
	assert.JSONEq(t, `{"error":"not_signed_in"}`, raw)
	resp := b.post(prefix+"/disconnect", map[string]string{"Sec-Fetch-Site": "same-origin"}, "")
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	b.signIn(acct1)
	body, _ := b.statusJSON(http.StatusOK)
	assert.Equal(t, middleware.StatusBody{Status: middleware.NotConnected, Message: "Not connected."}, body)
}

// Wrong methods get 405 with Allow; other paths under the prefix 404.
func TestRouting(t *testing.T) {
	w := newWorld(t, "memory")
	tests := []struct {
		method, path string
		code         int
		allow        string
	}{
		{"POST", "/start", 405, "GET"},
		{"HEAD", "/start", 405, "GET"},
		{"POST", "/callback", 405, "GET"},
		{"DELETE", "/status", 405, "GET"},
		{"PUT", "/disconnect", 405, "POST"},
		{"GET", "/other", 404, ""},
		{"GET", "/start/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, w.appURL+prefix+tt.path, nil)
			require.NoError(t, err)
			req.Header.Set("Cookie", "session="+acct1)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tt.code, resp.StatusCode)
			assert.Equal(t, tt.allow, resp.Header.Get("Allow"))
		})
	}
	assert.Equal(t, 0, w.started)
}

// Requests carry an id: the caller's X-Request-Id when it is a plain token,
// else a fresh one; it is answered and logged.
func TestRequestID(t *testing.T) {
	w := newWorld(t, "memory")
	for _, tt := range []struct{ sent, want string }{
		{"req-42.a:b", "req-42.a:b"},
		{"bad id with spaces", ""},
		{"", ""},
	} {
		req, err := http.NewRequest(http.MethodGet, w.appURL+prefix+"/status", nil)
		require.NoError(t, err)
		req.Header.Set("Cookie", "session="+acct1)
		if tt.sent != "" {
			req.Header.Set("X-Request-Id", tt.sent)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		got := resp.Header.Get("X-Request-Id")
		if tt.want != "" {
			assert.Equal(t, tt.want, got)
		} else {
			assert.Regexp(t, `^[0-9a-f]{16}$`, got)
		}
		assert.Contains(t, w.logs.String(), `"request_id":"`+got+`"`)
	}
}

// Without browser binding, no cookie is set and none is needed; the state
// is still single-use and bound to the account.
func TestDisableBrowserBinding(t *testing.T) {
	w := newWorld(t, "memory", func(c *middleware.Config) { c.DisableBrowserBinding = true })
	b := w.browser(acct1)
	cb := b.toCallback()
	assert.Empty(t, b.flowCookies())
	other := w.browser(acct1) // the server that forwards code and state
	w.assertLanded(other.finish(cb), middleware.StatusSuccess, "")
	w.assertLanded(other.finish(cb), middleware.StatusError, middleware.ReasonInvalidState)
	assert.ErrorIs(t, w.lastOutcome().Err, middleware.ErrStateReplayed)

	cb = b.toCallback()
	foreign := w.browser(acct2)
	w.assertLanded(foreign.finish(cb), middleware.StatusError, middleware.ReasonInvalidState)
	assert.ErrorIs(t, w.lastOutcome().Err, middleware.ErrStateForeignAccount)
}

// Key rotation across replicas: a state signed with the old key is accepted
// by a replica that signs with the new one and still verifies the old.
func TestKeyRotation(t *testing.T) {
	w := newWorld(t, "memory")
	rotated, _ := w.replica(func(c *middleware.Config) { c.StateKeys = []middleware.Key{keyNew, keyOld} })
	w.serve(w.front, rotated) // old key signs, rotated replica verifies
	b := w.browser(acct1)
	w.assertLanded(b.connect(), middleware.StatusSuccess, "")

	w.serve(rotated, w.front) // new key signs, a replica without it refuses
	w.assertLanded(b.connect(), middleware.StatusError, middleware.ReasonInvalidState)
	assert.ErrorIs(t, w.lastOutcome().Err, middleware.ErrStateUnknownKey)
}

// The flow on PostgreSQL with two replicas sharing only the database, the
// secret store and the state key: one starts, the other finishes; a replay
// on the first is refused.
func TestReplicas(t *testing.T) {
	w := newWorld(t, "postgres")
	second, _ := w.replica()
	w.serve(w.front, second)
	b := w.browser(acct1)
	cb := b.toCallback()
	c := b.lastCookie()
	w.assertLanded(b.finish(cb), middleware.StatusSuccess, "")
	assert.Equal(t, integration.StatusActive, w.status(acct1).Status, "visible to the first replica")

	w.serve(second, w.front)
	b.setFlowCookie(c.Name, c.Value)
	w.assertLanded(b.finish(cb), middleware.StatusError, middleware.ReasonInvalidState)
	assert.ErrorIs(t, w.lastOutcome().Err, middleware.ErrStateReplayed)

	// Another account on the other replica: already connected.
	w.assertLanded(w.browser(acct2).connect(), middleware.StatusError, middleware.ReasonAlreadyConnected)
}

// The same state raced to two replicas at once: exactly one connect.
func TestReplicaRace(t *testing.T) {
	w := newWorld(t, "postgres")
	second, _ := w.replica()
	b := w.browser(acct1)
	cb := b.toCallback()
	cookie := b.lastCookie()

	results := make(chan int, 2)
	for _, h := range []*middleware.Handler{w.back, second} {
		go func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, cb.String(), nil)
			req.AddCookie(&http.Cookie{Name: "session", Value: acct1})
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			loc, _ := url.Parse(rec.Header().Get("Location"))
			if loc.Query().Get("status") == middleware.StatusSuccess {
				results <- 1
			} else {
				results <- 0
			}
		}()
	}
	assert.Equal(t, 1, <-results+<-results)
	assert.Equal(t, 1, w.mock.Count("POST /v4/request_key", "authorization_code"))
}

// failingNonces is a NonceStore whose database is down.
type failingNonces struct{ save, consume bool }

var errDown = errors.New("connection refused")

func (f failingNonces) Save(context.Context, string, string, time.Time) error {
	if f.save {
		return errDown
	}
	return nil
}

func (f failingNonces) Consume(context.Context, string) (bool, error) {
	if f.consume {
		return false, errDown
	}
	return true, nil
}

// Failures on this side are reason=internal, with the cause logged.
func TestInternalFailures(t *testing.T) {
	t.Run("nonce store down at start", func(t *testing.T) {
		w := newWorld(t, "memory", func(c *middleware.Config) { c.Nonces = failingNonces{save: true} })
		b := w.browser(acct1)
		w.assertLanded(b.connect(), middleware.StatusError, middleware.ReasonInternal)
		assert.Empty(t, b.flowCookies())
		assert.Contains(t, w.logs.String(), "connection refused")
		assert.Equal(t, 0, w.started)
	})
	t.Run("nonce store down at callback", func(t *testing.T) {
		w := newWorld(t, "memory", func(c *middleware.Config) { c.Nonces = failingNonces{consume: true} })
		b := w.browser(acct1)
		w.assertLanded(b.connect(), middleware.StatusError, middleware.ReasonInternal)
		assert.ErrorIs(t, w.lastOutcome().Err, errDown)
		assert.Equal(t, 0, w.mock.Count("POST /v4/request_key", ""), "no code spent")
	})
}

// Messages for every outcome the frontend can receive.
func TestMessages(t *testing.T) {
	tests := []struct{ status, reason, want string }{
		{"success", "", "Successfully connected."},
		{"cancelled", "", "Authorization cancelled. You can try again anytime."},
		{"error", "invalid_code", "Authorization failed. Please try again or contact support."},
		{"error", "invalid_state", "This authorization link has expired or was already used. Please start again."},
		{"error", "already_connected", "This practice is already connected to another account."},
		{"error", "provider_unavailable", "Sikka is not responding right now. Please try again in a few minutes."},
		{"error", "internal", "Something went wrong on our side. Please try again or contact support."},
		{"error", "<script>", "Something went wrong on our side. Please try again or contact support."},
		{"", "", "Something went wrong on our side. Please try again or contact support."},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, middleware.Message(tt.status, tt.reason), "%s/%s", tt.status, tt.reason)
	}
	assert.Equal(t, "Successfully connected to Happy Dental Clinic (Dentrix)", middleware.SuccessMessage("Happy Dental Clinic", "Dentrix"))
	assert.Equal(t, "Successfully connected to Happy Dental Clinic", middleware.SuccessMessage("Happy Dental Clinic", ""))
	assert.Equal(t, "Successfully connected.", middleware.SuccessMessage("", "Dentrix"))
}
