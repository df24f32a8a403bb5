package e2e

// The world of an e2e test: the mock Sikka in the test process, a
// PostgreSQL schema and a Vault prefix of the test's own (optionally behind
// fault proxies), the sikka-demo processes that run on them, one reader of
// what they stored and one checker of the secret-and-record rule.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/internal/faultproxy"
	"github.com/parlae/sikka-connect/internal/harness"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/mocksikka"
)

// ---- the mock Sikka ----------------------------------------------------------

// mockSikka is the mock Sikka in the test process. Its consent page and API
// are served at URL; the API is also reachable through a fault proxy (API),
// so that a test can refuse its connections. It keeps every authorization
// code and key it hands out (for the leak scans), and runs hooks and drops
// answers a fault test arms.
type mockSikka struct {
	*mocksikka.Server
	URL string
	API *faultproxy.Proxy

	mu    sync.Mutex
	hooks map[string]func(w http.ResponseWriter) // by "METHOD /path"; each runs once
	drops map[string]int                         // by "METHOD /path": calls still to drop
	codes []string
	keys  []string
}

func startMock(t *testing.T) *mockSikka {
	t.Helper()
	m := &mockSikka{Server: mocksikka.New(), hooks: map[string]func(http.ResponseWriter){}, drops: map[string]int{}}
	srv := httpServer(t, http.HandlerFunc(m.serve))
	m.URL = "http://" + srv
	p, err := faultproxy.New(srv)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	m.API = p
	return m
}

func (m *mockSikka) serve(w http.ResponseWriter, r *http.Request) {
	endpoint := r.Method + " " + r.URL.Path
	m.mu.Lock()
	hook := m.hooks[endpoint]
	delete(m.hooks, endpoint)
	drop := m.drops[endpoint] > 0
	if drop {
		m.drops[endpoint]--
	}
	m.mu.Unlock()
	if hook != nil {
		hook(w)
	}
	rec := httptest.NewRecorder()
	m.Server.ServeHTTP(rec, r)
	m.remember(r, rec)
	if drop {
		// The call took effect (a code is spent), then the connection
		// drops before any answer.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes()) //nolint:errcheck // the client went away
}

// remember keeps the codes (in redirects) and keys (in request_key
// answers) the mock hands out.
func (m *mockSikka) remember(r *http.Request, rec *httptest.ResponseRecorder) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, err := url.Parse(rec.Header().Get("Location")); err == nil && u.Query().Get("code") != "" {
		m.codes = append(m.codes, u.Query().Get("code"))
	}
	var key struct {
		RequestKey string `json:"request_key"`
		RefreshKey string `json:"refresh_key"`
	}
	if r.URL.Path == "/v4/request_key" && json.Unmarshal(plainBody(rec), &key) == nil {
		for _, k := range []string{key.RequestKey, key.RefreshKey} {
			if k != "" {
				m.keys = append(m.keys, k)
			}
		}
	}
}

// plainBody returns the body of rec, decompressed when the mock gzipped it (as it does for a
// client that accepts gzip, which Go's clients do by default).
func plainBody(rec *httptest.ResponseRecorder) []byte {
	if rec.Header().Get("Content-Encoding") != "gzip" {
		return rec.Body.Bytes()
	}
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		return nil
	}
	b, _ := io.ReadAll(zr)
	return b
}

// issuedCodes returns every authorization code the mock redirected a
// browser with.
func (m *mockSikka) issuedCodes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.codes...)
}

// issuedKeys returns every request and refresh key the mock handed out.
func (m *mockSikka) issuedKeys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.keys...)
}

// dropAfter makes the next n calls of endpoint take effect at the mock and
// then lose their answer: the connection closes before a byte of it.
func (m *mockSikka) dropAfter(endpoint string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drops[endpoint] = n
}

// onCall runs f once, when the next call of endpoint ("POST
// /v4/request_key") arrives, before the mock answers it.
func (m *mockSikka) onCall(endpoint string, f func(w http.ResponseWriter)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hooks[endpoint] = f
}

// heal ends the mock's faults, hooks and drops, and opens its API again.
func (m *mockSikka) heal(t *testing.T) {
	m.ClearFaults()
	m.mu.Lock()
	m.hooks = map[string]func(http.ResponseWriter){}
	m.drops = map[string]int{}
	m.mu.Unlock()
	require.NoError(t, m.API.Heal())
}

// httpServer serves h on a free 127.0.0.1 port until the test ends and
// returns its "host:port".
func httpServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// ---- the world ------------------------------------------------------------------

