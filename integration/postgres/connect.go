package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parlae/sikka-connect/integration"
)

var _ integration.ConnectBeginner = (*Repository)(nil)

// BeginConnect implements integration.ConnectBeginner in one statement per
// try: it takes the account's advisory lock (on a connection of its own,
// as LockAccount) and, only if the lock was granted, no marker of the
// account is left and no other account holds the office ACTIVE, inserts the
// marker. A callback's database work is then three round trips: the nonce,
// this, and Complete (which also releases the lock).
//
// The statement reads with the snapshot taken when it began, before the
// lock: it may still see a marker that a flow which just finished has
// deleted (the caller then takes the slower path: recover, which finds
// nothing to claim, and InsertPending), and the office check may miss a
// record committed at that instant (the unique index still refuses it at
// Complete, as before).
func (p *Repository) BeginConnect(ctx context.Context, f integration.PendingFlow) (integration.ConnectLock, bool, error) {
	if f.Provider == "" {
		f.Provider = integration.ProviderSikka
	}
	wait := lockPollMin
	for {
		lock, started, granted, err := p.tryBeginConnect(ctx, f)
		if err != nil || granted {
			return lock, started, err
		}
		timer := time.NewTimer(wait + time.Duration(rand.Int64N(int64(wait))))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, false, fmt.Errorf("postgres: lock account: %w", ctx.Err())
		case <-timer.C:
		}
		wait = min(2*wait, lockPollMax)
	}
}

// beginConnectQuery: $1 lock namespace, $2 account, $3 provider, $4 office,
// $5 flow id, $6 secret name, $7 previous version, $8 started at, $9 key
// hash. The lock is taken once (a MATERIALIZED CTE of a volatile function)
// and the marker inserted only under it.
const beginConnectQuery = `WITH lock AS MATERIALIZED (
		SELECT pg_try_advisory_lock($1, hashtext(current_schema() || '/' || $2)) AS ok),
	left_marker AS (
		SELECT 1 FROM pms_pending_flows WHERE account_id = $2 AND provider = $3),
	holder AS (
		SELECT 1 FROM pms_integrations
		WHERE provider = $3 AND office_id = $4 AND status = 'ACTIVE' AND account_id <> $2),
	marker AS (
		INSERT INTO pms_pending_flows
			(flow_id, account_id, provider, office_id, secret_name, prev_version, started_at, key_hash)
		SELECT $5::text, $2::text, $3::text, $4::text, $6::text, $7::text, $8::timestamptz, $9::text FROM lock
		WHERE lock.ok AND NOT EXISTS (SELECT 1 FROM left_marker) AND NOT EXISTS (SELECT 1 FROM holder)
		ON CONFLICT DO NOTHING
		RETURNING 1)
	SELECT lock.ok AS granted,
		EXISTS (SELECT 1 FROM holder) AS office_taken,
		EXISTS (SELECT 1 FROM marker) AS started
	FROM lock`

// tryBeginConnect runs beginConnectQuery once; granted is false when
// another holder has the lock (nothing was done, nothing is held).
func (p *Repository) tryBeginConnect(ctx context.Context, f integration.PendingFlow) (lock integration.ConnectLock, started, granted bool, err error) {
	if !p.takeHolderSlot() {
		return nil, false, false, ctx.Err()
	}
	conn, err := p.db.Connx(ctx)
	if err != nil {
		p.holders.Add(-1)
		return nil, false, false, fmt.Errorf("postgres: lock account: %w", err)
	}
	var res struct {
		Granted     bool `db:"granted"`
		OfficeTaken bool `db:"office_taken"`
		Started     bool `db:"started"`
	}
	err = conn.GetContext(ctx, &res, beginConnectQuery, accountLockNamespace, f.AccountID, f.Provider, f.OfficeID,
		f.FlowID, f.SecretName, f.PrevVersion, f.StartedAt.UTC(), f.KeyHash)
	if err != nil {
		discard(conn) // a failed or cancelled call may still hold the lock: end the session
		p.holders.Add(-1)
		return nil, false, false, fmt.Errorf("postgres: begin connect: %w", err)
	}
	if !res.Granted {
		conn.Close()
		p.holders.Add(-1)
		return nil, false, false, nil
	}
	l := &connectLock{p: p, conn: conn, accountID: f.AccountID}
	if res.OfficeTaken {
		l.Unlock()
		return nil, false, true, integration.ErrAlreadyConnected
	}
	return l, res.Started, true, nil
}

// connectLock holds the account's advisory lock on conn.
type connectLock struct {
	p         *Repository
	conn      *sqlx.Conn
	accountID string
	once      sync.Once
}

// completeQuery is CompletePending's statement, run on the lock's
// connection, that also releases the lock once the record is written (the
// unlock is evaluated for the row the insert returns, so after the writes;
// a waiter that takes the lock before this statement commits finds the
// marker's row locked by it and waits).
const completeQuery = `WITH done AS (
		DELETE FROM pms_pending_flows WHERE flow_id = $11 AND claimed_at IS NULL RETURNING flow_id),
	written AS (
		INSERT INTO pms_integrations ` + upsertColumns + `
		SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
			$9::timestamptz, $10::timestamptz FROM done ` + upsertConflict + `)
	SELECT written.*, pg_advisory_unlock($12, hashtext(current_schema() || '/' || $13)) AS unlocked
	FROM written`

// Complete implements integration.ConnectLock.
func (l *connectLock) Complete(ctx context.Context, flowID string, r integration.Record) (integration.Record, error) {
	if err := r.Validate(); err != nil {
		return integration.Record{}, err
	}
	var out struct {
		integration.Record
		Unlocked bool `db:"unlocked"`
	}
	args := append(recordArgs(r), flowID, accountLockNamespace, l.accountID)
	err := l.conn.GetContext(ctx, &out, completeQuery, args...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return integration.Record{}, integration.ErrFlowLost
	case err != nil:
		return integration.Record{}, mapWriteError("complete pending connect", err)
	}
	if out.Unlocked {
		l.once.Do(l.release)
	} else {
		l.Unlock()
	}
	return normalize(out.Record), nil
}

// Unlock implements integration.ConnectLock.
func (l *connectLock) Unlock() {
	l.once.Do(func() {
		_, err := l.conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1, hashtext(current_schema() || '/' || $2))",
			accountLockNamespace, l.accountID)
		if err != nil {
			discard(l.conn)
			l.p.holders.Add(-1)
			return
		}
		l.release()
	})
}

// release returns the connection of an unlocked lock to the pool.
func (l *connectLock) release() {
	l.conn.Close()
	l.p.holders.Add(-1)
}
