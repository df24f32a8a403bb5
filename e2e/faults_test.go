package e2e

// The fault matrix (issue 7): for each dependency of the connect flow — Sikka
// request_key, Sikka authorized_practices, the secret store (Vault), the
// database, the nonce store — and each way it fails — an error status, a
// timeout, a slow answer, a refused connection, a real stop and restart — a
// flow drives the demo like a browser (no Chromium: an HTTP client that
// keeps cookies and follows nothing by itself), then checks
//
//   - the browser's outcome: the exact status/reason of the frontend redirect;
//   - the setup page the browser lands on shows that outcome's message;
//   - the stores, read directly (not through any fault): no ACTIVE record
//     lacks its secret, no secret lacks its ACTIVE record (right after the
//     fault, a secret may wait under a pending marker for the reconciler;
//     once healed, no marker is left);
//   - once the fault is healed, the same account connects: status=success.
//
// Faults come from the mock's InjectFault, from internal/faultproxy (a TCP
// proxy in front of PostgreSQL and of the mock's API, an HTTP proxy in front
// of Vault), or from stopping the real servers (servers_test.go).
// docs/RELIABILITY.md, "Fault matrix", has the table.

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/faultproxy"
	"github.com/parlae/sikka-connect/internal/harness"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
)

// The outcomes of the README's table, as the frontend redirect's query.
const (
	outSuccess     = "status=success"
	outInvalidCode = "status=error&reason=invalid_code"
	outUnavailable = "status=error&reason=provider_unavailable"
	outInternal    = "status=error&reason=internal"
)

// ---- the environment of one fault test -------------------------------------

// envOpts says what the demo runs on. Zero values: the script's PostgreSQL
// (a schema of its own) and Vault, each behind a fault proxy.
type envOpts struct {
	dbURL                 string // PostgreSQL URL of the test's own cluster
	vaultAddr, vaultToken string // a Vault of the test's own
	directDB              bool   // no proxy in front of PostgreSQL
	directVault           bool   // no proxy in front of Vault
	vaultTimeout          time.Duration
}

// faultEnv is a world (its mock's API always behind its proxy) and the one
// demo a fault test drives.
type faultEnv struct {
	*world
	demo *demo
}

func newFaultEnv(t *testing.T, o envOpts) *faultEnv {
	t.Helper()
	if o.vaultTimeout == 0 {
		o.vaultTimeout = 5 * time.Second
	}
	w := newWorld(t, worldOpts{prefix: "fault", dbURL: o.dbURL, vaultAddr: o.vaultAddr, vaultToken: o.vaultToken,
		autoApprove: mocksikka.DefaultPractices()[0].OfficeID, proxyDB: !o.directDB, proxyVault: !o.directVault, proxyAPI: true})
	return &faultEnv{world: w, demo: w.start(t, []string{"SIKKA_VAULT_TIMEOUT=" + o.vaultTimeout.String()},
		"-refresh-interval", "0", "-pending-timeout", "2s", "-reconcile-interval", "500ms")}
}

// assertNoLeaks fails if the demo's log holds a code or key the mock
// handed out, the app key or a practice's secret key: errors from failing
// dependencies must not carry them either.
func (e *faultEnv) assertNoLeaks(t *testing.T) {
	t.Helper()
	require.NotEmpty(t, e.mock.issuedCodes(), "the flows handed out codes")
	require.NotEmpty(t, e.mock.issuedKeys(), "the flows handed out keys")
	assertNoLeaks(t, e.demo, e.mock, newLeakScan())
}

// heal ends every fault the test can inject.
func (e *faultEnv) heal(t *testing.T) {
	t.Helper()
	e.mock.heal(t)
	if e.dbProxy != nil {
		require.NoError(t, e.dbProxy.Heal())
	}
	if e.vaultProxy != nil {
		require.NoError(t, e.vaultProxy.Heal())
	}
}

// cutDB makes PostgreSQL unreachable through the proxy as a stopped server
// is: new connections refused, open ones dropped.
// It runs in hooks too, off the test's goroutine: it never stops the test.
func (e *faultEnv) cutDB(t *testing.T) {
	assert.NoError(t, e.dbProxy.Refuse())
	e.dbProxy.CloseConns()
}

