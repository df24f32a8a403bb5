package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// keepDataRefresh is the part of upsertConflict that keeps a record's
// data-refresh columns while its office stays the same and resets them to
// their defaults (migration 0008: none yet) when it changes: a record write
// never sets them (see integration.Record).
const keepDataRefresh = `
		last_data_refresh = CASE WHEN pms_integrations.office_id = EXCLUDED.office_id
			THEN pms_integrations.last_data_refresh ELSE EXCLUDED.last_data_refresh END,
		next_data_sync = CASE WHEN pms_integrations.office_id = EXCLUDED.office_id
			THEN pms_integrations.next_data_sync ELSE EXCLUDED.next_data_sync END,
		pms_version = CASE WHEN pms_integrations.office_id = EXCLUDED.office_id
			THEN pms_integrations.pms_version ELSE EXCLUDED.pms_version END`

// RecordDataRefresh implements integration.Repository in one statement.
func (p *Repository) RecordDataRefresh(ctx context.Context, provider integration.Provider, officeID string, at time.Time, d integration.DataRefresh) (integration.Record, error) {
	var r integration.Record
	err := p.db.GetContext(ctx, &r, `UPDATE pms_integrations SET
			last_data_refresh = $3, next_data_sync = $4,
			pms_version = CASE WHEN $5::text = '' THEN pms_version ELSE $5::text END,
			updated_at = now()
		WHERE provider = $1 AND office_id = $2 AND status = 'ACTIVE'
		RETURNING `+recordColumns, provider, officeID, at.UTC(), d.NextSync.UTC(), d.PMSVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return integration.Record{}, integration.ErrNotFound
	}
	if err != nil {
		return integration.Record{}, fmt.Errorf("postgres: record data refresh: %w", err)
	}
	return normalize(r), nil
}
