package middleware

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/integration"
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

// Handler serves the four routes of the connect flow under Config.Prefix:
//
//	GET  {prefix}/start       mint a state, set the binding cookie, 302 to Sikka
//	GET  {prefix}/callback    verify, connect, 302 to the frontend
//	GET  {prefix}/status      JSON StatusBody of the signed-in account
//	POST {prefix}/disconnect  disconnect the signed-in account (same origin only)
//
// Other paths get 404, other methods 405 with an Allow header. A Handler is
// safe for concurrent use.
type Handler struct {
	cfg        Config
	paths      [4]string // start, callback, status, disconnect
	oauth      *url.URL
	frontend   string // FrontendURL, as configured
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
	for i, name := range []string{"start", "callback", "status", "disconnect"} {
		h.paths[i] = cfg.Prefix + "/" + name
	}
	h.oauth, _ = url.Parse(cfg.OAuthURL) // checked by validate
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

// Paths returns the four paths the Handler serves, for routers other than
// http.ServeMux and gorilla/mux: start, callback, status, disconnect.
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

// entry is what one request logs.
type entry struct {
	id, route  string
	begin      time.Time
	account    string
	httpStatus int
	outcome    string // the callback's status
	reason     string
	err        error
}

func (h *Handler) logEntry(ctx context.Context, e *entry) {
	level := slog.LevelInfo
	switch {
	case e.reason == ReasonInternal || e.httpStatus >= 500:
		level = slog.LevelError
	case e.err != nil || e.httpStatus >= 400:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", e.id),
		slog.String("route", e.route),
		slog.Int("http_status", e.httpStatus),
		slog.Float64("duration_ms", float64(time.Since(e.begin).Microseconds())/1000),
	}
	if e.account != "" {
		attrs = append(attrs, slog.String("account_id", e.account))
	}
	if e.outcome != "" {
		attrs = append(attrs, slog.String("outcome", e.outcome))
	}
	if e.reason != "" {
		attrs = append(attrs, slog.String("reason", e.reason))
	}
	if e.err != nil {
		attrs = append(attrs, slog.String("error", e.err.Error()))
	}
	h.log.LogAttrs(ctx, level, "sikka connect: "+e.route, attrs...)
}

// requestID returns the request's X-Request-Id if it is a plain token, else
// a new random one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 && strings.Trim(id,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == "" {
		return id
	}
	var b [8]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
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

// start mints a state, binds it to the browser and sends the browser to Sikka.
func (h *Handler) start(w http.ResponseWriter, r *http.Request, e *entry) {
	w.Header().Set("Cache-Control", "no-store")
	acct, err := h.account(r)
	if err != nil {
		e.err = err
		e.httpStatus = http.StatusUnauthorized
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	e.account = acct
	fail := func(err error) {
		e.err, e.outcome, e.reason = err, StatusError, ReasonInternal
		e.httpStatus = http.StatusFound
		h.redirect(w, h.frontendURL(StatusError, ReasonInternal))
	}
	if err := h.cfg.Service.CheckAccount(acct); err != nil {
		// The host's account id cannot name a secret: refused here, before
		// the practice goes through Sikka's page for nothing.
		fail(fmt.Errorf("middleware: %w", err))
		return
	}
	nonce, err := newNonce()
	if err != nil {
		fail(fmt.Errorf("middleware: nonce: %w", err))
		return
	}
	s := state{accountID: acct, issued: h.cfg.Now().Truncate(time.Second), nonce: nonce}
	key := h.cfg.StateKeys[0]
	token := encodeState(key, s)
	ttl := h.cfg.StateTTL + ClockSkew
	saveCtx, cancel := context.WithTimeout(r.Context(), nonceTimeout)
	defer cancel()
	if err := h.cfg.Nonces.Save(saveCtx, acct, s.nonceString(), s.issued.Add(ttl)); err != nil {
		if errors.Is(err, ErrTooManyFlows) {
			e.err = err
			e.httpStatus = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int(ttl/time.Second)))
			http.Error(w, "Too many connect attempts are in progress for this account: "+
				"finish one, or try again in a few minutes.", http.StatusTooManyRequests)
			return
		}
		fail(fmt.Errorf("middleware: save nonce: %w", err))
		return
	}
	if !h.cfg.DisableBrowserBinding {
		h.dropOldFlowCookies(w, r)
		http.SetCookie(w, h.bindingCookie(cookieName(s), bindingValue(key, s), int(ttl/time.Second)))
	}
	e.httpStatus = http.StatusFound
	h.redirect(w, h.authorizeURL(token))
	if f := h.cfg.Hooks.Started; f != nil {
		f(r, acct)
	}
}

