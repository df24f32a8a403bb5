package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
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
	"github.com/parlae/sikka-connect/secretstore/vault"
	"github.com/parlae/sikka-connect/sikka"
)

// countingStore counts the reads of a secret store.
type countingStore struct {
	secretstore.Store
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, nameOrRef string) (secretstore.Secret, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, nameOrRef)
}

// useBackend is the storage of one test of the connection in use: memory
// records and secrets, or PostgreSQL records and Vault secrets (skipped
// without them). newRepo returns repositories sharing one storage, as
// replicas would; the PostgreSQL ones count their statements in stmts.
type useBackend struct {
	name  string
	setup func(t *testing.T) (newRepo func() integration.Repository, secrets secretstore.Store, stmts *pgtest.Statements)
}

func useBackends() []useBackend {
	return []useBackend{
		{"memory", func(t *testing.T) (func() integration.Repository, secretstore.Store, *pgtest.Statements) {
			repo := memory.New()
			return func() integration.Repository { return repo }, secretmemory.New(), nil
		}},
		{"postgres+vault", func(t *testing.T) (func() integration.Repository, secretstore.Store, *pgtest.Statements) {
			addr, token := os.Getenv("SIKKA_TEST_VAULT_ADDR"), os.Getenv("SIKKA_TEST_VAULT_TOKEN")
			if addr == "" {
				t.Skip("SIKKA_TEST_VAULT_ADDR not set: run scripts/test.sh, which starts PostgreSQL and Vault")
			}
			db, stmts := pgtest.CountingDB(t) // skips without PostgreSQL
			require.NoError(t, postgres.Migrate(context.Background(), db))
			var p [6]byte
			_, _ = rand.Read(p[:])
			vs, err := vault.New(vault.Config{Address: addr, Token: token, Prefix: "use-" + hex.EncodeToString(p[:])})
			require.NoError(t, err)
			return func() integration.Repository { return postgres.New(db) }, vs, stmts
		}},
	}
}

// useEnv is one test's world for the connection in use: the mock Sikka
// behind a test server (whose handler a test may wrap), a counting secret
// store, the service on the mock's clock, and its logs.
type useEnv struct {
	t       *testing.T
	mock    *mocksikka.Server
	srv     *httptest.Server
	front   atomic.Pointer[http.Handler] // the test server's handler: the mock unless a test wraps it
	client  *sikka.Client
	secrets *countingStore
	newRepo func() integration.Repository
	stmts   *pgtest.Statements
	svc     *integration.Service
	logs    *syncbuf.Buffer
}

func newUseEnv(t *testing.T, b useBackend) *useEnv {
	t.Helper()
	e := &useEnv{t: t, mock: mocksikka.New(), logs: &syncbuf.Buffer{}}
	var h http.Handler = e.mock
	e.front.Store(&h)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.front.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.mock.Close)
	e.client = sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(e.srv.URL),
		sikka.WithClock(e.mock.Now), sikka.WithBackoff(func(int) time.Duration { return time.Millisecond }))
	var secrets secretstore.Store
	e.newRepo, secrets, e.stmts = b.setup(t)
	e.secrets = &countingStore{Store: secrets}
	e.svc = e.service(integration.Config{})
	return e
}

// service builds a service on the env's client, secrets and mock clock; a
// nil cfg.Records means a repository of the env's storage.
func (e *useEnv) service(cfg integration.Config) *integration.Service {
	e.t.Helper()
	cfg.Sikka = e.client
	cfg.Secrets = e.secrets
	if cfg.Records == nil {
		cfg.Records = e.newRepo()
	}
	cfg.Now = e.mock.Now
	cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := integration.NewService(cfg)
	require.NoError(e.t, err)
	return svc
}

// connect connects account to office through the service.
func (e *useEnv) connect(account, office string) {
	e.t.Helper()
	code, err := e.mock.IssueCode(mocksikka.DefaultAppID, office)
	require.NoError(e.t, err)
	_, err = e.svc.Connect(context.Background(), account, code)
	require.NoError(e.t, err)
}

