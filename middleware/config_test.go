package middleware_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/middleware"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

// validConfig is a Config New accepts, on a service that is never called
// (its Sikka client is for app id "app" at Sikka's own address).
func validConfig(t *testing.T) middleware.Config {
	return middleware.Config{
		Service:     serviceFor(t),
		RedirectURI: "https://app.parlae.ca/agent/setup/pms/callback",
		FrontendURL: "https://app.parlae.ca/agent/setup/pms",
		StateKeys:   []middleware.Key{keyOld},
		Account:     sessionAccount,
	}
}

// serviceFor is a service, never called, on a Sikka client for app id "app"
// made with opts.
func serviceFor(t *testing.T, opts ...sikka.Option) *integration.Service {
	t.Helper()
	svc, err := integration.NewService(integration.Config{
		Sikka: sikka.New("app", "key", opts...), Secrets: secretmemory.New(), Records: memory.New(),
	})
	require.NoError(t, err)
	return svc
}

func TestNewChecksConfig(t *testing.T) {
	base := validConfig(t)
	tests := []struct {
		name   string
		change func(c *middleware.Config)
		want   []string // each must appear in the error; none: accepted
	}{
		{"valid", func(*middleware.Config) {}, nil},
		{"everything missing", func(c *middleware.Config) { *c = middleware.Config{} },
			[]string{"Service is required", "Account is required",
				"RedirectURI (SIKKA_REDIRECT_URI): is required", "FrontendURL (SIKKA_FRONTEND_URL): is required",
				"StateKeys (SIKKA_STATE_KEYS): at least one key"}},
		{"http redirect URI", func(c *middleware.Config) { c.RedirectURI = "http://app.parlae.ca/agent/setup/pms/callback" },
			[]string{"RedirectURI (SIKKA_REDIRECT_URI): must be https (plain http only for a loopback host in dev mode)"}},
		{"http loopback without dev mode", func(c *middleware.Config) { c.RedirectURI = "http://127.0.0.1:8080/agent/setup/pms/callback" },
			[]string{"RedirectURI (SIKKA_REDIRECT_URI): must be https: plain http on a loopback host needs DevMode"}},
		{"http loopback in dev mode", func(c *middleware.Config) {
			c.DevMode = true
			c.RedirectURI = "http://localhost:8080/agent/setup/pms/callback"
			c.FrontendURL = "http://[::1]:3000/agent/setup/pms"
			c.Service = serviceFor(t, sikka.WithBaseURL("http://127.0.0.1:8089"))
		}, nil},
		{"http loopback Sikka without dev mode", func(c *middleware.Config) {
			c.Service = serviceFor(t, sikka.WithBaseURL("http://127.0.0.1:8089"))
		}, []string{"Service: its Sikka client's authorization page (sikka.WithAuthorizeURL, SIKKA_OAUTH_URL): must be https: plain http on a loopback host needs DevMode"}},
		{"dev mode keeps other hosts on https", func(c *middleware.Config) {
			c.DevMode = true
			c.RedirectURI = "http://app.parlae.ca/cb"
		}, []string{"RedirectURI (SIKKA_REDIRECT_URI): must be https"}},
		{"relative redirect URI", func(c *middleware.Config) { c.RedirectURI = "/agent/setup/pms/callback" },
			[]string{"RedirectURI (SIKKA_REDIRECT_URI): must be an absolute https URL"}},
		{"redirect URI with query", func(c *middleware.Config) { c.RedirectURI += "?x=1" },
			[]string{"RedirectURI (SIKKA_REDIRECT_URI): must have no query or fragment"}},
		{"javascript frontend", func(c *middleware.Config) { c.FrontendURL = "javascript:alert(1)" },
			[]string{"FrontendURL (SIKKA_FRONTEND_URL): must be an absolute https URL or a path"}},
		{"protocol-relative frontend", func(c *middleware.Config) { c.FrontendURL = "//evil.example/x" },
			[]string{"FrontendURL (SIKKA_FRONTEND_URL)"}},
		{"frontend path", func(c *middleware.Config) { c.FrontendURL = "/agent/setup/pms?step=2#top" }, nil},
		{"frontend with status", func(c *middleware.Config) { c.FrontendURL += "?status=x" },
			[]string{"must not have a status or reason parameter"}},
		{"http authorization page", func(c *middleware.Config) {
			c.Service = serviceFor(t, sikka.WithAuthorizeURL("http://api.sikkasoft.com/portal/authapp.aspx"))
		}, []string{"authorization page (sikka.WithAuthorizeURL, SIKKA_OAUTH_URL): must be https"}},
		{"invalid authorization page", func(c *middleware.Config) {
			c.Service = serviceFor(t, sikka.WithAuthorizeURL("ftp://x"))
		}, []string{"Service: its Sikka client has an invalid base URL or authorization page"}},
		{"short secret", func(c *middleware.Config) { c.StateKeys = []middleware.Key{{ID: "k", Secret: []byte("short")}} },
			[]string{"key 1 (k): secret must be at least 32 bytes"}},
		{"duplicate key ids", func(c *middleware.Config) { c.StateKeys = []middleware.Key{keyOld, keyOld} },
			[]string{`key 2: id "2025-01" is used twice`}},
		{"bad key id", func(c *middleware.Config) { c.StateKeys = []middleware.Key{{ID: "a b", Secret: keyOld.Secret}} },
			[]string{"key 1: id must be"}},
		{"prefix with trailing slash", func(c *middleware.Config) { c.Prefix = "/pms/" }, []string{`Prefix "/pms/"`}},
		{"prefix with a pattern", func(c *middleware.Config) { c.Prefix = "/{x}" }, []string{`Prefix "/{x}"`}},
		{"prefix with dots", func(c *middleware.Config) { c.Prefix = "/a/../b" }, []string{`Prefix "/a/../b"`}},
		{"negative TTL", func(c *middleware.Config) { c.StateTTL = -1 }, []string{"StateTTL must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.change(&c)
			h, err := middleware.New(c)
			if tt.want == nil {
				require.NoError(t, err)
				assert.NotNil(t, h)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), string(keyOld.Secret))
		})
	}
}

