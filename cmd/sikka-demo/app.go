package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parlae/sikka-connect/integration"
	intmemory "github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/serve"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/middleware/metrics"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/secretstore/awssm"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/secretstore/vault"
	"github.com/parlae/sikka-connect/sikka"
)

// app is the running demo: the host server, and the mock Sikka when it runs
// in-process.
type app struct {
	log      *slog.Logger
	listener net.Listener
	server   *http.Server
	mock     *http.Server // nil with -sikka-url
	sikkaURL string
	baseURL  string
	db       *sqlx.DB // nil without -database-url
	secrets  secretstore.Store
	svc      *integration.Service
	// stopping is closed when serve begins to shut down; a connect held
	// by -pause-at waits for it.
	stopping chan struct{}
	closers  []func()
	// sikkaMock is the in-process mock that mock serves; nil with
	// -sikka-url.
	sikkaMock *mocksikka.Server
}

func newApp(ctx context.Context, o options, stderr io.Writer) (*app, error) {
	a := &app{stopping: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			a.close()
		}
	}()
	if o.logFormat == "json" {
		a.log = slog.New(slog.NewJSONHandler(stderr, nil))
	} else {
		a.log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	t := o.timeouts
	if t == (serve.Timeouts{}) {
		t = serve.DefaultTimeouts()
	}

	// The settings that need no server first, so that a typo fails at once.
	keys, err := stateKeys(o.stateKeys)
	if err != nil {
		return nil, err
	}
	if o.sikkaURL != "" {
		if u, err := url.Parse(o.sikkaURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("-sikka-url %q: want an absolute http or https URL, e.g. http://127.0.0.1:8089 (or leave it empty to run the mock in-process)", o.sikkaURL)
		}
	}

	// Listen first, so the redirect URI can name the real port.
	if a.listener, err = net.Listen("tcp", o.addr); err != nil {
		return nil, fmt.Errorf("listen on -addr %s: %w (%s)", o.addr, err, serve.ListenHint(err, "addr", envVars["addr"], "127.0.0.1:8080"))
	}
	a.baseURL = strings.TrimRight(o.publicURL, "/")
	if a.baseURL == "" {
		a.baseURL = "http://" + a.listener.Addr().String()
	}

	a.sikkaURL = strings.TrimRight(o.sikkaURL, "/")
	if a.sikkaURL == "" {
		if err := a.startMock(o.mockAddr, o.writebackDelay, t); err != nil {
			return nil, err
		}
	}

	// One repository holds records, locks, markers and nonces; the
	// middleware takes its nonces from the service (Service.Nonces).
	var records integration.Repository = intmemory.New()
	if o.databaseURL != "" {
		repo, db, err := postgres.Open(ctx, o.databaseURL)
		if err != nil {
			return nil, fmt.Errorf("-database-url: %w", err)
		}
		a.db = db
		a.closers = append(a.closers, func() { db.Close() })
		// Bounded, and kept warm: Go's default keeps 2 idle connections, so
		// a busy demo would open one per query.
		db.SetMaxOpenConns(o.dbMaxConns)
		db.SetMaxIdleConns(o.dbMaxConns)
		records = repo
	}

	if a.secrets, err = openSecrets(ctx, o.secrets, a.log); err != nil {
		return nil, err
	}

	m := metrics.New()
	registry := prometheus.NewRegistry()
	if err := registry.Register(m); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}

	// The client is the one home of the app id and of Sikka's authorization
	// page (-oauth-url, default the base URL's /portal/authapp.aspx): the
	// middleware asks the service for them.
	client := sikka.New(o.appID, o.appKey, sikka.WithBaseURL(a.sikkaURL), sikka.WithAuthorizeURL(o.oauthURL),
		sikka.WithLogger(a.log))
	svcCfg := integration.Config{
		Sikka:          client,
		Secrets:        a.secrets,
		Records:        records,
		Logger:         a.log,
		PendingTimeout: o.pendingTimeout,
		// Run's loops; the demo's 0 ("off") is Run's negative.
		RefreshInterval:   orOff(o.refreshInterval),
		ReconcileInterval: orOff(o.reconcileInterval),
		Hooks:             m.IntegrationHooks(integration.Hooks{}),
	}
	if o.pauseAt != "" {
		svcCfg.StageHook = a.pauseAt(integration.Stage(o.pauseAt))
	}
	if a.svc, err = integration.NewService(svcCfg); err != nil {
		return nil, err
	}

	mw, err := middleware.New(middleware.Config{
		Service:     a.svc,
		RedirectURI: a.baseURL + middleware.DefaultPrefix + "/callback",
		FrontendURL: middleware.DefaultPrefix,
		StateKeys:   keys,
		Account:     demoAccount,
		DevMode:     true,
		Logger:      a.log,
		Hooks:       m.Hooks(middleware.Hooks{}),
	})
	if err != nil {
		return nil, err
	}

	receiver, err := a.newWebhookReceiver(o.webhookKeys)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mw.Mount(mux)
	mux.Handle(webhookPath, receiver)
	page := &setupPage{status: a.svc, sikkaURL: a.sikkaURL}
	mux.Handle("GET "+middleware.DefaultPrefix, page)
	mux.HandleFunc("GET /demo/login", login)
	now := o.now
	if now == nil {
		now = time.Now
	}
	panel := &practicePanel{svc: a.svc, sikka: client, sameOrigin: mw.SameOrigin, log: a.log, now: now}
	panel.mount(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, middleware.DefaultPrefix, http.StatusFound)
	})
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /readyz", readyz(a.dependencies(), a.log))
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	a.server = t.Server(securityHeaders(mux))
	if a.sikkaMock != nil { // last: a start-up error stays the only line on stderr
		a.sendMockWebhooks(o.appID, o.webhookKeys[0])
	} else if len(o.webhookKeys) == 1 && o.webhookKeys[0] == defaultWebhookKey {
		a.log.Warn("sikka-demo: the webhook receiver accepts the demo's default key, which is public; " +
			"set -webhook-keys (SIKKA_WEBHOOK_KEYS) to the callback key configured at Sikka")
	}
	ok = true
	return a, nil
}

