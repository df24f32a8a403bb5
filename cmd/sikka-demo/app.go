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
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parlae/sikka-connect/integration"
	intmemory "github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/middleware/pgnonce"
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
	svc      *integration.Service
	interval time.Duration
	// reconcileEvery is the reconciler's period after its run at start.
	reconcileEvery time.Duration
	// stopping is closed when serve begins to shut down; a connect held
	// by -pause-at waits for it.
	stopping chan struct{}
	closers  []func()
}

func newApp(ctx context.Context, o options, stderr io.Writer) (a *app, err error) {
	a = &app{interval: o.refreshInterval, reconcileEvery: o.reconcileInterval, stopping: make(chan struct{})}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if o.logFormat == "json" {
		a.log = slog.New(slog.NewJSONHandler(stderr, nil))
	} else {
		a.log = slog.New(slog.NewTextHandler(stderr, nil))
	}

	// Listen first, so the redirect URI can name the real port.
	if a.listener, err = net.Listen("tcp", o.addr); err != nil {
		return nil, fmt.Errorf("listen on -addr %s: %w", o.addr, err)
	}
	a.baseURL = strings.TrimRight(o.publicURL, "/")
	if a.baseURL == "" {
		a.baseURL = "http://" + a.listener.Addr().String()
	}

	a.sikkaURL = strings.TrimRight(o.sikkaURL, "/")
	if a.sikkaURL == "" {
		if err := a.startMock(o.mockAddr); err != nil {
			return nil, err
		}
	}
	oauthURL := o.oauthURL
	if oauthURL == "" {
		oauthURL = a.sikkaURL + "/portal/authapp.aspx"
	}

	var db *sqlx.DB
	var records integration.Repository = intmemory.New()
	var nonces middleware.NonceStore = middleware.NewMemoryNonceStore()
	if o.databaseURL != "" {
		var repo *postgres.Repository
		if repo, db, err = postgres.Open(ctx, o.databaseURL); err != nil {
			return nil, fmt.Errorf("-database-url: %w", err)
		}
		a.closers = append(a.closers, func() { db.Close() })
		// Bounded, and kept warm: Go's default keeps 2 idle connections, so
		// a busy demo would open one per query.
		db.SetMaxOpenConns(o.dbMaxConns)
		db.SetMaxIdleConns(o.dbMaxConns)
		records = repo
		if nonces, err = pgnonce.New(ctx, db); err != nil {
			return nil, err
		}
	}

	secrets, err := openSecrets(ctx, o.secrets, a.log)
	if err != nil {
		return nil, err
	}

	client := sikka.New(o.appID, o.appKey, sikka.WithBaseURL(a.sikkaURL), sikka.WithLogger(a.log))
	svcCfg := integration.Config{
		Sikka:          client,
		Secrets:        secrets,
		Records:        records,
		Logger:         a.log,
		PendingTimeout: o.pendingTimeout,
	}
	if o.pauseAt != "" {
		svcCfg.StageHook = a.pauseAt(integration.Stage(o.pauseAt))
	}
	if a.svc, err = integration.NewService(svcCfg); err != nil {
		return nil, err
	}

	keys, err := stateKeys(o.stateKeys)
	if err != nil {
		return nil, err
	}
	mw, err := middleware.New(middleware.Config{
		Service:     a.svc,
		AppID:       o.appID,
		OAuthURL:    oauthURL,
		RedirectURI: a.baseURL + middleware.DefaultPrefix + "/callback",
		FrontendURL: middleware.DefaultPrefix,
		StateKeys:   keys,
		Account:     demoAccount,
		Nonces:      nonces,
		DevMode:     true,
		Logger:      a.log,
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mw.Mount(mux)
	page := &setupPage{status: a.svc, sikkaURL: a.sikkaURL}
	mux.Handle("GET "+middleware.DefaultPrefix, page)
	mux.HandleFunc("GET /demo/login", login)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, middleware.DefaultPrefix, http.StatusFound)
	})
	a.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return a, nil
}

func (a *app) startMock(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on -mock-addr %s: %w", addr, err)
	}
	a.sikkaURL = "http://" + ln.Addr().String()
	a.mock = &http.Server{Handler: mocksikka.New(mocksikka.WithLogger(a.log.With("component", "mocksikka"))),
		ReadHeaderTimeout: 10 * time.Second}
	go a.mock.Serve(ln) //nolint:errcheck // ends with Shutdown
	return nil
}

func openSecrets(ctx context.Context, kind string, log *slog.Logger) (secretstore.Store, error) {
	switch kind {
	case "vault":
		cfg, err := vault.ConfigFromEnv()
		if err != nil {
			return nil, fmt.Errorf("-secrets vault: %w", err)
		}
		cfg.Logger = log
		return vault.New(cfg)
	case "awssm":
		s, err := awssm.NewFromEnv(ctx)
		if err != nil {
			return nil, fmt.Errorf("-secrets awssm: %w", err)
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
		return nil, fmt.Errorf("-state-keys: %w", err)
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

	var wg sync.WaitGroup
	sweepCtx, stopSweeps := context.WithCancel(ctx)
	defer stopSweeps()
	if a.interval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.sweep(sweepCtx)
		}()
	}

	if a.reconcileEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(a.reconcileEvery)
			defer t.Stop()
			for {
				select {
				case <-sweepCtx.Done():
					return
				case <-t.C:
					a.reconcile(sweepCtx, "periodic")
				}
			}
		}()
	}

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

func (a *app) sweep(ctx context.Context) {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			res, err := a.svc.RefreshDue(ctx)
			if err != nil && ctx.Err() == nil {
				a.log.Warn("sikka-demo: refresh sweep", "error", err)
			}
			if res.Due > 0 {
				a.log.Info("sikka-demo: refresh sweep", "due", res.Due, "refreshed", res.Refreshed,
					"skipped", res.Skipped, "failed", res.Failed)
			}
		}
	}
}

func (a *app) close() {
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
