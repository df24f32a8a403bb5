package integration_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/sikka"
)

// crashAt returns a StageHook that ends the connect's goroutine at stage, as
// if the process died there: nothing after it runs except the deferred
// unlock (a dead process's PostgreSQL session releases its locks too).
func crashAt(stage integration.Stage) func(context.Context, string, integration.Stage) {
	return func(_ context.Context, _ string, st integration.Stage) {
		if st == stage {
			runtime.Goexit()
		}
	}
}

// crashConnect runs a connect of acct on svc that dies at its crash stage;
// it reports whether the connect returned (it did not die).
func crashConnect(t *testing.T, svc *integration.Service, acct, code string) (returned bool) {
	t.Helper()
	return crashRun(t, func() { _, _ = svc.Connect(context.Background(), acct, code) })
}

// crashRun runs connect (a connect on a service whose StageHook crashes) in
// a goroutine of its own; it reports whether connect returned (it did not
// die).
func crashRun(t *testing.T, connect func()) (returned bool) {
	t.Helper()
	done := make(chan bool, 1)
	go func() {
		defer func() { done <- returned }()
		connect()
		returned = true
	}()
	select {
	case r := <-done:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the crashing connect did not end")
		return false
	}
}

// reconciler is a service (a restarted process) whose Reconcile treats
// every marker as abandoned.
func (e *env) reconciler() *integration.Service {
	return e.service(integration.Config{Records: e.newRepo(), PendingTimeout: time.Nanosecond})
}

func (e *env) assertNoMarker(acct string) {
	e.t.Helper()
	_, err := e.repo.GetPending(context.Background(), acct)
	assert.ErrorIs(e.t, err, integration.ErrNotFound, "the marker of %s is gone", acct)
}

// connectWay is one of the service's two ways to connect an account: by
// the code of the notes' authorization page (Connect), or by office id and
// secret key (ConnectOffice, a practice onboarded through the Marketplace).
type connectWay struct {
	name    string
	connect func(e *env, svc *integration.Service, acct string) (integration.Record, error)
}

func connectWays() []connectWay {
	return []connectWay{
		{"code", func(e *env, svc *integration.Service, acct string) (integration.Record, error) {
			return svc.Connect(context.Background(), acct, e.code())
		}},
		{"office", func(_ *env, svc *integration.Service, acct string) (integration.Record, error) {
			return svc.ConnectOffice(context.Background(), acct, office, mocksikka.DefaultSecretKey)
		}},
	}
}

// Each crash point of a first connect and of a reconnect, by either way,
// recovered by Reconcile (a restarted process): the invariants hold, a
// reconnecting account keeps its working credentials, and the same account
// then connects.
func TestConnectCrashRecoveredByReconcile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, way := range connectWays() {
			for _, reconnect := range []bool{false, true} {
				for _, stage := range integration.Stages() {
					name := fmt.Sprintf("%s/first/%s", way.name, stage)
					if reconnect {
						name = fmt.Sprintf("%s/reconnect/%s", way.name, stage)
					}
					t.Run(name, func(t *testing.T) { testConnectCrash(t, b, way, reconnect, stage) })
				}
			}
		}
	})
}