// readyProbeName is the secret /readyz asks the store for: under the
// accounts' prefix (so a policy that lets the demo read those lets it read
// this), but no account's (account ids have no '/'), so the store answers
// ErrNotFound.
const readyProbeName = "parlae/pms/sikka/readyz/probe"

// dependencies are what /readyz checks: PostgreSQL when configured, the
// secret store (a Get answering ErrNotFound counts as up) and Sikka's API.
func (a *app) dependencies() []dependency {
	var deps []dependency
	if a.db != nil {
		deps = append(deps, dependency{"postgres", a.db.PingContext})
	}
	deps = append(deps, dependency{"secrets", func(ctx context.Context) error {
		_, err := a.secrets.Get(ctx, readyProbeName)
		if err == nil || errors.Is(err, secretstore.ErrNotFound) {
			return nil
		}
		return err
	}})
	deps = append(deps, dependency{"sikka", reachable(a.sikkaURL + "/")})
	return deps
}

func (a *app) startMock(addr string, writebackDelay time.Duration, t serve.Timeouts) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on -mock-addr %s: %w (%s)", addr, err, serve.ListenHint(err, "mock-addr", envVars["mock-addr"], "127.0.0.1:0"))
	}
	a.sikkaURL = serve.LocalURL(ln.Addr())
	a.sikkaMock = mocksikka.New(mocksikka.WithLogger(a.log.With("component", "mocksikka")),
		mocksikka.WithWritebackDelay(writebackDelay))
	a.mock = t.Server(a.sikkaMock)
	go a.mock.Serve(ln) //nolint:errcheck // ends with Shutdown
	return nil
}

