package middleware

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/parlae/sikka-connect/internal/redact"
)

// The environment variables FromEnv reads.
const (
	EnvAppID       = "SIKKA_APP_ID"
	EnvAppKey      = "SIKKA_APP_KEY"
	EnvRedirectURI = "SIKKA_REDIRECT_URI"
	EnvOAuthURL    = "SIKKA_OAUTH_URL"
	EnvAPIURL      = "SIKKA_API_URL"
	EnvFrontendURL = "SIKKA_FRONTEND_URL"
	EnvStateKeys   = "SIKKA_STATE_KEYS"
	EnvDevMode     = "SIKKA_DEV_MODE"
)

// Env is the configuration read from the environment by FromEnv. AppKey and
// the key secrets never appear when an Env is formatted or logged.
type Env struct {
	// AppID is SIKKA_APP_ID (required), for building the Sikka client:
	//	sikka.New(e.AppID, e.AppKey, sikka.WithBaseURL(e.APIURL), sikka.WithAuthorizeURL(e.OAuthURL))
	// The middleware takes the app id from that client (through the
	// service), never from here.
	AppID string
	// AppKey is SIKKA_APP_KEY (required), the app's secret, for the Sikka
	// client. Never log it.
	AppKey string
	// RedirectURI is SIKKA_REDIRECT_URI (required).
	RedirectURI string
	// OAuthURL is SIKKA_OAUTH_URL (optional): Sikka's authorization page,
	// for the client (sikka.WithAuthorizeURL); "" means the client's
	// default, the API base URL's /portal/authapp.aspx.
	OAuthURL string
	// APIURL is SIKKA_API_URL (optional): the Sikka API base URL for the
	// client (sikka.WithBaseURL); "" means the client's default.
	APIURL string
	// FrontendURL is SIKKA_FRONTEND_URL (required).
	FrontendURL string
	// StateKeys is SIKKA_STATE_KEYS (required): comma-separated id:secret
	// pairs, the first signing, each secret base64 (standard or URL
	// alphabet, padding optional) of at least MinKeySecretLen bytes, e.g.
	// "2025-06:$(openssl rand -base64 32)".
	StateKeys []Key
	// DevMode is SIKKA_DEV_MODE (optional): "true" or "1" allows plain-http
	// loopback URLs (see Config.DevMode).
	DevMode bool
}

// FromEnv reads the Env from the environment and checks it by the rules of
// New. The error, if any, names every variable that is missing or malformed,
// and never quotes a secret.
func FromEnv() (Env, error) {
	var errs []error
	bad := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }
	get := func(name string, required bool) string {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" && required {
			bad(name, errors.New("is required"))
		}
		return v
	}
	e := Env{
		AppID:       get(EnvAppID, true),
		AppKey:      get(EnvAppKey, true),
		RedirectURI: get(EnvRedirectURI, true),
		OAuthURL:    get(EnvOAuthURL, false),
		APIURL:      get(EnvAPIURL, false),
		FrontendURL: get(EnvFrontendURL, true),
	}
	if v := get(EnvDevMode, false); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(EnvDevMode, errors.New("must be true or false"))
		}
		e.DevMode = b
	}
	if e.OAuthURL != "" {
		if _, err := parseURL(e.OAuthURL, e.DevMode, false); err != nil {
			bad(EnvOAuthURL, err)
		}
	}
	if e.RedirectURI != "" {
		if u, err := parseURL(e.RedirectURI, e.DevMode, false); err != nil {
			bad(EnvRedirectURI, err)
		} else if u.RawQuery != "" || u.Fragment != "" {
			bad(EnvRedirectURI, errors.New("must have no query or fragment"))
		}
	}
	if e.APIURL != "" {
		if _, err := parseURL(e.APIURL, e.DevMode, false); err != nil {
			bad(EnvAPIURL, err)
		}
	}
	if e.FrontendURL != "" {
		if _, err := parseURL(e.FrontendURL, e.DevMode, true); err != nil {
			bad(EnvFrontendURL, err)
		}
	}
	if v := get(EnvStateKeys, true); v != "" {
		keys, err := parseKeys(v)
		if err == nil {
			err = validateKeys(keys)
		}
		if err != nil {
			bad(EnvStateKeys, err)
		}
		e.StateKeys = keys
	}
	if err := errors.Join(errs...); err != nil {
		return Env{}, fmt.Errorf("middleware: environment:\n%w", err)
	}
	return e, nil
}

// parseKeys reads "id:base64secret[,id:base64secret…]". Its errors never
// quote a secret.
func parseKeys(v string) ([]Key, error) {
	var keys []Key
	for i, part := range strings.Split(v, ",") {
		id, secret, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" || secret == "" {
			return nil, fmt.Errorf("key %d: want id:base64secret", i+1)
		}
		raw, err := decodeBase64(secret)
		if err != nil {
			return nil, fmt.Errorf("key %d (%s): secret is not base64", i+1, id)
		}
		keys = append(keys, Key{ID: id, Secret: raw})
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Config returns a Config holding e's settings for the middleware; the host
// adds Service (built on the Sikka client made from AppID, AppKey, APIURL
// and OAuthURL) and Account (and any other field) before calling New.
func (e Env) Config() Config {
	return Config{
		RedirectURI: e.RedirectURI,
		FrontendURL: e.FrontendURL,
		StateKeys:   append([]Key(nil), e.StateKeys...),
		DevMode:     e.DevMode,
	}
}

// Format implements fmt.Formatter: every verb shows e with AppKey and the
// key secrets redacted.
func (e Env) Format(f fmt.State, _ rune) {
	ids := make([]string, len(e.StateKeys))
	for i, k := range e.StateKeys {
		ids[i] = k.ID
	}
	fmt.Fprintf(f, "{AppID:%s AppKey:%s RedirectURI:%s OAuthURL:%s APIURL:%s FrontendURL:%s StateKeys:[%s] DevMode:%t}",
		e.AppID, redact.IfSet(e.AppKey), e.RedirectURI, e.OAuthURL, e.APIURL, e.FrontendURL, strings.Join(ids, " "), e.DevMode)
}

// LogValue implements slog.LogValuer, with AppKey and the key secrets redacted.
func (e Env) LogValue() slog.Value {
	ids := make([]string, len(e.StateKeys))
	for i, k := range e.StateKeys {
		ids[i] = k.ID
	}
	return slog.GroupValue(
		slog.String("app_id", e.AppID),
		slog.String("app_key", redact.IfSet(e.AppKey)),
		slog.String("redirect_uri", e.RedirectURI),
		slog.String("oauth_url", e.OAuthURL),
		slog.String("api_url", e.APIURL),
		slog.String("frontend_url", e.FrontendURL),
		slog.String("state_key_ids", strings.Join(ids, ",")),
		slog.Bool("dev_mode", e.DevMode),
	)
}
