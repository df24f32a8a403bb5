package integration_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/secretstore"
)

// interleavingStore runs once, right after the first Get of name returns, a
// function (another connect of the same account): the caller then holds a
// version that is no longer current when it takes the lock.
type interleavingStore struct {
	secretstore.Store
	name string
	once sync.Once
	then func()
}

func (s *interleavingStore) Get(ctx context.Context, nameOrRef string) (secretstore.Secret, error) {
	sec, err := s.Store.Get(ctx, nameOrRef)
	if nameOrRef == s.name {
		s.once.Do(s.then)
	}
	return sec, err
}

// Connect reads the secret's version before taking the lock (so that the
// lock, the practice check and the marker are one step). When another
// connect of the account writes in between, the check-and-set write notices,
// and the connect reads the version again under the lock: it ends ACTIVE with
// its own key, and the key it replaced (the other connect's) is revoked.
func TestConnectAfterAnInterleavedConnect(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			name, err := secretstore.DefaultNameTemplate.Name("acct-1")
			require.NoError(t, err)
			var otherKey string
			store := &interleavingStore{Store: e.secrets, name: name}
			store.then = func() {
				_, err := e.svc.Connect(ctx, "acct-1", e.code())
				require.NoError(t, err)
				otherKey = e.wire.lastIssued(t)
			}
			svc := e.service(integration.Config{Secrets: store})

			rec, err := svc.Connect(ctx, "acct-1", e.code())
			require.NoError(t, err)
			assert.Equal(t, integration.StatusActive, rec.Status)
			e.wire.mu.Lock()
			mine := e.wire.issued[0] // issued before the interleaved connect's
			e.wire.mu.Unlock()
			require.NotEqual(t, otherKey, mine)
			sec, err := e.secrets.Get(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, mine, sec.RequestKey, "the secret holds this connect's key")
			e.assertRevoked(otherKey, "the interleaved connect's key, replaced")
			e.assertConsistent("acct-1")
			_, err = e.repo.GetPending(ctx, "acct-1")
			assert.ErrorIs(t, err, integration.ErrNotFound, "no marker left")
		})
	}
}

// A recovery undoes the secret only when its current value is the dead
// flow's write (the marker's key hash): a marker whose flow never wrote
// leaves a secret written by someone else alone, whatever its version says.
func TestRecoveryUndoesOnlyTheFlowsOwnWrite(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			name, err := secretstore.DefaultNameTemplate.Name("acct-1")
			require.NoError(t, err)
			_, err = e.svc.Connect(ctx, "acct-1", e.code())
			require.NoError(t, err)
			first, err := e.secrets.Get(ctx, name)
			require.NoError(t, err)
			_, err = e.svc.Connect(ctx, "acct-1", e.code()) // a reconnect: a second version
			require.NoError(t, err)
			before, err := e.secrets.Get(ctx, name)
			require.NoError(t, err)
			require.NotEqual(t, first.Version, before.Version)

			// A flow that died after its marker, before writing, naming as
			// previous version one that is not the current one (read before
			// the reconnect): comparing versions would restore it.
			require.NoError(t, e.repo.InsertPending(ctx, integration.PendingFlow{
				FlowID: "dead-flow", AccountID: "acct-1", Provider: integration.ProviderSikka,
				OfficeID: before.OfficeID, SecretName: name, PrevVersion: first.Version,
				KeyHash:   "0000000000000000000000000000000000000000000000000000000000000000",
				StartedAt: time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond),
			}))
			res, err := e.svc.Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, 0, res.Undone, "nothing of the dead flow's to undo")
			assert.Equal(t, 0, res.Failed)
			after, err := e.secrets.Get(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, before.Version, after.Version, "the secret was left alone")
			assert.Equal(t, before.RequestKey, after.RequestKey)
			e.assertConsistent("acct-1")
		})
	}
}