// worldOpts says what the world's demos run on. Zero values: the script's
// PostgreSQL (a schema of its own) and Vault, reached directly, and the
// mock's API directly.
type worldOpts struct {
	prefix                string // names the Vault prefix: <prefix>-<random>
	dbURL                 string // PostgreSQL URL of the test's own cluster
	vaultAddr, vaultToken string // a Vault of the test's own
	autoApprove           string // the office the mock approves at once ("": a person decides)
	sharedStateKey        bool   // one -state-keys for all the world's demos (replicas, a restart)
	proxyDB, proxyVault   bool   // the demos reach PostgreSQL, Vault through a fault proxy
	proxyAPI              bool   // the demos reach the mock's API through its fault proxy
}

// world is one test's stores and mock, which any number of demos share.
type world struct {
	mock       *mockSikka
	db         *sqlx.DB          // direct, to check the records
	dbProxy    *faultproxy.Proxy // with proxyDB
	vault      vaultStore        // direct, to check the secrets
	vaultProxy *faultproxy.HTTP  // with proxyVault
	env        []string          // the demos' environment for the stores
	args       []string          // and their flags
}

func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	if o.vaultAddr == "" {
		o.vaultAddr, o.vaultToken = os.Getenv("SIKKA_TEST_VAULT_ADDR"), os.Getenv("SIKKA_TEST_VAULT_TOKEN")
		if o.vaultAddr == "" || o.vaultToken == "" {
			t.Skip("SIKKA_TEST_VAULT_ADDR not set: run scripts/test.sh, which starts a real Vault dev server")
		}
	}
	if o.dbURL == "" {
		o.dbURL = pgtest.URL(t)
	}
	if o.prefix == "" {
		o.prefix = "e2e"
	}
	w := &world{mock: startMock(t), db: openDB(t, o.dbURL)}
	if o.autoApprove != "" {
		w.mock.SetAutoApprove(o.autoApprove)
	}
	client, err := vaultapi.NewClient(&vaultapi.Config{Address: o.vaultAddr, Timeout: 10 * time.Second})
	require.NoError(t, err)
	client.SetToken(o.vaultToken)
	w.vault = vaultStore{client: client, prefix: o.prefix + "-" + randomHex(t)}

	demoDB := o.dbURL
	if o.proxyDB {
		u, err := url.Parse(o.dbURL)
		require.NoError(t, err)
		w.dbProxy, err = faultproxy.New(u.Host)
		require.NoError(t, err)
		t.Cleanup(func() { w.dbProxy.Close() })
		u.Host = w.dbProxy.Addr()
		demoDB = u.String()
	}
	demoVault := o.vaultAddr
	if o.proxyVault {
		w.vaultProxy, err = faultproxy.NewHTTP(o.vaultAddr)
		require.NoError(t, err)
		t.Cleanup(func() { w.vaultProxy.Close() })
		demoVault = w.vaultProxy.URL()
	}
	w.env = []string{"SIKKA_SECRETS=vault", "VAULT_ADDR=" + demoVault, "VAULT_TOKEN=" + o.vaultToken,
		"SIKKA_VAULT_PREFIX=" + w.vault.prefix, "DATABASE_URL=" + demoDB}
	w.args = []string{"-sikka-url", w.mock.URL}
	if o.proxyAPI {
		w.args = []string{"-sikka-url", "http://" + w.mock.API.Addr(), "-oauth-url", w.mock.URL + "/portal/authapp.aspx"}
	}
	if o.sharedStateKey {
		key := make([]byte, 32)
		_, err = rand.Read(key)
		require.NoError(t, err)
		w.args = append(w.args, "-state-keys", "test:"+base64.StdEncoding.EncodeToString(key))
	}
	return w
}

// start runs one demo process on the world's stores, with extra environment
// and flags.
func (w *world) start(t *testing.T, env []string, args ...string) *demo {
	t.Helper()
	return startDemo(t, append(append([]string(nil), w.env...), env...), append(append([]string(nil), w.args...), args...)...)
}

// ---- what the stores hold, read directly ----------------------------------------

// secretDir is where the secrets live under a Vault prefix.
const secretDir = "parlae/pms/sikka"

var errNoSecret = errors.New("no such secret")

// vaultStore reads the secrets a world's demos wrote to Vault (KV v2 at
// secret/, under prefix).
type vaultStore struct {
	client *vaultapi.Client
	prefix string
}

// path is the account's secret's path under secret/.
func (v vaultStore) path(account string) string { return v.prefix + "/" + secretDir + "/" + account }

// ref is the reference a record keeps to the account's secret.
func (v vaultStore) ref(account string) string { return "secret/data/" + v.path(account) }

