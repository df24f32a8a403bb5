package main

import (
	"context"
	_ "embed"
	"html/template"
	"net/http"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
)

// The demo's sign-in is a cookie naming the account: no password, because the
// demo is about the connect flow, not about authentication. A real host
// passes its own session lookup as middleware.Config.Account.
const (
	accountCookie  = "sikka_demo_account"
	defaultAccount = "demo-account"
)

// demoAccount is the middleware's Account function: the account named by the
// demo cookie, else the default demo account.
func demoAccount(r *http.Request) (string, error) {
	if c, err := r.Cookie(accountCookie); err == nil && secretstore.ValidateAccountID(c.Value) == nil {
		return c.Value, nil
	}
	return defaultAccount, nil
}

// login switches the demo account: /demo/login?account=NAME.
func login(w http.ResponseWriter, r *http.Request) {
	acct := r.URL.Query().Get("account")
	if err := secretstore.ValidateAccountID(acct); err != nil {
		http.Error(w, "account: "+err.Error(), http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: accountCookie, Value: acct, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, middleware.DefaultPrefix, http.StatusFound)
}

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// setupPage is the setup wizard's page, like the frontend of the original
// notes: the Connect button, the office id form of a practice onboarded
// through the Sikka Marketplace, the outcome message of
// ?status=…&reason=… (naming the mock's app, mocksikka.DefaultAppName), the
// connection read from the middleware's status JSON, and, once connected,
// the "Practice data" panel (practicedata.go).
type setupPage struct {
	status interface {
		Status(ctx context.Context, accountID string) (integration.Record, error)
	}
	sikkaURL string
}

type pageData struct {
	Account       string
	Message       string
	MessageClass  string
	StartURL      string
	ConnectURL    string
	StatusURL     string
	DisconnectURL string
	SikkaURL      string
}

func (p *setupPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	acct, _ := demoAccount(r)
	if _, err := r.Cookie(accountCookie); err != nil {
		// Sign the browser in as the default demo account.
		http.SetCookie(w, &http.Cookie{Name: accountCookie, Value: acct, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	q := r.URL.Query()
	status, reason := q.Get("status"), q.Get("reason")
	data := pageData{
		Account:       acct,
		StartURL:      middleware.DefaultPrefix + "/start",
		ConnectURL:    middleware.DefaultPrefix + "/connect",
		StatusURL:     middleware.DefaultPrefix + "/status",
		DisconnectURL: middleware.DefaultPrefix + "/disconnect",
		SikkaURL:      p.sikkaURL,
	}
	switch status {
	case "success":
		// The practice comes from the status JSON (the script fills it in);
		// the server-side text covers a browser without JavaScript.
		data.Message, data.MessageClass = "Successfully connected.", "ok"
		if rec, err := p.status.Status(r.Context(), acct); err == nil && rec.Status == integration.StatusActive {
			data.Message = middleware.SuccessMessage(rec.PracticeName, rec.PMSType)
		}
	case "cancelled":
		data.Message, data.MessageClass = middleware.Message(status, reason), "warn"
	case "error":
		data.Message, data.MessageClass = middleware.MessageFor(mocksikka.DefaultAppName, status, reason), "err"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTemplate.Execute(w, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}
