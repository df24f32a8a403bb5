// The markers of connects in progress (integration.PendingFlowStore), in
// pms_pending_flows.

package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

const pendingColumns = `flow_id, account_id, provider, office_id, secret_name, prev_version, started_at, key_hash,
	COALESCE(claimed_at, '0001-01-01 00:00:00+00') AS claimed_at`

// InsertPending implements integration.Repository.
func (p *Repository) InsertPending(ctx context.Context, f integration.PendingFlow) error {
	if f.Provider == "" {
		f.Provider = integration.ProviderSikka
	}
	_, err := p.db.ExecContext(ctx, `INSERT INTO pms_pending_flows
		(flow_id, account_id, provider, office_id, secret_name, prev_version, started_at, key_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.FlowID, f.AccountID, f.Provider, f.OfficeID, f.SecretName, f.PrevVersion, f.StartedAt.UTC(), f.KeyHash)
	if err != nil {
		return fmt.Errorf("postgres: insert pending connect: %w", err)
	}
	return nil
}

// GetPending implements integration.Repository.
func (p *Repository) GetPending(ctx context.Context, accountID string) (integration.PendingFlow, error) {
	var f integration.PendingFlow
	err := p.db.GetContext(ctx, &f, `SELECT `+pendingColumns+` FROM pms_pending_flows
		WHERE account_id = $1 AND provider = $2`, accountID, integration.ProviderSikka)
	if errors.Is(err, sql.ErrNoRows) {
		return integration.PendingFlow{}, integration.ErrNotFound
	}
	if err != nil {
		return integration.PendingFlow{}, fmt.Errorf("postgres: get pending connect: %w", err)
	}
	return normalizePending(f), nil
}

// ListPending implements integration.Repository.
func (p *Repository) ListPending(ctx context.Context, before time.Time, after string, limit int) ([]integration.PendingFlow, error) {
	if limit <= 0 {
		limit = 1000
	}
	var fs []integration.PendingFlow
	err := p.db.SelectContext(ctx, &fs, `SELECT `+pendingColumns+` FROM pms_pending_flows
		WHERE started_at < $1 AND account_id > $2 ORDER BY account_id LIMIT $3`, before.UTC(), after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list pending connects: %w", err)
	}
	for i := range fs {
		fs[i] = normalizePending(fs[i])
	}
	return fs, nil
}

// ClaimPending implements integration.Repository.
func (p *Repository) ClaimPending(ctx context.Context, flowID string) error {
	return p.exec(ctx, "claim pending connect", `UPDATE pms_pending_flows
		SET claimed_at = COALESCE(claimed_at, now()) WHERE flow_id = $1`, flowID)
}

// DeletePending implements integration.Repository.
func (p *Repository) DeletePending(ctx context.Context, flowID string) error {
	if _, err := p.db.ExecContext(ctx, `DELETE FROM pms_pending_flows WHERE flow_id = $1`, flowID); err != nil {
		return fmt.Errorf("postgres: delete pending connect: %w", err)
	}
	return nil
}

// CompletePending implements integration.Repository: the marker's deletion
// and the record's upsert commit in one transaction.
func (p *Repository) CompletePending(ctx context.Context, flowID string, r integration.Record) (integration.Record, error) {
	if err := r.Validate(); err != nil {
		return integration.Record{}, err
	}
	// One statement, so one round trip and atomic: the record is written
	// only if this flow's unclaimed marker was there to delete, and a failed
	// write (a practice taken meanwhile) leaves the marker in place.
	out, err := writeRecord(ctx, p.db, "complete pending connect", `WITH done AS (
			DELETE FROM pms_pending_flows WHERE flow_id = $11 AND claimed_at IS NULL RETURNING flow_id)
		INSERT INTO pms_integrations `+upsertColumns+`
		SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
			$9::timestamptz, $10::timestamptz FROM done `+upsertConflict, r, flowID)
	if errors.Is(err, sql.ErrNoRows) {
		return integration.Record{}, integration.ErrFlowLost
	}
	return out, err
}

func normalizePending(f integration.PendingFlow) integration.PendingFlow {
	f.StartedAt = f.StartedAt.UTC()
	if f.ClaimedAt.Year() <= 1 {
		f.ClaimedAt = time.Time{}
	} else {
		f.ClaimedAt = f.ClaimedAt.UTC()
	}
	return f
}
