package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/harness"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/internal/syncbuf"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

const (
	office   = mocksikka.DefaultOfficeID
	prefix   = middleware.DefaultPrefix
	acct1    = "acct-1"
	acct2    = "acct-2"
	frontend = "/agent/setup/pms" // served by the host test server
)

var (
	keyOld = middleware.Key{ID: "2025-01", Secret: bytes.Repeat([]byte("o"), 32)}
	keyNew = middleware.Key{ID: "2025-06", Secret: bytes.Repeat([]byte("n"), 32)}
)

// clock is the handlers' controllable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// world is one test's host application: a mock Sikka, a shared secret
// store, a backend (memory or PostgreSQL) and one or more handler replicas
// behind one host server that routes start, status and disconnect to
// w.front and the callback to w.back (the same replica unless a test says
// otherwise).
type world struct {
	t       testing.TB
	backend string
	mock    *mocksikka.Server
	mockURL string
	secrets secretstore.Store
	logs    *syncbuf.Buffer
	clock   *clock
	pgURL   string
	memRepo integration.Repository
	memNonc integration.NonceStore
	app     *httptest.Server
	appURL  string

	mu          sync.Mutex
	front, back *middleware.Handler
	outcomes    []middleware.Outcome
	codes       []string // every code the mock redirected a browser with
	started     int
	svc         *integration.Service // of the first replica
}

type worldOpt func(*middleware.Config)

func newWorld(t testing.TB, backend string, opts ...worldOpt) *world {
	t.Helper()
	mock := mocksikka.New(mocksikka.WithAutoApprove(office))
	mockSrv := httptest.NewServer(mock)
	t.Cleanup(mockSrv.Close)
	w := &world{
		t: t, backend: backend, mock: mock, mockURL: mockSrv.URL,
		secrets: secretmemory.New(), logs: &syncbuf.Buffer{}, clock: &clock{t: time.Now()},
	}
	switch backend {
	case "memory":
		w.memRepo = memory.New()
		w.memNonc = memory.New()
	case "postgres":
		w.pgURL = pgtest.URL(t)
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	w.app = httptest.NewUnstartedServer(http.HandlerFunc(w.route))
	w.appURL = "http://" + w.app.Listener.Addr().String()
	w.app.Start()
	t.Cleanup(w.app.Close)
	h, svc := w.replica(opts...)
	w.front, w.back, w.svc = h, h, svc
	return w
}

func (w *world) route(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	front, back := w.front, w.back
	w.mu.Unlock()
	switch {
	case r.URL.Path == frontend:
		io.WriteString(rw, "setup page")
	case strings.HasSuffix(r.URL.Path, "/callback"):
		back.ServeHTTP(rw, r)
	default:
		front.ServeHTTP(rw, r)
	}
}

// serve makes front serve start, status and disconnect, and back the callback.
func (w *world) serve(front, back *middleware.Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.front, w.back = front, back
}

func (w *world) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// replica builds another handler as another process would: its own Sikka
// client, service, repository and nonce store instance (its own pools on
// PostgreSQL), sharing the storage, the secret store, the clock and, unless
// an option changes them, the state keys.
func (w *world) replica(opts ...worldOpt) (*middleware.Handler, *integration.Service) {
	t := w.t
	t.Helper()
	ctx := context.Background()
	var (
		repo   integration.Repository
		nonces integration.NonceStore
	)
	if w.backend == "memory" {
		repo, nonces = w.memRepo, w.memNonc
	} else {
		r, db, err := postgres.Open(ctx, w.pgURL)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		ndb, err := sqlx.Open("postgres", w.pgURL)
		require.NoError(t, err)
		t.Cleanup(func() { ndb.Close() })
		repo, nonces = r, postgres.New(ndb)
	}
	client := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(w.mockURL),
		sikka.WithBackoff(func(int) time.Duration { return time.Millisecond }))
	svc, err := integration.NewService(integration.Config{Sikka: client, Secrets: w.secrets, Records: repo, Logger: w.logger()})
	require.NoError(t, err)
	cfg := middleware.Config{
		Service:     svc,
		RedirectURI: w.appURL + prefix + "/callback",
		FrontendURL: w.appURL + frontend + "?step=pms",
		StateKeys:   []middleware.Key{keyOld},
		Account:     sessionAccount,
		Nonces:      nonces,
		DevMode:     true,
		Logger:      w.logger(),
		Now:         w.clock.Now,
		Hooks: middleware.Hooks{
			Started: func(*http.Request, string) {
				w.mu.Lock()
				defer w.mu.Unlock()
				w.started++
			},
			Finished: func(_ *http.Request, o middleware.Outcome) {
				w.mu.Lock()
				defer w.mu.Unlock()
				w.outcomes = append(w.outcomes, o)
			},
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := middleware.New(cfg)
	require.NoError(t, err)
	return h, svc
}

// sessionAccount is the host's account function: the "session" cookie.
func sessionAccount(r *http.Request) (string, error) {
	c, err := r.Cookie("session")
	if err != nil {
		return "", err
	}
	return c.Value, nil
}

// lastOutcome returns what the last callback ended in.
func (w *world) lastOutcome() middleware.Outcome {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NotEmpty(w.t, w.outcomes, "no callback finished")
	return w.outcomes[len(w.outcomes)-1]
}

func (w *world) status(acct string) integration.Record {
	rec, err := w.svc.Status(context.Background(), acct)
	if errors.Is(err, integration.ErrNotFound) {
		return integration.Record{}
	}
	require.NoError(w.t, err)
	return rec
}

// secret returns the account's stored credentials, or false.
func (w *world) secret(acct string) (secretstore.Credentials, bool) {
	name, err := secretstore.DefaultNameTemplate.Name(acct)
	require.NoError(w.t, err)
	s, err := w.secrets.Get(context.Background(), name)
	if errors.Is(err, secretstore.ErrNotFound) {
		return secretstore.Credentials{}, false
	}
	require.NoError(w.t, err)
	return s.Credentials, true
}

// browser is a person's browser (harness.Browser): a cookie jar, redirects
// followed one by one, and a record of every URL and cookie it saw (for the
// log scan).
type browser struct {
	*harness.Browser
	t       testing.TB
	w       *world
	mu      sync.Mutex
	visited []string
	cookies []*http.Cookie // every binding cookie set
}

func (w *world) browser(acct string) *browser {
	b := &browser{Browser: harness.NewBrowser(w.t), t: w.t, w: w}
	if acct != "" {
		b.signIn(acct)
	}
	return b
}

// signIn sets the host's session cookie; "" signs out.
func (b *browser) signIn(acct string) {
	c := &http.Cookie{Name: "session", Value: acct, Path: "/"}
	if acct == "" {
		c.MaxAge = -1
	}
	b.SetCookie(b.w.appURL, c)
}

// do sends req, recording the URL and any binding cookie.
func (b *browser) do(req *http.Request) *http.Response {
	b.t.Helper()
	resp, err := b.HTTP.Do(req)
	require.NoError(b.t, err)
	b.mu.Lock()
	b.visited = append(b.visited, req.URL.String())
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, harness.FlowCookiePrefix) && c.MaxAge > 0 {
			b.cookies = append(b.cookies, c)
		}
	}
	b.mu.Unlock()
	if loc, err := resp.Location(); err == nil && loc.Query().Get("code") != "" {
		b.w.mu.Lock()
		b.w.codes = append(b.w.codes, loc.Query().Get("code"))
		b.w.mu.Unlock()
	}
	return resp
}