// failWrites makes PostgreSQL answer an error to every write of ops
// ("INSERT", "DELETE", "INSERT OR UPDATE") on table, with a trigger in the
// test's schema.
func (e *faultEnv) failWrites(t *testing.T, table, ops string) {
	t.Helper()
	e.db.MustExec(`CREATE OR REPLACE FUNCTION fault_injected() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'fault injected on %', TG_TABLE_NAME; END $$`)
	e.db.MustExec(`CREATE TRIGGER fault_injected BEFORE ` + ops + ` ON ` + table +
		` FOR EACH ROW EXECUTE FUNCTION fault_injected()`)
}

func (e *faultEnv) unfailWrites(t *testing.T, table string) {
	t.Helper()
	e.db.MustExec(`DROP TRIGGER fault_injected ON ` + table)
}

// ---- a browser without a browser -------------------------------------------

// client signs a new browser in as account.
func (e *faultEnv) client(t *testing.T, account string) *harness.Browser {
	t.Helper()
	b := newBrowserClient(t, 30*time.Second)
	signIn(t, b, e.demo, account)
	return b
}

// checkPage loads the setup page the browser was sent to, as the browser
// would, with the fault still on: it must show the outcome's message.
func (e *faultEnv) checkPage(t *testing.T, c *harness.Browser, outcome string) {
	t.Helper()
	q, err := url.ParseQuery(outcome)
	require.NoError(t, err)
	res, err := c.HTTP.Get(e.demo.Base + "/agent/setup/pms?" + outcome)
	require.NoError(t, err, "the setup page")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "the setup page")
	want := middleware.Message(q.Get("status"), q.Get("reason"))
	if q.Get("status") == "success" {
		want = "Successfully connected" // and the practice, when the status could be read
	}
	assert.Contains(t, string(body), `<p id="message"`)
	assert.Contains(t, string(body), want, "the message on the setup page")
}

// result is where a flow ended.
type result struct {
	Stage   string // "start" (the start route sent the browser back) or "callback"
	Outcome string // the frontend redirect's query, e.g. "status=error&reason=internal"
	Err     error  // the browser got no answer (a timeout, say)
}

func (r result) String() string {
	if r.Err != nil {
		return r.Stage + ": " + r.Err.Error()
	}
	return r.Stage + ": " + r.Outcome
}

// begin runs the start route and the consent page (which the mock approves
// at once) and returns the callback URL; a start that sends the browser back
// to the frontend ends the flow there (res).
func (e *faultEnv) begin(t *testing.T, c *harness.Browser) (callback string, res result) {
	t.Helper()
	cb, back, err := begin(t, c, e.demo, e.mock)
	if err != nil {
		return "", result{Stage: "start", Err: err}
	}
	if back != nil {
		return "", result{Stage: "start", Outcome: frontend(t, e.demo, back)}
	}
	return cb.String(), result{}
}

// callback returns to the demo from Sikka.
func (e *faultEnv) callback(t *testing.T, c *harness.Browser, cb string) result {
	t.Helper()
	out, err := deliver(t, c, e.demo, cb)
	if err != nil {
		return result{Stage: "callback", Err: err}
	}
	return result{Stage: "callback", Outcome: out}
}

// flow runs a whole connect flow for c's account.
func (e *faultEnv) flow(t *testing.T, c *harness.Browser) result {
	t.Helper()
	cb, res := e.begin(t, c)
	if cb == "" {
		return res
	}
	return e.callback(t, c, cb)
}

// logged counts the demo's log lines of a route ("start", "callback").
func (e *faultEnv) logged(route string) int {
	return strings.Count(e.demo.logs.String(), `"msg":"sikka connect: `+route+`"`)
}

