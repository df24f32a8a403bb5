package integrationtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
)

// PendingRepository is what the pending-marker suite needs: the markers, and
// the records that CompletePending writes (one storage holds both).
type PendingRepository interface {
	integration.RecordStore
	integration.PendingFlowStore
}

// RunPending runs the contract of integration.PendingFlowStore against the
// repositories that newRepo returns (each one fresh and empty).
func RunPending(t *testing.T, newRepo func(t *testing.T) PendingRepository) {
	ctx := context.Background()

	t.Run("PendingMarkers", func(t *testing.T) {
		repo := newRepo(t)
		now := time.Now().UTC().Truncate(time.Microsecond)
		_, err := repo.GetPending(ctx, "acct-1")
		assert.ErrorIs(t, err, integration.ErrNotFound)

		f := Pending("acct-1", "flow-1", now.Add(-time.Hour))
		require.NoError(t, repo.InsertPending(ctx, f))
		got, err := repo.GetPending(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, f, got)
		assert.True(t, got.ClaimedAt.IsZero())
		assert.Error(t, repo.InsertPending(ctx, Pending("acct-1", "flow-2", now)), "one marker per account")

		for i := range 5 {
			require.NoError(t, repo.InsertPending(ctx, Pending(fmt.Sprintf("old-%d", i), fmt.Sprintf("old-flow-%d", i), now.Add(-time.Hour))))
		}
		require.NoError(t, repo.InsertPending(ctx, Pending("young", "young-flow", now)))
		var seen []string
		after := ""
		for {
			page, err := repo.ListPending(ctx, now.Add(-time.Minute), after, 2)
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			assert.LessOrEqual(t, len(page), 2)
			for _, p := range page {
				seen = append(seen, p.AccountID)
			}
			after = page[len(page)-1].AccountID
		}
		assert.Equal(t, []string{"acct-1", "old-0", "old-1", "old-2", "old-3", "old-4"}, seen, "only markers started before, by account")

		require.NoError(t, repo.ClaimPending(ctx, "flow-1"))
		got, err = repo.GetPending(ctx, "acct-1")
		require.NoError(t, err)
		assert.False(t, got.ClaimedAt.IsZero())
		require.NoError(t, repo.ClaimPending(ctx, "flow-1"), "claiming twice is fine")
		_, err = repo.CompletePending(ctx, "flow-1", Record("acct-1", "D36225"))
		assert.ErrorIs(t, err, integration.ErrFlowLost, "a claimed flow cannot complete")
		_, err = repo.Get(ctx, "acct-1")
		assert.ErrorIs(t, err, integration.ErrNotFound, "nothing written")

		require.NoError(t, repo.DeletePending(ctx, "flow-1"))
		require.NoError(t, repo.DeletePending(ctx, "flow-1"), "deleting twice is fine")
		_, err = repo.GetPending(ctx, "acct-1")
		assert.ErrorIs(t, err, integration.ErrNotFound)
		assert.ErrorIs(t, repo.ClaimPending(ctx, "flow-1"), integration.ErrNotFound)
		_, err = repo.CompletePending(ctx, "flow-1", Record("acct-1", "D36225"))
		assert.ErrorIs(t, err, integration.ErrFlowLost, "a removed flow cannot complete")
	})

	t.Run("CompletePendingIsOneStep", func(t *testing.T) {
		repo := newRepo(t)
		now := time.Now()
		require.NoError(t, repo.InsertPending(ctx, Pending("acct-a", "flow-a", now)))
		rec, err := repo.CompletePending(ctx, "flow-a", Record("acct-a", "D36225"))
		require.NoError(t, err)
		assert.Equal(t, integration.StatusActive, rec.Status)
		_, err = repo.GetPending(ctx, "acct-a")
		assert.ErrorIs(t, err, integration.ErrNotFound, "the marker goes with the record write")
		got, err := repo.Get(ctx, "acct-a")
		require.NoError(t, err)
		assert.Equal(t, rec, got)

		// A refused record keeps the marker, for the undo.
		require.NoError(t, repo.InsertPending(ctx, Pending("acct-b", "flow-b", now)))
		_, err = repo.CompletePending(ctx, "flow-b", Record("acct-b", "D36225"))
		assert.ErrorIs(t, err, integration.ErrAlreadyConnected)
		_, err = repo.GetPending(ctx, "acct-b")
		assert.NoError(t, err)
		_, err = repo.Get(ctx, "acct-b")
		assert.ErrorIs(t, err, integration.ErrNotFound)
		bad := Record("acct-b", "D1")
		bad.SecretRef = ""
		_, err = repo.CompletePending(ctx, "flow-b", bad)
		assert.ErrorIs(t, err, integration.ErrInvalidRecord)
		_, err = repo.GetPending(ctx, "acct-b")
		assert.NoError(t, err)
	})
}
