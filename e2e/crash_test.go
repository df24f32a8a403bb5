package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/mocksikka"
)

// Crash safety: a real sikka-demo on PostgreSQL + Vault is held at each stage
// of a connect (-pause-at), killed with SIGKILL there, and replaced by a
// fresh process on the same database and Vault prefix, whose reconciler runs
// at start. The test then reads PostgreSQL and Vault directly.

// sharedStores is one PostgreSQL schema, one Vault prefix and one mock Sikka
// that several demo processes (replicas, or a process and its restart)
// share, with one state key so any of them accepts another's states.
type sharedStores struct {
	mock      *mockSikka
	db        *sqlx.DB
	vault     *vaultapi.Client
	prefix    string
	env       []string
	stateKeys string
}

func newSharedStores(t *testing.T) *sharedStores {
	t.Helper()
	addr, token := os.Getenv("SIKKA_TEST_VAULT_ADDR"), os.Getenv("SIKKA_TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Skip("SIKKA_TEST_VAULT_ADDR not set: run scripts/test.sh, which starts a real Vault dev server")
	}
	dbURL := pgtest.URL(t)
	s := &sharedStores{mock: startMock(t), prefix: "e2e-" + randomHex(t)}
	s.mock.SetAutoApprove(mocksikka.DefaultOfficeID)
	client, err := vaultapi.NewClient(&vaultapi.Config{Address: addr})
	require.NoError(t, err)
	client.SetToken(token)
	s.vault = client
	s.db = openDB(t, dbURL)
	s.env = []string{"SIKKA_SECRETS=vault", "VAULT_ADDR=" + addr, "VAULT_TOKEN=" + token,
		"SIKKA_VAULT_PREFIX=" + s.prefix, "DATABASE_URL=" + dbURL}
	key := make([]byte, 32)
	_, err = rand.Read(key)
	require.NoError(t, err)
	s.stateKeys = "test:" + base64.StdEncoding.EncodeToString(key)
	return s
}

// start runs one demo process on the shared stores.
func (s *sharedStores) start(t *testing.T, env []string, args ...string) *demo {
	t.Helper()
	return startDemo(t, append(append([]string(nil), s.env...), env...),
		append([]string{"-sikka-url", s.mock.URL, "-state-keys", s.stateKeys}, args...)...)
}

const secretDir = "parlae/pms/sikka"

// secret reads the account's secret from Vault: its fields and version.
func (s *sharedStores) secret(t *testing.T, account string) (fields map[string]any, version int, ok bool) {
	t.Helper()
	kv, err := s.vault.KVv2("secret").Get(context.Background(), s.prefix+"/"+secretDir+"/"+account)
	if errors.Is(err, vaultapi.ErrSecretNotFound) {
		return nil, 0, false
	}
	require.NoError(t, err)
	return kv.Data, kv.VersionMetadata.Version, true
}

// secretAccounts lists the accounts that have a secret in Vault.
func (s *sharedStores) secretAccounts(t *testing.T) []string {
	t.Helper()
	list, err := s.vault.Logical().ListWithContext(context.Background(), "secret/metadata/"+s.prefix+"/"+secretDir)
	require.NoError(t, err)
	if list == nil {
		return nil
	}
	var out []string
	keys, _ := list.Data["keys"].([]any)
	for _, k := range keys {
		out = append(out, fmt.Sprint(k))
	}
	return out
}

type recordRow struct {
	Account   string `db:"account_id"`
	Status    string `db:"status"`
	Office    string `db:"office_id"`
	SecretRef string `db:"secret_ref"`
}

func (s *sharedStores) records(t *testing.T) map[string]recordRow {
	t.Helper()
	var rows []recordRow
	require.NoError(t, s.db.Select(&rows, `SELECT account_id, status, office_id, secret_ref FROM pms_integrations`))
	out := map[string]recordRow{}
	for _, r := range rows {
		out[r.Account] = r
	}
	return out
}

func (s *sharedStores) pendingFlows(t *testing.T) []string {
	t.Helper()
	var accounts []string
	require.NoError(t, s.db.Select(&accounts, `SELECT account_id FROM pms_pending_flows ORDER BY account_id`))
	return accounts
}

// assertInvariants checks, from PostgreSQL and Vault directly: every ACTIVE
// record has its secret (the same office, the reference the record keeps),
// every secret has a record that is not REVOKED, and no connect is pending.
func (s *sharedStores) assertInvariants(t *testing.T) {
	t.Helper()
	recs := s.records(t)
	for acct, r := range recs {
		if r.Status != string(integration.StatusActive) {
			continue
		}
		fields, _, ok := s.secret(t, acct)
		if assert.True(t, ok, "ACTIVE record of %s lacks its secret", acct) {
			assert.Equal(t, r.Office, fields["officeId"], "the secret of %s names the record's office", acct)
			assert.Equal(t, "secret/data/"+s.prefix+"/"+secretDir+"/"+acct, r.SecretRef)
		}
	}
	for _, acct := range s.secretAccounts(t) {
		r, ok := recs[acct]
		assert.True(t, ok && r.Status != string(integration.StatusRevoked), "secret of %s without a record", acct)
	}
	assert.Empty(t, s.pendingFlows(t), "no connect left pending")
}

// plainBrowser is a plain HTTP client standing for one browser: a cookie jar (Go's
// jar sends Secure cookies to loopback, as Chromium does) and no redirects
// followed, so each hop is seen.
type plainBrowser struct {
	hc *http.Client
}

