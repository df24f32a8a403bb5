package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/mocksikka"
)

// Crash safety: a real sikka-demo on PostgreSQL + Vault is held at each stage
// of a connect (-pause-at), killed with SIGKILL there, and replaced by a
// fresh process on the same database and Vault prefix, whose reconciler runs
// at start. The test then reads PostgreSQL and Vault directly.

// newCrashWorld is a world whose demos share one state key, so a restarted
// process accepts the states of the one it replaces, and whose mock
// approves at once.
func newCrashWorld(t *testing.T) *world {
	t.Helper()
	return newWorld(t, worldOpts{autoApprove: mocksikka.DefaultOfficeID, sharedStateKey: true})
}

// The pending timeout of restarted demos: a marker older than this is a dead
// connect. The default (2m) would make the test wait; a restarted process
// can use a short one because a live connect also holds its account's lock.
const crashPendingTimeout = time.Second

func TestCrashAtEachStage(t *testing.T) {
	const account = "crash-account"
	for _, reconnect := range []bool{false, true} {
		for _, stage := range integration.Stages() {
			name := "first/" + string(stage)
			if reconnect {
				name = "reconnect/" + string(stage)
			}
			t.Run(name, func(t *testing.T) {
				began := time.Now()
				s := newCrashWorld(t)
				var before map[string]any
				var beforeVersion int
				if reconnect {
					d0 := s.start(t, nil)
					s.connect(t, d0, account)
					var ok bool
					before, beforeVersion, ok = s.vault.secret(t, account)
					require.True(t, ok)
					d0.Kill(t)
				}

				// 1. A demo holds the connect at the stage; it dies there.
				d1 := s.start(t, []string{"SIKKA_DEMO_PAUSE_AT=" + string(stage)})
				b, cb := s.beginConnect(t, d1, account)
				delivered := make(chan error, 1)
				go func() { _, err := b.Hop(cb.String()); delivered <- err }()
				waitDemoLog(t, d1, "paused at "+string(stage))
				d1.Kill(t)
				require.Error(t, <-delivered, "the browser never got an answer")

				// 2. What the crash left behind.
				_, version, secretOK := s.vault.secret(t, account)
				rec, recOK := s.records(t)[account]
				switch stage {
				case integration.StageExchanged:
					assert.Empty(t, s.pendingFlows(t), "nothing written before the marker")
				case integration.StagePending:
					assert.Equal(t, []string{account}, s.pendingFlows(t))
					assert.Equal(t, reconnect, secretOK)
					assert.Equal(t, beforeVersion, version, "the secret is not written yet")
				case integration.StageSecretWritten:
					assert.Equal(t, []string{account}, s.pendingFlows(t))
					require.True(t, secretOK)
					assert.Equal(t, beforeVersion+1, version, "the secret is written")
					assert.Equal(t, reconnect, recOK, "the record is not")
				case integration.StageRecordWritten:
					assert.Empty(t, s.pendingFlows(t), "the marker went with the record write")
					assert.True(t, recOK && rec.Status == "ACTIVE")
				}

				// 3. A fresh process on the same stores recovers at start.
				time.Sleep(crashPendingTimeout + 100*time.Millisecond)
				d2 := s.start(t, nil, "-pending-timeout", crashPendingTimeout.String())
				rep := demoLogRecord(t, d2, "sikka-demo: reconciled")
				want := map[integration.Stage][2]float64{ // undone, cleared
					integration.StagePending:       {0, 1},
					integration.StageSecretWritten: {1, 0},
				}[stage]
				assert.Equal(t, want[0], rep["undone"], "secret writes undone at start")
				assert.Equal(t, want[1], rep["cleared"], "markers cleared at start")
				s.checkInvariants(t, invariants{})

				fields, version, secretOK := s.vault.secret(t, account)
				rec, recOK = s.records(t)[account]
				switch {
				case stage == integration.StageRecordWritten:
					require.True(t, recOK && secretOK)
					assert.Equal(t, "ACTIVE", rec.Status, "the connect had finished: it stays")
					if reconnect {
						assert.NotEqual(t, before["requestKey"], fields["requestKey"])
					}
				case reconnect:
					require.True(t, recOK && secretOK)
					assert.Equal(t, "ACTIVE", rec.Status, "a reconnect that died leaves the account ACTIVE")
					assert.Equal(t, before, fields, "with its previous credentials")
					if stage == integration.StageSecretWritten {
						assert.Equal(t, beforeVersion+2, version, "restored as a new version")
					}
				default:
					assert.False(t, recOK, "no record")
					assert.False(t, secretOK, "no secret")
				}

				// 4. The same account connects afterwards.
				s.connect(t, d2, account)
				s.checkInvariants(t, invariants{})
				assertCleanRun(t, d2, s.mock, newLeakScan())
				t.Logf("%s: %.1fs", name, time.Since(began).Seconds())
			})
		}
	}
}

// The other two ways a dead connect is recovered: by a surviving replica's
// periodic reconciler, without any restart; and, before any reconciler looks
// (the default 2m pending timeout), by the account's next connect, which
// takes the account's lock the dead process no longer holds.
func TestCrashRecoveredWithoutRestart(t *testing.T) {
	const account = "crash-account"
	crashReconnect := func(t *testing.T, s *world, survivor *demo) (before map[string]any) {
		t.Helper()
		s.connect(t, survivor, account)
		before, _, ok := s.vault.secret(t, account)
		require.True(t, ok)
		victim := s.start(t, []string{"SIKKA_DEMO_PAUSE_AT=" + string(integration.StageSecretWritten)})
		b, cb := s.beginConnect(t, victim, account)
		go b.Hop(cb.String()) //nolint:errcheck // never answered
		waitDemoLog(t, victim, "paused at "+string(integration.StageSecretWritten))
		victim.Kill(t)
		require.Equal(t, []string{account}, s.pendingFlows(t))
		return before
	}

	t.Run("periodic reconciler of a surviving replica", func(t *testing.T) {
		began := time.Now()
		s := newCrashWorld(t)
		survivor := s.start(t, nil, "-pending-timeout", crashPendingTimeout.String(), "-reconcile-interval", "200ms")
		before := crashReconnect(t, s, survivor)
		deadline := time.Now().Add(20 * time.Second)
		for len(s.pendingFlows(t)) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		s.checkInvariants(t, invariants{})
		fields, _, ok := s.vault.secret(t, account)
		require.True(t, ok)
		assert.Equal(t, before, fields, "the previous credentials are back")
		waitDemoLog(t, survivor, `"msg":"integration: reconcile","stale":1,"undone":1`) // Service.Run's reconciler
		s.connect(t, survivor, account)
		s.checkInvariants(t, invariants{})
		t.Logf("%.1fs", time.Since(began).Seconds())
	})

	t.Run("the account's next connect", func(t *testing.T) {
		began := time.Now()
		s := newCrashWorld(t)
		survivor := s.start(t, nil) // default pending timeout: the reconciler leaves the marker alone
		crashReconnect(t, s, survivor)
		s.connect(t, survivor, account)
		s.checkInvariants(t, invariants{})
		waitDemoLog(t, survivor, `"by":"account"`)
		t.Logf("%.1fs", time.Since(began).Seconds())
	})
}
