package integrationtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
)

// RunConnectBeginner runs the contract of integration.ConnectBeginner
// against the repositories newRepo returns (fresh, empty, implementing it).
func RunConnectBeginner(t *testing.T, newRepo func(t *testing.T) integration.Repository) {
	ctx := context.Background()
	begin := func(t *testing.T) (integration.Repository, integration.ConnectBeginner) {
		repo := newRepo(t)
		b, ok := repo.(integration.ConnectBeginner)
		require.True(t, ok, "%T does not implement integration.ConnectBeginner", repo)
		return repo, b
	}
	locked := func(t *testing.T, repo integration.Repository, account string) bool {
		unlock, ok, err := repo.TryLockAccount(ctx, account)
		require.NoError(t, err)
		if ok {
			unlock()
		}
		return !ok
	}
	flow := func(account, office, id string) integration.PendingFlow {
		f := Pending(account, id, time.Now())
		f.OfficeID = office
		f.KeyHash = "hash-" + id
		return f
	}

	t.Run("saves the marker under the lock; Complete writes and unlocks", func(t *testing.T) {
		repo, b := begin(t)
		f := flow("acct-1", "D1", "flow-1")
		lock, started, err := b.BeginConnect(ctx, f)
		require.NoError(t, err)
		require.True(t, started)
		assert.True(t, locked(t, repo, "acct-1"))
		got, err := repo.GetPending(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, f, got)

		// A second connect of the account waits for the lock.
		second := make(chan error, 1)
		go func() {
			l, started, err := b.BeginConnect(ctx, flow("acct-1", "D1", "flow-2"))
			if err == nil {
				assert.True(t, started, "it ran after Complete removed the first marker")
				l.Unlock()
			}
			second <- err
		}()
		select {
		case err := <-second:
			t.Fatalf("the second BeginConnect did not wait for the lock: %v", err)
		case <-time.After(50 * time.Millisecond):
		}

		rec, err := lock.Complete(ctx, "flow-1", Record("acct-1", "D1"))
		require.NoError(t, err)
		assert.Equal(t, integration.StatusActive, rec.Status)
		lock.Unlock() // a no-op now
		select {
		case err := <-second:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("the second BeginConnect never got the lock after Complete")
		}
		got, err = repo.GetPending(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, "flow-2", got.FlowID)
	})

	t.Run("another account holds the office: refused, nothing saved, nothing held", func(t *testing.T) {
		repo, b := begin(t)
		_, err := repo.Upsert(ctx, Record("holder", "D1"))
		require.NoError(t, err)
		_, _, err = b.BeginConnect(ctx, flow("acct-1", "D1", "flow-1"))
		require.ErrorIs(t, err, integration.ErrAlreadyConnected)
		assert.False(t, locked(t, repo, "acct-1"))
		_, err = repo.GetPending(ctx, "acct-1")
		assert.ErrorIs(t, err, integration.ErrNotFound)

		// The holder itself may reconnect.
		lock, started, err := b.BeginConnect(ctx, flow("holder", "D1", "flow-2"))
		require.NoError(t, err)
		assert.True(t, started)
		lock.Unlock()
	})

	t.Run("a marker left: lock held, nothing saved", func(t *testing.T) {
		repo, b := begin(t)
		dead := flow("acct-1", "D1", "dead")
		require.NoError(t, repo.InsertPending(ctx, dead))
		lock, started, err := b.BeginConnect(ctx, flow("acct-1", "D1", "flow-1"))
		require.NoError(t, err)
		assert.False(t, started)
		assert.True(t, locked(t, repo, "acct-1"))
		got, err := repo.GetPending(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, "dead", got.FlowID)
		lock.Unlock()
		assert.False(t, locked(t, repo, "acct-1"))
	})

	t.Run("a failed Complete keeps the lock", func(t *testing.T) {
		repo, b := begin(t)
		lock, started, err := b.BeginConnect(ctx, flow("acct-1", "D1", "flow-1"))
		require.NoError(t, err)
		require.True(t, started)
		require.NoError(t, repo.ClaimPending(ctx, "flow-1"))
		_, err = lock.Complete(ctx, "flow-1", Record("acct-1", "D1"))
		require.ErrorIs(t, err, integration.ErrFlowLost)
		assert.True(t, locked(t, repo, "acct-1"), "held after ErrFlowLost")
		_, err = repo.Get(ctx, "acct-1")
		assert.ErrorIs(t, err, integration.ErrNotFound, "nothing written")
		lock.Unlock()
		assert.False(t, locked(t, repo, "acct-1"))

		// The office taken between BeginConnect and Complete.
		lock, started, err = b.BeginConnect(ctx, flow("acct-2", "D2", "flow-2"))
		require.NoError(t, err)
		require.True(t, started)
		_, err = repo.Upsert(ctx, Record("thief", "D2"))
		require.NoError(t, err)
		_, err = lock.Complete(ctx, "flow-2", Record("acct-2", "D2"))
		require.ErrorIs(t, err, integration.ErrAlreadyConnected)
		assert.True(t, locked(t, repo, "acct-2"), "held after ErrAlreadyConnected")
		_, err = repo.GetPending(ctx, "acct-2")
		assert.NoError(t, err, "the marker stays for the undo")
		lock.Unlock()
	})
}