func openSecrets(ctx context.Context, kind string, log *slog.Logger) (secretstore.Store, error) {
	switch kind {
	case "vault":
		cfg, err := vault.ConfigFromEnv()
		if err != nil {
			return nil, fmt.Errorf("-secrets vault: %w (see -h for Vault's variables)", err)
		}
		cfg.Logger = log
		s, err := vault.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("-secrets vault: %w (set VAULT_ADDR, and VAULT_TOKEN or VAULT_ROLE_ID + VAULT_SECRET_ID; see -h)", err)
		}
		return s, nil
	case "awssm":
		s, err := awssm.NewFromEnv(ctx)
		if err != nil {
			return nil, fmt.Errorf("-secrets awssm: %w (see -h for the AWS variables)", err)
		}
		return s, nil
	default:
		return secretmemory.New(), nil
	}
}

// stateKeys parses -state-keys with the middleware's own rules, or makes a
// random key for this run.
func stateKeys(v string) ([]middleware.Key, error) {
	if v == "" {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		return []middleware.Key{{ID: "demo", Secret: secret}}, nil
	}
	keys, err := middleware.ParseKeys(v)
	if err != nil {
		return nil, fmt.Errorf("-state-keys: %w (e.g. -state-keys k1:$(openssl rand -base64 32), or leave it empty for a random key per run)", err)
	}
	return keys, nil
}

// pauseAt is the -pause-at hook, for crash tests: every connect that reaches
// stage logs "paused at <stage>" and blocks there until the demo stops (or
// the connect's own deadline), so that a test can kill the process at that
// point.
func (a *app) pauseAt(stage integration.Stage) func(context.Context, string, integration.Stage) {
	return func(ctx context.Context, accountID string, st integration.Stage) {
		if st != stage {
			return
		}
		a.log.Warn("sikka-demo: paused at "+string(st), "stage", string(st), "account_id", accountID)
		select {
		case <-a.stopping:
		case <-ctx.Done():
		}
	}
}

// reconcile runs the reconciler once, logging what it did.
func (a *app) reconcile(ctx context.Context, when string) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := a.svc.Reconcile(ctx)
	if err != nil && ctx.Err() == nil {
		a.log.Warn("sikka-demo: reconcile", "when", when, "error", err)
	}
	if res.Stale > 0 || when == "start" {
		a.log.Info("sikka-demo: reconciled", "when", when, "stale", res.Stale, "undone", res.Undone,
			"cleared", res.Cleared, "skipped", res.Skipped, "failed", res.Failed)
	}
}

// serve runs until ctx ends, then shuts down gracefully. The reconciler runs
// once before the URL is printed (so a restarted replica has recovered the
// connects a crash left unfinished before it serves), then periodically.
func (a *app) serve(ctx context.Context, stdout io.Writer) error {
	a.reconcile(ctx, "start")
	fmt.Fprintf(stdout, "open %s%s\n", a.baseURL, middleware.DefaultPrefix)
	a.log.Info("sikka-demo: serving", "url", a.baseURL+middleware.DefaultPrefix, "sikka", a.sikkaURL)

	// The refresh sweeps and the reconciler (again at once, then
	// periodically) run in the service's one loop.
	var wg sync.WaitGroup
	sweepCtx, stopSweeps := context.WithCancel(ctx)
	defer stopSweeps()
	wg.Go(func() { _ = a.svc.Run(sweepCtx) })

	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(a.listener) }()
	select {
	case err := <-errc:
		close(a.stopping)
		return err
	case <-ctx.Done():
	}
	close(a.stopping)
	stopSweeps()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.server.Shutdown(shutdownCtx)
	wg.Wait()
	a.log.Info("sikka-demo: stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// orOff turns the demo's 0 ("off") into Run's negative interval.
func orOff(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func (a *app) close() {
	if a.sikkaMock != nil {
		a.sikkaMock.Close() // its timers, and the webhooks in flight
	}
	if a.mock != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a.mock.Shutdown(ctx) //nolint:errcheck // best effort at exit
		cancel()
	}
	if a.listener != nil && a.server == nil {
		a.listener.Close()
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}