// The frontend's own query and fragment survive; outcomes are appended.
func TestFrontendURLKept(t *testing.T) {
	tests := []struct{ frontend, want string }{
		{"https://app.parlae.ca/agent/setup/pms", "https://app.parlae.ca/agent/setup/pms?status=error&reason=invalid_state"},
		{"https://app.parlae.ca/setup?a=1&b=%20x", "https://app.parlae.ca/setup?a=1&b=%20x&status=error&reason=invalid_state"},
		{"https://app.parlae.ca/setup?", "https://app.parlae.ca/setup?status=error&reason=invalid_state"},
		{"https://app.parlae.ca/setup#wizard", "https://app.parlae.ca/setup?status=error&reason=invalid_state#wizard"},
		{"/agent/setup/pms?x=1#f", "/agent/setup/pms?x=1&status=error&reason=invalid_state#f"},
	}
	base := validConfig(t)
	for _, tt := range tests {
		t.Run(tt.frontend, func(t *testing.T) {
			c := base
			c.FrontendURL = tt.frontend
			h, err := middleware.New(c)
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.parlae.ca/agent/setup/pms/callback?state=x&code=y&redirect=https://evil.example", nil))
			assert.Equal(t, http.StatusFound, rec.Code)
			assert.Equal(t, tt.want, rec.Header().Get("Location"))
		})
	}
}

// The start route sends the browser to the service's authorization page with
// the service's app id, keeping the page's own query.
func TestAuthorizePageFromTheService(t *testing.T) {
	c := validConfig(t)
	c.Service = serviceFor(t, sikka.WithAuthorizeURL("https://api.sikkasoft.com/portal/authapp.aspx?lang=fr"))
	h, err := middleware.New(c)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "https://app.parlae.ca/agent/setup/pms/start", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: acct1})
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusFound, rec.Code)
	assert.Regexp(t, `^https://api\.sikkasoft\.com/portal/authapp\.aspx\?lang=fr&app_id=app&redirect_uri=https%3A%2F%2Fapp\.parlae\.ca%2Fagent%2Fsetup%2Fpms%2Fcallback&state=[A-Za-z0-9_.-]+$`,
		rec.Header().Get("Location"))
}

