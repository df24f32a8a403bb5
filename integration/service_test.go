package integration_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/internal/syncbuf"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

const office = mocksikka.DefaultOfficeID

// backend makes the repositories of one test: each call to newRepo returns a
// repository sharing the same storage, as separate processes would.
type backend struct {
	name    string
	newRepo func(t *testing.T) func() integration.Repository
}

func backends() []backend {
	return []backend{
		{"memory", func(t *testing.T) func() integration.Repository {
			repo := memory.New()
			return func() integration.Repository { return repo }
		}},
		{"postgres", func(t *testing.T) func() integration.Repository {
			url := pgtest.URL(t)
			return func() integration.Repository {
				repo, db, err := postgres.Open(context.Background(), url)
				require.NoError(t, err)
				t.Cleanup(func() { db.Close() })
				return repo
			}
		}},
	}
}

// env is one test's world: the mock Sikka, a secret store, a repository, a
// service, and the logs it wrote.
type env struct {
	t       *testing.T
	mock    *mocksikka.Server
	client  *sikka.Client
	secrets secretstore.Store
	repo    integration.Repository
	newRepo func() integration.Repository
	svc     *integration.Service
	logs    *syncbuf.Buffer
	// wire sees the client's traffic: the keys Sikka issued, and it can
	// make Sikka list no practice.
	wire *wireTap
}

func newEnv(t *testing.T, b backend, mockOpts ...mocksikka.Option) *env {
	t.Helper()
	mock := mocksikka.New(mockOpts...)
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	e := &env{t: t, mock: mock, secrets: secretmemory.New(), logs: &syncbuf.Buffer{}, wire: &wireTap{}}
	e.client = sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL),
		sikka.WithBackoff(func(int) time.Duration { return time.Millisecond }),
		sikka.WithHTTPClient(&http.Client{Transport: e.wire}))
	e.newRepo = b.newRepo(t)
	e.repo = e.newRepo()
	e.svc = e.service(integration.Config{})
	return e
}

// service builds a service on the env's client and secrets, with cfg's
// hooks and tuning; a nil cfg.Records means the env's repository.
func (e *env) service(cfg integration.Config) *integration.Service {
	e.t.Helper()
	cfg.Sikka = e.client
	if cfg.Secrets == nil {
		cfg.Secrets = e.secrets
	}
	if cfg.Records == nil {
		cfg.Records = e.repo
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := integration.NewService(cfg)
	require.NoError(e.t, err)
	return svc
}

func (e *env) code() string {
	e.t.Helper()
	c, err := e.mock.IssueCode(mocksikka.DefaultAppID, office)
	require.NoError(e.t, err)
	return c
}

// assertConsistent checks the dual-write invariants for every account given:
// an ACTIVE record's secret exists and names the same office; an account
// without an ACTIVE record has no secret.
func (e *env) assertConsistent(accounts ...string) {
	e.t.Helper()
	ctx := context.Background()
	for _, acct := range accounts {
		name, err := secretstore.DefaultNameTemplate.Name(acct)
		require.NoError(e.t, err)
		sec, secErr := e.secrets.Get(ctx, name)
		rec, recErr := e.repo.Get(ctx, acct)
		if recErr == nil && rec.Status == integration.StatusActive {
			if assert.NoError(e.t, secErr, "ACTIVE record of %s lacks its secret", acct) {
				assert.Equal(e.t, rec.OfficeID, sec.OfficeID, acct)
				assert.Equal(e.t, rec.SecretRef, sec.Ref, acct)
			}
		} else {
			assert.ErrorIs(e.t, secErr, secretstore.ErrNotFound, "secret of %s without an ACTIVE record", acct)
		}
	}
}

// assertNoSecretsLogged fails if any secret the mock issued or holds appears
// in the service's logs.
func (e *env) assertNoSecretsLogged(secrets ...string) {
	e.t.Helper()
	logs := e.logs.String()
	for _, s := range append(secrets, mocksikka.DefaultAppKey) {
		if s != "" {
			assert.NotContains(e.t, logs, s)
		}
	}
	for _, p := range mocksikka.DefaultPractices() {
		assert.NotContains(e.t, logs, p.SecretKey)
	}
}

func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

func TestConnect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		connected := make(chan integration.Record, 1)
		e.svc = e.service(integration.Config{Hooks: integration.Hooks{
			Connected: func(_ context.Context, r integration.Record) { connected <- r },
		}})

		code := e.code()
		rec, err := e.svc.Connect(ctx, "acct-1", code)
		require.NoError(t, err)
		assert.Equal(t, integration.StatusActive, rec.Status)
		assert.Equal(t, office, rec.OfficeID)
		assert.Equal(t, "Happy Dental Clinic", rec.PracticeName)
		assert.Equal(t, "Dentrix", rec.PMSType)
		assert.Equal(t, "1", rec.PracticeID)
		assert.WithinDuration(t, time.Now().Add(24*time.Hour), rec.KeyExpiry, time.Minute)

		sec, err := e.secrets.Get(ctx, "parlae/pms/sikka/acct-1")
		require.NoError(t, err)
		assert.Equal(t, rec.SecretRef, sec.Ref)
		assert.Equal(t, office, sec.OfficeID)
		assert.NotEmpty(t, sec.RequestKey)
		assert.NotEmpty(t, sec.RefreshKey)
		assert.Equal(t, mocksikka.DefaultPractices()[0].SecretKey, sec.SecretKey)
		assert.WithinDuration(t, rec.KeyExpiry, sec.TokenExpiry, time.Microsecond)

		select {
		case r := <-connected:
			assert.Equal(t, "acct-1", r.AccountID)
		case <-time.After(5 * time.Second):
			t.Fatal("Connected hook not called")
		}
		e.assertConsistent("acct-1")
		e.assertNoSecretsLogged(code, sec.RequestKey, sec.RefreshKey)

		// The code is single-use: replaying it is an invalid code, and
		// changes nothing.
		_, err = e.svc.Connect(ctx, "acct-1", code)
		assert.ErrorIs(t, err, integration.ErrInvalidCode)
		after, err := e.secrets.Get(ctx, "parlae/pms/sikka/acct-1")
		require.NoError(t, err)
		assert.Equal(t, sec.Version, after.Version)
	})
}

