package middleware

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// Defaults of Config.
const (
	// DefaultPrefix is where the routes are served: DefaultPrefix+"/start",
	// "/callback", "/status" and "/disconnect".
	DefaultPrefix = "/agent/setup/pms"
	// DefaultStateTTL is how long a state stays valid (ClockSkew is added).
	DefaultStateTTL = 10 * time.Minute
)

// Config configures a Handler. Service, RedirectURI, FrontendURL, StateKeys
// and Account are required; New fills in the defaults of the rest.
type Config struct {
	// Service connects, reports and disconnects accounts. Required. It is
	// also where the start route sends the browser: Service.AuthorizeURL,
	// which takes the app id and Sikka's authorization page from the
	// service's Sikka client (sikka.New's app id, sikka.WithAuthorizeURL),
	// their one home. The page must be https (plain http on a loopback host
	// with DevMode).
	Service *integration.Service

	// RedirectURI is where Sikka sends the browser back (SIKKA_REDIRECT_URI),
	// exactly as registered with Sikka. It must reach Prefix+"/callback" of
	// this handler, and be HTTPS: plain http is accepted only for a loopback
	// host (127.0.0.1, ::1, localhost) with DevMode. Required.
	RedirectURI string

	// FrontendURL is the setup page the callback redirects to with
	// ?status=… (SIKKA_FRONTEND_URL), e.g.
	// "https://app.parlae.ca/agent/setup/pms": an absolute URL under the
	// same rule as RedirectURI, or an absolute path on this host
	// ("/agent/setup/pms"). Its query and fragment are kept; it must not
	// have its own status or reason parameter. It is the only place the
	// callback ever sends a browser to. Required.
	FrontendURL string

	// StateKeys sign and verify states (SIKKA_STATE_KEYS): the first signs,
	// all verify. Rotate by putting a new key first and dropping the old one
	// after StateTTL. Ids are unique; secrets have at least MinKeySecretLen
	// bytes. Required.
	StateKeys []Key

	// Account returns the id of the account signed in on r. An error or an
	// empty id means nobody is: start, status and disconnect answer 401,
	// and the callback refuses with ErrNotSignedIn (invalid_state). It is
	// called on every request of the five routes. Required.
	Account func(r *http.Request) (string, error)

	// Prefix is the path under which the five routes are served; it starts
	// with '/' and does not end with one. Default DefaultPrefix.
	Prefix string

	// Nonces keeps the nonces of states not yet used. Default:
	// Service.Nonces(), the service's integration.Config.Nonces, which is
	// its repository: integration/memory's suits one process only;
	// integration/postgres's is shared by every replica on the database.
	// The middleware never picks a storage of its own.
	Nonces integration.NonceStore

	// StateTTL is how long a state stays valid after the start route minted
	// it, ClockSkew added. Default DefaultStateTTL (10 minutes).
	StateTTL time.Duration

	// DisableBrowserBinding turns off the browser-binding cookie: the start
	// route sets none and the callback requires none. It is for hosts that
	// receive code and state elsewhere and forward them server to server, so
	// that the request reaching the callback does not come from the browser
	// that started. The state is then protected by its MAC, its TTL, its
	// single use and the account check only. Default false (bound).
	DisableBrowserBinding bool

	// DevMode accepts a plain-http loopback RedirectURI, authorization
	// page (the Sikka client's) and FrontendURL, for local development and tests. Default false.
	DevMode bool

	// Logger receives one line per request (request id, route, account,
	// outcome, reason, cause, duration) and never a code, key, state,
	// nonce, cookie value or secret. Default: discard.
	Logger *slog.Logger

	// Hooks observe flows, e.g. for metrics (middleware/metrics). Optional.
	Hooks Hooks

	// Now is the clock that dates and ages states. Default time.Now.
	Now func() time.Time
}

// Hooks observe the connect flow. Each is optional, runs synchronously on the
// request's goroutine (keep it fast), and must be safe for concurrent use.
type Hooks struct {
	// Started: the start route minted a state for accountID and sent the
	// browser to Sikka.
	Started func(r *http.Request, accountID string)
	// Finished: the callback redirected the browser to the frontend; o says
	// with what and why.
	Finished func(r *http.Request, o Outcome)
}

