// Package postgres is the integration.Repository on PostgreSQL (sqlx +
// lib/pq; New also takes a sqlx pool on another driver, such as pgx's
// stdlib): everything the integration stores in PostgreSQL is here. Records
// live in the table pms_integrations; markers of connects in progress
// (integration.PendingFlow) in pms_pending_flows; the nonces of connect-flow
// states in sikka_state_nonces (nonces.go); the counts of ownership proofs
// in pms_connect_attempts (attempts.go). Locks are PostgreSQL advisory
// locks keyed by schema and account, so they exclude holders in every process
// sharing the database and schema.
//
// # The schema
//
// The schema comes from the migrations embedded in this package, and one
// rule says who applies them:
//
//   - New never touches the schema: the migrations must have been applied
//     to its database and schema before its first call.
//   - Open connects, applies them (Migrate) and calls New.
//   - Migrate applies the ones not yet applied; it is safe on every start of
//     every replica, concurrently.
//
// A host that runs its migrations with a tool of its own (goose,
// golang-migrate…) takes the files from Migrations, applies them in version
// order with that tool, and then uses New, never Open or Migrate (which keep
// their own bookkeeping table, sikka_connect_migrations, and would apply the
// files a second time).
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parlae/sikka-connect/integration"
)

// Repository stores integration records, markers, locks and nonces in
// PostgreSQL. Safe for concurrent use, by any number of processes sharing the
// database and schema.
type Repository struct {
	// MaxFlowsPerAccount is how many unexpired nonces one account may hold
	// (see Save); New sets integration.DefaultMaxFlowsPerAccount. Set it
	// before first use.
	MaxFlowsPerAccount int

	db        *sqlx.DB
	holders   atomic.Int64 // account locks held through this repository
	lastSweep atomic.Int64 // unix nanoseconds of the last nonce sweep by this Repository
	// lastAttemptSweep: unix microseconds (attempts' clock) of the last
	// sweep of pms_connect_attempts by this Repository (attempts.go).
	lastAttemptSweep atomic.Int64
}

var _ integration.Repository = (*Repository)(nil)

// New returns a repository on db. It never touches the schema: Migrate (or
// the host's own runner applying Migrations) must have run on db's database
// and schema first. Open does both.
func New(db *sqlx.DB) *Repository {
	return &Repository{db: db, MaxFlowsPerAccount: integration.DefaultMaxFlowsPerAccount}
}

// Open connects to the PostgreSQL at url (a lib/pq URL or DSN), checks the
// connection, and applies the migrations. Its connections give up on a
// server that stops answering after an I/O timeout (WithIOTimeout; default
// DefaultIOTimeout), so no call waits forever. The pool keeps up to 10 idle
// connections (database/sql keeps 2, which makes a busy process reconnect
// for most statements); bound it with SetMaxOpenConns as your database
// needs. A pool of the host's own can be passed to New instead.
func Open(ctx context.Context, url string, opts ...Option) (*Repository, *sqlx.DB, error) {
	o := options{ioTimeout: DefaultIOTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := openDB(url, o)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.SetMaxIdleConns(10)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("postgres: connect: %w (is PostgreSQL running, and is the URL right?)", err)
	}
	if err := Migrate(ctx, db); err != nil {
		db.Close()
		return nil, nil, err
	}
	return New(db), db, nil
}

const recordColumns = `account_id, provider, status, office_id, secret_ref, practice_name,
	pms_type, practice_id, key_expiry, connected_at, created_at, updated_at,
	last_data_refresh, next_data_sync, pms_version`

// activeOfficeIndex is the unique partial index that decides connect races.
const activeOfficeIndex = "pms_integrations_active_office"

// Get implements integration.Repository.
func (p *Repository) Get(ctx context.Context, accountID string) (integration.Record, error) {
	var r integration.Record
	err := p.db.GetContext(ctx, &r, `SELECT `+recordColumns+` FROM pms_integrations
		WHERE account_id = $1 AND provider = $2`, accountID, integration.ProviderSikka)
	if errors.Is(err, sql.ErrNoRows) {
		return integration.Record{}, integration.ErrNotFound
	}
	if err != nil {
		return integration.Record{}, fmt.Errorf("postgres: get record: %w", err)
	}
	return normalize(r), nil
}

