package mocksikka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Server is the mock Sikka API. It is an http.Handler; every method is safe for concurrent use.
type Server struct {
	initial    config // what Reset returns to; never changed after New
	log        *slog.Logger
	routes     map[string]map[string]route // path → method → route
	adminHosts []hostPort                  // WithAdminHosts, split; never changed after New

	mu                    sync.Mutex
	apps                  []App
	practices             []practiceRec
	keyTTL                time.Duration
	codeTTL               time.Duration
	autoApprove           string
	refreshInvalidatesOld bool
	clock                 clock
	store                 store
	journal               []Entry
	faults                []*activeFault
	limits                Limits
	rates                 map[string]*rateWindow // by app id; "" for calls of no registered app
	dailyUse              map[string]*dailyUse   // by office id
	sched                 scheduler              // clock-driven work (schedule.go)
	spuOffline            map[string]bool        // by office id; absent = online (spu.go)
	changeListeners       []changeListener       // fixed after New (change.go)
	hooks                 webhookState           // webhook targets and deliveries (webhook.go)
	wb                    writebacks             // the SPU's writebacks (writeback.go)

	data map[practiceKey]*practiceData // generated on first use; nil after Reset (data.go)
}

// practiceRec is a configured practice and when it was added (for data_insert_date).
type practiceRec struct {
	Practice
	added time.Time
}

// route is one method of one path.
type route struct {
	handle func(*call)
	admin  bool
	auth   authKind // checked before the handler (checkRequestKey)
}

// New returns a mock with DefaultApp, DefaultPractices and the default settings, changed by
// opts. It panics if an option carries an invalid or duplicate app or practice or a
// non-positive TTL (LoadConfig reports the same problems as errors).
func New(opts ...Option) *Server {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	if err := c.validate(); err != nil {
		panic(fmt.Sprintf("mocksikka.New: %v", err))
	}
	s := &Server{initial: c, log: c.logger}
	for _, h := range c.adminHosts {
		s.adminHosts = append(s.adminHosts, splitHost(h))
	}
	s.routes = s.buildRoutes()
	s.initWebhooks()
	s.onClock(s.processWritebacksLocked)
	s.Reset()
	return s
}

func (s *Server) buildRoutes() map[string]map[string]route {
	api := func(h func(*call)) route { return route{handle: h} }
	key := func(h func(*call)) route { return route{handle: h, auth: authKey} }
	adm := func(h func(*call)) route { return route{handle: h, admin: true} }
	routes := map[string]map[string]route{
		"/portal/authapp.aspx":     {"GET": api(s.consentPage), "POST": api(s.consentDecision)},
		"/v4/request_key":          {"POST": api(s.requestKey), "DELETE": key(s.revokeKey)},
		"/v4/refresh_key":          {"DELETE": api(s.revokeRefreshKey)},
		"/v4/request_key_info":     {"GET": key(s.requestKeyInfo)},
		"/v4/authorized_practices": {"GET": {handle: s.authorizedPractices, auth: authKeyOrApp}},
		authorizedPracticePath:     {"GET": {handle: s.authorizedPractice, auth: authKeyOrApp}},
		"/v4/practices":            {"GET": key(s.practicesList)},
		"/_mock/reset":             {"POST": adm(s.adminReset)},
		"/_mock/apps":              {"POST": adm(s.adminAddApp)},
		"/_mock/practices":         {"POST": adm(s.adminAddPractice)},
		"/_mock/auto-approve":      {"PUT": adm(s.adminAutoApprove)},
		"/_mock/faults":            {"GET": adm(s.adminListFaults), "POST": adm(s.adminAddFault), "DELETE": adm(s.adminClearFaults)},
		"/_mock/journal":           {"GET": adm(s.adminJournal), "DELETE": adm(s.adminClearJournal)},
		"/_mock/count":             {"GET": adm(s.adminCount)},
		"/_mock/clock":             {"GET": adm(s.adminClock), "POST": adm(s.adminSetClock)},
		"/_mock/settings":          {"GET": adm(s.adminSettings), "PUT": adm(s.adminPutSettings)},
		"/_mock/codes":             {"POST": adm(s.adminIssueCode)},
		"/_mock/spu":               {"GET": adm(s.adminSPUs), "POST": adm(s.adminSetSPU)},
	}
	maps.Copy(routes, s.webhookRoutes())
	s.addDataRoutes(routes)      // dataroutes.go
	s.addWritebackRoutes(routes) // writeback_http.go
	return routes
}

