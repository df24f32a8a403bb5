package postgres_test

// BenchmarkRefreshSweep: integration.Service.RefreshDue over 10k and 50k
// (and, with SIKKA_BENCH_SWEEP_100K=1, 100k) due records in PostgreSQL,
// refreshed against the in-process mock Sikka with the service's bounded
// concurrency (the defaults: 4 at once, pages of 500), with the connection
// pool as postgres.Open returns it (10k only) and with 8 idle connections
// kept. Run it once per size:
//
//	go test -run '^$' -bench BenchmarkRefreshSweep -benchtime 1x ./integration/postgres/
//
// (scripts/bench.sh does). Reported per size, besides the sweep's wall time
// (ns/op):
//
//	µs/key        wall time per refreshed key: flat as the count grows means
//	              a linear total
//	cpu-µs/key    this process's CPU (getrusage: sweep, Sikka client, mock,
//	              secret store; PostgreSQL's own processes are not counted)
//	sweep-heap-MB the highest live heap (as marked by a GC during the sweep)
//	              above the live heap before it: flat means no loading of
//	              every record at once
//	peak-heap-MB  that highest live heap itself (it holds the N keys the
//	              mock and the secret store keep: linear by construction)
//	setup-mint-s  minting N keys at the mock and writing N secrets, and
//	setup-copy-s  writing N records with COPY: not part of the sweep
//
// It skips without SIKKA_TEST_DATABASE_URL.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/sikka"
)

func BenchmarkRefreshSweep(b *testing.B) {
	// pool=default: the *sqlx.DB as postgres.Open returns it (database/sql
	// keeps 2 idle connections); one size only, to show the cost.
	b.Run("pool=default/keys=10000", func(b *testing.B) { benchSweep(b, 10_000, 0) })
	// pool=idle8: the host keeps as many idle connections as a sweep uses
	// (SweepConcurrency × a lock session and a query connection).
	sizes := []int{10_000, 50_000}
	if os.Getenv("SIKKA_BENCH_SWEEP_100K") == "1" {
		sizes = append(sizes, 100_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("pool=idle8/keys=%d", n), func(b *testing.B) {
			benchSweep(b, n, 2*integration.DefaultSweepConcurrency)
		})
	}
}

// benchSweep sweeps n due records; idle > 0 sets the pool's idle connections.
func benchSweep(b *testing.B, n, idle int) {
	ctx := context.Background()
	url := pgtest.URL(b) // skips without SIKKA_TEST_DATABASE_URL
	repo, db, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if idle > 0 {
		db.SetMaxIdleConns(idle)
	}

	mock := mocksikka.New()
	srv := httptest.NewServer(mock)
	defer srv.Close()
	// The sweep's SweepConcurrency connections stay open between refreshes
	// (http.DefaultTransport keeps 2 idle per host: see docs/BENCHMARKS.md).
	tr := &http.Transport{MaxIdleConnsPerHost: integration.DefaultSweepConcurrency}
	defer tr.CloseIdleConnections()
	client := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL),
		sikka.WithHTTPClient(&http.Client{Transport: tr}))
	secrets := newLatestStore()
	svc, err := integration.NewService(integration.Config{
		Sikka: client, Secrets: secrets, Records: repo,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}

	mint, copyIn := sweepSetup(b, ctx, db, mock, secrets, n)

	var cpu, wall time.Duration
	var sweepHeap, peakHeap uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 {
			b.StopTimer()
			sweepMakeDue(b, ctx, db, secrets)
			b.StartTimer()
		}
		b.StopTimer()
		runtime.GC()
		base := liveHeap()
		peak := &heapPeak{}
		stop := peak.watch()
		cpu0 := processCPU()
		b.StartTimer()

		start := time.Now()
		res, err := svc.RefreshDue(ctx)
		wall += time.Since(start)

		b.StopTimer()
		cpu += processCPU() - cpu0
		stop()
		if err != nil {
			b.Fatal(err)
		}
		if res.Refreshed != n || res.Failed != 0 {
			b.Fatalf("sweep of %d: %+v", n, res)
		}
		if p := peak.max.Load(); p > base {
			sweepHeap = max(sweepHeap, p-base)
		}
		peakHeap = max(peakHeap, peak.max.Load())
		b.StartTimer()
	}
	keys := float64(n) * float64(b.N)
	b.ReportMetric(float64(wall.Microseconds())/keys, "µs/key")
	b.ReportMetric(float64(cpu.Microseconds())/keys, "cpu-µs/key")
	b.ReportMetric(float64(sweepHeap)/(1<<20), "sweep-heap-MB")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(mint.Seconds(), "setup-mint-s")
	b.ReportMetric(copyIn.Seconds(), "setup-copy-s")
}