// get sends GET path (a Request-Key endpoint of the mock) through hc.
func (e *useEnv) get(hc *http.Client, path string) (*http.Response, error) {
	resp, err := hc.Get(e.srv.URL + path)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func (e *useEnv) refreshGrants() int { return e.mock.Count("POST /v4/request_key", "refresh_key") }

// storedKey is the request key in the account's secret.
func (e *useEnv) storedKey(account string) string {
	e.t.Helper()
	name, err := secretstore.DefaultNameTemplate.Name(account)
	require.NoError(e.t, err)
	sec, err := e.secrets.Store.Get(context.Background(), name)
	require.NoError(e.t, err)
	return sec.RequestKey
}

// assertNoKeysLogged fails if a key appears in the service's logs.
func (e *useEnv) assertNoKeysLogged(keys ...string) {
	e.t.Helper()
	logs := e.logs.String()
	for _, k := range append(keys, mocksikka.DefaultAppKey) {
		if k != "" {
			assert.NotContains(e.t, logs, k)
		}
	}
}

func forEachUseBackend(t *testing.T, test func(t *testing.T, b useBackend)) {
	for _, b := range useBackends() {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

func TestHTTPClientRenewsAnExpiredKeyOnce(t *testing.T) {
	forEachUseBackend(t, func(t *testing.T, b useBackend) {
		e := newUseEnv(t, b)
		e.connect("acct-1", office)
		old := e.storedKey("acct-1")
		hc := e.svc.HTTPClient("acct-1")

		resp, err := e.get(hc, "/v4/practices")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Zero(t, e.refreshGrants())

		// Past the key's expiry on the mock's (and the service's) clock.
		e.mock.Advance(25 * time.Hour)
		resp, err = e.get(hc, "/v4/practices")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, 1, e.refreshGrants(), "exactly one refresh grant")
		assert.Zero(t, e.mock.Count("POST /v4/request_key", "request_key"), "no fallback grant")
		assert.Zero(t, e.mock.Count("GET /v4/practices", "")-countStatus(e.mock, "GET /v4/practices", http.StatusOK),
			"no call was sent with the expired key")
		assert.NotEqual(t, old, e.storedKey("acct-1"))
		e.assertNoKeysLogged(old, e.storedKey("acct-1"))
	})
}

// countStatus counts the journaled calls of endpoint answered with status.
func countStatus(m *mocksikka.Server, endpoint string, status int) int {
	n := 0
	for _, en := range m.Journal() {
		if en.Endpoint() == endpoint && en.Status == status {
			n++
		}
	}
	return n
}

func TestHTTPClientConcurrentCallsAfterExpiryRefreshOnce(t *testing.T) {
	forEachUseBackend(t, func(t *testing.T, b useBackend) {
		e := newUseEnv(t, b)
		e.connect("acct-1", office)
		// Another replica on the same storage, with a cache of its own.
		other := e.service(integration.Config{})
		for _, svc := range []*integration.Service{e.svc, other} {
			_, err := svc.Credentials(context.Background(), "acct-1") // both caches warm
			require.NoError(t, err)
		}
		e.mock.Advance(25 * time.Hour)

		const n = 50
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			svc := e.svc
			if i%2 == 1 {
				svc = other
			}
			hc := svc.HTTPClient("acct-1")
			wg.Go(func() {
				<-start
				resp, err := e.get(hc, "/v4/practices")
				if assert.NoError(t, err) {
					assert.Equal(t, http.StatusOK, resp.StatusCode)
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, 1, e.refreshGrants(), "one refresh between two services and 50 calls")
		assert.Equal(t, n, countStatus(e.mock, "GET /v4/practices", http.StatusOK))
	})
}

func TestCachedCallsMakeNoRoundTrip(t *testing.T) {
	forEachUseBackend(t, func(t *testing.T, b useBackend) {
		e := newUseEnv(t, b)
		e.connect("acct-1", office)
		ctx := context.Background()
		e.secrets.gets.Store(0)
		if e.stmts != nil {
			e.stmts.Reset()
		}
		hc := e.svc.HTTPClient("acct-1")
		for i := range 100 {
			if i%2 == 0 {
				_, err := e.svc.Credentials(ctx, "acct-1")
				require.NoError(t, err)
				continue
			}
			resp, err := e.get(hc, "/v4/practices")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		assert.LessOrEqual(t, e.secrets.gets.Load(), int64(1), "100 calls, at most one secret-store read")
		if e.stmts != nil {
			// The first call reads the record and any pending marker; the
			// 99 others send nothing to PostgreSQL.
			assert.LessOrEqual(t, len(e.stmts.Sent()), 2, "statements: %q", e.stmts.Sent())
		}
	})
}

func TestCacheIsBoundedLRU(t *testing.T) {
	e := newUseEnv(t, useBackends()[0])
	e.svc = e.service(integration.Config{CacheSize: 2})
	ctx := context.Background()
	for i, o := range []string{office, mocksikka.MapleLeafOfficeID, mocksikka.BrightSmilesOfficeID} {
		e.connect("acct-"+string(rune('a'+i)), o)
	}
	e.secrets.gets.Store(0)
	read := func(acct string) int64 {
		before := e.secrets.gets.Load()
		_, err := e.svc.Credentials(ctx, acct)
		require.NoError(t, err)
		return e.secrets.gets.Load() - before
	}
	assert.EqualValues(t, 1, read("acct-a"))
	assert.EqualValues(t, 1, read("acct-b"))
	assert.EqualValues(t, 0, read("acct-a"), "cached")
	assert.EqualValues(t, 1, read("acct-c"), "evicts acct-b, the least recently used")
	assert.EqualValues(t, 0, read("acct-a"), "still cached")
	assert.EqualValues(t, 1, read("acct-b"), "was evicted")
}

func TestDisconnectedAccountFailsBeforeSending(t *testing.T) {
	forEachUseBackend(t, func(t *testing.T, b useBackend) {
		e := newUseEnv(t, b)
		e.connect("acct-1", office)
		ctx := context.Background()
		hc := e.svc.HTTPClient("acct-1")
		_, err := e.get(hc, "/v4/practices") // cached
		require.NoError(t, err)
		sent := e.mock.Count("GET /v4/practices", "")

		require.NoError(t, e.svc.Disconnect(ctx, "acct-1"))
		_, err = e.get(hc, "/v4/practices")
		assert.ErrorIs(t, err, integration.ErrNotConnected, "the own disconnect drops the cache at once")
		_, err = e.get(e.svc.HTTPClient("nobody"), "/v4/practices")
		assert.ErrorIs(t, err, integration.ErrNotConnected)
		assert.Equal(t, sent, e.mock.Count("GET /v4/practices", ""), "nothing sent")

		// NEEDS_REAUTH fails the same way (a service whose cache is cold).
		e.connect("acct-2", mocksikka.MapleLeafOfficeID)
		require.NoError(t, e.newRepo().SetStatus(ctx, "acct-2", integration.StatusNeedsReauth))
		_, err = e.get(e.service(integration.Config{}).HTTPClient("acct-2"), "/v4/practices")
		assert.ErrorIs(t, err, integration.ErrNeedsReauth)
		assert.Equal(t, sent, e.mock.Count("GET /v4/practices", ""), "nothing sent")
	})
}

// Another replica's disconnect, met through a rejected key before CacheStaleness: the call
// that met it fails with ErrNotConnected, and the entry is gone, so the next call fails before
// sending instead of sending the dead key again.
func TestRejectedKeyOfADisconnectedAccountDropsTheEntry(t *testing.T) {
	forEachUseBackend(t, func(t *testing.T, b useBackend) {
		e := newUseEnv(t, b)
		e.connect("acct-1", office)
		ctx := context.Background()
		hc := e.svc.HTTPClient("acct-1")
		_, err := e.get(hc, "/v4/practices") // cached
		require.NoError(t, err)

		require.NoError(t, e.service(integration.Config{}).Disconnect(ctx, "acct-1")) // revokes the key at Sikka
		_, err = e.get(hc, "/v4/practices")
		assert.ErrorIs(t, err, integration.ErrNotConnected, "the rejection re-reads the store")
		sent := e.mock.Count("GET /v4/practices", "")
		_, err = e.get(hc, "/v4/practices")
		assert.ErrorIs(t, err, integration.ErrNotConnected)
		assert.Equal(t, sent, e.mock.Count("GET /v4/practices", ""), "the dead key is not sent again")
	})
}

// A 401 that is about the call, not the key (API2007: a practice_id the key's office does not
// have), is handed back as it is: no renewal, so a host's bad practice id cannot rotate the
// account's key on every call.
func TestHTTPClientDoesNotRenewOnAPracticeRefusal(t *testing.T) {
	e := newUseEnv(t, useBackends()[0])
	e.connect("acct-1", office)
	hc := e.svc.HTTPClient("acct-1")
	key := e.storedKey("acct-1")
	for range 3 {
		resp, err := e.get(hc, "/v4/patients?practice_id=9")
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	assert.Zero(t, e.refreshGrants(), "no refresh for a refusal that is not the key's")
	assert.Equal(t, key, e.storedKey("acct-1"))
}

// The typed data client over HTTPClient: a refused account is the service's error, final, not
// Sikka being unavailable (no retries, no ErrUnavailable).
func TestDataClientOverHTTPClientRefusalIsFinal(t *testing.T) {
	e := newUseEnv(t, useBackends()[0])
	ctx := context.Background()
	var waits atomic.Int64
	client := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(e.srv.URL),
		sikka.WithBackoff(func(int) time.Duration { waits.Add(1); return time.Millisecond }))
	dc := client.DataVia(e.svc.HTTPClient("nobody"))
	_, err := dc.Count(ctx, "patients")
	assert.ErrorIs(t, err, integration.ErrNotConnected)
	assert.NotErrorIs(t, err, sikka.ErrUnavailable, "a refusal is not Sikka being down")
	assert.Zero(t, waits.Load(), "a refusal is not retried")

	e.connect("acct-1", office)
	dc = client.DataVia(e.svc.HTTPClient("acct-1"))
	n, err := dc.Count(ctx, "patients")
	require.NoError(t, err)
	assert.Equal(t, e.mock.DataCounts(office, "1")["patients"], n)
}

func TestCacheSeesAnotherReplicaWithinStaleness(t *testing.T) {
	forEachUseBackend(t, func(t *testing.T, b useBackend) {
		e := newUseEnv(t, b)
		e.connect("acct-1", office)
		ctx := context.Background()
		other := e.service(integration.Config{})
		_, err := e.svc.Credentials(ctx, "acct-1")
		require.NoError(t, err)

		require.NoError(t, other.Disconnect(ctx, "acct-1"))
		_, err = e.svc.Credentials(ctx, "acct-1")
		assert.NoError(t, err, "within CacheStaleness, this replica's cache still serves")
		e.mock.Advance(integration.DefaultCacheStaleness)
		_, err = e.svc.Credentials(ctx, "acct-1")
		assert.ErrorIs(t, err, integration.ErrNotConnected, "after CacheStaleness the disconnect is seen")
	})
}

func TestHTTPClientRenewsARejectedKeyAndResends(t *testing.T) {
	forEachUseBackend(t, func(t *testing.T, b useBackend) {
		e := newUseEnv(t, b)
		e.connect("acct-1", office)
		ctx := context.Background()
		hc := e.svc.HTTPClient("acct-1")
		_, err := e.get(hc, "/v4/practices") // the key is cached
		require.NoError(t, err)
		k1 := e.storedKey("acct-1")

		require.NoError(t, e.client.RevokeKey(ctx, k1)) // Sikka now answers 400 API1004
		resp, err := e.get(hc, "/v4/practices")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "renewed and sent again")
		assert.Equal(t, 1, e.refreshGrants())
		assert.Equal(t, 1, countStatus(e.mock, "GET /v4/practices", http.StatusBadRequest))
		k2 := e.storedKey("acct-1")
		assert.NotEqual(t, k1, k2)

		// Another replica, whose cache still holds k2, finds the key
		// renewed by this one after Sikka rejects k2: it reads the new key
		// rather than renewing again.
		other := e.service(integration.Config{})
		_, err = other.Credentials(ctx, "acct-1")
		require.NoError(t, err)
		require.NoError(t, e.client.RevokeKey(ctx, k2))
		_, err = e.get(hc, "/v4/practices") // this replica renews: k3
		require.NoError(t, err)
		require.Equal(t, 2, e.refreshGrants())
		resp, err = e.get(other.HTTPClient("acct-1"), "/v4/practices")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, 2, e.refreshGrants(), "the other replica re-read the store instead of renewing")

		// A body that cannot be replayed: the rejection is returned, the
		// key renewed all the same, and the next call works.
		k3 := e.storedKey("acct-1")
		require.NoError(t, e.client.RevokeKey(ctx, k3))
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v4/practices", io.NopCloser(strings.NewReader("x")))
		require.NoError(t, err)
		resp, err = hc.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, string(body), "API1004", "the answer's body is handed on whole")
		assert.Equal(t, 3, e.refreshGrants())
		resp, err = e.get(hc, "/v4/practices")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)

		e.assertNoKeysLogged(k1, k2, k3, e.storedKey("acct-1"))
	})
}

func TestHTTPClientRejectionEndsInNeedsReauth(t *testing.T) {
	e := newUseEnv(t, useBackends()[0])
	e.connect("acct-1", office)
	ctx := context.Background()
	hc := e.svc.HTTPClient("acct-1")
	_, err := e.get(hc, "/v4/practices")
	require.NoError(t, err)
	// Sikka refuses the key, the refresh key and the office credentials.
	require.NoError(t, e.client.RevokeKey(ctx, e.storedKey("acct-1")))
	e.mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Status: http.StatusUnauthorized})
	_, err = e.get(hc, "/v4/practices")
	assert.ErrorIs(t, err, integration.ErrNeedsReauth)
	rec, err := e.svc.Status(ctx, "acct-1")
	require.NoError(t, err)
	assert.Equal(t, integration.StatusNeedsReauth, rec.Status)
	_, err = e.get(hc, "/v4/practices")
	assert.ErrorIs(t, err, integration.ErrNeedsReauth, "fails before sending from now on")
}

