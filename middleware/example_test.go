package middleware_test

import (
	"bytes"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"

	"github.com/gorilla/mux"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/middleware"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

// Mount the five routes in a gorilla/mux router. The setup page's "Connect
// PMS" button links to /agent/setup/pms/start, which sends the browser to
// Sikka.
func ExampleMountMux() {
	h, err := middleware.New(middleware.Config{
		Service:     service(), // your *integration.Service: app id and Sikka's page come from its client
		RedirectURI: "https://app.parlae.ca/agent/setup/pms/callback",
		FrontendURL: "https://app.parlae.ca/agent/setup/pms",
		StateKeys:   []middleware.Key{{ID: "2025-06", Secret: stateSecret}},
		Account:     currentAccount, // your session: func(*http.Request) (string, error)
	})
	if err != nil {
		log.Fatal(err)
	}
	r := mux.NewRouter()
	middleware.MountMux(r, h)

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, signedIn(httptest.NewRequest(http.MethodGet, "/agent/setup/pms/start", nil)))
	to, _ := url.Parse(rec.Header().Get("Location"))
	fmt.Println(rec.Code, to.Host+to.Path, to.Query().Get("redirect_uri"))
	// Output: 302 api.sikkasoft.com/portal/authapp.aspx https://app.parlae.ca/agent/setup/pms/callback
}

// Mount the five routes in an http.ServeMux, next to the host's own pages.
// The frontend asks the status route what to show.
func ExampleHandler_Mount() {
	h, err := middleware.New(middleware.Config{
		Service:     service(), // your *integration.Service: app id and Sikka's page come from its client
		RedirectURI: "https://app.parlae.ca/agent/setup/pms/callback",
		FrontendURL: "/agent/setup/pms", // your setup page, on this host
		StateKeys:   []middleware.Key{{ID: "2025-06", Secret: stateSecret}},
		Account:     currentAccount,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	// mux.Handle("/agent/setup/pms", setupPage) and the rest of your app

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, signedIn(httptest.NewRequest(http.MethodGet, "/agent/setup/pms/status", nil)))
	fmt.Print(rec.Code, " ", rec.Body)
	// Output: 200 {"connected":false,"status":"NOT_CONNECTED","message":"Not connected."}
}

// Read the settings from SIKKA_* variables: one error names every variable
// missing or malformed. The app key is for the Sikka client only.
func ExampleFromEnv() {
	for k, v := range map[string]string{ // normally set by your deployment
		"SIKKA_APP_ID":       "b0cac8c638d52c92f9c0312159fc4518",
		"SIKKA_APP_KEY":      "7beec2a9e62bd692eab2e0840b8bb2db",
		"SIKKA_REDIRECT_URI": "https://app.parlae.ca/agent/setup/pms/callback",
		"SIKKA_FRONTEND_URL": "https://app.parlae.ca/agent/setup/pms",
		"SIKKA_STATE_KEYS":   "2025-06:c2lra2EtY29ubmVjdCBleGFtcGxlIHN0YXRlIGtleSEhIQ==",
	} {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}
	env, err := middleware.FromEnv()
	if err != nil {
		log.Fatal(err)
	}
	svc, err := integration.NewService(integration.Config{
		Sikka:   sikka.New(env.AppID, env.AppKey, sikka.WithBaseURL(env.APIURL), sikka.WithAuthorizeURL(env.OAuthURL)),
		Secrets: secretmemory.New(), // secretstore/awssm or secretstore/vault
		Records: memory.New(),       // integration/postgres
	})
	if err != nil {
		log.Fatal(err)
	}
	cfg := env.Config()
	cfg.Service, cfg.Account = svc, currentAccount
	h, err := middleware.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.Paths()[0])
	fmt.Println(env) // secrets redacted
	// Output:
	// /agent/setup/pms/start
	// {AppID:b0cac8c638d52c92f9c0312159fc4518 AppKey:[REDACTED] RedirectURI:https://app.parlae.ca/agent/setup/pms/callback OAuthURL: APIURL: FrontendURL:https://app.parlae.ca/agent/setup/pms StateKeys:[2025-06] DevMode:false}
}

// What the examples take as given: the host's service, session and key.

// stateSecret is at least 32 random bytes, e.g. from `openssl rand -base64 32`.
var stateSecret = bytes.Repeat([]byte{0x5e}, 32)

func service() *integration.Service {
	svc, err := integration.NewService(integration.Config{
		Sikka:   sikka.New("b0cac8c638d52c92f9c0312159fc4518", "7beec2a9e62bd692eab2e0840b8bb2db"),
		Secrets: secretmemory.New(),
		Records: memory.New(),
	})
	if err != nil {
		log.Fatal(err)
	}
	return svc
}

// currentAccount is the host's session lookup; here, a "session" cookie.
func currentAccount(r *http.Request) (string, error) {
	c, err := r.Cookie("session")
	if err != nil {
		return "", err
	}
	return c.Value, nil
}

func signedIn(r *http.Request) *http.Request {
	r.AddCookie(&http.Cookie{Name: "session", Value: "account_abc123"})
	return r
}
