package sikka

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithAuthorizeURL(t *testing.T) {
	c := New("b0ca", "k", WithBaseURL("https://api.example"), WithAuthorizeURL("https://auth.example/portal/authapp.aspx?lang=fr#x"))
	assert.Equal(t, "https://auth.example/portal/authapp.aspx?lang=fr&app_id=b0ca&redirect_uri=r&state=s",
		c.AuthorizeURL("r", "s"), "its own query kept, the fragment dropped")
	assert.Equal(t, "https://api.example/portal/authapp.aspx?app_id=b0ca&redirect_uri=r&state=s",
		New("b0ca", "k", WithBaseURL("https://api.example"), WithAuthorizeURL("")).AuthorizeURL("r", "s"), `"" keeps the default`)
	for _, bad := range []string{"ftp://x/y", "/portal/authapp.aspx", "https://", "::"} {
		assert.Empty(t, New("b0ca", "k", WithAuthorizeURL(bad)).AuthorizeURL("r", "s"), bad)
	}
	assert.Equal(t, DefaultBaseURL, New("a", "k", WithBaseURL("")).BaseURL().String(), `WithBaseURL("") keeps the default`)
}

func TestBaseURLAndTransport(t *testing.T) {
	c := New("a", "k", WithBaseURL("https://api.example/prefix"))
	u := c.BaseURL()
	require.NotNil(t, u)
	assert.Equal(t, "https://api.example/prefix", u.String())
	u.Host = "changed.example"
	assert.Equal(t, "api.example", c.BaseURL().Host, "a copy")
	assert.Nil(t, New("a", "k", WithBaseURL("nope")).BaseURL())

	rt := http.RoundTripper(roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil }))
	assert.NotNil(t, New("a", "k", WithHTTPClient(&http.Client{Transport: rt})).Transport())
	assert.Equal(t, http.DefaultTransport, New("a", "k", WithHTTPClient(&http.Client{})).Transport())
	assert.Equal(t, http.RoundTripper(defaultTransport), New("a", "k").Transport())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// RejectsKey answers as the client's own calls classify (ErrKeyRejected).
func TestRejectsKey(t *testing.T) {
	env := func(code, ec string) string {
		return `{"http_code":"` + code + `","http_code_desc":"x","error_code":"` + ec + `","short_message":"m"}`
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"401", 401, "", true},
		{"403", 403, env("403", "API2003"), true},
		{"403 not JSON (a proxy)", 403, "<html>", false},
		{"400 API1004", 400, env("400", "API1004"), true},
		{"400 API1025, lower case", 400, env("400", " api1025 "), true},
		{"400 other code", 400, env("400", "API1001"), false},
		{"400 not JSON", 400, "<html>bad</html>", false},
		{"400 empty", 400, "", false},
		{"200 with API1025 envelope", 200, env("400", "API1025"), true},
		{"200 with 401 envelope", 200, env("401", "API2003"), true},
		{"200 with API0002 envelope", 200, env("200", "API0002"), false},
		{"200 data", 200, `{"items":[]}`, false},
		{"429", 429, env("429", "API1004"), false},
		{"500", 500, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Content-Type": {"application/json"}}}
			assert.Equal(t, tt.want, RejectsKey(resp, []byte(tt.body)))
			// The same answer to a Client call that sent a key.
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			_, err := New("a", "k", WithBaseURL(srv.URL), WithMaxAttempts(1)).RequestKeyInfo(t.Context(), "some-request-key")
			if tt.want {
				assert.ErrorIs(t, err, ErrKeyRejected)
			} else if err != nil {
				assert.NotErrorIs(t, err, ErrKeyRejected)
			}
		})
	}
}

func TestRateLimitAndRetryWait(t *testing.T) {
	h := http.Header{"X-Rate-Limit-Remaining": {"0"}, "X-Rate-Limit-Reset": {"1.5"}}
	rem, reset, ok := RateLimit(h)
	assert.True(t, ok)
	assert.Equal(t, 0, rem)
	assert.Equal(t, 1500*time.Millisecond, reset)
	_, _, ok = RateLimit(http.Header{"X-Rate-Limit-Remaining": {"many"}})
	assert.False(t, ok)
	_, _, ok = RateLimit(http.Header{})
	assert.False(t, ok)

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	resp := &http.Response{StatusCode: 429, Header: http.Header{"X-Rate-Limit-Reset": {"7"}}}
	assert.Equal(t, 7*time.Second, RetryWait(resp, now), "X-Rate-Limit-Reset on a 429")
	resp.Header.Set("Retry-After", "3")
	assert.Equal(t, 3*time.Second, RetryWait(resp, now), "Retry-After first")
	resp.Header.Set("Retry-After", now.Add(9*time.Second).Format(http.TimeFormat))
	assert.Equal(t, 9*time.Second, RetryWait(resp, now), "an HTTP date")
	resp = &http.Response{StatusCode: 200, Header: http.Header{"X-Rate-Limit-Reset": {"7"}}}
	assert.Zero(t, RetryWait(resp, now), "Reset alone asks for no wait but on a 429")
}