// waitLogged waits until the demo has logged n requests of route: a request
// the browser gave up on may still be running.
func (e *faultEnv) waitLogged(t *testing.T, route string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for e.logged(route) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the demo logged %d %s requests after %v, want %d", e.logged(route), route, within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- the invariants, read directly from the stores -------------------------

// connected waits until no connect is pending (the reconciler recovers the
// ones left behind), checks the invariants strictly and returns the
// connected accounts.
func (e *faultEnv) connected(t *testing.T) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(e.pendingFlows(t)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	return e.checkInvariants(t, invariants{office: mocksikka.DefaultPractices()[0].OfficeID})
}

// ---- one cell ---------------------------------------------------------------

// cell is one dependency × fault.
type cell struct {
	name string
	// inject sets the fault up before the flow (it may arm hooks that
	// strike at a precise moment of the flow).
	inject func(t *testing.T, e *faultEnv)
	// want is where the faulted flow ends: Stage "" means "callback".
	want result
	// timeout, when set, is how long the browser waits for each answer
	// (want.Err is then the expected "no answer").
	timeout time.Duration
	// connected: whether the faulted flow leaves the account connected.
	connected bool
	// check runs extra checks after the faulted flow.
	check func(t *testing.T, e *faultEnv)
	// heal, when set, ends a fault that faultEnv.heal does not know.
	heal func(t *testing.T, e *faultEnv)
}

const cellAccount = "fault-account"

// run runs c: the faulted flow and its outcome, the invariants, the heal,
// then a new flow for the same account, which must succeed.
func (c cell) run(t *testing.T, o envOpts) {
	e := newFaultEnv(t, o)
	b := e.client(t, cellAccount)
	if c.inject != nil {
		c.inject(t, e)
	}
	if c.timeout > 0 {
		b.HTTP.Timeout = c.timeout
	}
	begin := time.Now()
	got := e.flow(t, b)
	t.Logf("faulted flow: %s after %v", got, time.Since(begin).Round(time.Millisecond))
	want := c.want
	if want.Stage == "" {
		want.Stage = "callback"
	}
	assert.Equal(t, want.Stage, got.Stage, "where the flow ended")
	if want.Err != nil {
		var ne net.Error
		assert.True(t, errors.As(got.Err, &ne) && ne.Timeout(), "the browser should get no answer in %v; got %s", c.timeout, got)
	} else {
		assert.NoError(t, got.Err)
		assert.Equal(t, want.Outcome, got.Outcome, "the browser's outcome")
	}
	if got.Err == nil {
		e.checkPage(t, b, got.Outcome)
	}
	if c.check != nil {
		c.check(t, e)
	}
	// Right after the fault, still on: a secret may wait for recovery
	// under a pending marker, nothing else.
	e.checkInvariants(t, invariants{pendingAllowed: true, office: mocksikka.DefaultPractices()[0].OfficeID})

	e.heal(t)
	if c.heal != nil {
		c.heal(t, e)
	}
	b.HTTP.Timeout = 30 * time.Second
	if got.Err != nil {
		// The browser gave up; the demo may still be working on it.
		e.waitLogged(t, got.Stage, 1, 30*time.Second)
	}
	if c.connected {
		assert.Equal(t, []string{cellAccount}, e.connected(t), "after the faulted flow")
	} else {
		assert.Empty(t, e.connected(t), "after the faulted flow")
	}

	again := e.flow(t, b)
	assert.Equal(t, result{Stage: "callback", Outcome: outSuccess}, again, "the same account once the fault is gone")
	assert.Equal(t, []string{cellAccount}, e.connected(t), "after the healed flow")
	e.assertNoLeaks(t)
}

func runCells(t *testing.T, o envOpts, cells []cell) {
	for _, c := range cells {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, o)
		})
	}
}

// spentCodes is how many authorization codes the demo tried to exchange.
func spentCodes(e *faultEnv) int {
	return e.mock.Count("POST /v4/request_key", "authorization_code")
}

// ---- Sikka ------------------------------------------------------------------

const (
	requestKey = "POST /v4/request_key"
	practices  = "GET /v4/authorized_practices"
)