// MaxFlowCookies is how many binding cookies (flows started and not yet
// finished) a browser keeps at once. A start that finds this many in the
// request clears them all before it sets its own: the flows of those cookies
// end as invalid_state, and the browser's Cookie header stays small (each
// cookie costs about 50 bytes; proxies commonly refuse headers past 8 KB).
const MaxFlowCookies = 8

// dropOldFlowCookies clears every binding cookie of r when r carries
// MaxFlowCookies or more of them. The start route sees them when it is
// served under the callback's directory, as with Mount and MountMux; the
// per-account bound of the NonceStore limits them everywhere else.
func (h *Handler) dropOldFlowCookies(w http.ResponseWriter, r *http.Request) {
	var names []string
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, cookiePrefix) {
			names = append(names, c.Name)
		}
	}
	if len(names) < MaxFlowCookies {
		return
	}
	for _, name := range names {
		http.SetCookie(w, h.bindingCookie(name, "", -1))
	}
}

// bindingCookie is a binding cookie of the handler's path; maxAge -1
// deletes it. It is Secure unless the RedirectURI is plain http (DevMode on
// loopback only), where a Secure cookie would never come back (curl's cookie
// jar and some browsers drop it) and the flow would end as invalid_state.
func (h *Handler) bindingCookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     h.cookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   h.secureCookies,
		SameSite: http.SameSiteLaxMode,
	}
}

// cookieName names the binding cookie of s's flow.
func cookieName(s state) string {
	sum := sha256.Sum256(s.nonce[:])
	return cookiePrefix + hex.EncodeToString(sum[:8])
}

// bindingValue is the value of the binding cookie of s's flow: a MAC of the
// nonce under the state's key, so that whoever reads a state (it travels in
// URLs) still cannot make its cookie.
func bindingValue(k Key, s state) string {
	sum := k.sum(bindingMACLabel, s.nonce[:])
	var out [(nonceLen*8 + 5) / 6]byte // unpadded base64 of nonceLen bytes
	base64.RawURLEncoding.Encode(out[:], sum[:nonceLen])
	return string(out[:])
}

const bindingMACLabel = "sikka-connect binding v1\x00"

// key returns the configured key of id, which a parsed state's keyID always is.
func (h *Handler) key(id string) Key {
	for _, k := range h.cfg.StateKeys {
		if k.ID == id {
			return k
		}
	}
	return Key{}
}

// authorizeURL is OAuthURL with app_id, redirect_uri and state added.
func (h *Handler) authorizeURL(token string) string {
	u := *h.oauth
	add := "app_id=" + url.QueryEscape(h.cfg.AppID) +
		"&redirect_uri=" + url.QueryEscape(h.cfg.RedirectURI) +
		"&state=" + url.QueryEscape(token)
	if u.RawQuery != "" {
		add = u.RawQuery + "&" + add
	}
	u.RawQuery = add
	return u.String()
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

// callback verifies the state, connects, and redirects to the frontend.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request, e *entry) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	o := h.runCallback(w, r, e)
	o.Duration = time.Since(e.begin)
	e.account, e.outcome, e.reason, e.err = o.AccountID, o.Status, o.Reason, o.Err
	e.httpStatus = http.StatusFound
	h.redirect(w, h.frontendURL(o.Status, o.Reason))
	if f := h.cfg.Hooks.Finished; f != nil {
		f(r, o)
	}
}

