// Package integrationtest holds the contract suites of the storage roles of
// package integration, one per role, so that an implementation of one role
// can be tested alone: RunRecords (integration.RecordStore), RunLocks
// (integration.AccountLocker), RunPending (integration.PendingFlowStore, with
// the records its CompletePending writes), RunNonces
// (integration.NonceStore), RunDataRefresh (integration.DataRefreshStore,
// with the records it writes on) and RunAttempts (integration.AttemptStore).
// Run runs them all against an
// integration.Repository; integration/memory and integration/postgres pass it.
package integrationtest

import (
	"testing"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// Run runs every role's suite against the repositories that open returns.
// open prepares fresh, empty storage for the test t and returns a function
// that opens an instance on it; every instance it opens shares that storage,
// as replicas sharing a database do (for a memory repository, return the
// same one each time).
func Run(t *testing.T, open func(t *testing.T) func() integration.Repository) {
	t.Run("Records", func(t *testing.T) {
		RunRecords(t, func(t *testing.T) integration.RecordStore { return open(t)() })
	})
	t.Run("Locks", func(t *testing.T) {
		RunLocks(t, func(t *testing.T) integration.AccountLocker { return open(t)() })
	})
	t.Run("Pending", func(t *testing.T) {
		RunPending(t, func(t *testing.T) PendingRepository { return open(t)() })
	})
	t.Run("DataRefresh", func(t *testing.T) {
		RunDataRefresh(t, func(t *testing.T) DataRefreshRepository { return open(t)() })
		runPendingDataRefresh(t, func(t *testing.T) integration.Repository { return open(t)() })
	})
	t.Run("Nonces", func(t *testing.T) {
		RunNonces(t, func(t *testing.T) func() integration.NonceStore {
			another := open(t)
			return func() integration.NonceStore { return another() }
		})
	})
	t.Run("Attempts", func(t *testing.T) {
		RunAttempts(t, func(t *testing.T) func() integration.AttemptStore {
			another := open(t)
			return func() integration.AttemptStore { return another() }
		})
	})
}

// Record returns a valid ACTIVE record for account and office, for tests.
func Record(account, office string) integration.Record {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return integration.Record{
		AccountID:    account,
		Provider:     integration.ProviderSikka,
		Status:       integration.StatusActive,
		OfficeID:     office,
		SecretRef:    "ref/" + account,
		PracticeName: "Happy Dental Clinic",
		PMSType:      "Dentrix",
		PracticeID:   "1",
		KeyExpiry:    now.Add(24 * time.Hour),
		ConnectedAt:  now,
	}
}

// Pending returns a PendingFlow marker of account, for tests.
func Pending(account, flowID string, started time.Time) integration.PendingFlow {
	return integration.PendingFlow{
		FlowID:      flowID,
		AccountID:   account,
		Provider:    integration.ProviderSikka,
		OfficeID:    "D36225",
		SecretName:  "parlae/pms/sikka/" + account,
		PrevVersion: "3",
		StartedAt:   started.UTC().Truncate(time.Microsecond),
	}
}