func newBrowserClient(t *testing.T) *plainBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &plainBrowser{hc: &http.Client{Jar: jar, Timeout: 90 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// hop GETs u and returns the 302's Location.
func (b *plainBrowser) hop(u string) (*url.URL, error) {
	res, err := b.hc.Get(u)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("GET %s: %s, want 302", u, res.Status)
	}
	return res.Location()
}

// beginConnect signs the browser in on d as account, starts a connect and
// follows it through the mock (auto-approving) up to the callback URL the
// mock sends the browser to, which it returns undelivered.
func (b *plainBrowser) beginConnect(t *testing.T, d *demo, account string) *url.URL {
	t.Helper()
	_, err := b.hop(d.Base + "/demo/login?account=" + account)
	require.NoError(t, err)
	toSikka, err := b.hop(d.Base + "/agent/setup/pms/start")
	require.NoError(t, err)
	callback, err := b.hop(toSikka.String())
	require.NoError(t, err)
	require.Equal(t, "/agent/setup/pms/callback", callback.Path, "auto-approve sends the browser to the callback")
	require.NotEmpty(t, callback.Query().Get("code"))
	return callback
}

// onReplica rewrites u to reach demo d (another replica): same path and query.
func onReplica(u *url.URL, d *demo) string {
	base, _ := url.Parse(d.Base)
	v := *u
	v.Host = base.Host
	return v.String()
}

// finish delivers the callback and returns the frontend's outcome
// ("success", or "error:<reason>", "cancelled").
func (b *plainBrowser) finish(callback string) (string, error) {
	loc, err := b.hop(callback)
	if err != nil {
		return "", err
	}
	return outcomeOf(loc), nil
}

func outcomeOf(loc *url.URL) string {
	q := loc.Query()
	if r := q.Get("reason"); r != "" {
		return q.Get("status") + ":" + r
	}
	return q.Get("status")
}

// connect runs a whole connect of account on d and requires success.
func (s *sharedStores) connect(t *testing.T, d *demo, account string) {
	t.Helper()
	b := newBrowserClient(t)
	cb := b.beginConnect(t, d, account)
	out, err := b.finish(cb.String())
	require.NoError(t, err)
	require.Equal(t, "success", out, "connect of %s; demo log:\n%s", account, d.logs)
}

// waitDemoLog waits until the demo logged a line containing text.
func waitDemoLog(t *testing.T, d *demo, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(d.logs.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("sikka-demo never logged %q; its log:\n%s", text, d.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// demoLogRecord returns the first JSON log line whose msg is msg (waiting for
// it: stderr is copied to the buffer concurrently with stdout).
func demoLogRecord(t *testing.T, d *demo, msg string) map[string]any {
	t.Helper()
	waitDemoLog(t, d, `"msg":"`+msg+`"`)
	sc := bufio.NewScanner(strings.NewReader(d.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	t.Fatalf("no %q in the demo's log:\n%s", msg, d.logs)
	return nil
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
				s := newSharedStores(t)
				var before map[string]any
				var beforeVersion int
				if reconnect {
					d0 := s.start(t, nil)
					s.connect(t, d0, account)
					var ok bool
					before, beforeVersion, ok = s.secret(t, account)
					require.True(t, ok)
					d0.Kill(t)
				}

				// 1. A demo holds the connect at the stage; it dies there.
				d1 := s.start(t, []string{"SIKKA_DEMO_PAUSE_AT=" + string(stage)})
				b := newBrowserClient(t)
				cb := b.beginConnect(t, d1, account)
				delivered := make(chan error, 1)
				go func() { _, err := b.finish(cb.String()); delivered <- err }()
				waitDemoLog(t, d1, "paused at "+string(stage))
				d1.Kill(t)
				require.Error(t, <-delivered, "the browser never got an answer")

				// 2. What the crash left behind.
				_, version, secretOK := s.secret(t, account)
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
				s.assertInvariants(t)

				fields, version, secretOK := s.secret(t, account)
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
				s.assertInvariants(t)
				assertNoLeaks(t, d2, s.mock, newLeakScan())
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
	crashReconnect := func(t *testing.T, s *sharedStores, survivor *demo) (before map[string]any) {
		t.Helper()
		s.connect(t, survivor, account)
		before, _, ok := s.secret(t, account)
		require.True(t, ok)
		victim := s.start(t, []string{"SIKKA_DEMO_PAUSE_AT=" + string(integration.StageSecretWritten)})
		b := newBrowserClient(t)
		cb := b.beginConnect(t, victim, account)
		go b.finish(cb.String()) //nolint:errcheck // never answered
		waitDemoLog(t, victim, "paused at "+string(integration.StageSecretWritten))
		victim.Kill(t)
		require.Equal(t, []string{account}, s.pendingFlows(t))
		return before
	}

	t.Run("periodic reconciler of a surviving replica", func(t *testing.T) {
		began := time.Now()
		s := newSharedStores(t)
		survivor := s.start(t, nil, "-pending-timeout", crashPendingTimeout.String(), "-reconcile-interval", "200ms")
		before := crashReconnect(t, s, survivor)
		deadline := time.Now().Add(20 * time.Second)
		for len(s.pendingFlows(t)) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		s.assertInvariants(t)
		fields, _, ok := s.secret(t, account)
		require.True(t, ok)
		assert.Equal(t, before, fields, "the previous credentials are back")
		waitDemoLog(t, survivor, `"when":"periodic","stale":1,"undone":1`)
		s.connect(t, survivor, account)
		s.assertInvariants(t)
		t.Logf("%.1fs", time.Since(began).Seconds())
	})

	t.Run("the account's next connect", func(t *testing.T) {
		began := time.Now()
		s := newSharedStores(t)
		survivor := s.start(t, nil) // default pending timeout: the reconciler leaves the marker alone
		crashReconnect(t, s, survivor)
		s.connect(t, survivor, account)
		s.assertInvariants(t)
		waitDemoLog(t, survivor, `"by":"account"`)
		t.Logf("%.1fs", time.Since(began).Seconds())
	})
}
