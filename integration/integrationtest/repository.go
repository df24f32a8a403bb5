// Package integrationtest holds the contract suite every
// integration.Repository passes. A backend's test calls RunRepository with a
// constructor that returns a fresh, empty repository.
package integrationtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
)

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

// RunRepository runs the repository contract against the repositories that
// newRepo returns (each one fresh and empty).
func RunRepository(t *testing.T, newRepo func(t *testing.T) integration.Repository) {
	ctx := context.Background()

	t.Run("GetMissing", func(t *testing.T) {
		_, err := newRepo(t).Get(ctx, "nobody")
		assert.ErrorIs(t, err, integration.ErrNotFound)
	})

	t.Run("UpsertCreatesThenOverwritesInPlace", func(t *testing.T) {
		repo := newRepo(t)
		in := Record("acct-1", "D36225")
		created, err := repo.Upsert(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, in.KeyExpiry, created.KeyExpiry)
		assert.False(t, created.CreatedAt.IsZero())

		got, err := repo.Get(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, created, got)

		again := in
		again.OfficeID = "D99999"
		again.PracticeName = "Other Clinic"
		again.SecretRef = "ref/acct-1/v2"
		again.KeyExpiry = in.KeyExpiry.Add(time.Hour)
		updated, err := repo.Upsert(ctx, again)
		require.NoError(t, err)
		assert.Equal(t, created.CreatedAt, updated.CreatedAt, "an overwrite keeps the creation time")
		got, err = repo.Get(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, "D99999", got.OfficeID)
		assert.Equal(t, "Other Clinic", got.PracticeName)
		assert.Equal(t, "ref/acct-1/v2", got.SecretRef)
		assert.Equal(t, again.KeyExpiry, got.KeyExpiry)
	})

	t.Run("UpsertRejectsInvalidRecords", func(t *testing.T) {
		repo := newRepo(t)
		for name, mutate := range map[string]func(*integration.Record){
			"no account":  func(r *integration.Record) { r.AccountID = "" },
			"no office":   func(r *integration.Record) { r.OfficeID = "" },
			"no secret":   func(r *integration.Record) { r.SecretRef = "" },
			"bad status":  func(r *integration.Record) { r.Status = "CONNECTED" },
			"no provider": func(r *integration.Record) { r.Provider = "" },
		} {
			r := Record("acct-x", "D1")
			mutate(&r)
			_, err := repo.Upsert(ctx, r)
			assert.ErrorIs(t, err, integration.ErrInvalidRecord, name)
		}
	})

	t.Run("AlreadyConnected", func(t *testing.T) {
		repo := newRepo(t)
		_, err := repo.Upsert(ctx, Record("acct-a", "D36225"))
		require.NoError(t, err)

		_, err = repo.Upsert(ctx, Record("acct-b", "D36225"))
		assert.ErrorIs(t, err, integration.ErrAlreadyConnected)
		_, err = repo.Get(ctx, "acct-b")
		assert.ErrorIs(t, err, integration.ErrNotFound, "the loser is not written")

		// The holder reconnecting the same practice is fine.
		_, err = repo.Upsert(ctx, Record("acct-a", "D36225"))
		require.NoError(t, err)

		// A non-active record for the same office does not hold it...
		parked := Record("acct-b", "D36225")
		parked.Status = integration.StatusRevoked
		_, err = repo.Upsert(ctx, parked)
		require.NoError(t, err)
		// ...and cannot become ACTIVE while another account holds it.
		assert.ErrorIs(t, repo.SetStatus(ctx, "acct-b", integration.StatusActive), integration.ErrAlreadyConnected)

		// Once the holder lets go, the other account may take it.
		require.NoError(t, repo.SetStatus(ctx, "acct-a", integration.StatusRevoked))
		require.NoError(t, repo.SetStatus(ctx, "acct-b", integration.StatusActive))
		holder, err := repo.ActiveByOffice(ctx, integration.ProviderSikka, "D36225")
		require.NoError(t, err)
		assert.Equal(t, "acct-b", holder.AccountID)
	})

	t.Run("ConcurrentConnectsOfOneOffice", func(t *testing.T) {
		repo := newRepo(t)
		const n = 20
		var wins, losses atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := repo.Upsert(ctx, Record(fmt.Sprintf("acct-%02d", i), "D36225"))
				switch {
				case err == nil:
					wins.Add(1)
				case assert.ErrorIs(t, err, integration.ErrAlreadyConnected):
					losses.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
		assert.Equal(t, int32(n-1), losses.Load())
		_, err := repo.ActiveByOffice(ctx, integration.ProviderSikka, "D36225")
		assert.NoError(t, err)
	})

	t.Run("ActiveByOffice", func(t *testing.T) {
		repo := newRepo(t)
		_, err := repo.ActiveByOffice(ctx, integration.ProviderSikka, "D36225")
		assert.ErrorIs(t, err, integration.ErrNotFound)
		_, err = repo.Upsert(ctx, Record("acct-1", "D36225"))
		require.NoError(t, err)
		got, err := repo.ActiveByOffice(ctx, integration.ProviderSikka, "D36225")
		require.NoError(t, err)
		assert.Equal(t, "acct-1", got.AccountID)
		require.NoError(t, repo.SetStatus(ctx, "acct-1", integration.StatusNeedsReauth))
		_, err = repo.ActiveByOffice(ctx, integration.ProviderSikka, "D36225")
		assert.ErrorIs(t, err, integration.ErrNotFound)
	})

	t.Run("SetStatusAndExpiry", func(t *testing.T) {
		repo := newRepo(t)
		assert.ErrorIs(t, repo.SetStatus(ctx, "nobody", integration.StatusRevoked), integration.ErrNotFound)
		assert.ErrorIs(t, repo.SetKeyExpiry(ctx, "nobody", time.Now()), integration.ErrNotFound)

		_, err := repo.Upsert(ctx, Record("acct-1", "D36225"))
		require.NoError(t, err)
		assert.ErrorIs(t, repo.SetStatus(ctx, "acct-1", "BOGUS"), integration.ErrInvalidRecord)
		require.NoError(t, repo.SetStatus(ctx, "acct-1", integration.StatusRevoked))
		expiry := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
		require.NoError(t, repo.SetKeyExpiry(ctx, "acct-1", expiry.In(time.FixedZone("x", 3600))))
		got, err := repo.Get(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, integration.StatusRevoked, got.Status)
		assert.Equal(t, expiry, got.KeyExpiry)
	})

	t.Run("DuePagesThroughActiveRecordsExpiringSoon", func(t *testing.T) {
		repo := newRepo(t)
		now := time.Now().UTC()
		for i := range 25 {
			r := Record(fmt.Sprintf("due-%02d", i), fmt.Sprintf("D%02d", i))
			r.KeyExpiry = now.Add(time.Duration(i) * time.Minute)
			_, err := repo.Upsert(ctx, r)
			require.NoError(t, err)
		}
		later := Record("later", "DL")
		later.KeyExpiry = now.Add(10 * time.Hour)
		revoked := Record("revoked", "DR")
		revoked.Status = integration.StatusRevoked
		revoked.KeyExpiry = now
		for _, r := range []integration.Record{later, revoked} {
			_, err := repo.Upsert(ctx, r)
			require.NoError(t, err)
		}

		var seen []string
		after := ""
		for {
			page, err := repo.Due(ctx, now.Add(time.Hour), after, 10)
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			assert.LessOrEqual(t, len(page), 10)
			for _, r := range page {
				seen = append(seen, r.AccountID)
			}
			after = page[len(page)-1].AccountID
		}
		require.Len(t, seen, 25)
		for i, id := range seen {
			assert.Equal(t, fmt.Sprintf("due-%02d", i), id)
		}
	})

	t.Run("ListRevokedPagesThroughUnfinishedDisconnects", func(t *testing.T) {
		repo := newRepo(t)
		for i := range 5 {
			r := Record(fmt.Sprintf("revoked-%d", i), fmt.Sprintf("DR%d", i))
			r.Status = integration.StatusRevoked
			_, err := repo.Upsert(ctx, r)
			require.NoError(t, err)
		}
		for _, st := range []integration.Status{integration.StatusActive, integration.StatusNeedsReauth} {
			r := Record("other-"+string(st), "DO-"+string(st))
			r.Status = st
			_, err := repo.Upsert(ctx, r)
			require.NoError(t, err)
		}
		list := func() []string {
			var seen []string
			after := ""
			for {
				page, err := repo.ListRevoked(ctx, after, 2)
				require.NoError(t, err)
				if len(page) == 0 {
					return seen
				}
				assert.LessOrEqual(t, len(page), 2)
				for _, r := range page {
					assert.Equal(t, integration.StatusRevoked, r.Status)
					assert.Equal(t, "ref/"+r.AccountID, r.SecretRef)
					seen = append(seen, r.AccountID)
				}
				after = page[len(page)-1].AccountID
			}
		}
		assert.Equal(t, []string{"revoked-0", "revoked-1", "revoked-2", "revoked-3", "revoked-4"}, list())

		require.NoError(t, repo.ClearSecretRef(ctx, "revoked-1"))
		got, err := repo.Get(ctx, "revoked-1")
		require.NoError(t, err)
		assert.Empty(t, got.SecretRef)
		assert.Equal(t, integration.StatusRevoked, got.Status)
		require.NoError(t, repo.ClearSecretRef(ctx, "revoked-1"), "clearing twice is fine")

		// Only a REVOKED record is cleared.
		assert.ErrorIs(t, repo.ClearSecretRef(ctx, "other-ACTIVE"), integration.ErrNotFound)
		active, err := repo.Get(ctx, "other-ACTIVE")
		require.NoError(t, err)
		assert.Equal(t, "ref/other-ACTIVE", active.SecretRef)
		assert.ErrorIs(t, repo.ClearSecretRef(ctx, "nobody"), integration.ErrNotFound)

		// A reconnect (ACTIVE again, with its reference) leaves the list.
		_, err = repo.Upsert(ctx, Record("revoked-3", "DR3"))
		require.NoError(t, err)
		assert.Equal(t, []string{"revoked-0", "revoked-2", "revoked-4"}, list())
	})

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
