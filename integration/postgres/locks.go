// Account locks (integration.AccountLocker): session-level advisory locks.

package postgres

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// LockAccount implements integration.Repository with a session-level
// advisory lock held on a connection of its own until unlock, so a process
// that dies releases its locks with its sessions. Waiting polls
// pg_try_advisory_lock (a waiter holds no connection between tries).
func (p *Repository) LockAccount(ctx context.Context, accountID string) (func(), error) {
	wait := lockPollMin
	for {
		unlock, ok, err := p.TryLockAccount(ctx, accountID)
		if err != nil || ok {
			return unlock, err
		}
		timer := time.NewTimer(wait + time.Duration(rand.Int64N(int64(wait))))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("postgres: lock account: %w", ctx.Err())
		case <-timer.C:
		}
		wait = min(2*wait, lockPollMax)
	}
}

// How often LockAccount tries again while another holder has the lock.
const (
	lockPollMin = 2 * time.Millisecond
	lockPollMax = 100 * time.Millisecond
)

// TryLockAccount implements integration.Repository.
//
// Every holder keeps a connection and needs another for its writes, so when
// the pool is bounded (sql.DB.SetMaxOpenConns) at most half of it holds
// locks at once: a holder can always write, and the rest wait (reported as
// not granted here) instead of deadlocking on the pool.
func (p *Repository) TryLockAccount(ctx context.Context, accountID string) (func(), bool, error) {
	if !p.takeHolderSlot() {
		return nil, false, ctx.Err()
	}
	conn, err := p.db.Connx(ctx)
	if err != nil {
		p.holders.Add(-1)
		return nil, false, fmt.Errorf("postgres: lock account: %w", err)
	}
	var ok bool
	err = conn.GetContext(ctx, &ok, "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || '/' || $2))", accountLockNamespace, accountID)
	if err != nil || !ok {
		if err != nil {
			discard(conn) // a cancelled call may still have been granted: never reuse this session
			err = fmt.Errorf("postgres: lock account: %w", err)
		} else {
			conn.Close()
		}
		p.holders.Add(-1)
		return nil, false, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			defer p.holders.Add(-1)
			_, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1, hashtext(current_schema() || '/' || $2))", accountLockNamespace, accountID)
			if err != nil {
				discard(conn)
				return
			}
			conn.Close()
		})
	}, true, nil
}

// takeHolderSlot counts a new lock holder, unless a bounded pool already
// has half its connections holding locks.
func (p *Repository) takeHolderSlot() bool {
	for {
		n := p.holders.Load()
		if limit := int64(p.db.Stats().MaxOpenConnections); limit > 0 && n >= max(1, limit/2) {
			return false
		}
		if p.holders.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// discard closes the connection's session instead of returning it to the
// pool, which releases any advisory lock it might hold.
func discard(conn *sqlx.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // ErrBadConn is the point
	conn.Close()
}