// Upsert implements integration.Repository.
func (p *Repository) Upsert(ctx context.Context, r integration.Record) (integration.Record, error) {
	if err := r.Validate(); err != nil {
		return integration.Record{}, err
	}
	return upsert(ctx, p.db, r)
}

// upsert writes r with q (the pool, or a transaction).
func upsert(ctx context.Context, q sqlx.QueryerContext, r integration.Record) (integration.Record, error) {
	return writeRecord(ctx, q, "upsert record", `INSERT INTO pms_integrations `+upsertColumns+`
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) `+upsertConflict, r)
}

const (
	upsertColumns = `(account_id, provider, status, office_id, secret_ref, practice_name, pms_type,
		practice_id, key_expiry, connected_at)`
	upsertConflict = `ON CONFLICT (account_id, provider) DO UPDATE SET
		status = EXCLUDED.status, office_id = EXCLUDED.office_id, secret_ref = EXCLUDED.secret_ref,
		practice_name = EXCLUDED.practice_name, pms_type = EXCLUDED.pms_type,
		practice_id = EXCLUDED.practice_id, key_expiry = EXCLUDED.key_expiry,
		connected_at = EXCLUDED.connected_at, updated_at = now(), ` + keepDataRefresh + `
		RETURNING ` + recordColumns
)

// writeRecord runs an upsert of r whose parameters $1…$10 are r's fields,
// followed by extra parameters, and returns the stored record.
// sql.ErrNoRows comes back as is.
func writeRecord(ctx context.Context, q sqlx.QueryerContext, what, query string, r integration.Record, extra ...any) (integration.Record, error) {
	var out integration.Record
	args := append(recordArgs(r), extra...)
	if err := sqlx.GetContext(ctx, q, &out, query, args...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return integration.Record{}, err
		}
		return integration.Record{}, mapWriteError(what, err)
	}
	return normalize(out), nil
}

// recordArgs are the parameters $1…$10 of a record write: r's fields.
func recordArgs(r integration.Record) []any {
	return []any{r.AccountID, r.Provider, r.Status, r.OfficeID, r.SecretRef, r.PracticeName, r.PMSType,
		r.PracticeID, r.KeyExpiry.UTC(), r.ConnectedAt.UTC()}
}

// ActiveByOffice implements integration.Repository.
func (p *Repository) ActiveByOffice(ctx context.Context, provider integration.Provider, officeID string) (integration.Record, error) {
	var r integration.Record
	err := p.db.GetContext(ctx, &r, `SELECT `+recordColumns+` FROM pms_integrations
		WHERE provider = $1 AND office_id = $2 AND status = 'ACTIVE'`, provider, officeID)
	if errors.Is(err, sql.ErrNoRows) {
		return integration.Record{}, integration.ErrNotFound
	}
	if err != nil {
		return integration.Record{}, fmt.Errorf("postgres: find active record by office: %w", err)
	}
	return normalize(r), nil
}

// ActiveOffices implements integration.Repository.
func (p *Repository) ActiveOffices(ctx context.Context, provider integration.Provider) ([]string, error) {
	var out []string
	err := p.db.SelectContext(ctx, &out, `SELECT DISTINCT office_id FROM pms_integrations
		WHERE provider = $1 AND status = 'ACTIVE'`, provider)
	if err != nil {
		return nil, fmt.Errorf("postgres: list active offices: %w", err)
	}
	return out, nil
}

// SetStatus implements integration.Repository.
func (p *Repository) SetStatus(ctx context.Context, accountID string, status integration.Status) error {
	if !status.Valid() {
		return fmt.Errorf("%w: unknown status %q", integration.ErrInvalidRecord, status)
	}
	return p.exec(ctx, "set status", `UPDATE pms_integrations SET status = $3, updated_at = now()
		WHERE account_id = $1 AND provider = $2`, accountID, integration.ProviderSikka, status)
}

