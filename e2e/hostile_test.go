package e2e

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/harness"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
)

// Hostile input against the real host: one sikka-demo process on PostgreSQL
// and Vault per test, the mock Sikka in this process, plain HTTP clients
// (one cookie jar per browser). Every attack must end in a refusal and
// change nothing: no record, no secret (nor a new version of one), no call
// to Sikka, no nonce consumed — checked by comparing a snapshot of all of
// them before and after. The cause the demo logs for each refused request
// (found by its X-Request-Id) is the precise sentinel error. At the end of
// each test the demo still answers, every log line is JSON, and a leak scan
// finds no code, key or secret key in the log, in any redirect URL or in
// any response body.

// hostileRefused is where every refused callback sends the browser.
const hostileRefused = middleware.DefaultPrefix + "?status=error&reason=invalid_state"

// hostileEnv is one hostile test's world and its demo.
type hostileEnv struct {
	*world
	t    *testing.T
	d    *demo
	scan *leakScan

	mu  sync.Mutex
	seq int
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	w := newWorld(t, worldOpts{prefix: "hostile"})
	h := &hostileEnv{world: w, t: t, scan: newLeakScan(), d: w.start(t, nil, "-refresh-interval", "0")}
	t.Cleanup(h.finalChecks) // runs before the demo is stopped
	return h
}

// finalChecks: the demo survived, logged only JSON, and leaked nothing.
func (h *hostileEnv) finalChecks() {
	t := h.t
	resp, err := http.Get(h.d.Base + middleware.DefaultPrefix + "/status")
	if assert.NoError(t, err, "the demo still answers") {
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	assertLogJSON(t, h.d)
	n := assertNoLeaks(t, h.d, h.mock, h.scan)
	t.Logf("leak scan: %d secrets over %d texts (log, redirect URLs, response bodies)", h.scan.secret, n)
}

// hostileSnapshot is everything an attack could change.
type hostileSnapshot struct {
	Records  []string       // every pms_integrations row
	Secrets  map[string]int // secret name → current version (-1: deleted)
	Nonces   []string       // hashes of the unused state nonces
	SikkaAPI map[string]int // calls to the mock's API, by endpoint and grant
}

func (h *hostileEnv) snapshot() hostileSnapshot {
	t := h.t
	t.Helper()
	ctx := context.Background()
	var s hostileSnapshot
	require.NoError(t, h.db.SelectContext(ctx, &s.Records, `SELECT concat_ws('|', account_id, status, office_id,
		secret_ref, practice_name, key_expiry::text, connected_at::text, updated_at::text) FROM pms_integrations ORDER BY 1`))
	require.NoError(t, h.db.SelectContext(ctx, &s.Nonces, `SELECT encode(nonce_hash, 'hex') FROM sikka_state_nonces ORDER BY 1`))
	s.Secrets = map[string]int{}
	for _, name := range h.vault.accounts(t) {
		_, version, err := h.vault.read(ctx, name)
		switch {
		case errors.Is(err, errNoSecret):
			s.Secrets[name] = -1
		case err != nil:
			t.Fatalf("vault: %v", err)
		default:
			s.Secrets[name] = version
		}
	}
	s.SikkaAPI = map[string]int{}
	for _, e := range h.mock.Journal() {
		s.SikkaAPI[e.Endpoint()+" "+e.Grant]++
	}
	return s
}

// assertUnchanged checks that nothing changed since before.
func (h *hostileEnv) assertUnchanged(before hostileSnapshot, what string) {
	h.t.Helper()
	after := h.snapshot()
	assert.Equal(h.t, before.Records, after.Records, "%s: records changed", what)
	assert.Equal(h.t, before.Secrets, after.Secrets, "%s: secrets changed", what)
	assert.Equal(h.t, before.Nonces, after.Nonces, "%s: nonces changed (one was consumed)", what)
	assert.Equal(h.t, before.SikkaAPI, after.SikkaAPI, "%s: Sikka was called (a code spent?)", what)
}

// record returns the account's row status, or "" when it has none.
func (h *hostileEnv) record(account string) string { return h.records(h.t)[account].Status }

// hasSecret reports whether the account's secret exists in Vault.
func (h *hostileEnv) hasSecret(account string) bool {
	_, _, ok := h.vault.secret(h.t, account)
	return ok
}

// assertNotConnected: no record, no secret, and the status route says so.
func (h *hostileEnv) assertNotConnected(b *hostileBrowser, what string) {
	h.t.Helper()
	assert.Empty(h.t, h.record(b.account), "%s: %s has a record", what, b.account)
	assert.False(h.t, h.hasSecret(b.account), "%s: %s has a secret", what, b.account)
	assert.Equal(h.t, middleware.NotConnected, b.status().Status, what)
}

// requestID returns a fresh X-Request-Id, to find a request's log line.
func (h *hostileEnv) requestID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return fmt.Sprintf("hostile-%04d", h.seq)
}