func testConnectCrash(t *testing.T, b backend, way connectWay, reconnect bool, stage integration.Stage) {
	e := newEnv(t, b)
	ctx := context.Background()
	var before secretstore.Secret
	if reconnect {
		rec, err := way.connect(e, e.svc, "acct-1")
		require.NoError(t, err)
		before, err = e.secrets.Get(ctx, rec.SecretRef)
		require.NoError(t, err)
	}

	crashing := e.service(integration.Config{StageHook: crashAt(stage)})
	require.False(t, crashRun(t, func() { _, _ = way.connect(e, crashing, "acct-1") }), "the connect died at %s", stage)

	res, err := e.reconciler().Reconcile(ctx)
	require.NoError(t, err)
	switch stage {
	case integration.StageExchanged, integration.StageRecordWritten:
		assert.Equal(t, integration.ReconcileResult{}, res, "nothing to recover")
	case integration.StagePending:
		assert.Equal(t, integration.ReconcileResult{Stale: 1, Cleared: 1}, res)
	case integration.StageSecretWritten:
		assert.Equal(t, integration.ReconcileResult{Stale: 1, Undone: 1}, res)
	}
	e.assertNoMarker("acct-1")
	e.assertConsistent("acct-1")

	rec, recErr := e.repo.Get(ctx, "acct-1")
	switch {
	case stage == integration.StageRecordWritten:
		require.NoError(t, recErr)
		assert.Equal(t, integration.StatusActive, rec.Status, "the connect had finished")
		sec, err := e.secrets.Get(ctx, rec.SecretRef)
		require.NoError(t, err)
		if reconnect {
			assert.NotEqual(t, before.RequestKey, sec.RequestKey, "the new credentials stay")
		}
	case reconnect:
		require.NoError(t, recErr)
		assert.Equal(t, integration.StatusActive, rec.Status, "a reconnect that died leaves the account ACTIVE")
		sec, err := e.secrets.Get(ctx, rec.SecretRef)
		require.NoError(t, err)
		assert.Equal(t, before.RequestKey, sec.RequestKey, "with its previous credentials")
		creds, err := e.svc.Credentials(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, before.RequestKey, creds.RequestKey)
	default:
		assert.ErrorIs(t, recErr, integration.ErrNotFound)
	}

	// The same account connects afterwards.
	_, err = way.connect(e, e.svc, "acct-1")
	require.NoError(t, err)
	e.assertConsistent("acct-1")
	e.assertNoMarker("acct-1")
}

// Without waiting for Reconcile, the account's next connect (or a refresh of
// its credentials) recovers the marker first: it holds the account's lock,
// which the dead flow would otherwise hold.
func TestConnectCrashRecoveredByTheAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		t.Run("next connect", func(t *testing.T) {
			e := newEnv(t, b)
			crashing := e.service(integration.Config{StageHook: crashAt(integration.StageSecretWritten)})
			require.False(t, crashConnect(t, crashing, "acct-1", e.code()))
			_, err := e.repo.GetPending(ctx, "acct-1")
			require.NoError(t, err, "the dead flow left its marker")

			rec, err := e.svc.Connect(ctx, "acct-1", e.code())
			require.NoError(t, err)
			assert.Equal(t, integration.StatusActive, rec.Status)
			e.assertNoMarker("acct-1")
			e.assertConsistent("acct-1")
			assert.Contains(t, e.logs.String(), "recovered an unfinished connect")
		})
		t.Run("refresh", func(t *testing.T) {
			e := newEnv(t, b)
			rec := e.connectWithShortKey("acct-1")
			before, err := e.secrets.Get(ctx, rec.SecretRef)
			require.NoError(t, err)
			crashing := e.service(integration.Config{StageHook: crashAt(integration.StageSecretWritten)})
			require.False(t, crashConnect(t, crashing, "acct-1", e.code()))

			// The key is due: the refresh takes the lock, restores the
			// secret the dead reconnect overwrote, and renews that one.
			creds, err := e.svc.Credentials(ctx, "acct-1")
			require.NoError(t, err)
			assert.Equal(t, 1, e.mock.Count("POST /v4/request_key", "refresh_key"))
			assert.NotEqual(t, before.RequestKey, creds.RequestKey)
			e.assertNoMarker("acct-1")
			e.assertConsistent("acct-1")
		})
	})
}

// Reconcile leaves live connects alone: a marker younger than PendingTimeout
// is not looked at, and one whose account lock is held is skipped.
func TestReconcileLeavesLiveConnectsAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		paused := make(chan struct{})
		release := make(chan struct{})
		live := e.service(integration.Config{StageHook: func(_ context.Context, _ string, st integration.Stage) {
			if st == integration.StageSecretWritten {
				close(paused)
				<-release
			}
		}})
		done := make(chan error, 1)
		go func() {
			_, err := live.Connect(ctx, "acct-1", e.code())
			done <- err
		}()
		<-paused

		young := e.service(integration.Config{Records: e.newRepo()}) // default 2m threshold
		res, err := young.Reconcile(ctx)
		require.NoError(t, err)
		assert.Equal(t, integration.ReconcileResult{}, res, "a young marker is not looked at")

		res, err = e.reconciler().Reconcile(ctx)
		require.NoError(t, err)
		assert.Equal(t, integration.ReconcileResult{Stale: 1, Skipped: 1}, res, "a locked account is skipped")

		close(release)
		require.NoError(t, <-done)
		e.assertNoMarker("acct-1")
		e.assertConsistent("acct-1")
	})
}

