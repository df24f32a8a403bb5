package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/mocksikka"
)

// Crash safety: a real sikka-demo on PostgreSQL + Vault is held at each stage
// of a connect (-pause-at), by the callback or by the office id form, killed with SIGKILL there, and replaced by a
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

// crashWay is one way to connect in the crash tests: the callback of the
// notes' flow, or the office id form (POST connect) of a Marketplace
// practice. deliver sends the request that runs the connect and returns its
// transport error (the demo dies before it answers).
type crashWay struct {
	name    string
	connect func(t *testing.T, s *world, d *demo, account string)
	deliver func(t *testing.T, s *world, d *demo, account string) func() error
}

var crashWays = []crashWay{
	{"", func(t *testing.T, s *world, d *demo, account string) { s.connect(t, d, account) }, func(t *testing.T, s *world, d *demo, account string) func() error {
		b, cb := s.beginConnect(t, d, account)
		return func() error { _, err := b.Hop(cb.String()); return err }
	}},
	{"office/", connectOffice, func(t *testing.T, _ *world, d *demo, account string) func() error {
		return func() error { _, err := postOffice(t, d, account); return err }
	}},
}

// postOffice posts the setup page's office id form as account on d, with
// the default office's secret key, and returns the Location it answered.
func postOffice(t *testing.T, d *demo, account string) (string, error) {
	return postOfficeKey(t, d, account, mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
}

// postOfficeKey posts the office id form with officeID and secretKey.
func postOfficeKey(t *testing.T, d *demo, account, officeID, secretKey string) (string, error) {
	b := newBrowserClient(t, 90*time.Second)
	b.SetCookie(d.Base, &http.Cookie{Name: "sikka_demo_account", Value: account, Path: "/"})
	form := url.Values{"office_id": {officeID}, "secret_key": {secretKey}}
	resp, err := b.HTTP.PostForm(d.Base+"/agent/setup/pms/connect", form)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Header.Get("Location"), nil
}

// connectOffice connects account on d by the office id form and requires
// success.
func connectOffice(t *testing.T, _ *world, d *demo, account string) {
	t.Helper()
	loc, err := postOffice(t, d, account)
	require.NoError(t, err)
	require.Equal(t, "/agent/setup/pms?status=success", loc, "demo log:\n%s", d.logs)
}

func TestCrashAtEachStage(t *testing.T) {
	const account = "crash-account"
	for _, way := range crashWays {
		for _, reconnect := range []bool{false, true} {
			for _, stage := range integration.Stages() {
				name := way.name + "first/" + string(stage)
				if reconnect {
					name = way.name + "reconnect/" + string(stage)
				}
				t.Run(name, func(t *testing.T) {
					began := time.Now()
					s := newCrashWorld(t)
					var before map[string]any
					var beforeVersion int
					if reconnect {
						d0 := s.start(t, nil)
						way.connect(t, s, d0, account)
						var ok bool
						before, beforeVersion, ok = s.vault.secret(t, account)
						require.True(t, ok)
						d0.Kill(t)
					}

					// 1. A demo holds the connect at the stage; it dies there.
					d1 := s.start(t, []string{"SIKKA_DEMO_PAUSE_AT=" + string(stage)})
					deliver := way.deliver(t, s, d1, account)
					delivered := make(chan error, 1)
					go func() { delivered <- deliver() }()
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

					// 4. The same account connects afterwards (by the callback,
					// whose codes the leak scan wants).
					s.connect(t, d2, account)
					s.checkInvariants(t, invariants{})
					assertCleanRun(t, d2, s.mock, newLeakScan())
					t.Logf("%s: %.1fs", name, time.Since(began).Seconds())
				})
			}
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
