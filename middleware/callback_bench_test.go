package middleware_test

// BenchmarkCallbackBreakdown: where a real callback's time goes, on
// PostgreSQL and Vault, measured from outside the product code:
//
//   - callback: the handler's time for GET {prefix}/callback (a wrapper
//     around the mounted mux);
//   - sikka: every HTTP exchange of the Sikka client with the mock, through
//     an http.RoundTripper that times each round trip and the reading of
//     each response body (loopback HTTP and the mock's handler);
//   - secrets: every call of the secret store (secretstore/vault: its API
//     client and the Vault server), through a wrapper of the Store;
//   - db: every call into the PostgreSQL driver (lib/pq under a
//     database/sql connector that times connects, queries, execs, row reads,
//     transactions), so the repository, the nonce store and whatever else
//     reaches the database are all counted however the repository changes;
//   - ours: callback − sikka − secrets − db: the middleware, the service, the
//     Sikka client's own work (parsing), slog lines, sqlx scanning.
//
// It skips without SIKKA_TEST_DATABASE_URL and SIKKA_TEST_VAULT_ADDR (run it
// through scripts/bench.sh, which starts both). Reported per op (one whole
// flow, of which only the callback is broken down): callback-µs (mean),
// ours-µs and ours-% as the median over the run's callbacks (a callback
// where PostgreSQL or Vault stalled, or the machine was busy, does not move
// them), ours-of-total-% (ours summed over all callbacks ÷ their total
// time), and the sikka, secrets and db shares of the total.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/harness"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/secretstore/vault"
	"github.com/parlae/sikka-connect/sikka"
)

func BenchmarkCallbackBreakdown(b *testing.B) {
	vaultAddr, vaultToken := os.Getenv("SIKKA_TEST_VAULT_ADDR"), os.Getenv("SIKKA_TEST_VAULT_TOKEN")
	if vaultAddr == "" {
		b.Skip("SIKKA_TEST_VAULT_ADDR not set: run scripts/bench.sh, which starts PostgreSQL and Vault")
	}
	pgURL := pgtest.URL(b) // skips without SIKKA_TEST_DATABASE_URL
	ctx := context.Background()

	var sikkaT, secretsT, dbT, callbackT timer
	openDB := func() *sqlx.DB {
		conn, err := pq.NewConnector(pgURL)
		if err != nil {
			b.Fatal(err)
		}
		db := sqlx.NewDb(sql.OpenDB(timedConnector{conn, &dbT}), "postgres")
		b.Cleanup(func() { db.Close() })
		return db
	}
	db := openDB()
	if err := postgres.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	nonces := postgres.New(openDB())
	var prefix [6]byte
	rand.Read(prefix[:])
	vs, err := vault.New(vault.Config{Address: vaultAddr, Token: vaultToken, Prefix: "bench-" + hex.EncodeToString(prefix[:])})
	if err != nil {
		b.Fatal(err)
	}

	mock := mocksikka.New(mocksikka.WithAutoApprove(mocksikka.DefaultOfficeID))
	mockSrv := httptest.NewServer(mock)
	defer mockSrv.Close()
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	client := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(mockSrv.URL),
		sikka.WithHTTPClient(&http.Client{Transport: timedTransport{http.DefaultTransport, &sikkaT}}))
	svc, err := integration.NewService(integration.Config{
		Sikka: client, Secrets: timedStore{vs, &secretsT}, Records: postgres.New(db), Logger: discard,
	})
	if err != nil {
		b.Fatal(err)
	}

	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	h, err := middleware.New(middleware.Config{
		Service:     svc,
		RedirectURI: appURL + middleware.DefaultPrefix + "/callback",
		FrontendURL: appURL + "/agent/setup/pms",
		StateKeys:   []middleware.Key{{ID: "bench", Secret: []byte(strings.Repeat("k", 32))}},
		Account:     func(*http.Request) (string, error) { return "acct-breakdown", nil },
		Nonces:      nonces,
		DevMode:     true,
		Logger:      discard,
	})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	app.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/callback") {
			mux.ServeHTTP(w, r)
			return
		}
		defer callbackT.since(time.Now())
		mux.ServeHTTP(w, r)
	})
	app.Start()
	defer app.Close()

	br := harness.NewBrowser(b)
	timers := []*timer{&sikkaT, &secretsT, &dbT, &callbackT}
	var oursShare, oursTime []float64 // per callback
	flow := func() {
		loc := br.Location(appURL + middleware.DefaultPrefix + "/start")
		loc = br.Location(loc)
		// Only the callback is broken down.
		for _, t := range timers {
			t.markNow()
		}
		done := br.Location(loc)
		s, v, d, cb := sikkaT.count(), secretsT.count(), dbT.count(), callbackT.count()
		ours := cb - s - v - d
		oursShare = append(oursShare, 100*ours.Seconds()/cb.Seconds())
		oursTime = append(oursTime, float64(ours.Microseconds()))
		if !strings.Contains(done, "status=success") {
			b.Fatalf("flow ended at %q", done)
		}
	}
	flow() // warm: pools and connections open, Vault secret created
	for _, t := range timers {
		t.counted = 0
	}
	oursShare, oursTime = oursShare[:0], oursTime[:0]
	b.ResetTimer()
	for b.Loop() {
		flow()
	}
	b.StopTimer()
	n := float64(b.N)
	total := float64(callbackT.counted)
	s, v, d := float64(sikkaT.counted), float64(secretsT.counted), float64(dbT.counted)
	ours := total - s - v - d
	b.ReportMetric(total/n/1e3, "callback-µs/op")
	b.ReportMetric(median(oursTime), "ours-µs/op")
	b.ReportMetric(median(oursShare), "ours-%")
	b.ReportMetric(100*ours/total, "ours-of-total-%")
	b.ReportMetric(100*s/total, "sikka-%")
	b.ReportMetric(100*v/total, "secrets-%")
	b.ReportMetric(100*d/total, "db-%")
}