func (h *Handler) runCallback(w http.ResponseWriter, r *http.Request, e *entry) Outcome {
	acct, acctErr := h.account(r)
	refuse := func(stateAccount string, err error) Outcome {
		o := Outcome{Status: StatusError, Reason: ReasonInvalidState, Err: err, AccountID: acct}
		if o.AccountID == "" {
			o.AccountID = stateAccount
		}
		return o
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return refuse("", ErrCallbackMalformed)
	}
	for _, k := range []string{"state", "code", "error"} {
		if len(q[k]) > 1 {
			return refuse("", ErrCallbackMalformed)
		}
	}
	token, code, providerErr := q.Get("state"), q.Get("code"), q.Get("error")
	switch {
	case token == "":
		return refuse("", ErrStateMissing)
	case code != "" && providerErr != "":
		return refuse("", ErrCallbackAmbiguous)
	case code == "" && providerErr == "":
		return refuse("", ErrCodeMissing)
	}
	s, err := parseState(h.cfg.StateKeys, token)
	if err != nil {
		return refuse("", err)
	}
	// The flow's cookie goes once the flow can no longer finish (expired,
	// or its nonce spent); a refusal before that keeps it, so the right
	// account in this browser can still finish the flow.
	dropCookie := func() {
		if !h.cfg.DisableBrowserBinding {
			http.SetCookie(w, h.bindingCookie(cookieName(s), "", -1))
		}
	}
	if err := s.checkAge(h.cfg.Now(), h.cfg.StateTTL); err != nil {
		dropCookie()
		return refuse(s.accountID, err)
	}
	if acctErr != nil {
		return refuse(s.accountID, acctErr)
	}
	if subtle.ConstantTimeCompare([]byte(acct), []byte(s.accountID)) != 1 {
		return refuse(acct, ErrStateForeignAccount)
	}
	if !h.cfg.DisableBrowserBinding {
		c, err := r.Cookie(cookieName(s))
		if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(bindingValue(h.key(s.keyID), s))) != 1 {
			return refuse(acct, ErrStateNoCookie)
		}
	}
	consumeCtx, cancel := context.WithTimeout(r.Context(), nonceTimeout)
	defer cancel()
	fresh, err := h.cfg.Nonces.Consume(consumeCtx, s.nonceString())
	if err != nil {
		return Outcome{Status: StatusError, Reason: ReasonInternal, Err: fmt.Errorf("middleware: consume nonce: %w", err), AccountID: acct}
	}
	dropCookie()
	if !fresh {
		return refuse(acct, ErrStateReplayed)
	}
	if code != "" && !validCode(code) {
		// A genuine flow with a code no authorization code looks like:
		// never sent to Sikka (nor logged).
		return Outcome{Status: StatusError, Reason: ReasonInvalidCode, Err: ErrCodeMalformed, AccountID: acct}
	}

	if providerErr != "" {
		if providerErr == "access_denied" {
			return Outcome{Status: StatusCancelled, AccountID: acct}
		}
		return Outcome{Status: StatusError, Reason: providerErrorReason(providerErr), AccountID: acct,
			Err: fmt.Errorf("%w: %s", ErrProviderDenied, loggableErrorValue(providerErr))}
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), connectTimeout)
	defer cancel()
	rec, err := h.cfg.Service.Connect(ctx, acct, code)
	if err != nil {
		return Outcome{Status: StatusError, Reason: connectReason(err), Err: err, AccountID: acct}
	}
	return Outcome{Status: StatusSuccess, AccountID: acct, Record: rec}
}

// StatusBody is the JSON of the status route (and of a JSON disconnect).
// It never holds a secret, nor the secret's reference.
type StatusBody struct {
	// Connected is true when Status is ACTIVE.
	Connected bool `json:"connected"`
	// Status is the integration's status (ACTIVE, NEEDS_REAUTH, REVOKED),
	// or NotConnected when the account never connected.
	Status string `json:"status"`
	// PracticeName, PMSType and OfficeID describe the practice of the
	// account's integration, if it has one.
	PracticeName string `json:"practiceName,omitempty"`
	PMSType      string `json:"pmsType,omitempty"`
	OfficeID     string `json:"officeId,omitempty"`
	// ConnectedAt is when the account last completed a connect.
	ConnectedAt *time.Time `json:"connectedAt,omitempty"`
	// Message is ready to show: "Connected to Happy Dental Clinic
	// (Dentrix)" when connected.
	Message string `json:"message"`
}

// NotConnected is StatusBody.Status for an account with no integration.
const NotConnected = "NOT_CONNECTED"