func TestHTTPClientSendsTheKeyOnlyToSikka(t *testing.T) {
	forEachUseBackend(t, func(t *testing.T, b useBackend) {
		e := newUseEnv(t, b)
		e.connect("acct-1", office)
		var elsewhere atomic.Int64
		foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			elsewhere.Add(1)
			assert.Empty(t, r.Header.Get("Request-Key"), "the key reached another host")
		}))
		t.Cleanup(foreign.Close)
		// The Sikka host redirects one path to the other host.
		mock := *e.front.Load()
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v4/away" {
				http.Redirect(w, r, foreign.URL+"/steal", http.StatusTemporaryRedirect)
				return
			}
			mock.ServeHTTP(w, r)
		})
		e.front.Store(&h)

		hc := e.svc.HTTPClient("acct-1")
		_, err := hc.Get(foreign.URL + "/v4/practices")
		assert.ErrorIs(t, err, integration.ErrForeignHost)

		resp, err := e.get(hc, "/v4/away")
		require.NoError(t, err)
		assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, "the redirect is returned, not followed")

		// Even a host that makes the client follow redirects does not send
		// the key away: the transport refuses the other host.
		follow := e.svc.HTTPClient("acct-1")
		follow.CheckRedirect = nil
		_, err = e.get(follow, "/v4/away")
		assert.ErrorIs(t, err, integration.ErrForeignHost)
		assert.Zero(t, elsewhere.Load(), "nothing reached the other host")
		assert.NotContains(t, err.Error(), e.storedKey("acct-1"))
	})
}