// ServeHTTP answers one request of the Sikka API or of the admin API under /_mock/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	c := &call{w: w, r: r, e: &Entry{
		Time:   s.Now(),
		Method: clip(r.Method),
		Path:   clip(r.URL.Path),
		Query:  maskQuery(r.URL.RawQuery),
	}}
	methods, known := s.routes[routeKey(r.URL.Path)]
	rt, allowed := methods[r.Method]
	admin := rt.admin || strings.HasPrefix(r.URL.Path, "/_mock/")
	api := !admin && !strings.HasPrefix(r.URL.Path, "/portal/") // Sikka's API: rate headers, gzip
	if api && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		c.w = gw
		w = gw
	}
	defer func() { s.finish(c, admin, began) }()

	if admin && !s.guardAdmin(c, known && allowed) {
		return // 403 for a foreign Host, 415 for a change that is not JSON
	}
	if (!known || !allowed) && api && !s.admit(c) {
		return
	}
	switch {
	case !known:
		c.fail(http.StatusNotFound, codeNotFound, "Resource not found",
			"There is no endpoint at this path. (Sikka's own answer to an unknown path is not documented.)")
		return
	case !allowed:
		names := make([]string, 0, len(methods))
		for m := range methods {
			names = append(names, m)
		}
		sort.Strings(names)
		w.Header().Set("Allow", strings.Join(names, ", "))
		c.fail(http.StatusMethodNotAllowed, codeMethod, "Method Not Allowed",
			"This endpoint accepts "+strings.Join(names, ", ")+".")
		return
	}
	if !s.readBody(c) {
		return
	}
	if len(s.sched.tasks) > 0 { // fixed after New: read without the lock
		s.mu.Lock()
		s.runClockLocked() // the request sees what its clock time implies
		s.mu.Unlock()
	}
	if !rt.admin {
		if r.Method == http.MethodPost && r.URL.Path == "/v4/request_key" {
			c.grant = peekGrant(c.body)
			c.e.Grant = plainGrant(c.grant)
		}
		if api && !s.admit(c) {
			return
		}
		if !s.applyFault(c) {
			return
		}
		if rt.auth != authNone && !s.checkRequestKey(c, rt.auth) {
			return
		}
	}
	rt.handle(c)
}

// readBody reads the whole body into c.body, answering 413 above MaxBodyBytes.
func (s *Server) readBody(c *call) bool {
	if c.r.Body == nil {
		return true
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		c.fail(http.StatusRequestEntityTooLarge, codeTooLarge, "Request body too large",
			fmt.Sprintf("The body is limited to %d bytes.", MaxBodyBytes))
		return false
	case err != nil:
		c.fail(http.StatusBadRequest, codeBadJSON, "Unreadable body", "The request body could not be read.")
		return false
	}
	c.body = b
	return true
}

// finish journals (API calls only) and logs the call. Nothing in the Entry is secret.
func (s *Server) finish(c *call, admin bool, began time.Time) {
	e := *c.e
	e.OfficeID, e.AppID = clip(e.OfficeID), clip(e.AppID)
	if !admin {
		s.mu.Lock()
		s.record(e)
		if c.capOffice != "" {
			s.daily(c.capOffice, s.clock.now()).bytes += int64(c.sent)
		}
		s.mu.Unlock()
	}
	ctx := context.WithoutCancel(c.r.Context())
	if !s.log.Enabled(ctx, slog.LevelInfo) {
		return // the default logger discards: do not build the line
	}
	attrs := []slog.Attr{
		slog.String("method", e.Method), slog.String("path", e.Path), slog.Int("status", e.Status),
		slog.Duration("duration", time.Since(began)),
	}
	for _, kv := range [][2]string{{"query", e.Query}, {"grant", e.Grant}, {"office_id", e.OfficeID},
		{"app_id", e.AppID}, {"auth", e.Auth}, {"error_code", e.ErrorCode}} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	if e.Fault {
		attrs = append(attrs, slog.Bool("fault", true))
	}
	if admin {
		attrs = append(attrs, slog.Bool("admin", true))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "mocksikka request", attrs...)
}

