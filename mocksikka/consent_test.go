package mocksikka_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func authQuery(redirect, state string) string {
	return "/portal/authapp.aspx?" + url.Values{
		"app_id": {mocksikka.DefaultAppID}, "redirect_uri": {redirect}, "state": {state},
	}.Encode()
}

func TestConsentPage(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", authQuery(mocksikka.DefaultRedirectURI, `"><script>alert(1)</script>`), nil)
	require.Equal(t, 200, r.status)
	assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	page := string(r.body)
	for _, want := range []string{
		"Allow Parlae to access your practice data",
		"Happy Dental Clinic", "Dentrix", "Eaglesoft", "Opendental", "Maple Leaf Family Dentistry", "D36225",
		`<form method="post" action="authapp.aspx">`,
		`<input type="hidden" name="app_id" value="` + mocksikka.DefaultAppID + `">`,
		`<input type="hidden" name="redirect_uri" value="https://app.parlae.ca/agent/setup/pms/callback">`,
		`<select id="office_id" name="office_id">`,
		`<option value="D36225" selected>`,
		`<button type="submit" name="decision" value="allow" id="allow">Allow</button>`,
		`<button type="submit" name="decision" value="deny" id="deny">Deny</button>`,
		`value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`,
	} {
		assert.Contains(t, page, want)
	}
	assert.NotContains(t, page, "<script>alert(1)")
	assert.Equal(t, 1, strings.Count(page, " selected"), "one office preselected")
	assert.Equal(t, 3, strings.Count(page, "<option "), "one option per office")
}

func TestConsentPageEscapesConfiguredNames(t *testing.T) {
	e := newEnv(t,
		mocksikka.WithApps(mocksikka.App{ID: "a", Key: "k", Name: "<b>Evil</b>", AllowLoopback: true}),
		mocksikka.WithPractices(mocksikka.Practice{OfficeID: "O1", SecretKey: "s", Name: "Tom & Jerry's <Dental>", PMS: "Open<Dental>"}))
	r := e.do("GET", "/portal/authapp.aspx?app_id=a&redirect_uri=http://localhost:3000/cb&state=s", nil)
	require.Equal(t, 200, r.status)
	page := string(r.body)
	assert.Contains(t, page, "Allow &lt;b&gt;Evil&lt;/b&gt; to access your practice data")
	assert.Contains(t, page, "Tom &amp; Jerry&#39;s &lt;Dental&gt;")
	assert.Contains(t, page, "Open&lt;Dental&gt;")
	assert.NotContains(t, page, "<b>Evil")
}

func TestConsentDecision(t *testing.T) {
	form := func(kv ...string) url.Values {
		v := url.Values{"app_id": {mocksikka.DefaultAppID}, "redirect_uri": {mocksikka.DefaultRedirectURI},
			"state": {"st/ate+1"}, "office_id": {mocksikka.DefaultOfficeID}, "decision": {"allow"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	t.Run("allow", func(t *testing.T) {
		e := newEnv(t)
		r := e.postForm(form())
		require.Equal(t, http.StatusFound, r.status)
		loc, err := url.Parse(r.header.Get("Location"))
		require.NoError(t, err)
		code := loc.Query().Get("code")
		assert.Regexp(t, hex32, code)
		assert.Equal(t, mocksikka.DefaultRedirectURI+"?code="+code+"&state=st%2Fate%2B1", r.header.Get("Location"))
		k := e.grant("authorization_code", "code", code)
		require.Equal(t, 200, k.status)
		assert.Equal(t, mocksikka.DefaultOfficeID, k.strings(t)["issued_to"])
	})
	t.Run("allow another office", func(t *testing.T) {
		e := newEnv(t, mocksikka.WithOnboardedApps()) // no Marketplace onboarding: Allow alone counts
		r := e.postForm(form("office_id", mocksikka.BrightSmilesOfficeID))
		require.Equal(t, http.StatusFound, r.status)
		loc, _ := url.Parse(r.header.Get("Location"))
		assert.Equal(t, mocksikka.BrightSmilesOfficeID, e.grant("authorization_code", "code", loc.Query().Get("code")).strings(t)["issued_to"])
		// Allow alone authorizes the app, before any exchange.
		l := e.do("GET", "/v4/authorized_practices", nil, "App-Id", mocksikka.DefaultAppID, "App-Key", mocksikka.DefaultAppKey).list(t)
		require.Len(t, l.Items, 1)
		assert.Equal(t, mocksikka.BrightSmilesOfficeID, l.Items[0]["office_id"])
	})
	t.Run("deny", func(t *testing.T) {
		e := newEnv(t)
		r := e.postForm(form("decision", "deny"))
		require.Equal(t, http.StatusFound, r.status)
		assert.Equal(t, mocksikka.DefaultRedirectURI+
			"?error=access_denied&error_description=The+practice+denied+Parlae+access+to+its+data.&state=st%2Fate%2B1",
			r.header.Get("Location"))
	})
	t.Run("without state", func(t *testing.T) {
		e := newEnv(t)
		r := e.postForm(form("state", "", "decision", "deny"))
		require.Equal(t, http.StatusFound, r.status)
		assert.NotContains(t, r.header.Get("Location"), "state=")
	})
	t.Run("loopback keeps its query", func(t *testing.T) {
		e := newEnv(t)
		r := e.postForm(form("redirect_uri", "http://127.0.0.1:4321/cb?b=2&a=1"))
		require.Equal(t, http.StatusFound, r.status)
		loc := r.header.Get("Location")
		assert.True(t, strings.HasPrefix(loc, "http://127.0.0.1:4321/cb?b=2&a=1&code="), loc)
		assert.True(t, strings.HasSuffix(loc, "&state=st%2Fate%2B1"), loc)
	})
	t.Run("a code or state already in the redirect URI is replaced", func(t *testing.T) {
		e := newEnv(t)
		r := e.postForm(form("redirect_uri", "http://[::1]:80/cb?state=old&x=1", "decision", "deny"))
		require.Equal(t, http.StatusFound, r.status)
		loc, err := url.Parse(r.header.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, url.Values{"x": {"1"}, "error": {"access_denied"}, "state": {"st/ate+1"},
			"error_description": {"The practice denied Parlae access to its data."}}, loc.Query())
	})
	for name, f := range map[string]url.Values{
		"unknown office":          form("office_id", "NOPE"),
		"no decision":             form("decision", ""),
		"odd decision":            form("decision", "maybe"),
		"unknown app":             form("app_id", "nope"),
		"unregistered redirect":   form("redirect_uri", "https://evil.example/cb"),
		"unregistered deny":       form("redirect_uri", "https://evil.example/cb", "decision", "deny"),
		"registered with a slash": form("redirect_uri", mocksikka.DefaultRedirectURI+"/"),
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			r := e.postForm(f)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Empty(t, r.header.Get("Location"))
			assert.Contains(t, string(r.body), "Authorization error")
		})
	}
}

func TestConsentRefusesUnregisteredRedirects(t *testing.T) {
	e := newEnv(t)
	for _, uri := range []string{
		"", "https://evil.example/agent/setup/pms/callback", "https://app.parlae.ca/agent/setup/pms/callback?x=1",
		"http://app.parlae.ca/agent/setup/pms/callback", "https://127.0.0.1:3000/cb", "http://127.0.0.1.evil.example/cb",
		"http://localhost.evil.example/cb", "http://127.0.0.1:3000@evil.example/cb", "http://user@localhost:3000/cb",
		"http://localhost:3000/cb#frag", "javascript:alert(1)", "//evil.example/cb", "/relative",
		"http://127.0.0.1:3000/cb?%zz", "http://[::2]:3000/cb", "http://0x7f000001/cb",
	} {
		t.Run(uri, func(t *testing.T) {
			r := e.do("GET", authQuery(uri, "s"), nil)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Empty(t, r.header.Get("Location"))
		})
	}
	t.Run("unknown app", func(t *testing.T) {
		r := e.do("GET", "/portal/authapp.aspx?app_id=nope&redirect_uri="+url.QueryEscape(mocksikka.DefaultRedirectURI), nil)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Empty(t, r.header.Get("Location"))
	})
	t.Run("loopback not allowed for this app", func(t *testing.T) {
		require.NoError(t, e.mock.AddApp(mocksikka.App{ID: "strict", Key: "k", RedirectURIs: []string{"https://strict.example/cb"}}))
		r := e.do("GET", "/portal/authapp.aspx?app_id=strict&redirect_uri="+url.QueryEscape("http://127.0.0.1:3000/cb"), nil)
		assert.Equal(t, http.StatusBadRequest, r.status)
		r = e.do("GET", "/portal/authapp.aspx?app_id=strict&redirect_uri="+url.QueryEscape("https://strict.example/cb"), nil)
		assert.Equal(t, http.StatusOK, r.status)
	})
}

func TestAutoApprove(t *testing.T) {
	e := newEnv(t, mocksikka.WithAutoApprove(mocksikka.BrightSmilesOfficeID))
	r := e.do("GET", authQuery("http://localhost:8080/callback", "xyz"), nil)
	require.Equal(t, http.StatusFound, r.status)
	loc, err := url.Parse(r.header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "localhost:8080", loc.Host)
	assert.Equal(t, "xyz", loc.Query().Get("state"))
	assert.Equal(t, mocksikka.BrightSmilesOfficeID, e.grant("authorization_code", "code", loc.Query().Get("code")).strings(t)["issued_to"])

	bad := e.do("GET", authQuery("https://evil.example/cb", "xyz"), nil)
	assert.Equal(t, http.StatusBadRequest, bad.status, "auto-approve validates the redirect too")
	assert.Empty(t, bad.header.Get("Location"))

	e.mock.SetAutoApprove("NOPE")
	assert.Equal(t, http.StatusBadRequest, e.do("GET", authQuery(mocksikka.DefaultRedirectURI, "x"), nil).status)
	e.mock.SetAutoApprove("")
	assert.Equal(t, http.StatusOK, e.do("GET", authQuery(mocksikka.DefaultRedirectURI, "x"), nil).status)
}