// TestFaultSikkaRequestKey: the code exchange. It is never retried (a code
// is single-use), so one failure is the outcome.
func TestFaultSikkaRequestKey(t *testing.T) {
	t.Parallel() // mostly waiting (a 10s timeout): overlap with the next one
	fault := func(f mocksikka.Fault) func(*testing.T, *faultEnv) {
		return func(t *testing.T, e *faultEnv) {
			f.Endpoint, f.Grant = requestKey, "authorization_code"
			e.mock.InjectFault(f)
		}
	}
	runCells(t, envOpts{}, []cell{
		{name: "503", inject: fault(mocksikka.Fault{Count: 1, Status: 503}),
			want: result{Outcome: outUnavailable}},
		{name: "400", inject: fault(mocksikka.Fault{Count: 1, Status: 400}),
			want: result{Outcome: outInvalidCode}},
		// Rate limited: the exchange is not retried even then.
		{name: "429", inject: fault(mocksikka.Fault{Count: 1, Status: 429, RetryAfter: time.Second}),
			want: result{Outcome: outUnavailable}},
		// Slow, within the Sikka client's 10s per attempt.
		{name: "slow", inject: fault(mocksikka.Fault{Count: 1, Delay: 2 * time.Second}),
			want: result{Outcome: outSuccess}, connected: true},
		// Just over the 10s attempt timeout (the demo has no flag to
		// shorten it): the one cell here that waits that long.
		{name: "timeout", inject: fault(mocksikka.Fault{Count: 1, Delay: 11 * time.Second}),
			want: result{Outcome: outUnavailable}},
		// The code is spent at Sikka, the answer lost (the connection
		// closes): the exchange cannot be retried (the code is gone), so
		// the browser is told Sikka is unavailable and starts again.
		{name: "answer-lost", inject: func(t *testing.T, e *faultEnv) { e.mock.dropAfter(requestKey, 1) },
			want:  result{Outcome: outUnavailable},
			check: func(t *testing.T, e *faultEnv) { assert.Equal(t, 1, spentCodes(e)) }},
		{name: "refused", inject: func(t *testing.T, e *faultEnv) { require.NoError(t, e.mock.API.Refuse()) },
			want: result{Outcome: outUnavailable},
			check: func(t *testing.T, e *faultEnv) {
				assert.Zero(t, e.mock.Count(requestKey, ""), "no API call reached the mock")
			}},
	})
}

// TestFaultSikkaAuthorizedPractices: the practice lookup right after the
// exchange. A GET is retried (3 attempts) on 5xx and network errors, so
// the faults last until healed, except the timeout (once, see below).
func TestFaultSikkaAuthorizedPractices(t *testing.T) {
	t.Parallel()
	fault := func(f mocksikka.Fault) func(*testing.T, *faultEnv) {
		return func(t *testing.T, e *faultEnv) {
			f.Endpoint = practices
			e.mock.InjectFault(f)
		}
	}
	runCells(t, envOpts{}, []cell{
		{name: "503", inject: fault(mocksikka.Fault{Status: 503}),
			want: result{Outcome: outUnavailable},
			check: func(t *testing.T, e *faultEnv) {
				assert.Equal(t, 3, e.mock.Count(practices, ""), "three attempts")
			}},
		// A 4xx that is not 401/403/429 is neither "Sikka is down" nor a
		// refused code for the client: the service reports it as internal
		// (README: "anything else").
		{name: "400", inject: fault(mocksikka.Fault{Status: 400}),
			want: result{Outcome: outInternal}},
		// Rate limited once, with Retry-After: the lookup waits and retries.
		{name: "429-once", inject: fault(mocksikka.Fault{Count: 1, Status: 429, RetryAfter: time.Second}),
			want: result{Outcome: outSuccess}, connected: true},
		{name: "slow", inject: fault(mocksikka.Fault{Delay: 2 * time.Second}),
			want: result{Outcome: outSuccess}, connected: true},
		// Three attempts of 10s would take over 30s: the cell times the
		// first attempt out and lets the retry through, so the browser
		// gets success after ~10s.
		{name: "timeout-once", inject: fault(mocksikka.Fault{Count: 1, Delay: 11 * time.Second}),
			want: result{Outcome: outSuccess}, connected: true,
			check: func(t *testing.T, e *faultEnv) {
				assert.Equal(t, 2, e.mock.Count(practices, ""), "the timed-out attempt, then the retry")
			}},
		// The answer lost once (the connection closes): a GET is retried.
		{name: "answer-lost-once", inject: func(t *testing.T, e *faultEnv) { e.mock.dropAfter(practices, 1) },
			want: result{Outcome: outSuccess}, connected: true,
			check: func(t *testing.T, e *faultEnv) {
				assert.Equal(t, 2, e.mock.Count(practices, ""), "the dropped call, then the retry")
			}},
		// The exchange goes through on a connection the mock closes after
		// answering; the API port is closed at the same moment, so the
		// lookup's connections are refused.
		{name: "refused", inject: func(t *testing.T, e *faultEnv) {
			e.mock.onCall(requestKey, func(w http.ResponseWriter) {
				w.Header().Set("Connection", "close")
				assert.NoError(t, e.mock.API.Refuse())
			})
		}, want: result{Outcome: outUnavailable},
			check: func(t *testing.T, e *faultEnv) {
				assert.Equal(t, 1, spentCodes(e))
				assert.Zero(t, e.mock.Count(practices, ""), "no lookup reached the mock")
			}},
	})
}