// sweepSetup mints n key pairs at the mock (its request_key grant, in
// process: no network), writes n ACTIVE records due within the refresh
// margin with COPY, and n secrets holding those keys.
// It returns how long the minting (with the secrets) and the COPY took.
func sweepSetup(b *testing.B, ctx context.Context, db *sqlx.DB, mock *mocksikka.Server, secrets *latestStore, n int) (mint, copyIn time.Duration) {
	start := time.Now()
	body := fmt.Sprintf(`{"grant_type":"request_key","office_id":%q,"secret_key":%q,"app_id":%q,"app_key":%q}`,
		mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey, mocksikka.DefaultAppID, mocksikka.DefaultAppKey)
	due := time.Now().Add(30 * time.Minute).UTC() // within the default 1h margin
	for i := range n {
		req := httptest.NewRequest(http.MethodPost, "/v4/request_key", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mock.ServeHTTP(rec, req)
		var k struct {
			RequestKey string `json:"request_key"`
			RefreshKey string `json:"refresh_key"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &k); err != nil || k.RefreshKey == "" {
			b.Fatalf("mint key %d: %d %s", i, rec.Code, rec.Body)
		}
		acct := sweepAccount(i)
		name, err := secretstore.DefaultNameTemplate.Name(acct)
		if err != nil {
			b.Fatal(err)
		}
		secrets.fill(name, secretstore.Credentials{
			OfficeID: sweepOffice(i), SecretKey: "unused", RequestKey: k.RequestKey, RefreshKey: k.RefreshKey,
			TokenExpiry: due, PracticeName: "Bench practice", PracticeID: "1", PMSType: "Dentrix",
		})
	}

	mint = time.Since(start)
	start = time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(pq.CopyIn("pms_integrations", "account_id", "provider", "status", "office_id",
		"secret_ref", "practice_name", "pms_type", "practice_id", "key_expiry", "connected_at"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range n {
		acct := sweepAccount(i)
		name, _ := secretstore.DefaultNameTemplate.Name(acct)
		if _, err := stmt.Exec(acct, string(integration.ProviderSikka), string(integration.StatusActive), sweepOffice(i),
			name, "Bench practice", "Dentrix", "1", due, now); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := stmt.Exec(); err != nil {
		b.Fatal(err)
	}
	if err := stmt.Close(); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE pms_integrations"); err != nil {
		b.Fatal(err)
	}
	return mint, time.Since(start)
}

// sweepMakeDue makes every record and secret due again (for b.N > 1).
func sweepMakeDue(b *testing.B, ctx context.Context, db *sqlx.DB, secrets *latestStore) {
	due := time.Now().Add(30 * time.Minute).UTC()
	if _, err := db.ExecContext(ctx, "UPDATE pms_integrations SET key_expiry = $1", due); err != nil {
		b.Fatal(err)
	}
	secrets.mu.Lock()
	for _, e := range secrets.m {
		e.creds.TokenExpiry = due
	}
	secrets.mu.Unlock()
}

func sweepAccount(i int) string { return fmt.Sprintf("acct-%07d", i) }
func sweepOffice(i int) string  { return fmt.Sprintf("B%07d", i) }

// latestStore is a secret store that keeps only the current version of
// each secret (secretstore/memory keeps every version, which would grow by
// one per refresh and hide the sweep's own memory). Refs are names.
type latestStore struct {
	mu  sync.Mutex
	m   map[string]*latestEntry
	seq uint64
}

type latestEntry struct {
	version string
	creds   secretstore.Credentials
}

func newLatestStore() *latestStore { return &latestStore{m: map[string]*latestEntry{}} }

func (s *latestStore) fill(name string, c secretstore.Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.m[name] = &latestEntry{version: fmt.Sprint(s.seq), creds: c}
}

func (s *latestStore) Put(_ context.Context, name string, c secretstore.Credentials, opts ...secretstore.PutOption) (secretstore.Receipt, error) {
	o := secretstore.NewPutOptions(opts...)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[name]
	prev := ""
	if e != nil {
		prev = e.version
	}
	if o.CheckVersion && o.IfVersion != prev {
		return secretstore.Receipt{}, secretstore.ErrVersionConflict
	}
	s.seq++
	s.m[name] = &latestEntry{version: fmt.Sprint(s.seq), creds: c}
	return secretstore.Receipt{Ref: name, Version: s.m[name].version, Previous: prev}, nil
}

func (s *latestStore) Get(_ context.Context, nameOrRef string) (secretstore.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[nameOrRef]
	if e == nil {
		return secretstore.Secret{}, secretstore.ErrNotFound
	}
	return secretstore.Secret{Ref: nameOrRef, Version: e.version, Credentials: e.creds}, nil
}

func (s *latestStore) Delete(_ context.Context, nameOrRef string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[nameOrRef] == nil {
		return secretstore.ErrNotFound
	}
	delete(s.m, nameOrRef)
	return nil
}

func (s *latestStore) Restore(context.Context, string, string) error {
	return secretstore.ErrNotFound // versions are not kept; the sweep never restores
}

// liveHeap is the heap memory the last GC found live (runtime/metrics
// /gc/heap/live:bytes): garbage not yet collected does not count, so a
// sweep holding every record at once would show, and a bigger baseline
// (the N keys the mock and the store hold) raising the GC's target does not.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapPeak samples the heap every 5ms until stopped, keeping the highest.
type heapPeak struct{ max atomic.Uint64 }

func (p *heapPeak) watch() (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if h := liveHeap(); h > p.max.Load() {
				p.max.Store(h)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// processCPU is this process's user + system CPU time (getrusage).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
