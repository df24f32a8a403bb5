package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// The nonces of connect-flow states live in sikka_state_nonces (migrations
// 0002 and 0005). Only a SHA-256 of each nonce (and of its account id) is
// stored.

func hash(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// Save implements integration.NonceStore in one statement that inserts only
// while the account holds fewer than MaxFlowsPerAccount unexpired nonces
// (concurrent Saves of one account may each see room, so the bound holds to
// within the number of starts of that account running at the same instant).
// At most every integration.DefaultCleanupInterval per Repository, it first
// runs CleanupNonces.
func (p *Repository) Save(ctx context.Context, accountID, nonce string, expires time.Time) error {
	now := time.Now().UnixNano()
	if last := p.lastSweep.Load(); now-last >= int64(integration.DefaultCleanupInterval) && p.lastSweep.CompareAndSwap(last, now) {
		if _, err := p.CleanupNonces(ctx); err != nil {
			return err
		}
	}
	res, err := p.db.ExecContext(ctx, `INSERT INTO sikka_state_nonces (nonce_hash, account_hash, expires_at)
SELECT $1, $2, $3
WHERE (SELECT count(*) FROM sikka_state_nonces WHERE account_hash = $2 AND expires_at > now()) < $4`,
		hash(nonce), hash(accountID), expires.UTC(), p.MaxFlowsPerAccount)
	if err != nil {
		return fmt.Errorf("postgres: save nonce: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("postgres: save nonce: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: the account has %d unfinished flows", integration.ErrTooManyFlows, p.MaxFlowsPerAccount)
	}
	return nil
}

// Consume implements integration.NonceStore with one DELETE … RETURNING, so
// that of concurrent callers in any process at most one finds the row.
func (p *Repository) Consume(ctx context.Context, nonce string) (bool, error) {
	var one int
	err := p.db.QueryRowxContext(ctx, "DELETE FROM sikka_state_nonces WHERE nonce_hash = $1 RETURNING 1", hash(nonce)).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("postgres: consume nonce: %w", err)
	}
	return true, nil
}

// CleanupNonces removes the nonces that expired, on the database's clock,
// more than integration.DefaultCleanupInterval ago, and returns how many.
// Save calls it; a host may also run it from a job.
func (p *Repository) CleanupNonces(ctx context.Context) (int64, error) {
	res, err := p.db.ExecContext(ctx, "DELETE FROM sikka_state_nonces WHERE expires_at < now() - $1::interval",
		fmt.Sprintf("%d seconds", int(integration.DefaultCleanupInterval/time.Second)))
	if err != nil {
		return 0, fmt.Errorf("postgres: clean up nonces: %w", err)
	}
	return res.RowsAffected()
}