func statusBody(rec integration.Record, found bool) StatusBody {
	if !found {
		return StatusBody{Status: NotConnected, Message: "Not connected."}
	}
	b := StatusBody{
		Connected:    rec.Status == integration.StatusActive,
		Status:       string(rec.Status),
		PracticeName: rec.PracticeName,
		PMSType:      rec.PMSType,
		OfficeID:     rec.OfficeID,
	}
	if !rec.ConnectedAt.IsZero() {
		t := rec.ConnectedAt.UTC()
		b.ConnectedAt = &t
	}
	label := practiceLabel(rec.PracticeName, rec.PMSType)
	switch rec.Status {
	case integration.StatusActive:
		b.Message = "Connected to " + label
	case integration.StatusNeedsReauth:
		b.Message = "The connection to " + label + " needs to be authorized again."
	default:
		b.Message = "Not connected."
	}
	return b
}

// lookup returns the account's StatusBody.
func (h *Handler) lookup(ctx context.Context, acct string) (StatusBody, error) {
	rec, err := h.cfg.Service.Status(ctx, acct)
	if errors.Is(err, integration.ErrNotFound) {
		return statusBody(rec, false), nil
	}
	if err != nil {
		return StatusBody{}, err
	}
	return statusBody(rec, true), nil
}

// status answers the signed-in account's StatusBody.
func (h *Handler) status(w http.ResponseWriter, r *http.Request, e *entry) {
	acct, err := h.account(r)
	if err != nil {
		h.jsonError(w, e, http.StatusUnauthorized, "not_signed_in", err)
		return
	}
	e.account = acct
	b, err := h.lookup(r.Context(), acct)
	if err != nil {
		h.jsonError(w, e, http.StatusInternalServerError, ReasonInternal, err)
		return
	}
	h.json(w, e, http.StatusOK, b)
}

// disconnect disconnects the signed-in account, for same-origin POSTs only.
func (h *Handler) disconnect(w http.ResponseWriter, r *http.Request, e *entry) {
	if err := h.sameOrigin(r); err != nil {
		h.jsonError(w, e, http.StatusForbidden, "cross_origin", err)
		return
	}
	acct, err := h.account(r)
	if err != nil {
		h.jsonError(w, e, http.StatusUnauthorized, "not_signed_in", err)
		return
	}
	e.account = acct
	if err := h.cfg.Service.Disconnect(r.Context(), acct); err != nil {
		h.jsonError(w, e, http.StatusInternalServerError, ReasonInternal, err)
		return
	}
	e.outcome = "disconnected"
	if isFormPost(r) {
		e.httpStatus = http.StatusSeeOther
		w.Header().Set("Location", h.frontend)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	b, err := h.lookup(r.Context(), acct)
	if err != nil {
		h.jsonError(w, e, http.StatusInternalServerError, ReasonInternal, err)
		return
	}
	h.json(w, e, http.StatusOK, b)
}

// errCrossOrigin: a disconnect from another site.
var errCrossOrigin = errors.New("middleware: cross-origin request refused")

// sameOrigin refuses requests a browser sent from another origin: by
// Sec-Fetch-Site, else by Origin against Host (net/http's
// CrossOriginProtection, which trusts FrontendURL's origin), else, when a
// browser sent neither, by Referer against Host.
func (h *Handler) sameOrigin(r *http.Request) error {
	if err := h.origins.Check(r); err != nil {
		return fmt.Errorf("%w: %w", errCrossOrigin, err)
	}
	if r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" {
		if ref := r.Header.Get("Referer"); ref != "" {
			u, err := url.Parse(ref)
			if err != nil || u.Host != r.Host && !h.trustedReferer(u) {
				return fmt.Errorf("%w: Referer from another host", errCrossOrigin)
			}
		}
	}
	return nil
}

func (h *Handler) trustedReferer(u *url.URL) bool {
	fe, _ := url.Parse(h.frontend)
	return fe.Host != "" && u.Scheme == fe.Scheme && u.Host == fe.Host
}

// isFormPost reports whether r is an HTML form submission, which gets a 303
// to the frontend rather than JSON.
func isFormPost(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return false
	}
	return !strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (h *Handler) json(w http.ResponseWriter, e *entry, code int, v any) {
	e.httpStatus = code
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

// errorBody is the JSON of a refused status or disconnect request.
type errorBody struct {
	Error string `json:"error"`
}

func (h *Handler) jsonError(w http.ResponseWriter, e *entry, code int, name string, err error) {
	e.err = err
	h.json(w, e, code, errorBody{Error: name})
}