// Mount and MountMux serve the five routes and leave the rest of the
// host's routes alone.
func TestMount(t *testing.T) {
	c := validConfig(t)
	c.Prefix = "/pms"
	h, err := middleware.New(c)
	require.NoError(t, err)
	assert.Equal(t, []string{"/pms/start", "/pms/callback", "/pms/status", "/pms/disconnect", "/pms/connect"}, h.Paths())

	std := http.NewServeMux()
	std.HandleFunc("/pms", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "host page") })
	h.Mount(std)
	gorilla := mux.NewRouter()
	gorilla.HandleFunc("/pms", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "host page") })
	middleware.MountMux(gorilla, h)

	for name, router := range map[string]http.Handler{"ServeMux": std, "gorilla": gorilla} {
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				method, path string
				code         int
			}{
				{"GET", "/pms", 200},
				{"GET", "/pms/start", 302},
				{"GET", "/pms/callback", 302},
				{"GET", "/pms/status", 200},
				{"POST", "/pms/disconnect", 200},
				{"POST", "/pms/status", 405},
				{"GET", "/pms/nope", 404},
			}
			for _, tt := range tests {
				req := httptest.NewRequest(tt.method, "https://app.parlae.ca"+tt.path, nil)
				req.AddCookie(&http.Cookie{Name: "session", Value: acct1})
				rec := httptest.NewRecorder()
				router.ServeHTTP(rec, req)
				assert.Equal(t, tt.code, rec.Code, "%s %s", tt.method, tt.path)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xFE}, 32))
	urlSecret := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xFB}, 40))
	good := map[string]string{
		"SIKKA_APP_ID":       "b0cac8c638d52c92f9c0312159fc4518",
		"SIKKA_APP_KEY":      "7beec2a9e62bd692eab2e0840b8bb2db",
		"SIKKA_REDIRECT_URI": "https://app.parlae.ca/agent/setup/pms/callback",
		"SIKKA_FRONTEND_URL": "https://app.parlae.ca/agent/setup/pms",
		"SIKKA_STATE_KEYS":   "2025-06:" + secret + ", 2025-01:" + urlSecret,
	}
	tests := []struct {
		name string
		env  map[string]string // over good; "" unsets
		want []string
	}{
		{"good", nil, nil},
		{"all missing", map[string]string{"SIKKA_APP_ID": "", "SIKKA_APP_KEY": "", "SIKKA_REDIRECT_URI": "", "SIKKA_FRONTEND_URL": "", "SIKKA_STATE_KEYS": ""},
			[]string{"SIKKA_APP_ID: is required", "SIKKA_APP_KEY: is required", "SIKKA_REDIRECT_URI: is required",
				"SIKKA_FRONTEND_URL: is required", "SIKKA_STATE_KEYS: is required"}},
		{"all malformed", map[string]string{
			"SIKKA_REDIRECT_URI": "http://app.parlae.ca/cb", "SIKKA_OAUTH_URL": "ftp://x", "SIKKA_API_URL": "nope",
			"SIKKA_FRONTEND_URL": "javascript:x", "SIKKA_STATE_KEYS": "k1:" + base64.StdEncoding.EncodeToString([]byte("short")),
			"SIKKA_DEV_MODE": "maybe"},
			[]string{"SIKKA_REDIRECT_URI: must be https", "SIKKA_OAUTH_URL: must be", "SIKKA_API_URL: must be",
				"SIKKA_FRONTEND_URL: must be", "SIKKA_STATE_KEYS: key 1 (k1): secret must be at least 32 bytes",
				"SIKKA_DEV_MODE: must be true or false"}},
		{"key without id", map[string]string{"SIKKA_STATE_KEYS": secret}, []string{"SIKKA_STATE_KEYS: key 1: want id:base64secret"}},
		{"key not base64", map[string]string{"SIKKA_STATE_KEYS": "k1:!!!!" + secret}, []string{"SIKKA_STATE_KEYS: key 1 (k1): secret is not base64"}},
		{"dev mode loopback", map[string]string{"SIKKA_DEV_MODE": "true", "SIKKA_REDIRECT_URI": "http://127.0.0.1:8080/agent/setup/pms/callback",
			"SIKKA_OAUTH_URL": "http://127.0.0.1:8089/portal/authapp.aspx", "SIKKA_API_URL": "http://127.0.0.1:8089"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"SIKKA_APP_ID", "SIKKA_APP_KEY", "SIKKA_REDIRECT_URI", "SIKKA_OAUTH_URL", "SIKKA_API_URL",
				"SIKKA_FRONTEND_URL", "SIKKA_STATE_KEYS", "SIKKA_DEV_MODE"} {
				v, ok := tt.env[k]
				if !ok {
					v = good[k]
				}
				t.Setenv(k, v)
			}
			env, err := middleware.FromEnv()
			if tt.want != nil {
				require.Error(t, err)
				for _, w := range tt.want {
					assert.Contains(t, err.Error(), w)
				}
				for _, s := range []string{good["SIKKA_APP_KEY"], secret, urlSecret, "short"} {
					assert.NotContains(t, err.Error(), s)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, good["SIKKA_APP_KEY"], env.AppKey)
			require.Len(t, env.StateKeys, 2)
			assert.Equal(t, "2025-06", env.StateKeys[0].ID, "the first key signs")
			assert.Equal(t, bytes.Repeat([]byte{0xFB}, 40), env.StateKeys[1].Secret)
			if env.OAuthURL != "http://127.0.0.1:8089/portal/authapp.aspx" {
				assert.Empty(t, env.OAuthURL, "the client's default")
			}

			// The Env becomes a Sikka client and a Config once the host adds
			// its parts.
			cfg := env.Config()
			cfg.Service = serviceFor(t, sikka.WithBaseURL(env.APIURL), sikka.WithAuthorizeURL(env.OAuthURL))
			cfg.Account = sessionAccount
			_, err = middleware.New(cfg)
			require.NoError(t, err)

			// Printing or logging an Env shows no secret.
			var logs bytes.Buffer
			slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "env", env)
			out := logs.String() + fmt.Sprintf("%v %+v %#v %s", env, env, env, env)
			for _, s := range []string{good["SIKKA_APP_KEY"], string(env.StateKeys[0].Secret), secret, urlSecret} {
				assert.NotContains(t, out, s)
			}
			assert.Contains(t, out, good["SIKKA_APP_ID"])
			assert.True(t, strings.Contains(out, "2025-06"))
		})
	}
}