// logLine waits for the demo's log line of the request id.
func (h *hostileEnv) logLine(id string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(h.d.logs.String(), "\n") {
			if !strings.Contains(line, `"request_id":"`+id+`"`) {
				continue
			}
			var m map[string]any
			require.NoError(h.t, json.Unmarshal([]byte(line), &m))
			return m
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no log line for request %s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertCause checks that the request's log line names the refusal's cause.
func (h *hostileEnv) assertCause(id string, causes ...error) {
	h.t.Helper()
	m := h.logLine(id)
	got := fmt.Sprint(m["error"])
	for _, c := range causes {
		if strings.Contains(got, c.Error()) {
			return
		}
	}
	h.t.Errorf("request %s logged error %q, want one of %v", id, got, causes)
}

// hostileBrowser is one browser (harness.Browser) signed in as account.
type hostileBrowser struct {
	*harness.Browser
	h       *hostileEnv
	account string
}

func (h *hostileEnv) browser(account string) *hostileBrowser {
	b := &hostileBrowser{Browser: newBrowserClient(h.t, 30*time.Second), h: h}
	b.signIn(account)
	return b
}

// signIn sets the demo's account cookie, as /demo/login does.
func (b *hostileBrowser) signIn(account string) {
	b.account = account
	b.SetCookie(b.h.d.Base, &http.Cookie{Name: "sikka_demo_account", Value: account, Path: "/"})
}

// hostileResponse is an answer, read whole.
type hostileResponse struct {
	id       string // the X-Request-Id sent
	code     int
	location string // as sent
	header   http.Header
	body     string
	elapsed  time.Duration
}

// send sends one request and records what the demo answered for the leak
// scan.
func (b *hostileBrowser) send(method, u string, header map[string]string, body string) hostileResponse {
	b.h.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(b.h.t, err)
	r := hostileResponse{id: b.h.requestID()}
	req.Header.Set("X-Request-Id", r.id)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	begin := time.Now()
	resp, err := b.HTTP.Do(req)
	require.NoError(b.h.t, err, "%s %.200s", method, u)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.elapsed = time.Since(begin)
	r.code, r.location, r.header, r.body = resp.StatusCode, resp.Header.Get("Location"), resp.Header, string(raw)
	if strings.HasPrefix(u, b.h.d.Base) { // the mock's own redirect carries the code, by design
		b.h.scan.text("the Location of "+method+" "+req.URL.Path, r.location)
		b.h.scan.text("the body of "+method+" "+req.URL.Path, r.body)
	}
	return r
}

func (b *hostileBrowser) get(u string) hostileResponse { return b.send(http.MethodGet, u, nil, "") }

// toCallback starts a flow, clicks Allow for office on the mock's page, and
// returns the callback URL Sikka sends the browser to, not yet requested.
func (b *hostileBrowser) toCallback(office string) *url.URL {
	t := b.h.t
	t.Helper()
	r := b.get(b.h.d.Base + middleware.DefaultPrefix + "/start")
	require.Equal(t, http.StatusFound, r.code, r.body)
	auth, err := url.Parse(r.location)
	require.NoError(t, err)
	q := auth.Query()
	form := url.Values{"app_id": {q.Get("app_id")}, "redirect_uri": {q.Get("redirect_uri")},
		"state": {q.Get("state")}, "office_id": {office}, "decision": {"allow"}}
	r = b.send(http.MethodPost, b.h.mock.URL+"/portal/authapp.aspx",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode())
	require.Equal(t, http.StatusFound, r.code, r.body)
	cb, err := url.Parse(r.location)
	require.NoError(t, err)
	require.NotEmpty(t, cb.Query().Get("code"))
	return cb
}

// callback requests a callback URL; it must answer 302.
func (b *hostileBrowser) callback(u string) hostileResponse {
	b.h.t.Helper()
	r := b.get(u)
	require.Equal(b.h.t, http.StatusFound, r.code, r.body)
	return r
}

// connect runs a whole flow and checks it succeeded.
func (b *hostileBrowser) connect(office string) {
	b.h.t.Helper()
	r := b.callback(b.toCallback(office).String())
	require.Equal(b.h.t, middleware.DefaultPrefix+"?status=success", r.location)
}

// flowCookies returns the binding cookies the jar would send to the callback.
func (b *hostileBrowser) flowCookies() []*http.Cookie {
	return b.FlowCookies(b.h.d.Base, middleware.DefaultPrefix+"/callback")
}

// plant puts binding cookies into the jar, as if they had been set for this
// browser (an attacker who could toss cookies, or a browser that kept one).
func (b *hostileBrowser) plant(cookies []*http.Cookie) {
	for _, c := range cookies {
		b.PlantFlowCookie(b.h.d.Base, middleware.DefaultPrefix+"/callback", c.Name, c.Value)
	}
}

// status GETs the status JSON.
func (b *hostileBrowser) status() middleware.StatusBody {
	b.h.t.Helper()
	r := b.get(b.h.d.Base + middleware.DefaultPrefix + "/status")
	require.Equal(b.h.t, http.StatusOK, r.code, r.body)
	var s middleware.StatusBody
	require.NoError(b.h.t, json.Unmarshal([]byte(r.body), &s))
	return s
}

// hostileWith returns u with parameter k set to v (replacing it).
func hostileWith(u *url.URL, k, v string) string { return harness.WithParam(u, k, v).String() }

// Login CSRF: the attacker authorizes their own practice, stops before the
// callback, and makes the victim's browser (signed in as the victim) load
// their callback URL, to attach the attacker's practice to the victim's
// account. Refused: the state was minted for the attacker. Even if the
// attacker could also plant their binding cookie in the victim's browser,
// the account binding refuses it. Nothing changes; the attacker's own flow
// is not consumed by the attempt.
func TestHostileLoginCSRF(t *testing.T) {
	h := newHostileEnv(t)
	attacker := h.browser("attacker")
	cb := attacker.toCallback(mocksikka.DefaultOfficeID)
	victim := h.browser("victim")

	before := h.snapshot()
	r := victim.callback(cb.String())
	assert.Equal(t, hostileRefused, r.location)
	h.assertCause(r.id, middleware.ErrStateForeignAccount)
	h.assertUnchanged(before, "the attacker's callback in the victim's browser")

	victim.plant(attacker.flowCookies())
	r = victim.callback(cb.String())
	assert.Equal(t, hostileRefused, r.location)
	h.assertCause(r.id, middleware.ErrStateForeignAccount)
	h.assertUnchanged(before, "with the attacker's binding cookie planted")
	h.assertNotConnected(victim, "login CSRF")

	// The attempt consumed nothing: the attacker's own browser can still
	// finish its own flow, which connects the attacker, not the victim.
	r = attacker.callback(cb.String())
	assert.Equal(t, middleware.DefaultPrefix+"?status=success", r.location)
	assert.Equal(t, "ACTIVE", h.record("attacker"))
	h.assertNotConnected(victim, "after the attacker's own connect")
}

// State replay: a callback URL that already connected (kept in history,
// logs or a proxy) is refused however it is replayed, and changes nothing.
func TestHostileStateReplay(t *testing.T) {
	h := newHostileEnv(t)
	b := h.browser("replay")
	cb := b.toCallback(mocksikka.DefaultOfficeID)
	kept := b.flowCookies()
	require.Len(t, kept, 1)
	require.Equal(t, middleware.DefaultPrefix+"?status=success", b.callback(cb.String()).location)
	before := h.snapshot()

	code2, err := h.mock.IssueCode(mocksikka.DefaultAppID, mocksikka.MapleLeafOfficeID) // a fresh code of another practice
	require.NoError(t, err)
	h.scan.secrets("authorization code", code2)
	other := h.browser("replay")
	for _, tc := range []struct {
		name  string
		b     *hostileBrowser
		plant bool
		u     string
		want  error
	}{
		{"same browser, cookie kept", b, true, cb.String(), middleware.ErrStateReplayed},
		{"another browser of the account, cookie copied", other, true, cb.String(), middleware.ErrStateReplayed},
		{"another browser, no cookie", h.browser("replay"), false, cb.String(), middleware.ErrStateNoCookie},
		{"the used state with a fresh code", b, true, hostileWith(cb, "code", code2), middleware.ErrStateReplayed},
		{"the used state as a cancel", b, true, hostileWith(harness.WithParam(cb, "code", ""), "error", "access_denied"), middleware.ErrStateReplayed},
	} {
		if tc.plant {
			tc.b.plant(kept)
		}
		r := tc.b.callback(tc.u)
		assert.Equal(t, hostileRefused, r.location, tc.name)
		h.assertCause(r.id, tc.want)
		h.assertUnchanged(before, tc.name)
	}
	assert.Equal(t, 1, h.mock.Count("POST /v4/request_key", "authorization_code"), "one code exchanged in all")
}

// A state minted for another account: the browser that started the flow is
// now signed in as someone else (a shared computer, a switched session).
// Refused with nothing changed; the nonce is not consumed, so the right
// account finishes its flow afterwards.
func TestHostileForeignAccountState(t *testing.T) {
	h := newHostileEnv(t)
	b := h.browser("owner")
	cb := b.toCallback(mocksikka.DefaultOfficeID)
	kept := b.flowCookies()

	b.signIn("intruder")
	before := h.snapshot()
	r := b.callback(cb.String())
	assert.Equal(t, hostileRefused, r.location)
	h.assertCause(r.id, middleware.ErrStateForeignAccount)
	h.assertUnchanged(before, "state of another account")
	h.assertNotConnected(b, "the intruder")

	b.signIn("owner")
	b.plant(kept) // the refusal cleared the flow's cookie
	assert.Equal(t, middleware.DefaultPrefix+"?status=success", b.callback(cb.String()).location)
	assert.Equal(t, "ACTIVE", h.record("owner"))
	assert.Empty(t, h.record("intruder"))
}

// Forged and truncated MACs, and payloads altered under a valid MAC: all
// refused before anything is spent; the genuine state still works after.
func TestHostileForgedMAC(t *testing.T) {
	h := newHostileEnv(t)
	b := h.browser("mac-owner")
	cb := b.toCallback(mocksikka.DefaultOfficeID)
	state := cb.Query().Get("state")
	payload, mac, ok := strings.Cut(state, ".")
	require.True(t, ok)
	// Another flow's state (another browser's), for its MAC.
	otherCB := h.browser("mac-owner").toCallback(mocksikka.DefaultOfficeID)
	_, otherMAC, _ := strings.Cut(otherCB.Query().Get("state"), ".")

	flip := "A"
	if mac[0] == 'A' {
		flip = "B"
	}
	attackerKey := make([]byte, 32)
	_, err := rand.Read(attackerKey)
	require.NoError(t, err)
	victimPayload := hostileSwapAccount(t, payload, "mac-victim")

	victim := h.browser("mac-victim")
	victim.plant(b.flowCookies())
	for _, tc := range []struct {
		name  string
		who   *hostileBrowser
		state string
		want  []error
	}{
		{"MAC truncated by one character", b, payload + "." + mac[:len(mac)-1], []error{middleware.ErrStateMalformed}},
		{"MAC truncated to half", b, payload + "." + mac[:len(mac)/2], []error{middleware.ErrStateMalformed}},
		{"MAC empty", b, payload + ".", []error{middleware.ErrStateMalformed}},
		{"no MAC at all", b, payload, []error{middleware.ErrStateMalformed}},
		{"MAC with one character changed", b, payload + "." + flip + mac[1:], []error{middleware.ErrStateTampered}},
		{"MAC of another state", b, payload + "." + otherMAC, []error{middleware.ErrStateTampered}},
		{"MAC made with the attacker's key", b, payload + "." + hostileMAC(attackerKey, payload), []error{middleware.ErrStateTampered}},
		{"payload truncated", b, payload[:len(payload)-4] + "." + mac, []error{middleware.ErrStateMalformed, middleware.ErrStateTampered}},
		{"account swapped to the victim's, MAC kept", victim, victimPayload + "." + mac, []error{middleware.ErrStateTampered}},
		{"account swapped, MAC forged with the attacker's key", victim, victimPayload + "." + hostileMAC(attackerKey, victimPayload), []error{middleware.ErrStateTampered}},
		{"MAC with padding", b, state + "=", []error{middleware.ErrStateMalformed}},
		{"MAC in standard base64", b, payload + "." + strings.NewReplacer("-", "+", "_", "/").Replace(mac) + "+/", []error{middleware.ErrStateMalformed}},
	} {
		before := h.snapshot()
		r := tc.who.callback(hostileWith(cb, "state", tc.state))
		assert.Equal(t, hostileRefused, r.location, tc.name)
		h.assertCause(r.id, tc.want...)
		h.assertUnchanged(before, tc.name)
	}
	h.assertNotConnected(victim, "forged states")

	// None of them consumed the genuine flow.
	assert.Equal(t, middleware.DefaultPrefix+"?status=success", b.callback(cb.String()).location)
	h.assertNotConnected(victim, "after the genuine flow")
}

// hostileSwapAccount rewrites the account id at the end of a state payload
// (the layout of DESIGN.md: version, issue time, nonce, key id, account).
func hostileSwapAccount(t *testing.T, payload, account string) string {
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	require.NoError(t, err)
	kidLen := int(raw[1+8+16])
	head := raw[:1+8+16+1+kidLen]
	return base64.RawURLEncoding.EncodeToString(append(append([]byte{}, head...), account...))
}

// hostileMAC signs a payload the way states are signed, with key.
func hostileMAC(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("sikka-connect state v1\x00"))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Oversized and repeated query parameters: refused in bounded time, no
// crash, nothing changed; the genuine flow still completes afterwards.
func TestHostileOversizedQuery(t *testing.T) {
	h := newHostileEnv(t)
	b := h.browser("big")
	cb := b.toCallback(mocksikka.DefaultOfficeID)
	state := cb.Query().Get("state")
	code := cb.Query().Get("code")
	callback := h.d.Base + middleware.DefaultPrefix + "/callback?"

	for _, tc := range []struct {
		name  string
		query string
		want  error // nil: refused by the HTTP server before the handler
	}{
		{"2 MiB state", "code=" + code + "&state=" + strings.Repeat("A", 2<<20), nil},
		{"2 MiB code", "state=" + state + "&code=" + strings.Repeat("a", 2<<20), nil},
		{"1 MiB state", "code=" + code + "&state=" + strings.Repeat("A", 1<<20), middleware.ErrStateMalformed},
		{"64 KiB state of base64url", "code=" + code + "&state=" + state + strings.Repeat("A", 64<<10), middleware.ErrStateMalformed},
		{"10,000 repeated state", "code=" + code + strings.Repeat("&state="+state, 10000), middleware.ErrCallbackMalformed},
		{"10,000 repeated code", "state=" + state + strings.Repeat("&code="+code, 10000), middleware.ErrCallbackMalformed},
		{"10,000 repeated error", "state=" + state + strings.Repeat("&error=access_denied", 10000), middleware.ErrCallbackMalformed},
		{"20,000 other parameters", cb.RawQuery + strings.Repeat("&x=1", 20000), middleware.ErrCallbackMalformed},
		{"state and code twice", cb.RawQuery + "&" + cb.RawQuery, middleware.ErrCallbackMalformed},
	} {
		before := h.snapshot()
		if tc.want == nil {
			// Over net/http's header limit: 431 before any handler runs
			// (the server may hang up while the client still writes).
			begin := time.Now()
			code, err := hostileTooLarge(t, b, callback+tc.query)
			assert.Less(t, time.Since(begin), 5*time.Second, "%s: answered in bounded time", tc.name)
			if err == nil {
				assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, code, tc.name)
			}
			h.assertUnchanged(before, tc.name)
			continue
		}
		r := b.get(callback + tc.query)
		assert.Less(t, r.elapsed, 5*time.Second, "%s: answered in bounded time", tc.name)
		{
			assert.Equal(t, http.StatusFound, r.code, tc.name)
			assert.Equal(t, hostileRefused, r.location, tc.name)
			h.assertCause(r.id, tc.want)
		}
		h.assertUnchanged(before, tc.name)
	}
	h.assertNotConnected(b, "oversized queries")
	assert.Equal(t, middleware.DefaultPrefix+"?status=success", b.callback(cb.String()).location)
}

// hostileTooLarge sends a GET too large for the server and returns its
// status, or the error of a connection the server closed mid-request.
func hostileTooLarge(t *testing.T, b *hostileBrowser, u string) (int, error) {
	t.Helper()
	resp, err := b.HTTP.Get(u)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) || strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe") {
			t.Logf("the server hung up on a too-large request: %v", err)
			return 0, err
		}
		require.NoError(t, err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	return resp.StatusCode, nil
}

