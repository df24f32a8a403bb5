package integration

import (
	"context"
	"fmt"
	"time"
)

// DataRefresh is what Sikka's Data_Refresh webhook tells of an office
// besides the fact that its data was just refreshed (see the webhook
// package, which reads the webhook and calls Service.RecordDataRefresh).
type DataRefresh struct {
	// NextSync is when Sikka plans the office's next data synchronisation
	// (next_data_synchronization_date); zero when it did not say.
	NextSync time.Time
	// PMSVersion is the version of the practice-management system
	// (practice_management_system_version, "V16.6"); "" when it did not
	// say, which keeps the version stored.
	PMSVersion string
}

// DataRefreshStore records Sikka's data refreshes on the records: the role
// of the storage that the Data_Refresh webhook needs.
type DataRefreshStore interface {
	// RecordDataRefresh writes a data refresh of officeID on the ACTIVE
	// record that holds the office for provider: LastDataRefresh = at,
	// NextDataSync = d.NextSync, PMSVersion = d.PMSVersion (unless ""), and
	// returns the record as stored. Nothing else of the record changes.
	// ErrNotFound when no ACTIVE record holds the office (a REVOKED or
	// NEEDS_REAUTH record is left alone). The last write wins.
	RecordDataRefresh(ctx context.Context, provider Provider, officeID string, at time.Time, d DataRefresh) (Record, error)
}

// RecordDataRefresh records that Sikka has just refreshed the data of
// officeID (its Data_Refresh webhook): on the ACTIVE record of the account
// holding the office, LastDataRefresh becomes the service clock's now (when
// the news arrived: Sikka's own times carry no zone, so they are not used
// for it), NextDataSync and PMSVersion what d says. It returns the record;
// ErrNotFound when no account holds the office ACTIVE (the office is not
// connected, or not any more). No hook is called.
func (s *Service) RecordDataRefresh(ctx context.Context, officeID string, d DataRefresh) (Record, error) {
	if officeID == "" {
		return Record{}, fmt.Errorf("%w: office id is empty", ErrNotFound)
	}
	return s.cfg.Records.RecordDataRefresh(ctx, ProviderSikka, officeID, s.cfg.Now().UTC(), d)
}

// ActiveByOffice returns the ACTIVE record that holds officeID: the account
// Sikka's webhooks for that office belong to. ErrNotFound when no account
// holds it. It never touches the secret.
func (s *Service) ActiveByOffice(ctx context.Context, officeID string) (Record, error) {
	if officeID == "" {
		return Record{}, fmt.Errorf("%w: office id is empty", ErrNotFound)
	}
	return s.cfg.Records.ActiveByOffice(ctx, ProviderSikka, officeID)
}
