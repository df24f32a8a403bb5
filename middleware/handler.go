package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// connectTimeout bounds Service.Connect. The call runs detached from the
// request's cancellation: once the code is being spent, a browser that goes
// away should not leave the connect half done.
const connectTimeout = time.Minute

// cookiePrefix starts the name of every browser-binding cookie; the rest of
// the name is derived from the flow's nonce, so each flow (each tab) has its
// own cookie.
const cookiePrefix = "sikka_flow_"

// nonceTimeout bounds each call to the nonce store, so a store that stopped
// answering costs the browser an internal error, not an endless wait.
const nonceTimeout = 10 * time.Second

// Handler serves the five routes of the connect flow under Config.Prefix:
//
//	GET  {prefix}/start       mint a state, set the binding cookie, 302 to Sikka
//	GET  {prefix}/callback    verify, connect, 302 to the frontend
//	GET  {prefix}/status      JSON StatusBody of the signed-in account
//	POST {prefix}/disconnect  disconnect the signed-in account (same origin only)
//	POST {prefix}/connect     connect by office id and secret key (same origin only)
//
// Other paths get 404, other methods 405 with an Allow header. A Handler is
// safe for concurrent use.
type Handler struct {
	cfg        Config
	paths      [5]string // start, callback, status, disconnect, connect
	frontend   string    // FrontendURL, as configured
	cookiePath string
	// secureCookies: the binding cookie is Secure (RedirectURI is https).
	secureCookies bool
	origins       *http.CrossOriginProtection
	log           *slog.Logger
}

// New checks cfg (every problem in one error), fills in its defaults and
// returns the Handler.
func New(cfg Config) (*Handler, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("middleware: invalid config:\n%w", err)
	}
	h := &Handler{
		cfg:      cfg,
		frontend: cfg.FrontendURL,
		origins:  http.NewCrossOriginProtection(),
		log:      cfg.Logger,
	}
	h.cfg.StateKeys = make([]Key, len(cfg.StateKeys))
	for i, k := range cfg.StateKeys {
		h.cfg.StateKeys[i] = k.withMACs()
	}
	for i, name := range []string{"start", "callback", "status", "disconnect", "connect"} {
		h.paths[i] = cfg.Prefix + "/" + name
	}
	redirect, _ := url.Parse(cfg.RedirectURI)
	h.secureCookies = redirect.Scheme != "http"
	// The binding cookies are scoped to the directory of the callback, so
	// that the start route (beside it under Prefix) sees them and can bound
	// how many a browser holds (MaxFlowCookies).
	h.cookiePath = redirect.EscapedPath()
	h.cookiePath = h.cookiePath[:strings.LastIndexByte(h.cookiePath, '/')+1]
	if h.cookiePath == "" {
		h.cookiePath = "/"
	}
	if fe, _ := url.Parse(cfg.FrontendURL); fe.Host != "" {
		// A frontend on another origin may post disconnect.
		if err := h.origins.AddTrustedOrigin(fe.Scheme + "://" + fe.Host); err != nil {
			return nil, fmt.Errorf("middleware: invalid config: FrontendURL: %w", err)
		}
	}
	return h, nil
}

// Paths returns the five paths the Handler serves, for routers other than
// http.ServeMux and gorilla/mux: start, callback, status, disconnect,
// connect.
func (h *Handler) Paths() []string {
	return h.paths[:]
}

// Mount registers the Handler on mux for each of its paths (no method in
// the patterns: the Handler answers 405 itself).
func (h *Handler) Mount(mux *http.ServeMux) {
	for _, p := range h.paths {
		mux.Handle(p, h)
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var route func(http.ResponseWriter, *http.Request, *entry)
	method := http.MethodGet
	switch r.URL.Path {
	case h.paths[0]:
		route = h.start
	case h.paths[1]:
		route = h.callback
	case h.paths[2]:
		route = h.status
	case h.paths[3]:
		route, method = h.disconnect, http.MethodPost
	case h.paths[4]:
		route, method = h.connectOffice, http.MethodPost
	default:
		http.NotFound(w, r)
		return
	}
	e := &entry{route: strings.TrimPrefix(r.URL.Path, h.cfg.Prefix+"/"), begin: time.Now(), id: requestID(r)}
	w.Header().Set("X-Request-Id", e.id)
	if r.Method != method {
		w.Header().Set("Allow", method)
		e.httpStatus = http.StatusMethodNotAllowed
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	} else {
		route(w, r, e)
	}
	h.logEntry(r.Context(), e)
}

// account returns the signed-in account, or an error wrapping ErrNotSignedIn.
func (h *Handler) account(r *http.Request) (string, error) {
	id, err := h.cfg.Account(r)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotSignedIn, err)
	}
	if id == "" {
		return "", ErrNotSignedIn
	}
	return id, nil
}

// authorizeURL is Sikka's authorization page with app_id, redirect_uri and
// state added (the service's, see Config.Service).
func (h *Handler) authorizeURL(token string) string {
	return h.cfg.Service.AuthorizeURL(h.cfg.RedirectURI, token)
}

// frontendURL is FrontendURL with status (and reason) appended to its query.
func (h *Handler) frontendURL(status, reason string) string {
	base, frag, hasFrag := strings.Cut(h.frontend, "#")
	q := "status=" + status
	if reason != "" {
		q += "&reason=" + reason
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	out := base + sep + q
	if hasFrag {
		out += "#" + frag
	}
	return out
}

func (h *Handler) redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusFound)
}