func TestReconnectOverwritesInPlace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		first, err := e.svc.Connect(ctx, "acct-1", e.code())
		require.NoError(t, err)
		sec1, err := e.secrets.Get(ctx, first.SecretRef)
		require.NoError(t, err)

		second, err := e.svc.Connect(ctx, "acct-1", e.code())
		require.NoError(t, err)
		assert.Equal(t, first.SecretRef, second.SecretRef, "same secret, overwritten")
		assert.Equal(t, first.CreatedAt, second.CreatedAt, "same record, overwritten")
		sec2, err := e.secrets.Get(ctx, second.SecretRef)
		require.NoError(t, err)
		assert.NotEqual(t, sec1.Version, sec2.Version)
		assert.NotEqual(t, sec1.RequestKey, sec2.RequestKey)
		e.assertConsistent("acct-1")
	})
}

func TestAlreadyConnected(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		_, err := e.svc.Connect(ctx, "acct-a", e.code())
		require.NoError(t, err)

		_, err = e.svc.Connect(ctx, "acct-b", e.code())
		assert.ErrorIs(t, err, integration.ErrAlreadyConnected)
		e.assertConsistent("acct-a", "acct-b")

		// Once acct-a disconnects, acct-b may connect the practice.
		require.NoError(t, e.svc.Disconnect(ctx, "acct-a"))
		_, err = e.svc.Connect(ctx, "acct-b", e.code())
		require.NoError(t, err)
		e.assertConsistent("acct-a", "acct-b")
	})
}

func TestConcurrentConnectsOfOneOffice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		const n = 20
		codes := make([]string, n)
		accounts := make([]string, n)
		for i := range n {
			codes[i] = e.code()
			accounts[i] = fmt.Sprintf("acct-%02d", i)
		}
		var wins, losses atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := e.svc.Connect(ctx, accounts[i], codes[i])
				if err == nil {
					wins.Add(1)
				} else if assert.ErrorIs(t, err, integration.ErrAlreadyConnected) {
					losses.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load(), "exactly one account holds the practice")
		assert.Equal(t, int32(n-1), losses.Load())
		holder, err := e.repo.ActiveByOffice(ctx, integration.ProviderSikka, office)
		require.NoError(t, err)
		assert.Contains(t, accounts, holder.AccountID)
		e.assertConsistent(accounts...)
	})
}

func TestConnectRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		cases := []struct {
			name  string
			fault *mocksikka.Fault
			code  func(e *env) string
			want  error
		}{
			{"unknown code", nil, func(*env) string { return "not-a-code" }, integration.ErrInvalidCode},
			{"exchange 503", &mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: 503}, (*env).code, integration.ErrProviderUnavailable},
			{"exchange 429", &mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: 429, RetryAfter: time.Second}, (*env).code, integration.ErrProviderUnavailable},
			{"practices down", &mocksikka.Fault{Endpoint: "GET /v4/authorized_practices", Status: 503}, (*env).code, integration.ErrProviderUnavailable},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b)
				if tc.fault != nil {
					e.mock.InjectFault(*tc.fault)
				}
				_, err := e.svc.Connect(ctx, "acct-1", tc.code(e))
				assert.ErrorIs(t, err, tc.want)
				_, err = e.repo.Get(ctx, "acct-1")
				assert.ErrorIs(t, err, integration.ErrNotFound, "nothing recorded")
				e.assertConsistent("acct-1")

				// The same user succeeds once the fault is gone.
				e.mock.ClearFaults()
				_, err = e.svc.Connect(ctx, "acct-1", e.code())
				require.NoError(t, err)
				e.assertConsistent("acct-1")
			})
		}
		t.Run("invalid account id is refused before the code is spent", func(t *testing.T) {
			e := newEnv(t, b)
			code := e.code()
			_, err := e.svc.Connect(ctx, "../etc", code)
			assert.ErrorIs(t, err, secretstore.ErrInvalidName)
			assert.ErrorIs(t, err, integration.ErrInvalidAccountID)
			_, err = e.svc.Connect(ctx, "acct-1", code)
			assert.NoError(t, err)
		})
	})
}

// failingSecrets is a real memory store whose writes fail on demand.
type failingSecrets struct {
	secretstore.Store
	failPut atomic.Bool
}

func (f *failingSecrets) Put(ctx context.Context, name string, c secretstore.Credentials, opts ...secretstore.PutOption) (secretstore.Receipt, error) {
	if f.failPut.Load() {
		return secretstore.Receipt{}, errors.New("secret store down")
	}
	return f.Store.Put(ctx, name, c, opts...)
}

// failingUpserts is a real repository whose record writes fail on demand.
type failingUpserts struct {
	integration.Repository
	fail atomic.Bool
}

func (f *failingUpserts) Upsert(ctx context.Context, r integration.Record) (integration.Record, error) {
	if f.fail.Load() {
		return integration.Record{}, errors.New("database down")
	}
	return f.Repository.Upsert(ctx, r)
}

// CompletePending is the connect's record write: it fails the same way.
func (f *failingUpserts) CompletePending(ctx context.Context, flowID string, r integration.Record) (integration.Record, error) {
	if f.fail.Load() {
		return integration.Record{}, errors.New("database down")
	}
	return f.Repository.CompletePending(ctx, flowID, r)
}

func TestDualWriteFailures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		t.Run("secret store fails", func(t *testing.T) {
			e := newEnv(t, b)
			secrets := &failingSecrets{Store: e.secrets}
			secrets.failPut.Store(true)
			svc := e.service(integration.Config{Secrets: secrets})
			_, err := svc.Connect(ctx, "acct-1", e.code())
			require.Error(t, err)
			_, err = e.repo.Get(ctx, "acct-1")
			assert.ErrorIs(t, err, integration.ErrNotFound)
			e.assertConsistent("acct-1")
		})
		t.Run("record write fails after a new secret", func(t *testing.T) {
			e := newEnv(t, b)
			repo := &failingUpserts{Repository: e.repo}
			repo.fail.Store(true)
			svc := e.service(integration.Config{Records: repo})
			_, err := svc.Connect(ctx, "acct-1", e.code())
			require.Error(t, err)
			e.assertConsistent("acct-1") // the new secret was deleted
		})
		t.Run("record write fails after an overwrite", func(t *testing.T) {
			e := newEnv(t, b)
			repo := &failingUpserts{Repository: e.repo}
			svc := e.service(integration.Config{Records: repo})
			first, err := svc.Connect(ctx, "acct-1", e.code())
			require.NoError(t, err)
			before, err := e.secrets.Get(ctx, first.SecretRef)
			require.NoError(t, err)

			repo.fail.Store(true)
			_, err = svc.Connect(ctx, "acct-1", e.code())
			require.Error(t, err)
			after, err := e.secrets.Get(ctx, first.SecretRef)
			require.NoError(t, err)
			assert.Equal(t, before.RequestKey, after.RequestKey, "the previous credentials are restored")
			e.assertConsistent("acct-1")
		})
	})
}

