package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/middleware"
)

// The binding cookie is Secure when the callback is served over HTTPS, and
// not over the plain-http loopback of DevMode, where a Secure cookie would
// not come back from curl's cookie jar (nor some browsers').
func TestBindingCookieSecureFollowsTheRedirectScheme(t *testing.T) {
	for _, tt := range []struct {
		redirect string
		secure   bool
	}{
		{"", false}, // the world's own http://127.0.0.1:port callback
		{"https://app.example.com" + prefix + "/callback", true},
	} {
		t.Run(fmt.Sprint(tt.secure), func(t *testing.T) {
			w := newWorld(t, "memory", func(c *middleware.Config) {
				if tt.redirect != "" {
					c.RedirectURI = tt.redirect
				}
			})
			resp := w.browser(acct1).get(w.appURL + prefix + "/start")
			resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode)
			require.Len(t, resp.Cookies(), 1)
			assert.Equal(t, tt.secure, resp.Cookies()[0].Secure)
			assert.True(t, resp.Cookies()[0].HttpOnly)
		})
	}
}

// curlJar keeps cookies as curl does: a Secure cookie set over plain http is
// dropped (Go's own jar treats loopback as a secure origin, so it would hide
// the problem).
type curlJar struct{ *cookiejar.Jar }

func (j curlJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	var keep []*http.Cookie
	for _, c := range cookies {
		if c.Secure && u.Scheme != "https" {
			continue
		}
		keep = append(keep, c)
	}
	j.Jar.SetCookies(u, keep)
}

// A flow walked by hand over plain-http loopback in DevMode, with curl's
// cookie rules, connects.
func TestDevModeFlowWorksWithCurlsCookieJar(t *testing.T) {
	w := newWorld(t, "memory")
	b := w.browser(acct1)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	strict := curlJar{jar}
	app, err := url.Parse(w.appURL)
	require.NoError(t, err)
	strict.Jar.SetCookies(app, b.Jar.Cookies(app)) // the session cookie
	b.HTTP.Jar = strict
	w.assertLanded(b.connect(), middleware.StatusSuccess, "")
}

// A callback refused before its nonce is spent (another account signed in
// meanwhile) keeps the flow's cookie: the right account in that browser can
// still finish the flow.
func TestRefusedCallbackKeepsTheFlowUsable(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			w := newWorld(t, backend)
			b := w.browser(acct1)
			cb := b.toCallback()
			b.signIn(acct2)
			w.assertLanded(b.finish(cb), middleware.StatusError, middleware.ReasonInvalidState)
			assert.ErrorIs(t, w.lastOutcome().Err, middleware.ErrStateForeignAccount)
			assert.Len(t, b.flowCookies(), 1, "the flow's cookie is kept")

			b.signIn(acct1)
			w.assertLanded(b.finish(cb), middleware.StatusSuccess, "")
			assert.Empty(t, b.flowCookies(), "cleared once the flow finished")
		})
	}
}

// An account holds at most DefaultMaxFlowsPerAccount unfinished flows; the
// next start answers 429 (and saves nothing), other accounts are unaffected,
// and a finished flow frees its slot.
func TestStartLimitsUnfinishedFlowsPerAccount(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			w := newWorld(t, backend)
			type flow struct {
				b  *browser
				cb *url.URL
			}
			var pending []flow
			for range integration.DefaultMaxFlowsPerAccount {
				b := w.browser(acct1)
				pending = append(pending, flow{b, b.toCallback()})
			}
			b := w.browser(acct1)
			resp := b.get(w.appURL + prefix + "/start")
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			assert.Contains(t, string(body), "Too many connect attempts")
			assert.Empty(t, resp.Cookies(), "no cookie for a refused start")
			assert.Contains(t, w.logs.String(), "too many connect flows")

			assert.True(t, isCallback(w.browser(acct2).toCallback()), "other accounts start as usual")

			// A finished flow (its nonce spent) makes room again.
			w.assertLanded(pending[0].b.finish(pending[0].cb), middleware.StatusSuccess, "")
			assert.True(t, isCallback(b.toCallback()))
		})
	}
}

// A browser keeps at most MaxFlowCookies binding cookies: a start that finds
// that many clears them before setting its own, so abandoned flows cannot
// grow the Cookie header past what proxies accept.
func TestStartBoundsTheBrowsersFlowCookies(t *testing.T) {
	w := newWorld(t, "memory")
	b := w.browser(acct1)
	var first *url.URL
	for i := range middleware.MaxFlowCookies {
		cb := b.toCallback()
		if i == 0 {
			first = cb
		}
	}
	require.Len(t, b.flowCookies(), middleware.MaxFlowCookies)
	last := b.toCallback()
	assert.Len(t, b.flowCookies(), 1, "the older cookies were cleared")
	w.assertLanded(b.finish(first), middleware.StatusError, middleware.ReasonInvalidState)
	w.assertLanded(b.finish(last), middleware.StatusSuccess, "")
}

// An account id the secret store cannot name is refused at start, before the
// browser goes to Sikka; an e-mail address (a+b@x.com) connects.
func TestStartChecksTheAccountID(t *testing.T) {
	w := newWorld(t, "memory")
	for _, bad := range []string{"bad/../id", "a:b", strings.Repeat("a", 129)} {
		b := w.browser(bad)
		resp := b.get(w.appURL + prefix + "/start")
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode, bad)
		loc, err := resp.Location()
		require.NoError(t, err)
		w.assertLanded(loc, middleware.StatusError, middleware.ReasonInternal)
		assert.Empty(t, resp.Cookies(), bad)
	}
	assert.Contains(t, w.logs.String(), "account id")
	assert.Equal(t, 0, w.started, "no flow started")

	b := w.browser("a+b@x.com")
	w.assertLanded(b.connect(), middleware.StatusSuccess, "")
	assert.Equal(t, integration.StatusActive, w.status("a+b@x.com").Status)
}