// A connect whose marker a recovery claimed (its process lost the account's
// lock, say) cannot complete, and leaves nothing behind.
func TestConnectTakenOverCannotComplete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, reconnect := range []bool{false, true} {
			t.Run(fmt.Sprintf("reconnect=%v", reconnect), func(t *testing.T) {
				e := newEnv(t, b)
				ctx := context.Background()
				var before secretstore.Secret
				if reconnect {
					rec, err := e.svc.Connect(ctx, "acct-1", e.code())
					require.NoError(t, err)
					before, err = e.secrets.Get(ctx, rec.SecretRef)
					require.NoError(t, err)
				}
				svc := e.service(integration.Config{StageHook: func(ctx context.Context, acct string, st integration.Stage) {
					if st == integration.StageSecretWritten {
						f, err := e.repo.GetPending(ctx, acct)
						require.NoError(t, err)
						require.NoError(t, e.repo.ClaimPending(ctx, f.FlowID))
					}
				}})
				_, err := svc.Connect(ctx, "acct-1", e.code())
				require.ErrorIs(t, err, integration.ErrFlowLost)
				e.assertConsistent("acct-1")
				if reconnect {
					sec, err := e.secrets.Get(ctx, before.Ref)
					require.NoError(t, err)
					assert.Equal(t, before.RequestKey, sec.RequestKey)
				}
				// The claimed marker is finished by the next recovery.
				_, err = e.reconciler().Reconcile(ctx)
				require.NoError(t, err)
				e.assertNoMarker("acct-1")
				e.assertConsistent("acct-1")
			})
		}
	})
}

// Several reconcilers at once (replicas starting together) recover each
// dead connect exactly once.
func TestConcurrentReconcilers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		const n = 12
		accounts := make([]string, n)
		for i := range n {
			accounts[i] = fmt.Sprintf("acct-%02d", i)
			stage := integration.StageSecretWritten
			if i%3 == 0 {
				stage = integration.StagePending
			}
			crashing := e.service(integration.Config{StageHook: crashAt(stage)})
			require.False(t, crashConnect(t, crashing, accounts[i], e.code()))
		}
		results := make([]integration.ReconcileResult, 3)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range results {
			svc := e.reconciler()
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, err := svc.Reconcile(ctx)
				assert.NoError(t, err)
				results[i] = r
			}()
		}
		close(start)
		wg.Wait()
		var total integration.ReconcileResult
		for _, r := range results {
			total.Undone += r.Undone
			total.Cleared += r.Cleared
			total.Failed += r.Failed
		}
		assert.Equal(t, n-n/3, total.Undone, "each secret write undone once")
		assert.Equal(t, n/3, total.Cleared)
		assert.Zero(t, total.Failed)
		for _, acct := range accounts {
			e.assertNoMarker(acct)
		}
		e.assertConsistent(accounts...)
		assert.Equal(t, n-n/3, strings.Count(e.logs.String(), "deleted the secret it created"))
	})
}

// StageHook sees every stage of a successful connect, in order.
func TestStageHookOrder(t *testing.T) {
	e := newEnv(t, backends()[0])
	var mu sync.Mutex
	var seen []integration.Stage
	svc := e.service(integration.Config{StageHook: func(_ context.Context, acct string, st integration.Stage) {
		assert.Equal(t, "acct-1", acct)
		mu.Lock()
		seen = append(seen, st)
		mu.Unlock()
	}})
	_, err := svc.Connect(context.Background(), "acct-1", e.code())
	require.NoError(t, err)
	assert.Equal(t, integration.Stages(), seen)
}

// A disconnect after a reconnect died puts the previous secret back first,
// so the key it revokes at Sikka is the one the record described.
func TestDisconnectAfterCrashedReconnect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		rec, err := e.svc.Connect(ctx, "acct-1", e.code())
		require.NoError(t, err)
		before, err := e.secrets.Get(ctx, rec.SecretRef)
		require.NoError(t, err)
		crashing := e.service(integration.Config{StageHook: crashAt(integration.StageSecretWritten)})
		require.False(t, crashConnect(t, crashing, "acct-1", e.code()))

		require.NoError(t, e.svc.Disconnect(ctx, "acct-1"))
		_, err = e.client.RequestKeyInfo(ctx, before.RequestKey)
		assert.ErrorIs(t, err, sikka.ErrKeyRejected, "the record's key was revoked")
		e.assertNoMarker("acct-1")
		e.assertConsistent("acct-1")
	})
}