// Reset returns the mock to the state New built: the configured apps, practices and settings
// (undoing AddApp, AddPractice and every Set…), no codes, keys or authorizations, an empty
// journal, no faults, no calls counted against rate limits, the clock back at its start, and
// the practice data as configured (made again at its first use; POST /_mock/data and
// writeback changes are gone).
func (s *Server) Reset() {
	c := s.initial
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = newClock(c.clockStart)
	now := s.clock.now()
	s.apps = append([]App(nil), c.apps...)
	s.practices = s.practices[:0:0]
	for _, p := range c.practices {
		s.practices = append(s.practices, practiceRec{Practice: p, added: now})
	}
	s.keyTTL, s.codeTTL = c.keyTTL, c.codeTTL
	s.autoApprove = c.autoApprove
	s.refreshInvalidatesOld = c.refreshInvalidatesOld
	s.store = newStore()
	s.journal = nil
	s.faults = nil
	s.limits = c.limits
	s.rates = map[string]*rateWindow{}
	s.dailyUse = map[string]*dailyUse{}
	s.spuOffline = map[string]bool{}
	s.resetWebhooksLocked()
	s.wb = newWritebacks(c.writebackDelay)
	s.data = nil // regenerated on first use, from the clock's new date
	s.runClockLocked()
}

// AddApp registers a until the next Reset. It fails with ErrInvalid if a has no ID or Key or a
// malformed redirect URI, and with ErrExists if its ID is taken.
func (s *Server) AddApp(a App) error {
	n, err := a.normalize()
	if err != nil {
		return fmt.Errorf("add app: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.app(n.ID); ok {
		return fmt.Errorf("add app %s: %w", n.ID, ErrExists)
	}
	s.apps = append(s.apps, n)
	return nil
}

// AddPractice configures p until the next Reset. It fails with ErrInvalid if p lacks an
// office id, secret key or name, or gives its office another secret key than the office's
// other practices, and with ErrExists if its office and practice id are taken.
func (s *Server) AddPractice(p Practice) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	existing := make([]Practice, len(s.practices))
	for i, r := range s.practices {
		existing[i] = r.Practice
	}
	n, err := checkPractice(existing, p)
	if err != nil {
		return fmt.Errorf("add practice: %w", err)
	}
	s.practices = append(s.practices, practiceRec{Practice: n, added: s.clock.now()})
	return nil
}

// SetAutoApprove makes the consent page approve at once for officeID; "" shows the page again.
func (s *Server) SetAutoApprove(officeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.autoApprove = officeID
}

// SetRefreshInvalidatesOld sets whether a refresh invalidates the old request and refresh keys.
func (s *Server) SetRefreshInvalidatesOld(b bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshInvalidatesOld = b
}

// SetKeyTTL sets the lifetime of keys issued from now on; a non-positive d is ignored.
func (s *Server) SetKeyTTL(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyTTL = d
}

// SetCodeTTL sets the lifetime of codes issued from now on; a non-positive d is ignored.
func (s *Server) SetCodeTTL(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codeTTL = d
}

// Now returns the mock clock's current time, which decides code and key expiry.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock.now()
}

// Advance moves the mock clock by d (which may be negative).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.advance(d)
	s.runClockLocked()
}

// SetTime puts the mock clock at t.
func (s *Server) SetTime(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.set(t)
	s.runClockLocked()
}

// IssueCode returns a fresh authorization code for appID and officeID, as if the practice had
// clicked Allow; the office then counts as having authorized the app. It fails with
// ErrNotFound for an unknown app or office.
func (s *Server) IssueCode(appID, officeID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.app(appID); !ok {
		return "", fmt.Errorf("issue code: app %q: %w", appID, ErrNotFound)
	}
	if !s.officeExists(officeID) {
		return "", fmt.Errorf("issue code: office %q: %w", officeID, ErrNotFound)
	}
	return s.store.newCode(appID, officeID, s.clock.now(), s.codeTTL), nil
}

// app returns the registered app with id; the caller holds s.mu.
func (s *Server) app(id string) (App, bool) {
	for _, a := range s.apps {
		if a.ID == id {
			return a, true
		}
	}
	return App{}, false
}

// officeExists reports whether a practice of officeID is configured; the caller holds s.mu.
func (s *Server) officeExists(officeID string) bool {
	for _, p := range s.practices {
		if p.OfficeID == officeID {
			return true
		}
	}
	return false
}