// withDefaults returns cfg with its defaults filled in.
func (cfg Config) withDefaults() Config {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Nonces == nil && cfg.Service != nil {
		cfg.Nonces = cfg.Service.Nonces()
	}
	if cfg.StateTTL == 0 {
		cfg.StateTTL = DefaultStateTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// validate reports every missing or malformed field of a defaulted cfg.
func (cfg Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.Service == nil {
		bad("Service is required")
	} else if page := cfg.Service.AuthorizeURL(cfg.RedirectURI, ""); page == "" {
		bad("Service: its Sikka client has an invalid base URL or authorization page (SIKKA_API_URL, SIKKA_OAUTH_URL)")
	} else if _, err := parseURL(page, cfg.DevMode, false); err != nil {
		bad("Service: its Sikka client's authorization page (sikka.WithAuthorizeURL, SIKKA_OAUTH_URL): %w", err)
	}
	if cfg.Account == nil {
		bad("Account is required")
	}
	if u, err := parseURL(cfg.RedirectURI, cfg.DevMode, false); err != nil {
		bad("RedirectURI (SIKKA_REDIRECT_URI): %w", err)
	} else if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		bad("RedirectURI (SIKKA_REDIRECT_URI): must have no query or fragment")
	}
	if u, err := parseURL(cfg.FrontendURL, cfg.DevMode, true); err != nil {
		bad("FrontendURL (SIKKA_FRONTEND_URL): %w", err)
	} else if q, err := url.ParseQuery(u.RawQuery); err != nil {
		bad("FrontendURL (SIKKA_FRONTEND_URL): query: %w", err)
	} else if q.Has("status") || q.Has("reason") {
		bad("FrontendURL (SIKKA_FRONTEND_URL): must not have a status or reason parameter of its own")
	}
	if err := validateKeys(cfg.StateKeys); err != nil {
		bad("StateKeys (SIKKA_STATE_KEYS): %w", err)
	}
	if !validPrefix(cfg.Prefix) {
		bad("Prefix %q: must start with '/', not end with '/', and hold only letters, digits and \"/-._~\"", cfg.Prefix)
	}
	if cfg.StateTTL < 0 {
		bad("StateTTL must be positive")
	}
	return errors.Join(errs...)
}

// parseURL checks an absolute URL for redirects: https, or plain http on a
// loopback host in dev mode; with pathOK, an absolute path ("/x", not "//x")
// is accepted too.
func parseURL(raw string, devMode, pathOK bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is not a URL")
	}
	if pathOK && u.Scheme == "" && u.Host == "" && u.User == nil && strings.HasPrefix(raw, "/") &&
		!strings.HasPrefix(raw, "//") && !strings.Contains(raw, "\\") {
		return u, nil
	}
	if u.Host == "" || u.Opaque != "" || u.User != nil {
		if pathOK {
			return nil, errors.New("must be an absolute https URL or a path starting with '/'")
		}
		return nil, errors.New("must be an absolute https URL")
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return nil, errors.New("must be https (plain http only for a loopback host in dev mode)")
		}
		if !devMode {
			return nil, errors.New("must be https: plain http on a loopback host needs DevMode (SIKKA_DEV_MODE)")
		}
		return u, nil
	}
	return nil, errors.New("must be an https URL")
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func validateKeys(keys []Key) error {
	if len(keys) == 0 {
		return errors.New("at least one key is required")
	}
	var errs []error
	seen := map[string]bool{}
	for i, k := range keys {
		switch {
		case !validKeyID(k.ID):
			errs = append(errs, fmt.Errorf("key %d: id must be 1 to %d characters among letters, digits, '-', '_' and '.'", i+1, MaxKeyIDLen))
		case seen[k.ID]:
			errs = append(errs, fmt.Errorf("key %d: id %q is used twice", i+1, k.ID))
		}
		seen[k.ID] = true
		if len(k.Secret) < MinKeySecretLen {
			errs = append(errs, fmt.Errorf("key %d (%s): secret must be at least %d bytes", i+1, k.ID, MinKeySecretLen))
		}
	}
	return errors.Join(errs...)
}

func validPrefix(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/-._~", c) >= 0) {
			return false
		}
	}
	return true
}