func (b *browser) get(u string) *http.Response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

// follow GETs u and follows redirects until an answer that is not one, or
// until stop accepts the next URL, which is then returned unrequested.
func (b *browser) follow(u string, stop func(*url.URL) bool) *url.URL {
	b.t.Helper()
	for range 10 {
		next, err := url.Parse(u)
		require.NoError(b.t, err)
		if stop != nil && stop(next) {
			return next
		}
		resp := b.get(u)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 3 {
			require.Equal(b.t, http.StatusOK, resp.StatusCode, "at %s", u)
			return next
		}
		loc, err := resp.Location()
		require.NoError(b.t, err)
		u = loc.String()
	}
	b.t.Fatal("too many redirects")
	return nil
}

func isCallback(u *url.URL) bool { return strings.HasSuffix(u.Path, "/callback") }

// toCallback starts a flow and returns the callback URL Sikka sent the
// browser to, not yet requested.
func (b *browser) toCallback() *url.URL {
	b.t.Helper()
	return b.follow(b.w.appURL+prefix+"/start", isCallback)
}

// finish requests the callback URL and returns the frontend URL reached.
func (b *browser) finish(cb *url.URL) *url.URL {
	b.t.Helper()
	return b.follow(cb.String(), nil)
}

// connect runs the whole flow and returns the frontend URL reached.
func (b *browser) connect() *url.URL {
	b.t.Helper()
	return b.follow(b.w.appURL+prefix+"/start", nil)
}

// lastCookie returns the binding cookie of the last flow started.
func (b *browser) lastCookie() *http.Cookie {
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotEmpty(b.t, b.cookies)
	return b.cookies[len(b.cookies)-1]
}

// flowCookies returns the binding cookies the jar holds for the callback.
func (b *browser) flowCookies() []*http.Cookie {
	return b.FlowCookies(b.w.appURL, prefix+"/callback")
}

// setFlowCookie puts a binding cookie into the jar (value "" deletes it).
func (b *browser) setFlowCookie(name, value string) {
	b.PlantFlowCookie(b.w.appURL, prefix+"/callback", name, value)
}

// assertLanded checks that u is the frontend with exactly the outcome given
// (and the frontend's own query kept).
func (w *world) assertLanded(u *url.URL, status, reason string) {
	w.t.Helper()
	assert.Equal(w.t, w.appURL+frontend, u.Scheme+"://"+u.Host+u.Path)
	want := url.Values{"step": {"pms"}, "status": {status}}
	if reason != "" {
		want.Set("reason", reason)
	}
	assert.Equal(w.t, want, u.Query())
}

// with returns u with the query parameter k set to v ("" removes it).
func with(u *url.URL, k, v string) *url.URL { return harness.WithParam(u, k, v) }

func backends() []string { return []string{"memory", "postgres"} }