// connectWithShortKey connects acct with a key that is already inside the
// refresh margin (30 minutes), then puts the mock back on 24-hour keys.
func (e *env) connectWithShortKey(acct string) integration.Record {
	e.t.Helper()
	e.mock.SetKeyTTL(30 * time.Minute)
	rec, err := e.svc.Connect(context.Background(), acct, e.code())
	require.NoError(e.t, err)
	e.mock.SetKeyTTL(mocksikka.DefaultKeyTTL)
	return rec
}

func TestCredentialsRefreshNearExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		refreshed := make(chan integration.Record, 1)
		e.svc = e.service(integration.Config{Hooks: integration.Hooks{
			Refreshed: func(_ context.Context, r integration.Record) { refreshed <- r },
		}})

		// A fresh key is used as it is.
		code, err := e.mock.IssueCode(mocksikka.DefaultAppID, mocksikka.MapleLeafOfficeID)
		require.NoError(t, err)
		_, err = e.svc.Connect(ctx, "fresh", code)
		require.NoError(t, err)
		_, err = e.svc.Credentials(ctx, "fresh")
		require.NoError(t, err)
		assert.Zero(t, e.mock.Count("POST /v4/request_key", "refresh_key"))

		rec := e.connectWithShortKey("acct-1")
		old, err := e.secrets.Get(ctx, rec.SecretRef)
		require.NoError(t, err)

		creds, err := e.svc.Credentials(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, 1, e.mock.Count("POST /v4/request_key", "refresh_key"))
		assert.NotEqual(t, old.RequestKey, creds.RequestKey)
		assert.WithinDuration(t, time.Now().Add(24*time.Hour), creds.TokenExpiry, time.Minute)

		stored, err := e.secrets.Get(ctx, rec.SecretRef)
		require.NoError(t, err)
		assert.Equal(t, creds.RequestKey, stored.RequestKey, "persisted before use")
		got, err := e.repo.Get(ctx, "acct-1")
		require.NoError(t, err)
		assert.WithinDuration(t, creds.TokenExpiry, got.KeyExpiry, time.Millisecond)
		select {
		case r := <-refreshed:
			assert.Equal(t, "acct-1", r.AccountID)
			assert.Equal(t, rec.SecretRef, r.SecretRef)
			assert.WithinDuration(t, creds.TokenExpiry, r.KeyExpiry, time.Millisecond, "the record as refreshed")
		case <-time.After(5 * time.Second):
			t.Fatal("Refreshed hook not called")
		}
		e.assertNoSecretsLogged(old.RequestKey, old.RefreshKey, creds.RequestKey, creds.RefreshKey)

		_, err = e.svc.Credentials(ctx, "nobody")
		assert.ErrorIs(t, err, integration.ErrNotConnected)
	})
}

func TestConcurrentCredentialsRefreshOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.connectWithShortKey("acct-1")
		// A second service on its own repository (pool) stands for another process.
		other := e.service(integration.Config{Records: e.newRepo()})

		const n = 20
		keys := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				svc := e.svc
				if i%2 == 1 {
					svc = other
				}
				creds, err := svc.Credentials(context.Background(), "acct-1")
				if assert.NoError(t, err) {
					keys[i] = creds.RequestKey
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.Equal(t, 1, e.mock.Count("POST /v4/request_key", "refresh_key"), "exactly one refresh at Sikka")
		for _, k := range keys {
			assert.Equal(t, keys[0], k, "every caller got the refreshed key")
		}
	})
}

func TestRefreshDueSweepsOnceAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		offices := []string{mocksikka.DefaultOfficeID, mocksikka.MapleLeafOfficeID, mocksikka.BrightSmilesOfficeID} // the mock's default offices
		due := len(offices)
		e.mock.SetKeyTTL(30 * time.Minute)
		for i, officeID := range offices {
			code, err := e.mock.IssueCode(mocksikka.DefaultAppID, officeID)
			require.NoError(t, err)
			_, err = e.svc.Connect(ctx, fmt.Sprintf("acct-%d", i), code)
			require.NoError(t, err)
		}
		e.mock.SetKeyTTL(mocksikka.DefaultKeyTTL)
		// One more practice with a fresh 24-hour key: not due.
		require.NoError(t, e.mock.AddPractice(mocksikka.Practice{OfficeID: "D40000", PracticeID: "1",
			SecretKey: "fresh-secret", Name: "Fresh Smiles", PMS: "Dentrix"}))
		code, err := e.mock.IssueCode(mocksikka.DefaultAppID, "D40000")
		require.NoError(t, err)
		_, err = e.svc.Connect(ctx, "not-due", code)
		require.NoError(t, err)

		a := e.service(integration.Config{Records: e.newRepo(), SweepConcurrency: 2})
		bSvc := e.service(integration.Config{Records: e.newRepo(), SweepConcurrency: 2})
		var wg sync.WaitGroup
		results := make([]integration.SweepResult, 2)
		for i, svc := range []*integration.Service{a, bSvc} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := svc.RefreshDue(ctx)
				assert.NoError(t, err)
				results[i] = r
			}()
		}
		wg.Wait()
		assert.Equal(t, due, e.mock.Count("POST /v4/request_key", "refresh_key"), "each due key refreshed exactly once")
		assert.Equal(t, due, results[0].Refreshed+results[1].Refreshed)
		assert.Zero(t, results[0].Failed+results[1].Failed)

		// Nothing is due any more.
		r, err := a.RefreshDue(ctx)
		require.NoError(t, err)
		assert.Equal(t, integration.SweepResult{}, r)
	})
}

func TestRefreshFallbackAndNeedsReauth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		t.Run("refused refresh falls back to the office credentials", func(t *testing.T) {
			e := newEnv(t, b)
			e.connectWithShortKey("acct-1")
			e.mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Grant: "refresh_key", Count: 1, Status: 401})
			creds, err := e.svc.Credentials(ctx, "acct-1")
			require.NoError(t, err)
			assert.NotEmpty(t, creds.RequestKey)
			assert.Equal(t, 1, e.mock.Count("POST /v4/request_key", "request_key"))
			rec, err := e.repo.Get(ctx, "acct-1")
			require.NoError(t, err)
			assert.Equal(t, integration.StatusActive, rec.Status)
		})
		t.Run("both refused: NEEDS_REAUTH and the hook", func(t *testing.T) {
			e := newEnv(t, b)
			reauth := make(chan integration.Record, 1)
			e.svc = e.service(integration.Config{Hooks: integration.Hooks{
				NeedsReauth: func(_ context.Context, r integration.Record, _ error) { reauth <- r },
			}})
			e.connectWithShortKey("acct-1")
			e.mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Grant: "refresh_key", Count: 1, Status: 401})
			e.mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Grant: "request_key", Count: 1, Status: 401})
			_, err := e.svc.Credentials(ctx, "acct-1")
			assert.ErrorIs(t, err, integration.ErrNeedsReauth)
			rec, err := e.repo.Get(ctx, "acct-1")
			require.NoError(t, err)
			assert.Equal(t, integration.StatusNeedsReauth, rec.Status)
			select {
			case r := <-reauth:
				assert.Equal(t, "acct-1", r.AccountID)
			case <-time.After(5 * time.Second):
				t.Fatal("NeedsReauth hook not called")
			}
			_, err = e.svc.Credentials(ctx, "acct-1")
			assert.ErrorIs(t, err, integration.ErrNeedsReauth)
			// Connecting again brings it back.
			_, err = e.svc.Connect(ctx, "acct-1", e.code())
			require.NoError(t, err)
			_, err = e.svc.Credentials(ctx, "acct-1")
			assert.NoError(t, err)
		})
		t.Run("Sikka down while the key is still valid keeps the current key", func(t *testing.T) {
			e := newEnv(t, b)
			failed := make(chan error, 1)
			e.svc = e.service(integration.Config{Hooks: integration.Hooks{
				RefreshFailed: func(_ context.Context, _ integration.Record, err error) { failed <- err },
			}})
			rec := e.connectWithShortKey("acct-1")
			old, err := e.secrets.Get(ctx, rec.SecretRef)
			require.NoError(t, err)
			e.mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Status: 503})
			creds, err := e.svc.Credentials(ctx, "acct-1")
			require.NoError(t, err)
			assert.Equal(t, old.RequestKey, creds.RequestKey)
			select {
			case err := <-failed:
				assert.ErrorIs(t, err, integration.ErrProviderUnavailable, "the host learns the refresh failed")
			case <-time.After(5 * time.Second):
				t.Fatal("RefreshFailed hook not called")
			}
		})
	})
}

