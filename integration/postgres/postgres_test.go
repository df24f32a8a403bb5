package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, as "pgx"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/integrationtest"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/pgtest"
)

// Every role's contract; each instance of a test has its own pool on the
// test's schema, as replicas would.
func TestRepositoryContract(t *testing.T) {
	integrationtest.Run(t, func(t *testing.T) func() integration.Repository {
		url := pgtest.URL(t)
		return func() integration.Repository {
			repo, db, err := postgres.Open(context.Background(), url)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			return repo
		}
	})
}

// Several replicas starting at once all migrate; the schema ends up applied once.
func TestMigrateConcurrentReplicas(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, db, err := postgres.Open(context.Background(), url)
			if assert.NoError(t, err) {
				db.Close()
			}
		}()
	}
	wg.Wait()

	_, db, err := postgres.Open(context.Background(), url)
	require.NoError(t, err)
	defer db.Close()
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	var n int
	require.NoError(t, db.Get(&n, "SELECT count(*) FROM sikka_connect_migrations"))
	assert.Equal(t, len(files), n, "each migration applied exactly once")
}

// Locks exclude across separate connection pools, as they would across processes.
func TestLockAcrossPools(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	a, dbA, err := postgres.Open(ctx, url)
	require.NoError(t, err)
	defer dbA.Close()
	b, dbB, err := postgres.Open(ctx, url)
	require.NoError(t, err)
	defer dbB.Close()

	unlock, err := a.LockAccount(ctx, "acct-1")
	require.NoError(t, err)
	_, ok, err := b.TryLockAccount(ctx, "acct-1")
	require.NoError(t, err)
	assert.False(t, ok)
	unlock()
	u2, ok, err := b.TryLockAccount(ctx, "acct-1")
	require.NoError(t, err)
	assert.True(t, ok)
	u2()
}

func TestOpenReportsUnreachableDatabase(t *testing.T) {
	_, _, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is PostgreSQL running")
}

// A host that bounds its pool must not deadlock: every lock holder also needs
// a connection for its writes, so holders never take the whole pool.
func TestLocksLeaveRoomInABoundedPool(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	repo, db, err := postgres.Open(ctx, pgtest.URL(t))
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(2)

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acct := fmt.Sprintf("acct-%d", i)
			unlock, err := repo.LockAccount(ctx, acct)
			if err != nil {
				errs <- err
				return
			}
			defer unlock()
			time.Sleep(20 * time.Millisecond) // hold it while others queue
			_, err = repo.Upsert(ctx, integrationtest.Record(acct, "D"+acct))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// A server that accepts connections and never answers (a frozen or
// blackholed PostgreSQL) is an error after the I/O timeout, whatever the
// caller's context says.
func TestOpenGivesUpOnASilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	begin := time.Now()
	_, _, err = postgres.Open(context.Background(), "postgres://u@"+ln.Addr().String()+"/db?sslmode=disable",
		postgres.WithIOTimeout(300*time.Millisecond))
	require.Error(t, err)
	assert.Less(t, time.Since(begin), 10*time.Second, "gave up after the I/O timeout")
}

// openPgx returns a repository on a fresh schema through pgx's database/sql
// driver (wrapped by sqlx), as a host that uses pgx would build it.
func openPgx(t *testing.T, url string) *postgres.Repository {
	t.Helper()
	sqlDB, err := sql.Open("pgx", url)
	require.NoError(t, err)
	db := sqlx.NewDb(sqlDB, "pgx")
	t.Cleanup(func() { db.Close() })
	require.NoError(t, postgres.Migrate(context.Background(), db))
	return postgres.New(db)
}

// The contract holds on pgx too: above all, a practice taken by another
// account is ErrAlreadyConnected (pgx reports the unique violation with its
// own error type).
func TestRepositoryContractPgx(t *testing.T) {
	integrationtest.Run(t, func(t *testing.T) func() integration.Repository {
		url := pgtest.URL(t)
		return func() integration.Repository { return openPgx(t, url) }
	})
}

// Through pgx, the record write of a connect that lost the race for a
// practice (the early check passed, the unique index decides) is
// ErrAlreadyConnected and leaves the loser's marker for the undo.
func TestAlreadyConnectedRacePgx(t *testing.T) {
	ctx := context.Background()
	repo := openPgx(t, pgtest.URL(t))
	now := time.Now()
	require.NoError(t, repo.InsertPending(ctx, integrationtest.Pending("acct-a", "flow-a", now)))
	require.NoError(t, repo.InsertPending(ctx, integrationtest.Pending("acct-b", "flow-b", now)))
	_, err := repo.CompletePending(ctx, "flow-a", integrationtest.Record("acct-a", "D36225"))
	require.NoError(t, err)
	_, err = repo.CompletePending(ctx, "flow-b", integrationtest.Record("acct-b", "D36225"))
	assert.ErrorIs(t, err, integration.ErrAlreadyConnected)
	_, err = repo.GetPending(ctx, "acct-b")
	assert.NoError(t, err, "the loser's marker stays")

	parked := integrationtest.Record("acct-c", "D36225")
	parked.Status = integration.StatusNeedsReauth
	_, err = repo.Upsert(ctx, parked)
	require.NoError(t, err)
	assert.ErrorIs(t, repo.SetStatus(ctx, "acct-c", integration.StatusActive), integration.ErrAlreadyConnected)
}

// The exported migrations are exactly the files Migrate applies, byte for
// byte, and a schema built from them by a host's own runner (here: each file
// executed in version order, no bookkeeping of ours) serves New as well as
// Migrate's does.
func TestExportedMigrationsAreTheAppliedOnes(t *testing.T) {
	ctx := context.Background()
	exported, err := fs.Glob(postgres.Migrations(), "*")
	require.NoError(t, err)
	sort.Strings(exported)
	onDisk, err := filepath.Glob("migrations/*")
	require.NoError(t, err)
	require.Len(t, exported, len(onDisk), "every file of migrations/ is exported, nothing else")
	for i, name := range exported {
		assert.Equal(t, filepath.Base(onDisk[i]), name)
		got, err := fs.ReadFile(postgres.Migrations(), name)
		require.NoError(t, err)
		want, err := os.ReadFile(onDisk[i])
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), name)
	}

	db := pgtest.DB(t)
	require.NoError(t, postgres.Migrate(ctx, db))
	var applied []string
	require.NoError(t, db.Select(&applied, "SELECT name FROM sikka_connect_migrations ORDER BY version"))
	assert.Equal(t, exported, applied, "Migrate applies exactly the exported files, in order")

	// A host's own runner.
	url := pgtest.URL(t)
	own, err := sqlx.Open("postgres", url)
	require.NoError(t, err)
	t.Cleanup(func() { own.Close() })
	for _, name := range exported {
		body, err := fs.ReadFile(postgres.Migrations(), name)
		require.NoError(t, err)
		_, err = own.ExecContext(ctx, string(body))
		require.NoError(t, err, name)
	}
	integrationtest.Run(t, func(t *testing.T) func() integration.Repository {
		// Each subtest empties the host-migrated schema rather than making
		// another, so the files above are the only schema there is.
		_, err := own.ExecContext(ctx, "TRUNCATE pms_integrations, pms_pending_flows, sikka_state_nonces, pms_connect_attempts")
		require.NoError(t, err)
		return func() integration.Repository { return postgres.New(own) }
	})
	var bookkeeping bool
	require.NoError(t, own.Get(&bookkeeping, "SELECT to_regclass('sikka_connect_migrations') IS NOT NULL"))
	assert.False(t, bookkeeping, "New never migrates")
}