// read returns the account's secret's fields and version, errNoSecret when
// it has none. Safe off the test's goroutine.
func (v vaultStore) read(ctx context.Context, account string) (map[string]any, int, error) {
	kv, err := v.client.KVv2("secret").Get(ctx, v.path(account))
	if errors.Is(err, vaultapi.ErrSecretNotFound) {
		return nil, 0, errNoSecret
	}
	if err != nil {
		return nil, 0, err
	}
	return kv.Data, kv.VersionMetadata.Version, nil
}

// secret reads the account's secret: its fields and version.
func (v vaultStore) secret(t *testing.T, account string) (fields map[string]any, version int, ok bool) {
	t.Helper()
	fields, version, err := v.read(context.Background(), account)
	if errors.Is(err, errNoSecret) {
		return nil, 0, false
	}
	require.NoError(t, err)
	return fields, version, true
}

// currentVersion is the account's secret's current version in its
// metadata (a deleted version counts).
func (v vaultStore) currentVersion(t *testing.T, account string) int {
	t.Helper()
	md, err := v.client.KVv2("secret").GetMetadata(context.Background(), v.path(account))
	require.NoError(t, err)
	return md.CurrentVersion
}

// accounts lists the accounts that have a secret (or a deleted one) in Vault.
func (v vaultStore) accounts(t *testing.T) []string {
	t.Helper()
	list, err := v.client.Logical().ListWithContext(context.Background(), "secret/metadata/"+v.prefix+"/"+secretDir)
	require.NoError(t, err, "listing the secrets")
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

// recordRow is a pms_integrations row, as far as the checks need it.
type recordRow struct {
	Account   string `db:"account_id"`
	Status    string `db:"status"`
	Office    string `db:"office_id"`
	SecretRef string `db:"secret_ref"`
}

// recordRows returns every pms_integrations row.
func (w *world) recordRows(t *testing.T) []recordRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rows []recordRow
	require.NoError(t, w.db.SelectContext(ctx, &rows, `SELECT account_id, status, office_id, secret_ref FROM pms_integrations`))
	return rows
}

// records returns the rows by account.
func (w *world) records(t *testing.T) map[string]recordRow {
	t.Helper()
	out := map[string]recordRow{}
	for _, r := range w.recordRows(t) {
		out[r.Account] = r
	}
	return out
}

// activeRecords returns the accounts with an ACTIVE record, sorted.
func (w *world) activeRecords(t *testing.T) []string {
	t.Helper()
	var accts []string
	for _, r := range w.recordRows(t) {
		if r.Status == string(integration.StatusActive) {
			accts = append(accts, r.Account)
		}
	}
	sort.Strings(accts)
	return accts
}

// pendingFlows returns the accounts with a pending-connect marker, sorted.
func (w *world) pendingFlows(t *testing.T) []string {
	t.Helper()
	var accounts []string
	require.NoError(t, w.db.Select(&accounts, `SELECT account_id FROM pms_pending_flows ORDER BY account_id`))
	return accounts
}

// ---- the secret-and-record rule ----------------------------------------------

// invariants tunes checkInvariants.
type invariants struct {
	// pendingAllowed: right after a fault, a secret may wait under a
	// pending marker for the reconciler or the account's next connect;
	// otherwise no marker may be left.
	pendingAllowed bool
	// office, when set, is the office every secret must name.
	office string
}

// checkInvariants asserts the secret-and-record rule over everything the
// world's demos stored, read from PostgreSQL and Vault directly: every
// ACTIVE record has its secret, at the reference the record keeps, naming
// the record's office; every secret has an ACTIVE record (or, with
// pendingAllowed, a pending marker); no marker is left unless allowed. It
// returns the connected accounts, sorted.
func (w *world) checkInvariants(t *testing.T, o invariants) []string {
	t.Helper()
	recs := w.records(t)
	pending := map[string]bool{}
	for _, a := range w.pendingFlows(t) {
		pending[a] = true
	}
	var connected []string
	for acct, r := range recs {
		if r.Status != string(integration.StatusActive) {
			continue
		}
		fields, _, ok := w.vault.secret(t, acct)
		if assert.True(t, ok, "ACTIVE record of %s lacks its secret", acct) {
			assert.Equal(t, w.vault.ref(acct), r.SecretRef, "the record of %s points elsewhere", acct)
			assert.Equal(t, r.Office, fields["officeId"], "the secret of %s names the record's office", acct)
			if o.office != "" {
				assert.Equal(t, o.office, fields["officeId"])
			}
			connected = append(connected, acct)
		}
	}
	for _, acct := range w.vault.accounts(t) {
		if o.pendingAllowed && pending[acct] {
			continue
		}
		r, ok := recs[acct]
		assert.True(t, ok && r.Status == string(integration.StatusActive),
			"the secret of %s has no ACTIVE record (pending marker: %v)", acct, pending[acct])
	}
	if !o.pendingAllowed {
		assert.Empty(t, pending, "no connect left pending")
	}
	sort.Strings(connected)
	return connected
}