func TestHTTPClientStaysUnderTheBasePath(t *testing.T) {
	e := newUseEnv(t, useBackends()[0])
	e.connect("acct-1", office)
	prefixed := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(e.srv.URL+"/sikka"))
	svc, err := integration.NewService(integration.Config{Sikka: prefixed, Secrets: e.secrets, Records: e.newRepo(), Now: e.mock.Now})
	require.NoError(t, err)
	hc := svc.HTTPClient("acct-1")
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, u := range []string{
		e.srv.URL + "/v4/practices",             // outside the prefix
		e.srv.URL + "/sikkax/v4/practices",      // not a whole segment
		e.srv.URL + "/sikka/../v4/practices",    // climbs out
		"https://" + host + "/sikka/v4/x",       // another scheme
		"http://localhost:1/sikka/v4/practices", // another host
	} {
		_, err := hc.Get(u)
		assert.ErrorIs(t, err, integration.ErrForeignHost, u)
	}
	assert.Zero(t, e.mock.Count("", "")-e.mock.Count("POST /v4/request_key", "")-e.mock.Count("GET /v4/authorized_practices", ""),
		"nothing but the connect reached the mock")
}

func TestHTTPClientWaitsOutRateLimits(t *testing.T) {
	forEachUseBackend(t, func(t *testing.T, b useBackend) {
		e := newUseEnv(t, b)
		e.svc = e.service(integration.Config{MaxRateLimitWait: 5 * time.Second})
		e.connect("acct-1", office)
		hc := e.svc.HTTPClient("acct-1")

		// A rate window that started with the first call below and has one
		// second left: Sikka's 429 says X-Rate-Limit-Reset: 1.
		e.mock.Advance(61 * time.Second)
		_, err := e.get(hc, "/v4/practices")
		require.NoError(t, err)
		e.mock.Advance(59 * time.Second)
		e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/practices", Count: 1, Status: http.StatusTooManyRequests})
		began := time.Now()
		resp, err := e.get(hc, "/v4/practices")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "the 429 was waited out and the GET sent once more")
		assert.GreaterOrEqual(t, time.Since(began), 900*time.Millisecond, "it waited X-Rate-Limit-Reset")
		assert.Equal(t, 1, countStatus(e.mock, "GET /v4/practices", http.StatusTooManyRequests))

		// A 429 asking for longer than the request may wait is returned.
		e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/practices", Count: 1, Status: http.StatusTooManyRequests,
			RetryAfter: 2 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/v4/practices", nil)
		require.NoError(t, err)
		resp, err = hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

		// So is one asking for more than MaxRateLimitWait, at once (a
		// service of its own: this one now paces by the 429's Remaining 0).
		fresh := e.service(integration.Config{MaxRateLimitWait: 5 * time.Second}).HTTPClient("acct-1")
		e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/practices", Count: 1, Status: http.StatusTooManyRequests,
			RetryAfter: 10 * time.Second})
		began = time.Now()
		resp, err = e.get(fresh, "/v4/practices")
		require.NoError(t, err)
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.Less(t, time.Since(began), 5*time.Second, "not waited")
	})
}