// hostileRedirectParams are the parameters an open redirect usually rides
// on, and the protocol's own.
var hostileRedirectParams = []string{"redirect_uri", "next", "return_to", "url", "redirect", "continue",
	"status", "reason", "state", "code", "error", "error_description"}

// hostileRedirectValues are absolute, scheme-relative, backslash and
// header-injection attempts.
var hostileRedirectValues = []string{
	"https://evil.example/steal",
	"//evil.example/steal",
	`\evil.example`,
	`/\evil.example`,
	"http:evil.example",
	"javascript:alert(document.cookie)",
	"\r\nLocation: https://evil.example/steal",
	"x\r\nSet-Cookie: sikka_demo_account=attacker",
	"%0d%0aLocation:%20https://evil.example", // double-encoded
}

// hostileCheckHeaders fails if an injected value reached a header.
func hostileCheckHeaders(t *testing.T, r hostileResponse, what string) {
	t.Helper()
	for k, vs := range r.header {
		for _, v := range vs {
			// "evil.example", not "evil": a random cookie value may hold
			// four letters, never a dot.
			assert.NotContains(t, strings.ToLower(v), "evil.example", "%s: header %s", what, k)
			assert.NotContains(t, v, "attacker", "%s: header %s", what, k)
		}
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		assert.True(t, strings.HasPrefix(c.Name, "sikka_flow_"), "%s: sets cookie %s", what, c.Name)
	}
	assert.LessOrEqual(t, len(r.header.Values("Location")), 1, what)
}