// ---- the secret store: Vault behind the HTTP fault proxy -------------------

// TestFaultSecretStore runs the demo with SIKKA_VAULT_TIMEOUT=3s so that a
// timeout cell stays short.
func TestFaultSecretStore(t *testing.T) {
	every := func(r faultproxy.Rule) func(*testing.T, *faultEnv) {
		return func(t *testing.T, e *faultEnv) { e.vaultProxy.Inject(r) }
	}
	nothingWritten := func(t *testing.T, e *faultEnv) {
		assert.Equal(t, 1, spentCodes(e), "the code was spent before the store failed")
	}
	runCells(t, envOpts{vaultTimeout: 3 * time.Second}, []cell{
		{name: "503", inject: every(faultproxy.Rule{Status: 503}), want: result{Outcome: outInternal}, check: nothingWritten},
		{name: "500", inject: every(faultproxy.Rule{Status: 500}), want: result{Outcome: outInternal}, check: nothingWritten},
		// The token refused (revoked, say).
		{name: "403", inject: every(faultproxy.Rule{Status: 403}), want: result{Outcome: outInternal}, check: nothingWritten},
		// Each request 300ms late: a Put is two round trips, well within 3s.
		{name: "slow", inject: every(faultproxy.Rule{Delay: 300 * time.Millisecond}),
			want: result{Outcome: outSuccess}, connected: true},
		{name: "timeout", inject: every(faultproxy.Rule{Delay: 4 * time.Second}), want: result{Outcome: outInternal}},
		{name: "blackhole", inject: func(t *testing.T, e *faultEnv) { e.vaultProxy.Blackhole() },
			want: result{Outcome: outInternal}},
		{name: "refused", inject: func(t *testing.T, e *faultEnv) {
			require.NoError(t, e.vaultProxy.Refuse())
			e.vaultProxy.CloseConns()
		}, want: result{Outcome: outInternal}},
		// The write reaches Vault, its answer is lost (a 503 in its place).
		// Once: the Vault client retries the PUT, the check-and-set fails
		// (the first write moved the version), the store re-reads and
		// writes again: success.
		{name: "write-answer-lost-once", inject: every(faultproxy.Rule{Method: "PUT", PathPrefix: "/v1/secret/data/",
			Status: 503, After: true, Count: 1}), want: result{Outcome: outSuccess}, connected: true},
		// Every time: the store gives up (internal) though its writes took
		// effect; the connect's undo, by the pending marker, deletes them.
		{name: "write-answer-lost", inject: every(faultproxy.Rule{Method: "PUT", PathPrefix: "/v1/secret/data/",
			Status: 503, After: true}), want: result{Outcome: outInternal},
			check: func(t *testing.T, e *faultEnv) {
				assert.GreaterOrEqual(t, e.vaultProxy.Hits(), 1, "writes reached Vault")
			}},
	})
}

