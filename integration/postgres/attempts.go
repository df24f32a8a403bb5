package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// The counts of ownership proofs live in pms_connect_attempts (migration
// 0007): a row per account and per office, keyed by a SHA-256 of the scope
// and id, holding the attempts counted as "<unix microseconds> <id>".

func accountSubject(id string) []byte { return hash("account:" + id) }
func officeSubject(id string) []byte  { return hash("office:" + id) }

// attemptEntry is how a is written in a row's attempts.
func attemptEntry(a integration.Attempt) string { return fmt.Sprintf("%d %s", a.At.UnixMicro(), a.ID) }

// live keeps the entries of column made after $3 (unix microseconds).
func live(column string) string {
	return `ARRAY(SELECT e FROM unnest(` + column + `) e WHERE split_part(e, ' ', 1)::bigint > $3)`
}

// liveCount counts them.
func liveCount(column string) string {
	return `(SELECT count(*) FROM unnest(` + column + `) e WHERE split_part(e, ' ', 1)::bigint > $3)`
}

// reserveAttempt counts $4 in both rows, or in neither, in one statement:
// the account's row is locked first (FOR UPDATE, which reads its latest
// version), the office's row is updated only if both have room (its own
// room rechecked on its latest version), and then the account's. Every
// statement of this file locks an account's row before an office's, so
// concurrent reservations queue on the rows rather than deadlock.
var reserveAttempt = `WITH acct AS (
	SELECT attempts FROM pms_connect_attempts WHERE subject = $1 FOR UPDATE
), office AS (
	UPDATE pms_connect_attempts o SET attempts = ` + live("o.attempts") + ` || $4::text
	WHERE o.subject = $2 AND ` + liveCount("o.attempts") + ` < $5
	  AND EXISTS (SELECT 1 FROM acct)
	  AND (SELECT count(*) FROM acct, unnest(acct.attempts) e WHERE split_part(e, ' ', 1)::bigint > $3) < $5
	RETURNING 1
)
UPDATE pms_connect_attempts a SET attempts = ` + live("a.attempts") + ` || $4::text
WHERE a.subject = $1 AND EXISTS (SELECT 1 FROM office)
RETURNING 1`

// ReserveAttempt implements integration.AttemptStore: one statement makes
// sure both rows exist (and marks them used), and one counts the attempt in
// both or neither (see reserveAttempt), so the limit holds across every
// process sharing the database. At most every
// integration.DefaultCleanupInterval per Repository, it first removes the
// rows untouched since an hour before the window.
func (p *Repository) ReserveAttempt(ctx context.Context, a integration.Attempt, since time.Time, limit int) (bool, error) {
	now := a.At.UnixMicro()
	if last := p.lastAttemptSweep.Load(); now-last >= integration.DefaultCleanupInterval.Microseconds() && p.lastAttemptSweep.CompareAndSwap(last, now) {
		if err := p.cleanupAttempts(ctx, since.Add(-time.Hour)); err != nil {
			return false, err
		}
	}
	acct, office := accountSubject(a.AccountID), officeSubject(a.OfficeID)
	if _, err := p.db.ExecContext(ctx, `INSERT INTO pms_connect_attempts (subject, touched_at) VALUES ($1, $3), ($2, $3)
		ON CONFLICT (subject) DO UPDATE SET touched_at = greatest(pms_connect_attempts.touched_at, EXCLUDED.touched_at)`,
		acct, office, a.At.UTC()); err != nil {
		return false, fmt.Errorf("postgres: count attempt: %w", err)
	}
	var one int
	err := p.db.QueryRowxContext(ctx, reserveAttempt, acct, office, since.UnixMicro(), attemptEntry(a), limit).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("postgres: count attempt: %w", err)
	}
	return true, nil
}

// ReleaseAttempt implements integration.AttemptStore, the account's row
// first, then the office's (one row per statement).
func (p *Repository) ReleaseAttempt(ctx context.Context, a integration.Attempt) error {
	for _, subject := range [][]byte{accountSubject(a.AccountID), officeSubject(a.OfficeID)} {
		if _, err := p.db.ExecContext(ctx, `UPDATE pms_connect_attempts SET attempts = array_remove(attempts, $2)
			WHERE subject = $1`, subject, attemptEntry(a)); err != nil {
			return fmt.Errorf("postgres: uncount attempt: %w", err)
		}
	}
	return nil
}

// cleanupAttempts removes the rows untouched since before cutoff, skipping
// any row a reservation holds (so it never waits on one).
func (p *Repository) cleanupAttempts(ctx context.Context, cutoff time.Time) error {
	_, err := p.db.ExecContext(ctx, `DELETE FROM pms_connect_attempts WHERE subject IN (
		SELECT subject FROM pms_connect_attempts WHERE touched_at < $1 FOR UPDATE SKIP LOCKED)`, cutoff.UTC())
	if err != nil {
		return fmt.Errorf("postgres: clean up attempts: %w", err)
	}
	return nil
}
