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

// RunRecords runs the contract of integration.RecordStore against the stores
// that newRepo returns (each one fresh and empty).
func RunRecords(t *testing.T, newRepo func(t *testing.T) integration.RecordStore) {
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

	t.Run("ActiveOffices", func(t *testing.T) {
		repo := newRepo(t)
		got, err := repo.ActiveOffices(ctx, integration.ProviderSikka)
		require.NoError(t, err)
		assert.Empty(t, got)
		for acct, office := range map[string]string{"acct-1": "D1", "acct-2": "D2", "acct-3": "D3", "acct-4": "D4"} {
			_, err := repo.Upsert(ctx, Record(acct, office))
			require.NoError(t, err)
		}
		require.NoError(t, repo.SetStatus(ctx, "acct-3", integration.StatusNeedsReauth))
		require.NoError(t, repo.SetStatus(ctx, "acct-4", integration.StatusRevoked))
		got, err = repo.ActiveOffices(ctx, integration.ProviderSikka)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"D1", "D2"}, got, "ACTIVE records only")
		got, err = repo.ActiveOffices(ctx, integration.Provider("OTHER"))
		require.NoError(t, err)
		assert.Empty(t, got, "of that provider only")
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
}
