package integrationtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
)

// RunLocks runs the contract of integration.AccountLocker against the
// lockers that newRepo returns (each one fresh, no lock held).
func RunLocks(t *testing.T, newRepo func(t *testing.T) integration.AccountLocker) {
	ctx := context.Background()

	t.Run("LocksExcludeAndWait", func(t *testing.T) {
		repo := newRepo(t)
		unlock, err := repo.LockAccount(ctx, "acct-1")
		require.NoError(t, err)

		_, ok, err := repo.TryLockAccount(ctx, "acct-1")
		require.NoError(t, err)
		assert.False(t, ok, "a held lock is not granted twice")

		other, ok, err := repo.TryLockAccount(ctx, "acct-2")
		require.NoError(t, err)
		require.True(t, ok, "locks of other accounts are independent")
		other()

		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err = repo.LockAccount(short, "acct-1")
		assert.Error(t, err, "waiting ends with the context")

		got := make(chan func(), 1)
		go func() {
			u, err := repo.LockAccount(ctx, "acct-1")
			assert.NoError(t, err)
			got <- u
		}()
		select {
		case <-got:
			t.Fatal("lock granted while held")
		case <-time.After(50 * time.Millisecond):
		}
		unlock()
		select {
		case u := <-got:
			u()
		case <-time.After(5 * time.Second):
			t.Fatal("waiter not granted the lock after unlock")
		}
		again, ok, err := repo.TryLockAccount(ctx, "acct-1")
		require.NoError(t, err)
		require.True(t, ok, "the lock is free after the last unlock")
		again()
	})
}
