package integrationtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
)

// refreshAt and sampleRefresh are the data refresh the suites record.
var (
	refreshAt     = time.Date(2026, 11, 30, 13, 5, 7, 123456000, time.UTC)
	sampleRefresh = integration.DataRefresh{
		NextSync:   time.Date(2019, 12, 10, 21, 15, 0, 0, time.UTC),
		PMSVersion: "V16.6",
	}
)

// DataRefreshRepository is what the data-refresh suite needs: the records
// and the data refreshes written on them (one storage holds both).
type DataRefreshRepository interface {
	integration.RecordStore
	integration.DataRefreshStore
}

// RunDataRefresh runs the contract of integration.DataRefreshStore, and the
// rule that record writes keep the data-refresh fields of the same office
// only, against the repositories that newRepo returns (each one fresh and
// empty). Run also checks the rule in CompletePending
// (runPendingDataRefresh), where both roles share one storage.
func RunDataRefresh(t *testing.T, newRepo func(t *testing.T) DataRefreshRepository) {
	ctx := context.Background()
	at, refresh := refreshAt, sampleRefresh

	t.Run("RecordsOnTheActiveRecordOfTheOffice", func(t *testing.T) {
		repo := newRepo(t)
		before, err := repo.Upsert(ctx, Record("acct-1", "D24710"))
		require.NoError(t, err)
		assert.True(t, before.LastDataRefresh.IsZero(), "no refresh yet")
		assert.True(t, before.NextDataSync.IsZero())
		assert.Empty(t, before.PMSVersion)

		got, err := repo.RecordDataRefresh(ctx, integration.ProviderSikka, "D24710", at, refresh)
		require.NoError(t, err)
		assert.Equal(t, at, got.LastDataRefresh)
		assert.Equal(t, refresh.NextSync, got.NextDataSync)
		assert.Equal(t, "V16.6", got.PMSVersion)
		stored, err := repo.Get(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, got, stored, "the record returned is the one stored")

		// Nothing else changed.
		stored.LastDataRefresh, stored.NextDataSync, stored.PMSVersion = before.LastDataRefresh, before.NextDataSync, before.PMSVersion
		stored.UpdatedAt = before.UpdatedAt
		assert.Equal(t, before, stored)
	})

	t.Run("EmptyVersionKeepsTheStoredOne", func(t *testing.T) {
		repo := newRepo(t)
		_, err := repo.Upsert(ctx, Record("acct-1", "D24710"))
		require.NoError(t, err)
		_, err = repo.RecordDataRefresh(ctx, integration.ProviderSikka, "D24710", at, refresh)
		require.NoError(t, err)
		later := at.Add(25 * time.Minute)
		got, err := repo.RecordDataRefresh(ctx, integration.ProviderSikka, "D24710", later, integration.DataRefresh{})
		require.NoError(t, err)
		assert.Equal(t, later, got.LastDataRefresh, "the last write wins")
		assert.True(t, got.NextDataSync.IsZero(), "an unknown next sync is stored as unknown")
		assert.Equal(t, "V16.6", got.PMSVersion)
	})

	t.Run("UnknownOrInactiveOfficeIsNotFound", func(t *testing.T) {
		repo := newRepo(t)
		_, err := repo.RecordDataRefresh(ctx, integration.ProviderSikka, "D24710", at, refresh)
		assert.ErrorIs(t, err, integration.ErrNotFound, "no record")

		for _, status := range []integration.Status{integration.StatusRevoked, integration.StatusNeedsReauth} {
			acct := "acct-" + string(status)
			_, err := repo.Upsert(ctx, Record(acct, "D24710"))
			require.NoError(t, err)
			require.NoError(t, repo.SetStatus(ctx, acct, status))
			before, err := repo.Get(ctx, acct)
			require.NoError(t, err)
			_, err = repo.RecordDataRefresh(ctx, integration.ProviderSikka, "D24710", at, refresh)
			assert.ErrorIs(t, err, integration.ErrNotFound, "a %s record does not hold the office", status)
			after, err := repo.Get(ctx, acct)
			require.NoError(t, err)
			assert.Equal(t, before, after, "a %s record is left alone", status)
		}
	})

	t.Run("RecordWritesKeepThemForTheSameOfficeOnly", func(t *testing.T) {
		repo := newRepo(t)
		in := Record("acct-1", "D24710")
		in.LastDataRefresh, in.NextDataSync, in.PMSVersion = at, at, "from the caller"
		created, err := repo.Upsert(ctx, in)
		require.NoError(t, err)
		assert.True(t, created.LastDataRefresh.IsZero(), "Upsert does not write them")
		assert.True(t, created.NextDataSync.IsZero())
		assert.Empty(t, created.PMSVersion)

		_, err = repo.RecordDataRefresh(ctx, integration.ProviderSikka, "D24710", at, refresh)
		require.NoError(t, err)
		again := Record("acct-1", "D24710") // a reconnect to the same office
		again.PracticeName = "Renamed Clinic"
		kept, err := repo.Upsert(ctx, again)
		require.NoError(t, err)
		assert.Equal(t, at, kept.LastDataRefresh, "same office: kept")
		assert.Equal(t, refresh.NextSync, kept.NextDataSync)
		assert.Equal(t, "V16.6", kept.PMSVersion)
		assert.Equal(t, "Renamed Clinic", kept.PracticeName)

		other, err := repo.Upsert(ctx, Record("acct-1", "D99999"))
		require.NoError(t, err)
		assert.True(t, other.LastDataRefresh.IsZero(), "another office: cleared")
		assert.True(t, other.NextDataSync.IsZero())
		assert.Empty(t, other.PMSVersion)
		got, err := repo.Get(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, other, got)
	})
}

// runPendingDataRefresh checks that CompletePending, like Upsert, keeps the
// data-refresh fields of the same office only. It needs both roles on one
// storage, which every integration.Repository has: Run runs it.
func runPendingDataRefresh(t *testing.T, newRepo func(t *testing.T) integration.Repository) {
	ctx := context.Background()
	at, refresh := refreshAt, sampleRefresh
	t.Run("CompletePendingKeepsThemForTheSameOfficeOnly", func(t *testing.T) {
		repo := newRepo(t)
		_, err := repo.Upsert(ctx, Record("acct-1", "D24710"))
		require.NoError(t, err)
		_, err = repo.RecordDataRefresh(ctx, integration.ProviderSikka, "D24710", at, refresh)
		require.NoError(t, err)

		require.NoError(t, repo.InsertPending(ctx, Pending("acct-1", "flow-1", time.Now())))
		kept, err := repo.CompletePending(ctx, "flow-1", Record("acct-1", "D24710"))
		require.NoError(t, err)
		assert.Equal(t, at, kept.LastDataRefresh, "same office: kept")
		assert.Equal(t, "V16.6", kept.PMSVersion)

		require.NoError(t, repo.InsertPending(ctx, Pending("acct-1", "flow-2", time.Now())))
		other, err := repo.CompletePending(ctx, "flow-2", Record("acct-1", "D99999"))
		require.NoError(t, err)
		assert.True(t, other.LastDataRefresh.IsZero(), "another office: cleared")
		assert.Empty(t, other.PMSVersion)
	})
}
