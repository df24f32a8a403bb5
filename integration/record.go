package integration

import (
	"fmt"
	"time"
)

// Provider names the practice-data provider behind an integration.
type Provider string

// ProviderSikka is the only provider this project connects today.
const ProviderSikka Provider = "SIKKA"

// Status is where an integration stands.
type Status string

// The statuses an integration moves through. A record is created ACTIVE by a
// successful connect; it becomes NEEDS_REAUTH when its keys can no longer be
// renewed (the practice must authorize again) and REVOKED when the account
// disconnects. Reconnecting brings any of them back to ACTIVE in place.
const (
	StatusActive      Status = "ACTIVE"
	StatusNeedsReauth Status = "NEEDS_REAUTH"
	StatusRevoked     Status = "REVOKED"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusNeedsReauth, StatusRevoked:
		return true
	}
	return false
}

// Record is what the database keeps of one account's integration: who is
// connected to which practice, where its credentials live (a reference into
// the secret store, never the credentials themselves), what to show, and when
// its key expires so refresh sweeps can find what is due.
type Record struct {
	AccountID string   `db:"account_id" json:"accountId"`
	Provider  Provider `db:"provider" json:"provider"`
	Status    Status   `db:"status" json:"status"`
	// OfficeID is Sikka's office id (the practice's unique key at Sikka).
	OfficeID string `db:"office_id" json:"officeId"`
	// SecretRef is the secret store's reference (an ARN or a Vault path).
	// It is empty only on a REVOKED record whose secret has been deleted.
	SecretRef    string `db:"secret_ref" json:"secretRef"`
	PracticeName string `db:"practice_name" json:"practiceName"`
	PMSType      string `db:"pms_type" json:"pmsType"`
	PracticeID   string `db:"practice_id" json:"practiceId"`
	// KeyExpiry is when the current request key stops working (UTC).
	KeyExpiry time.Time `db:"key_expiry" json:"keyExpiry"`
	// ConnectedAt is when the account last completed a connect.
	ConnectedAt time.Time `db:"connected_at" json:"connectedAt"`
	CreatedAt   time.Time `db:"created_at" json:"createdAt"`
	UpdatedAt   time.Time `db:"updated_at" json:"updatedAt"`

	// LastDataRefresh, NextDataSync and PMSVersion are what Sikka's last
	// Data_Refresh webhook for the office said (see
	// DataRefreshStore.RecordDataRefresh); zero until one arrives.
	// LastDataRefresh is when it arrived (UTC), NextDataSync when Sikka
	// plans the next synchronisation, PMSVersion the PMS's version ("V16.6").
	// They belong to the office: Upsert does not write them, keeps them while
	// the office stays the same and clears them when it changes.
	LastDataRefresh time.Time `db:"last_data_refresh" json:"lastDataRefresh"`
	NextDataSync    time.Time `db:"next_data_sync" json:"nextDataSync"`
	PMSVersion      string    `db:"pms_version" json:"pmsVersion"`
}

// Validate reports the first missing or malformed field of a record about to
// be saved.
func (r Record) Validate() error {
	switch {
	case r.AccountID == "":
		return fmt.Errorf("%w: account id is empty", ErrInvalidRecord)
	case r.Provider == "":
		return fmt.Errorf("%w: provider is empty", ErrInvalidRecord)
	case !r.Status.Valid():
		return fmt.Errorf("%w: unknown status %q", ErrInvalidRecord, r.Status)
	case r.OfficeID == "":
		return fmt.Errorf("%w: office id is empty", ErrInvalidRecord)
	case r.SecretRef == "":
		return fmt.Errorf("%w: secret reference is empty", ErrInvalidRecord)
	}
	return nil
}