// ---- one browser's steps ------------------------------------------------------

// newBrowserClient is one browser without a browser (harness.Browser).
func newBrowserClient(t *testing.T, timeout time.Duration) *harness.Browser {
	return harness.NewBrowser(t, harness.WithTimeout(timeout))
}

// signIn signs b in on d as account through /demo/login, which sends it to
// the setup page.
func signIn(t *testing.T, b *harness.Browser, d *demo, account string) {
	t.Helper()
	loc, err := b.Hop(d.Base + "/demo/login?account=" + url.QueryEscape(account))
	require.NoError(t, err)
	require.Equal(t, "/agent/setup/pms", loc.Path)
}

// begin runs d's start route in b and, when it sends the browser to the
// mock's consent page (which approves at once), that page, and returns the
// callback URL undelivered. A start that sends the browser elsewhere
// returns that Location as back instead.
func begin(t *testing.T, b *harness.Browser, d *demo, mock *mockSikka) (callback, back *url.URL, err error) {
	t.Helper()
	loc, err := b.Hop(d.Base + "/agent/setup/pms/start")
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasPrefix(loc.String(), mock.URL+"/portal/authapp.aspx?") {
		return nil, loc, nil
	}
	cb, err := b.Hop(loc.String())
	require.NoError(t, err, "the mock's consent page")
	require.True(t, strings.HasPrefix(cb.String(), d.Base+"/agent/setup/pms/callback?"), "auto-approve sends the browser to the callback")
	require.NotEmpty(t, cb.Query().Get("code"))
	return cb, nil, nil
}

// frontend checks that loc is d's setup page and returns its query: the
// outcome ("status=success", "status=error&reason=internal").
func frontend(t *testing.T, d *demo, loc *url.URL) string {
	t.Helper()
	require.Equal(t, strings.TrimPrefix(d.Base, "http://"), loc.Host, "a redirect to the frontend: %s", loc)
	require.Equal(t, "/agent/setup/pms", loc.Path, "a redirect to the frontend: %s", loc)
	return loc.RawQuery
}

// deliver requests the callback URL cb on d and returns the outcome.
func deliver(t *testing.T, b *harness.Browser, d *demo, cb string) (string, error) {
	t.Helper()
	loc, err := b.Hop(cb)
	if err != nil {
		return "", err
	}
	return frontend(t, d, loc), nil
}

// onReplica rewrites u to reach demo d (another replica): same path and query.
func onReplica(u *url.URL, d *demo) string {
	base, _ := url.Parse(d.Base)
	v := *u
	v.Host = base.Host
	return v.String()
}

// ---- small things ----------------------------------------------------------

func openDB(t *testing.T, url string) *sqlx.DB {
	db, err := sqlx.Open("postgres", url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, db.PingContext(ctx))
	return db
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// beginConnect signs a new browser in on d as account and runs the connect
// up to the callback URL the auto-approving mock sends it to, which it
// returns undelivered with the browser.
func (w *world) beginConnect(t *testing.T, d *demo, account string) (*harness.Browser, *url.URL) {
	t.Helper()
	b := newBrowserClient(t, 90*time.Second)
	signIn(t, b, d, account)
	cb, back, err := begin(t, b, d, w.mock)
	require.NoError(t, err)
	require.Nil(t, back, "auto-approve sends the browser to the callback")
	return b, cb
}

// connect runs a whole connect of account on d and requires success.
func (w *world) connect(t *testing.T, d *demo, account string) {
	t.Helper()
	b, cb := w.beginConnect(t, d, account)
	out, err := deliver(t, b, d, cb.String())
	require.NoError(t, err)
	require.Equal(t, outSuccess, out, "connect of %s; demo log:\n%s", account, d.logs)
}

// frontendOutcome is frontend for use off the test's goroutine: the
// outcome of a redirect to d's setup page, or the whole Location, marked,
// when it goes elsewhere.
func frontendOutcome(d *demo, loc *url.URL) string {
	if loc.Host != strings.TrimPrefix(d.Base, "http://") || loc.Path != "/agent/setup/pms" {
		return "elsewhere: " + loc.String()
	}
	return loc.RawQuery
}