// ---- the database: PostgreSQL behind the TCP fault proxy -------------------

// TestFaultDatabase faults the records' database during the connect (the
// nonce was consumed already; see TestFaultNonceStore for the routes
// before).
func TestFaultDatabase(t *testing.T) {
	atExchange := func(f func(t *testing.T, e *faultEnv)) func(*testing.T, *faultEnv) {
		return func(t *testing.T, e *faultEnv) {
			e.mock.onCall(requestKey, func(http.ResponseWriter) { f(t, e) })
		}
	}
	runCells(t, envOpts{}, []cell{
		// Down from the exchange on: the lookup of the practice's holder
		// fails; nothing is written.
		{name: "refused", inject: atExchange(func(t *testing.T, e *faultEnv) { e.cutDB(t) }),
			want: result{Outcome: outInternal}},
		// Down between the two writes: the secret is written, the record
		// is not, and the undo cannot claim the pending marker (the
		// database is down): the secret waits under its marker until the
		// reconciler (here every 500ms, for markers older than 2s) deletes
		// it once the database is back.
		{name: "refused-after-secret", inject: func(t *testing.T, e *faultEnv) {
			e.vaultProxy.Inject(faultproxy.Rule{Method: "PUT", PathPrefix: "/v1/secret/data/", Count: 1,
				Hook: func(*http.Request) { e.cutDB(t) }})
		}, want: result{Outcome: outInternal},
			check: func(t *testing.T, e *faultEnv) {
				assert.Equal(t, 1, e.vaultProxy.Hits(), "the secret write happened")
			}},
		// PostgreSQL answers an error to the record write (a trigger
		// raises one): the connect's undo deletes the secret by its marker.
		{name: "error-at-record", inject: func(t *testing.T, e *faultEnv) { e.failWrites(t, "pms_integrations", "INSERT OR UPDATE") },
			heal: func(t *testing.T, e *faultEnv) { e.unfailWrites(t, "pms_integrations") },
			want: result{Outcome: outInternal}},
		// 50ms each way on every packet, for the whole flow.
		{name: "slow", inject: func(t *testing.T, e *faultEnv) { e.dbProxy.SetLatency(50 * time.Millisecond) },
			want: result{Outcome: outSuccess}, connected: true},
		// PostgreSQL stops answering at the exchange (the connection is
		// accepted, nothing comes back). lib/pq alone would wait forever
		// (its cancel request goes to the same silent server); the
		// repository's connections time out reads (postgres.WithIOTimeout,
		// 10s), so the browser gets internal in bounded time.
		{name: "blackhole", inject: atExchange(func(t *testing.T, e *faultEnv) { e.dbProxy.Blackhole() }),
			timeout: 40 * time.Second, want: result{Outcome: outInternal}},
	})
}