// timer sums durations from any goroutine; count keeps what was added
// between mark and count (the callback's part of one flow: start and the
// consent page touch the mock and the database too).
type timer struct {
	sum           atomic.Int64
	mark, counted int64
}

func (t *timer) add(d time.Duration)   { t.sum.Add(int64(d)) }
func (t *timer) since(start time.Time) { t.add(time.Since(start)) }
func (t *timer) markNow()              { t.mark = t.sum.Load() }
func (t *timer) count() time.Duration {
	d := t.sum.Load() - t.mark
	t.counted += d
	return time.Duration(d)
}

// timedTransport times each round trip and the reading of its body.
type timedTransport struct {
	rt http.RoundTripper
	t  *timer
}

func (tt timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := tt.rt.RoundTrip(r)
	tt.t.since(start)
	if resp != nil && resp.Body != nil {
		resp.Body = timedBody{resp.Body, tt.t}
	}
	return resp, err
}

type timedBody struct {
	io.ReadCloser
	t *timer
}

func (b timedBody) Read(p []byte) (int, error) {
	defer b.t.since(time.Now())
	return b.ReadCloser.Read(p)
}

func (b timedBody) Close() error {
	defer b.t.since(time.Now())
	return b.ReadCloser.Close()
}

// timedStore times every call of a secret store.
type timedStore struct {
	secretstore.Store
	t *timer
}

func (s timedStore) Put(ctx context.Context, name string, c secretstore.Credentials, opts ...secretstore.PutOption) (secretstore.Receipt, error) {
	defer s.t.since(time.Now())
	return s.Store.Put(ctx, name, c, opts...)
}

func (s timedStore) Get(ctx context.Context, nameOrRef string) (secretstore.Secret, error) {
	defer s.t.since(time.Now())
	return s.Store.Get(ctx, nameOrRef)
}

func (s timedStore) Delete(ctx context.Context, nameOrRef string) error {
	defer s.t.since(time.Now())
	return s.Store.Delete(ctx, nameOrRef)
}

func (s timedStore) Restore(ctx context.Context, nameOrRef, version string) error {
	defer s.t.since(time.Now())
	return s.Store.Restore(ctx, nameOrRef, version)
}

// timedConnector wraps lib/pq's connector: every driver call is timed.
type timedConnector struct {
	c driver.Connector
	t *timer
}

func (c timedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	defer c.t.since(time.Now())
	conn, err := c.c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return timedConn{conn, c.t}, nil
}

func (c timedConnector) Driver() driver.Driver { return c.c.Driver() }

type timedConn struct {
	c driver.Conn
	t *timer
}

func (c timedConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c timedConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	defer c.t.since(time.Now())
	st, err := c.c.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return timedStmt{st, c.t}, nil
}

func (c timedConn) Close() error {
	defer c.t.since(time.Now())
	return c.c.Close()
}

func (c timedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c timedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	defer c.t.since(time.Now())
	tx, err := c.c.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return timedTx{tx, c.t}, nil
}

func (c timedConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	defer c.t.since(time.Now())
	return c.c.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c timedConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	defer c.t.since(time.Now())
	rows, err := c.c.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != nil {
		return nil, err
	}
	return timedRows{rows, c.t}, nil
}

func (c timedConn) Ping(ctx context.Context) error {
	defer c.t.since(time.Now())
	return c.c.(driver.Pinger).Ping(ctx)
}

func (c timedConn) ResetSession(ctx context.Context) error {
	defer c.t.since(time.Now())
	return c.c.(driver.SessionResetter).ResetSession(ctx)
}

func (c timedConn) IsValid() bool { return c.c.(driver.Validator).IsValid() }

func (c timedConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.c.(driver.NamedValueChecker).CheckNamedValue(nv)
}

type timedStmt struct {
	s driver.Stmt
	t *timer
}

func (s timedStmt) Close() error  { defer s.t.since(time.Now()); return s.s.Close() }
func (s timedStmt) NumInput() int { return s.s.NumInput() }
func (s timedStmt) Exec(args []driver.Value) (driver.Result, error) {
	defer s.t.since(time.Now())
	return s.s.Exec(args) //nolint:staticcheck // the driver's own fallback
}

func (s timedStmt) Query(args []driver.Value) (driver.Rows, error) {
	defer s.t.since(time.Now())
	rows, err := s.s.Query(args) //nolint:staticcheck // the driver's own fallback
	if err != nil {
		return nil, err
	}
	return timedRows{rows, s.t}, nil
}

type timedRows struct {
	r driver.Rows
	t *timer
}

func (r timedRows) Columns() []string { return r.r.Columns() }
func (r timedRows) Close() error      { defer r.t.since(time.Now()); return r.r.Close() }
func (r timedRows) Next(dest []driver.Value) error {
	defer r.t.since(time.Now())
	return r.r.Next(dest)
}

type timedTx struct {
	tx driver.Tx
	t  *timer
}

func (tx timedTx) Commit() error   { defer tx.t.since(time.Now()); return tx.tx.Commit() }
func (tx timedTx) Rollback() error { defer tx.t.since(time.Now()); return tx.tx.Rollback() }

// median returns the middle value of xs (xs is reordered).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 1 {
		return xs[n/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}