// Open redirects and CRLF injection in every parameter of every route: the
// browser only ever goes to the configured frontend URL (or, from start,
// to Sikka with the configured redirect URI), no header carries the input,
// and refused callbacks change nothing.
func TestHostileRedirectInjection(t *testing.T) {
	h := newHostileEnv(t)
	base := h.d.Base + middleware.DefaultPrefix
	n := 0
	for _, p := range hostileRedirectParams {
		for _, v := range hostileRedirectValues {
			// An account per case: each start leaves an unfinished flow, and
			// an account may hold only integration.DefaultMaxFlowsPerAccount.
			n++
			b := h.browser(fmt.Sprintf("redirect-%d", n))
			what := fmt.Sprintf("%s=%q", p, v)
			extra := url.QueryEscape(p) + "=" + url.QueryEscape(v)

			// start: to Sikka's page with exactly the configured parameters.
			r := b.get(base + "/start?" + extra)
			require.Equal(t, http.StatusFound, r.code, what)
			hostileCheckHeaders(t, r, "start "+what)
			auth, err := url.Parse(r.location)
			require.NoError(t, err)
			assert.Equal(t, h.mock.URL+"/portal/authapp.aspx", auth.Scheme+"://"+auth.Host+auth.Path, "start %s", what)
			q := auth.Query()
			assert.Len(t, q, 3, "start %s: %s", what, r.location)
			assert.Equal(t, base+"/callback", q.Get("redirect_uri"), "start %s", what)
			assert.Equal(t, mocksikka.DefaultAppID, q.Get("app_id"), "start %s", what)

			// callback without a genuine state: refused, to the frontend.
			before := h.snapshot()
			query := extra
			if p != "state" {
				query += "&state=not-a-state"
			}
			if p != "code" && p != "error" {
				query += "&code=0123456789abcdef"
			}
			r = b.get(base + "/callback?" + query)
			assert.Equal(t, http.StatusFound, r.code, "callback %s", what)
			assert.Equal(t, hostileRefused, r.location, "callback %s", what)
			hostileCheckHeaders(t, r, "callback "+what)
			h.assertUnchanged(before, "callback "+what)

			// status: JSON, no redirect.
			r = b.get(base + "/status?" + extra)
			assert.Equal(t, http.StatusOK, r.code, "status %s", what)
			assert.Empty(t, r.location, "status %s", what)
			hostileCheckHeaders(t, r, "status "+what)

			// disconnect, a same-origin form (the account is not connected:
			// nothing to change): 303 to the frontend itself.
			r = b.send(http.MethodPost, base+"/disconnect?"+extra,
				map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded"}, extra)
			assert.Equal(t, http.StatusSeeOther, r.code, "disconnect %s", what)
			assert.Equal(t, middleware.DefaultPrefix, r.location, "disconnect %s", what)
			hostileCheckHeaders(t, r, "disconnect "+what)
			h.assertNotConnected(b, "redirect attempts "+what)
		}
	}

	// A genuine callback carrying the extra parameters connects, and still
	// lands on the configured frontend URL with only the outcome added.
	b := h.browser("redirect")
	for _, v := range hostileRedirectValues {
		cb := b.toCallback(mocksikka.DefaultOfficeID)
		c := *cb
		for _, p := range hostileRedirectParams {
			if p != "state" && p != "code" && p != "error" {
				c.RawQuery += "&" + url.QueryEscape(p) + "=" + url.QueryEscape(v)
			}
		}
		r := b.callback(c.String())
		assert.Equal(t, middleware.DefaultPrefix+"?status=success", r.location, "genuine callback with %q", v)
		hostileCheckHeaders(t, r, fmt.Sprintf("genuine callback with %q", v))
	}
}

// hostileNonUTF8 are invalid UTF-8 sequences, percent-encoded: a lone
// continuation byte, a truncated sequence, an overlong NUL, a surrogate, a
// Latin-1 word, 0xFF 0xFE, and a NUL.
var hostileNonUTF8 = []string{"%80", "%c3%28", "%c0%80", "%ed%a0%80", "caf%e9", "%ff%fe", "%00"}

// Non-UTF-8 bytes in every parameter, percent-encoded and raw on the wire:
// refused (or, for Sikka's error parameter on a genuine state, the generic
// error outcome), nothing stored, the logs stay valid JSON.
func TestHostileNonUTF8(t *testing.T) {
	h := newHostileEnv(t)
	b := h.browser("utf8")
	base := h.d.Base + middleware.DefaultPrefix
	cb := b.toCallback(mocksikka.DefaultOfficeID)
	state, code := cb.Query().Get("state"), cb.Query().Get("code")

	for _, bad := range hostileNonUTF8 {
		for _, tc := range []struct {
			name, query string
			want        error
		}{
			{"state", "state=" + bad + "&code=" + code, middleware.ErrStateMalformed},
			{"state suffix", "state=" + url.QueryEscape(state) + bad + "&code=" + code, middleware.ErrStateMalformed},
			{"code with a bad state", "state=x" + bad + "&code=" + bad, middleware.ErrStateMalformed},
			{"error with a bad state", "state=" + bad + "&error=" + bad, middleware.ErrStateMalformed},
			{"both code and error", "state=" + url.QueryEscape(state) + "&code=" + bad + "&error=" + bad, middleware.ErrCallbackAmbiguous},
			{"parameter name", "state=" + bad + "&" + bad + "=1&code=" + code, middleware.ErrStateMalformed},
		} {
			before := h.snapshot()
			r := b.callback(base + "/callback?" + tc.query)
			assert.Equal(t, hostileRefused, r.location, "%s %s", tc.name, bad)
			h.assertCause(r.id, tc.want)
			h.assertUnchanged(before, tc.name+" "+bad)
		}
		r := b.get(base + "/start?x=" + bad)
		assert.Equal(t, http.StatusFound, r.code, "start with %s", bad)
		r = b.get(base + "/status?x=" + bad)
		assert.Equal(t, http.StatusOK, r.code, "status with %s", bad)
	}

	// Raw bytes on the wire, in the query and in X-Request-Id: the server
	// refuses the request or the handler refuses the state; it never crashes.
	for _, raw := range []string{"\xff\xfe", "\xc3\x28", "\xed\xa0\x80", "\x80"} {
		before := h.snapshot()
		code, location := hostileRawGet(t, h.d.Base, middleware.DefaultPrefix+"/callback?state="+raw+"&code="+raw, raw)
		if code == http.StatusFound {
			assert.Equal(t, hostileRefused, location, "raw %q", raw)
		} else {
			assert.Equal(t, http.StatusBadRequest, code, "raw %q", raw)
		}
		h.scan.text("a raw callback's Location", location)
		h.assertUnchanged(before, fmt.Sprintf("raw %q", raw))
	}

	// Sikka's error parameter on a genuine state: the flow ends (its state
	// is used up) in the generic error outcome; nothing is stored and the
	// log gets a sanitized value.
	for _, bad := range hostileNonUTF8 {
		cb := b.toCallback(mocksikka.DefaultOfficeID)
		exchanges := h.mock.Count("POST /v4/request_key", "authorization_code")
		c := harness.WithParam(cb, "code", "")
		c.RawQuery += "&error=x%0d%0a" + bad
		r := b.callback(c.String())
		assert.Equal(t, middleware.DefaultPrefix+"?status=error&reason=invalid_code", r.location, bad)
		m := h.logLine(r.id)
		assert.Equal(t, middleware.ErrProviderDenied.Error()+": other", m["error"], bad)
		assert.Equal(t, exchanges, h.mock.Count("POST /v4/request_key", "authorization_code"), "no code spent")
	}
	h.assertNotConnected(b, "non-UTF-8 input")
}

// hostileRawGet sends a GET whose request line and X-Request-Id carry raw
// bytes, as no well-behaved client would, and returns the status and
// Location.
func hostileRawGet(t *testing.T, base, target, idBytes string) (int, string) {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nX-Request-Id: id%s\r\nCookie: sikka_demo_account=utf8\r\nConnection: close\r\n\r\n",
		target, u.Host, idBytes)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Less(t, resp.StatusCode, 500, "%s", body)
	return resp.StatusCode, resp.Header.Get("Location")
}