// TestFaultNonceStore faults the nonce store (the same PostgreSQL) when
// the start route saves the nonce, and when the callback consumes it.
func TestFaultNonceStore(t *testing.T) {
	runCells(t, envOpts{}, []cell{
		// The start route cannot save the nonce: it sends the browser back
		// to the frontend with reason internal, not to Sikka.
		{name: "start-refused", inject: func(t *testing.T, e *faultEnv) { e.cutDB(t) },
			want: result{Stage: "start", Outcome: outInternal},
			check: func(t *testing.T, e *faultEnv) {
				assert.Zero(t, e.mock.Count("GET /portal/authapp.aspx", ""), "the browser never reached Sikka")
			}},
		// PostgreSQL answers an error to the nonce's INSERT, then (second
		// cell) to its DELETE.
		{name: "start-error", inject: func(t *testing.T, e *faultEnv) { e.failWrites(t, "sikka_state_nonces", "INSERT") },
			heal: func(t *testing.T, e *faultEnv) { e.unfailWrites(t, "sikka_state_nonces") },
			want: result{Stage: "start", Outcome: outInternal}},
		{name: "callback-error", inject: func(t *testing.T, e *faultEnv) { e.failWrites(t, "sikka_state_nonces", "DELETE") },
			heal:  func(t *testing.T, e *faultEnv) { e.unfailWrites(t, "sikka_state_nonces") },
			want:  result{Outcome: outInternal},
			check: func(t *testing.T, e *faultEnv) { assert.Zero(t, spentCodes(e), "the code was not spent") }},
		// The database stops answering while the start route saves the
		// nonce: the save is bounded (10s), the browser gets internal.
		{name: "start-blackhole", inject: func(t *testing.T, e *faultEnv) { e.dbProxy.Blackhole() },
			timeout: 30 * time.Second, want: result{Stage: "start", Outcome: outInternal}},
		{name: "start-slow", inject: func(t *testing.T, e *faultEnv) { e.dbProxy.SetLatency(100 * time.Millisecond) },
			want: result{Outcome: outSuccess}, connected: true},
		// The callback cannot consume the nonce: internal, before the code
		// is spent (the practice can try again with a new flow).
		{name: "callback-refused", inject: func(t *testing.T, e *faultEnv) {
			e.mock.onCall("GET /portal/authapp.aspx", func(http.ResponseWriter) { e.cutDB(t) })
		}, want: result{Outcome: outInternal},
			check: func(t *testing.T, e *faultEnv) {
				assert.Zero(t, spentCodes(e), "the code was not spent")
			}},
	})
}

// ---- real stops and restarts ----------------------------------------------

// TestFaultPostgresRestart stops and starts a PostgreSQL cluster of the
// test's own under the demo (which reaches it directly, on its fixed
// port). Vault is the script's, behind the HTTP proxy (for the hook).
func TestFaultPostgresRestart(t *testing.T) {
	pg := startPostgres(t)
	e := newFaultEnv(t, envOpts{dbURL: pg.URL, directDB: true})
	b := e.client(t, cellAccount)
	want := func(stage, outcome string) result { return result{Stage: stage, Outcome: outcome} }

	t.Run("stopped", func(t *testing.T) {
		require.NoError(t, pg.Stop("fast"))
		assert.Equal(t, want("start", outInternal), e.flow(t, b), "while PostgreSQL is stopped")
		require.NoError(t, pg.Start())
		assert.Equal(t, want("callback", outSuccess), e.flow(t, b), "once it is back")
		assert.Equal(t, []string{cellAccount}, e.connected(t))
	})

	t.Run("restarted-between-start-and-callback", func(t *testing.T) {
		cb, res := e.begin(t, b)
		require.NotEmpty(t, cb, "%s", res)
		require.NoError(t, pg.Stop("immediate"))
		require.NoError(t, pg.Start())
		// The nonce outlived the crash; the pool replaces its dead
		// connections.
		assert.Equal(t, want("callback", outSuccess), e.callback(t, b, cb))
		assert.Equal(t, []string{cellAccount}, e.connected(t))
	})

	t.Run("frozen", func(t *testing.T) {
		// Every process of the cluster stopped (SIGSTOP): the kernel still
		// accepts connections, nothing answers — a real hang. The start
		// route's nonce save is bounded: internal, in bounded time.
		pids, err := pg.PIDs()
		require.NoError(t, err)
		signalAll(t, pids, syscall.SIGSTOP)
		defer signalAll(t, pids, syscall.SIGCONT)
		b.HTTP.Timeout = 30 * time.Second
		assert.Equal(t, want("start", outInternal), e.flow(t, b), "an answer while frozen")
		signalAll(t, pids, syscall.SIGCONT)
		assert.Equal(t, want("callback", outSuccess), e.flow(t, b), "once it runs again")
		assert.Equal(t, []string{cellAccount}, e.connected(t))
	})

	t.Run("crashed-between-secret-and-record", func(t *testing.T) {
		// The account is connected: this reconnect overwrites its secret,
		// then PostgreSQL crashes before the record; the secret's previous
		// version must come back.
		before := e.vault.currentVersion(t, cellAccount)
		e.vaultProxy.Inject(faultproxy.Rule{Method: "PUT", PathPrefix: "/v1/secret/data/", Count: 1,
			Hook: func(*http.Request) {
				assert.NoError(t, pg.Stop("immediate"))
			}})
		assert.Equal(t, want("callback", outInternal), e.flow(t, b), "PostgreSQL crashed mid-connect")
		assert.Equal(t, 1, e.vaultProxy.Hits())
		require.NoError(t, pg.Start())
		assert.Equal(t, []string{cellAccount}, e.connected(t), "the old connection stands")
		assert.Greater(t, e.vault.currentVersion(t, cellAccount), before, "overwritten, then restored as a new version")
		assert.Equal(t, want("callback", outSuccess), e.flow(t, b), "once it is back")
		assert.Equal(t, []string{cellAccount}, e.connected(t))
	})
	e.assertNoLeaks(t)
}