func TestDisconnect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		disconnected := make(chan integration.Record, 2)
		e.svc = e.service(integration.Config{Hooks: integration.Hooks{
			Disconnected: func(_ context.Context, r integration.Record) { disconnected <- r },
		}})
		rec, err := e.svc.Connect(ctx, "acct-1", e.code())
		require.NoError(t, err)
		sec, err := e.secrets.Get(ctx, rec.SecretRef)
		require.NoError(t, err)

		require.NoError(t, e.svc.Disconnect(ctx, "acct-1"))
		got, err := e.repo.Get(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, integration.StatusRevoked, got.Status)
		_, err = e.secrets.Get(ctx, rec.SecretRef)
		assert.ErrorIs(t, err, secretstore.ErrNotFound)
		assert.Equal(t, 1, e.mock.Count("DELETE /v4/request_key", ""))
		_, err = e.client.RequestKeyInfo(ctx, sec.RequestKey)
		assert.ErrorIs(t, err, sikka.ErrKeyRejected, "the key was revoked at Sikka")

		// Twice is fine, and tells nobody again.
		require.NoError(t, e.svc.Disconnect(ctx, "acct-1"))
		require.NoError(t, e.svc.Disconnect(ctx, "never-connected"))
		select {
		case r := <-disconnected:
			assert.Equal(t, integration.StatusRevoked, r.Status)
		case <-time.After(5 * time.Second):
			t.Fatal("Disconnected hook not called")
		}
		select {
		case <-disconnected:
			t.Fatal("Disconnected hook called twice")
		case <-time.After(100 * time.Millisecond):
		}
		_, err = e.svc.Credentials(ctx, "acct-1")
		assert.ErrorIs(t, err, integration.ErrNotConnected)
		e.assertConsistent("acct-1")

		// Revocation at Sikka is best effort.
		_, err = e.svc.Connect(ctx, "acct-1", e.code())
		require.NoError(t, err)
		e.mock.InjectFault(mocksikka.Fault{Endpoint: "DELETE /v4/request_key", Status: 503})
		require.NoError(t, e.svc.Disconnect(ctx, "acct-1"))
		e.assertConsistent("acct-1")
	})
}

func TestHooksCannotBreakTheFlow(t *testing.T) {
	e := newEnv(t, backends()[0])
	ctx := context.Background()
	release := make(chan struct{})
	defer close(release)
	e.svc = e.service(integration.Config{Hooks: integration.Hooks{
		Connected:    func(context.Context, integration.Record) { <-release }, // slow
		Disconnected: func(context.Context, integration.Record) { panic("host bug") },
	}})
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Connect(ctx, "acct-1", e.code())
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("a slow hook blocked Connect")
	}
	require.NoError(t, e.svc.Disconnect(ctx, "acct-1"))
	require.Eventually(t, func() bool { return strings.Contains(e.logs.String(), "hook panicked") }, 5*time.Second, 10*time.Millisecond)
}

func TestNewServiceNamesMissingConfig(t *testing.T) {
	_, err := integration.NewService(integration.Config{})
	require.Error(t, err)
	for _, f := range []string{"Sikka", "Secrets", "Records"} {
		assert.Contains(t, err.Error(), f)
	}
}

// CheckAccount accepts what the secret store can store (e-mail addresses
// included) and refuses the rest with a reason that states the rule; Connect
// then connects an e-mail-like account id end to end.
func TestCheckAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		for _, id := range []string{"a+b@x.com", "first.last+tag=1@sub.example.org", "account_abc123"} {
			assert.NoError(t, e.svc.CheckAccount(id), id)
		}
		for _, id := range []string{"", "a b", "../etc", "a/b", "ünicode", "a..b", strings.Repeat("x", 129)} {
			err := e.svc.CheckAccount(id)
			require.ErrorIs(t, err, integration.ErrInvalidAccountID, "%q", id)
			assert.ErrorIs(t, err, secretstore.ErrInvalidName, "%q", id)
			assert.Contains(t, err.Error(), secretstore.AccountIDRule, "%q: the error states the rule", id)
		}

		rec, err := e.svc.Connect(ctx, "a+b@x.com", e.code())
		require.NoError(t, err)
		assert.Equal(t, integration.StatusActive, rec.Status)
		e.assertConsistent("a+b@x.com")
		_, err = e.svc.Credentials(ctx, "a+b@x.com")
		require.NoError(t, err)
		require.NoError(t, e.svc.Disconnect(ctx, "a+b@x.com"))
		e.assertConsistent("a+b@x.com")
	})
}