// Disconnect from another site (a form or fetch on evil.example, a link):
// 403 (or 405 for GET) and the account stays connected, its secret and key
// untouched.
func TestHostileCrossSiteDisconnect(t *testing.T) {
	h := newHostileEnv(t)
	b := h.browser("dc")
	b.connect(mocksikka.DefaultOfficeID)
	before := h.snapshot()
	target := h.d.Base + middleware.DefaultPrefix + "/disconnect"
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for _, tc := range []struct {
		name   string
		header map[string]string
		target string
	}{
		{"cross-site fetch", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, target},
		{"cross-site form post", hostileMerge(form, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}), target},
		{"cross-site form with a redirect parameter", hostileMerge(form, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}), target + "?next=https://evil.example"},
		{"same-site, other origin", map[string]string{"Origin": "https://sub.evil.example", "Sec-Fetch-Site": "same-site"}, target},
		{"old browser, foreign Origin", map[string]string{"Origin": "https://evil.example"}, target},
		{"old browser, null Origin (sandboxed frame)", map[string]string{"Origin": "null"}, target},
		{"old browser, foreign Referer only", hostileMerge(form, map[string]string{"Referer": "https://evil.example/page"}), target},
	} {
		r := b.send(http.MethodPost, tc.target, tc.header, "x=1")
		assert.Equal(t, http.StatusForbidden, r.code, tc.name)
		assert.JSONEq(t, `{"error":"cross_origin"}`, r.body, tc.name)
		assert.Empty(t, r.location, tc.name)
		assert.Contains(t, fmt.Sprint(h.logLine(r.id)["error"]), "cross-origin request refused", tc.name)
		h.assertUnchanged(before, tc.name)
	}
	r := b.get(target) // a link or an image on evil.example
	assert.Equal(t, http.StatusMethodNotAllowed, r.code)
	h.assertUnchanged(before, "GET disconnect")
	assert.Equal(t, "ACTIVE", h.record("dc"))
	assert.True(t, h.hasSecret("dc"))
	assert.True(t, b.status().Connected)

	// The same request from the app's own page does disconnect.
	r = b.send(http.MethodPost, target, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": h.d.Base}, "")
	assert.Equal(t, http.StatusOK, r.code, r.body)
	assert.Equal(t, "REVOKED", h.record("dc"))
}

func hostileMerge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// An oversized code on a genuine state and cookie is refused before Sikka
// is called (middleware.ErrCodeMalformed): no call to the Sikka API, nothing
// stored. Sikka's codes are 32 hex characters; the callback takes at most
// middleware.MaxCodeLen.
func TestHostileOversizedCode(t *testing.T) {
	h := newHostileEnv(t)
	b := h.browser("bigcode")
	for _, n := range []int{100 << 10, 1000 << 10} {
		cb := b.toCallback(mocksikka.DefaultOfficeID)
		before := h.snapshot()
		r := b.get(hostileWith(cb, "code", strings.Repeat("a", n)))
		assert.Equal(t, http.StatusFound, r.code)
		assert.Equal(t, middleware.DefaultPrefix+"?status=error&reason=invalid_code", r.location,
			"%d-byte code: refused as an invalid code", n)
		after := h.snapshot()
		assert.Equal(t, before.SikkaAPI, after.SikkaAPI, "%d-byte code: sent to Sikka", n)
		assert.Equal(t, before.Records, after.Records)
		assert.Equal(t, before.Secrets, after.Secrets)
	}
}