// signalAll sends sig to each of pids (processes of the test's own cluster).
func signalAll(t *testing.T, pids []int, sig syscall.Signal) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("kill -%v %d: %v", sig, pid, err)
		}
	}
}

// TestFaultVaultRestart stops and starts a Vault server of the test's own
// under the demo (directly, on its fixed port).
func TestFaultVaultRestart(t *testing.T) {
	internal := result{Stage: "callback", Outcome: outInternal}
	success := result{Stage: "callback", Outcome: outSuccess}

	// A dev server forgets every secret on restart, so the account
	// connects only after the restart: the outcome while Vault is down,
	// success once it is back.
	t.Run("dev", func(t *testing.T) {
		v := startVault(t)
		e := newFaultEnv(t, envOpts{vaultAddr: v.Addr, vaultToken: v.Token, directVault: true, vaultTimeout: 2 * time.Second})
		b := e.client(t, cellAccount)

		require.NoError(t, v.Stop())
		begin := time.Now()
		assert.Equal(t, internal, e.flow(t, b), "while Vault is stopped")
		t.Logf("while stopped: internal after %v (the Vault client retries until SIKKA_VAULT_TIMEOUT)",
			time.Since(begin).Round(time.Millisecond))
		assert.Equal(t, 1, spentCodes(e))
		assert.Empty(t, e.activeRecords(t), "no record without its secret")

		require.NoError(t, v.Start())
		assert.Empty(t, e.connected(t))
		assert.Equal(t, success, e.flow(t, b), "once Vault is back")
		assert.Equal(t, []string{cellAccount}, e.connected(t))
		e.assertNoLeaks(t)
	})

	// A server with file storage keeps its secrets: the account connected
	// before the stop stays connected through a failed reconnect while
	// Vault is stopped, then while it is back but sealed (503), and
	// reconnects once it is unsealed.
	t.Run("persistent", func(t *testing.T) {
		v := startVaultPersistent(t)
		e := newFaultEnv(t, envOpts{vaultAddr: v.Addr, vaultToken: v.Token, directVault: true, vaultTimeout: 2 * time.Second})
		b := e.client(t, cellAccount)
		require.Equal(t, success, e.flow(t, b))
		require.Equal(t, []string{cellAccount}, e.connected(t))
		before := e.vault.currentVersion(t, cellAccount)

		require.NoError(t, v.Stop())
		assert.Equal(t, internal, e.flow(t, b), "reconnect while Vault is stopped")
		assert.Equal(t, []string{cellAccount}, e.activeRecords(t), "the connection stands")

		require.NoError(t, v.StartSealed())
		assert.Equal(t, internal, e.flow(t, b), "reconnect while Vault is sealed")
		assert.Equal(t, []string{cellAccount}, e.activeRecords(t), "the connection stands")

		require.NoError(t, v.Unseal())
		assert.Equal(t, []string{cellAccount}, e.connected(t), "the secret survived the restart")
		assert.Equal(t, before, e.vault.currentVersion(t, cellAccount), "no failed reconnect wrote it")
		assert.Equal(t, success, e.flow(t, b), "once Vault is unsealed")
		assert.Equal(t, []string{cellAccount}, e.connected(t))
		e.assertNoLeaks(t)
	})
}
