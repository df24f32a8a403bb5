package memory

import (
	"context"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// RecordDataRefresh implements integration.Repository.
func (m *Repository) RecordDataRefresh(ctx context.Context, provider integration.Provider, officeID string, at time.Time, d integration.DataRefresh) (integration.Record, error) {
	if err := ctx.Err(); err != nil {
		return integration.Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.activeByOfficeLocked(provider, officeID)
	if !ok {
		return integration.Record{}, integration.ErrNotFound
	}
	r.LastDataRefresh = at.UTC().Truncate(time.Microsecond)
	r.NextDataSync = d.NextSync.UTC().Truncate(time.Microsecond)
	if d.PMSVersion != "" {
		r.PMSVersion = d.PMSVersion
	}
	r.UpdatedAt = m.now().UTC().Truncate(time.Microsecond)
	m.records[r.AccountID] = r
	return r, nil
}

// keepDataRefresh gives r, about to overwrite old (had: there was one), the
// data-refresh fields an upsert must store: old's while the office is the
// same, none otherwise (see integration.Record).
func keepDataRefresh(r *integration.Record, old integration.Record, had bool) {
	r.LastDataRefresh, r.NextDataSync, r.PMSVersion = time.Time{}, time.Time{}, ""
	if had && old.OfficeID == r.OfficeID && old.Provider == r.Provider {
		r.LastDataRefresh, r.NextDataSync, r.PMSVersion = old.LastDataRefresh, old.NextDataSync, old.PMSVersion
	}
}