// SetKeyExpiry implements integration.Repository.
func (p *Repository) SetKeyExpiry(ctx context.Context, accountID string, expiry time.Time) error {
	return p.exec(ctx, "set key expiry", `UPDATE pms_integrations SET key_expiry = $3, updated_at = now()
		WHERE account_id = $1 AND provider = $2`, accountID, integration.ProviderSikka, expiry.UTC())
}

func (p *Repository) exec(ctx context.Context, what, query string, args ...any) error {
	res, err := p.db.ExecContext(ctx, query, args...)
	if err != nil {
		return mapWriteError(what, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return integration.ErrNotFound
	}
	return nil
}

// Due implements integration.Repository.
func (p *Repository) Due(ctx context.Context, before time.Time, after string, limit int) ([]integration.Record, error) {
	if limit <= 0 {
		limit = 1000
	}
	var rs []integration.Record
	err := p.db.SelectContext(ctx, &rs, `SELECT `+recordColumns+` FROM pms_integrations
		WHERE status = 'ACTIVE' AND key_expiry < $1 AND account_id > $2
		ORDER BY account_id LIMIT $3`, before.UTC(), after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list due records: %w", err)
	}
	for i := range rs {
		rs[i] = normalize(rs[i])
	}
	return rs, nil
}

// ListRevoked implements integration.Repository.
func (p *Repository) ListRevoked(ctx context.Context, after string, limit int) ([]integration.Record, error) {
	if limit <= 0 {
		limit = 1000
	}
	var rs []integration.Record
	err := p.db.SelectContext(ctx, &rs, `SELECT `+recordColumns+` FROM pms_integrations
		WHERE status = 'REVOKED' AND secret_ref <> '' AND account_id > $1
		ORDER BY account_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list revoked records: %w", err)
	}
	for i := range rs {
		rs[i] = normalize(rs[i])
	}
	return rs, nil
}

// ClearSecretRef implements integration.Repository.
func (p *Repository) ClearSecretRef(ctx context.Context, accountID string) error {
	return p.exec(ctx, "clear secret reference", `UPDATE pms_integrations SET secret_ref = '', updated_at = now()
		WHERE account_id = $1 AND provider = $2 AND status = 'REVOKED'`, accountID, integration.ProviderSikka)
}

func mapWriteError(what string, err error) error {
	if activeOfficeTaken(err) {
		return integration.ErrAlreadyConnected
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// uniqueViolation is PostgreSQL's SQLSTATE for a unique violation.
const uniqueViolation = "23505"

// activeOfficeTaken reports whether err, from a record write, is a unique
// violation of activeOfficeIndex, whatever the driver under sqlx: any error
// in the chain with a SQLState method (lib/pq's *pq.Error, pgx's
// *pgconn.PgError) that says 23505. A record write can violate no other
// unique index (the primary key is the upsert's conflict target), so a
// driver that does not name the constraint is trusted on the code alone;
// lib/pq's name, when given, must be the index's.
func activeOfficeTaken(err error) bool {
	var coded interface{ SQLState() string }
	if !errors.As(err, &coded) || coded.SQLState() != uniqueViolation {
		return false
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Constraint != "" {
		return pqErr.Constraint == activeOfficeIndex
	}
	return true
}

// normalize returns times in UTC, as the memory repository does.
func normalize(r integration.Record) integration.Record {
	r.KeyExpiry = r.KeyExpiry.UTC()
	r.ConnectedAt = r.ConnectedAt.UTC()
	r.CreatedAt = r.CreatedAt.UTC()
	r.UpdatedAt = r.UpdatedAt.UTC()
	r.LastDataRefresh = r.LastDataRefresh.UTC() // "not yet" is the zero time
	r.NextDataSync = r.NextDataSync.UTC()
	return r
}
