package middleware_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/parlae/sikka-connect/middleware"
)

// FuzzCallbackQuery: whatever query reaches the callback, the browser goes
// to the configured frontend URL, with one of the allowed outcomes and
// nothing else added. The seeds include a real callback of a flow started
// for the fuzzed requests' browser (its cookie on every request), so that
// the code-spending path is reached too.
func FuzzCallbackQuery(f *testing.F) {
	w := newWorld(f, "memory")
	h, _ := w.replica(func(c *middleware.Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.Hooks = middleware.Hooks{}
	})
	w.serve(h, h)
	b := w.browser(acct1)
	cb := b.toCallback()
	cookie := b.lastCookie()
	state := cb.Query().Get("state")

	for _, seed := range []string{
		cb.RawQuery,
		"",
		"state=x&code=y",
		"state=" + state,
		"state=" + state + "&error=access_denied",
		"state=" + state + "&error=server_error&error_description=%3Cb%3E",
		"state=" + state + "&code=a&error=access_denied",
		"state=" + state + "&state=" + state + "&code=a",
		"code=a&error=b",
		"%zz",
		"state=a;b",
		"state=" + state + "&code=a&redirect_uri=https://evil.example&next=//evil.example",
		"status=success&reason=x&state=" + state,
	} {
		f.Add(seed)
	}

	allowed := map[string]bool{
		"success": true, "cancelled": true,
		"error/invalid_code": true, "error/invalid_state": true, "error/already_connected": true,
		"error/provider_unavailable": true, "error/internal": true,
	}
	base := w.appURL + frontend
	f.Fuzz(func(t *testing.T, raw string) {
		req := httptest.NewRequest(http.MethodGet, w.appURL+prefix+"/callback", nil)
		req.URL.RawQuery = raw
		req.AddCookie(&http.Cookie{Name: "session", Value: acct1})
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusFound {
			t.Fatalf("status %d for %q", rec.Code, raw)
		}
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil {
			t.Fatalf("Location %q: %v", rec.Header().Get("Location"), err)
		}
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != base || loc.Fragment != "" || loc.User != nil {
			t.Fatalf("redirected to %q for %q", loc, raw)
		}
		q := loc.Query()
		outcome := q.Get("status")
		if r := q.Get("reason"); r != "" {
			outcome += "/" + r
		}
		if !allowed[outcome] || len(q) != 2+len(q["reason"]) || len(q["status"]) != 1 || q.Get("step") != "pms" {
			t.Fatalf("redirect %q for %q", loc, raw)
		}
	})
}
