// Package pgnonce is a middleware.NonceStore in PostgreSQL (sqlx + lib/pq),
// so that replicas sharing a database share the nonces of connect-flow
// states: a state minted by one replica is accepted once, by any of them.
//
// The table, sikka_state_nonces, is part of the project's one schema,
// applied by integration/postgres.Migrate; New runs Migrate (safe on every
// start of every replica). Only a SHA-256 of each nonce (and of its account
// id) is stored. An account holds at most Store.MaxPerAccount unexpired
// nonces: a Save past that fails with middleware.ErrTooManyFlows.
package pgnonce

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/middleware"
)

// Store keeps nonces in the table sikka_state_nonces. Safe for concurrent
// use, by any number of processes sharing the database.
type Store struct {
	// MaxPerAccount is how many unexpired nonces one account may hold; New
	// sets middleware.DefaultMaxFlowsPerAccount. Concurrent Saves of one
	// account may each see room, so the bound holds to within the number of
	// starts of that account running at the same instant.
	MaxPerAccount int

	db        *sqlx.DB
	lastSweep atomic.Int64 // unix nanoseconds of the last sweep by this Store
}

var _ middleware.NonceStore = (*Store)(nil)

// New applies the migrations (integration/postgres.Migrate) to db and returns
// a Store on it.
func New(ctx context.Context, db *sqlx.DB) (*Store, error) {
	if err := postgres.Migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("pgnonce: %w", err)
	}
	return &Store{db: db, MaxPerAccount: middleware.DefaultMaxFlowsPerAccount}, nil
}

func hash(nonce string) []byte {
	sum := sha256.Sum256([]byte(nonce))
	return sum[:]
}

// Save implements middleware.NonceStore in one statement that inserts only
// while the account holds fewer than MaxPerAccount unexpired nonces. At most
// every middleware.DefaultCleanupInterval per Store, it first runs Cleanup.
func (s *Store) Save(ctx context.Context, accountID, nonce string, expires time.Time) error {
	now := time.Now().UnixNano()
	if last := s.lastSweep.Load(); now-last >= int64(middleware.DefaultCleanupInterval) && s.lastSweep.CompareAndSwap(last, now) {
		if _, err := s.Cleanup(ctx); err != nil {
			return err
		}
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO sikka_state_nonces (nonce_hash, account_hash, expires_at)
SELECT $1, $2, $3
WHERE (SELECT count(*) FROM sikka_state_nonces WHERE account_hash = $2 AND expires_at > now()) < $4`,
		hash(nonce), hash(accountID), expires.UTC(), s.MaxPerAccount)
	if err != nil {
		return fmt.Errorf("pgnonce: save: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("pgnonce: save: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: the account has %d unfinished flows", middleware.ErrTooManyFlows, s.MaxPerAccount)
	}
	return nil
}

// Consume implements middleware.NonceStore with one DELETE … RETURNING, so
// that of concurrent callers in any process at most one finds the row.
func (s *Store) Consume(ctx context.Context, nonce string) (bool, error) {
	var one int
	err := s.db.QueryRowxContext(ctx, "DELETE FROM sikka_state_nonces WHERE nonce_hash = $1 RETURNING 1", hash(nonce)).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("pgnonce: consume: %w", err)
	}
	return true, nil
}

// Cleanup removes the nonces that expired, on the database's clock, more
// than middleware.DefaultCleanupInterval ago, and returns how many. Save
// calls it; a host may also run it from a job.
func (s *Store) Cleanup(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM sikka_state_nonces WHERE expires_at < now() - $1::interval",
		fmt.Sprintf("%d seconds", int(middleware.DefaultCleanupInterval/time.Second)))
	if err != nil {
		return 0, fmt.Errorf("pgnonce: cleanup: %w", err)
	}
	return res.RowsAffected()
}