func TestHTTPClientPacesBySpentWindow(t *testing.T) {
	e := newUseEnv(t, useBackends()[0])
	e.connect("acct-1", office)
	hc := e.svc.HTTPClient("acct-1")
	require.NoError(t, e.mock.SetLimits(mocksikka.Limits{PerApp: 2}))
	e.mock.Advance(61 * time.Second) // a new window starts with the next call
	_, err := e.get(hc, "/v4/practices")
	require.NoError(t, err)
	e.mock.Advance(59 * time.Second)
	resp, err := e.get(hc, "/v4/practices") // the window's last call: Remaining 0, Reset 1
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The next call waits for the window to end (which the mock's clock
	// reaches meanwhile) instead of drawing a 429.
	time.AfterFunc(300*time.Millisecond, func() { e.mock.Advance(2 * time.Second) })
	began := time.Now()
	resp, err = e.get(hc, "/v4/practices")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.GreaterOrEqual(t, time.Since(began), 900*time.Millisecond, "it waited for the window")
	assert.Zero(t, countStatus(e.mock, "GET /v4/practices", http.StatusTooManyRequests), "no 429 drawn")
}

func TestRunSweepsAndReconcilesUntilCancelled(t *testing.T) {
	e := newUseEnv(t, useBackends()[0])
	e.connect("acct-1", office)
	svc := e.service(integration.Config{RefreshInterval: 10 * time.Millisecond, ReconcileInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()

	e.mock.Advance(23*time.Hour + 30*time.Minute) // within RefreshMargin
	assert.Eventually(t, func() bool { return e.refreshGrants() == 1 }, 5*time.Second, 10*time.Millisecond,
		"Run's sweep renewed the due key")
	cancel()
	select {
	case err := <-done:
		assert.True(t, errors.Is(err, context.Canceled), "Run returns ctx.Err(): %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	assert.Equal(t, 1, e.refreshGrants(), "renewed once, not on every tick")
	assert.Contains(t, e.logs.String(), `"msg":"integration: reconcile"`, "Run reconciled too")
}

func TestHTTPClientReplaysTheBodyAfterARejection(t *testing.T) {
	e := newUseEnv(t, useBackends()[0])
	e.connect("acct-1", office)
	// A writeback-like endpoint in front of the mock: it rejects the first
	// key it sees (400 API1025, as Sikka does for an expired key) and
	// answers 200 to any other, recording each attempt's key and body.
	type attempt struct{ key, body string }
	var (
		mu       sync.Mutex
		attempts []attempt
	)
	mock := *e.front.Load()
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v4/writeback" {
			mock.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		attempts = append(attempts, attempt{r.Header.Get("Request-Key"), string(body)})
		first := len(attempts) == 1
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if first {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"http_code":"400","http_code_desc":"Bad Request","error_code":"API1025",`+
				`"short_message":"Request key expired","long_message":"","more_information":""}`)
			return
		}
		_, _ = io.WriteString(w, `{"id":"42"}`)
	})
	e.front.Store(&h)

	resp, err := e.svc.HTTPClient("acct-1").Post(e.srv.URL+"/v4/writeback", "application/json", strings.NewReader(`{"a":1}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"id":"42"}`, string(body))
	require.Len(t, attempts, 2)
	assert.Equal(t, `{"a":1}`, attempts[0].body)
	assert.Equal(t, `{"a":1}`, attempts[1].body, "the body was replayed (GetBody)")
	assert.NotEqual(t, attempts[0].key, attempts[1].key, "sent again with the renewed key")
	assert.Equal(t, e.storedKey("acct-1"), attempts[1].key)
	assert.Equal(t, 1, e.refreshGrants())
}
