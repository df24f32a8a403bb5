package conformance

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
)

// The environment that points the suite at another server than the in-process mock.
const (
	envURL         = "SIKKA_CONFORMANCE_URL"
	envAppID       = "SIKKA_CONFORMANCE_APP_ID"
	envAppKey      = "SIKKA_CONFORMANCE_APP_KEY"
	envOfficeID    = "SIKKA_CONFORMANCE_OFFICE_ID"
	envSecretKey   = "SIKKA_CONFORMANCE_SECRET_KEY"
	envDestructive = "SIKKA_CONFORMANCE_DESTRUCTIVE"
)

// maxRateWait bounds how long a check waits out a 429 from a real server before its one retry.
const maxRateWait = 65 * time.Second

// target is the server under test: a base URL ending in /v4 and the credentials of one app and
// one office that has onboarded it.
type target struct {
	base                               string // e.g. https://api.sikkasoft.com/v4, no trailing slash
	appID, appKey, officeID, secretKey string
	mock                               *mocksikka.Server // nil for a server given by SIKKA_CONFORMANCE_URL
	hc                                 *http.Client

	mu      sync.Mutex
	key     string   // a live request key for read-only checks; "" until one is needed
	secrets []string // every secret the suite holds, scrubbed from what it logs
}

var (
	remoteOnce sync.Once
	remote     *target
	remoteErr  string
)

// remoteConfigured reports whether the suite runs against SIKKA_CONFORMANCE_URL.
func remoteConfigured() bool { return os.Getenv(envURL) != "" }

// newTarget returns the server under test: the one SIKKA_CONFORMANCE_URL names (shared by every
// test, so that keys are not issued needlessly), else a fresh in-process mock with its defaults.
func newTarget(t *testing.T) *target {
	t.Helper()
	if !remoteConfigured() {
		return newMockTarget(t)
	}
	remoteOnce.Do(func() { remote, remoteErr = remoteTarget() })
	if remoteErr != "" {
		t.Fatal(remoteErr)
	}
	return remote
}

func remoteTarget() (*target, string) {
	var missing []string
	get := func(name string) string {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	base := strings.TrimRight(get(envURL), "/")
	tg := &target{base: base, appID: get(envAppID), appKey: get(envAppKey), officeID: get(envOfficeID),
		secretKey: get(envSecretKey), hc: newClient()}
	if len(missing) > 0 {
		verb := "are"
		if len(missing) == 1 {
			verb = "is"
		}
		return nil, fmt.Sprintf("%s is set, so the suite runs against it, but %s %s not set: set all five "+
			"(%s, %s, %s, %s, %s) or unset %s to run against the in-process mock",
			envURL, strings.Join(missing, ", "), verb, envURL, envAppID, envAppKey, envOfficeID, envSecretKey, envURL)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, "/v4") {
		return nil, fmt.Sprintf("%s must be an absolute http(s) base URL that includes /v4, e.g. "+
			"https://api.sikkasoft.com/v4", envURL)
	}
	tg.secrets = []string{tg.appKey, tg.secretKey}
	return tg, ""
}

// newMockTarget starts a fresh in-process mock on 127.0.0.1 with opts and returns it as the
// target, with the default app and DefaultOfficeID.
func newMockTarget(t *testing.T, opts ...mocksikka.Option) *target {
	t.Helper()
	m := mocksikka.New(opts...)
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return &target{
		base: srv.URL + "/v4", appID: mocksikka.DefaultAppID, appKey: mocksikka.DefaultAppKey,
		officeID: mocksikka.DefaultOfficeID, secretKey: mocksikka.DefaultSecretKey, mock: m,
		hc:      newClient(),
		secrets: []string{mocksikka.DefaultAppKey, mocksikka.DefaultSecretKey},
	}
}

// mockOnly returns an in-process mock with opts for a fact that needs the mock's clock or
// settings, and skips with why when the suite runs against SIKKA_CONFORMANCE_URL.
func mockOnly(t *testing.T, why string, opts ...mocksikka.Option) *target {
	t.Helper()
	if remoteConfigured() {
		t.Skipf("runs only against the in-process mock: %s", why)
	}
	return newMockTarget(t, opts...)
}

// destructive skips a check that deletes a key, unless it runs in-process or
// SIKKA_CONFORMANCE_DESTRUCTIVE=1.
func (tg *target) destructive(t *testing.T) {
	t.Helper()
	if tg.mock == nil && os.Getenv(envDestructive) != "1" {
		t.Skipf("destructive (it deletes a key the server issued): set %s=1 to run it against %s",
			envDestructive, envURL)
	}
}

// newClient is a plain client that never decompresses behind the test's back and never follows
// a redirect (which could carry a key elsewhere).
func newClient() *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DisableCompression: true, Proxy: http.ProxyFromEnvironment},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// answer is one response, its body read whole (and gunzipped when it came compressed).
type answer struct {
	status  int
	header  http.Header
	body    []byte
	gzipped bool
	tg      *target
	what    string // "GET /authorized_practices", for messages
}

// req describes one request: a path under the base ("/request_key_info?…"), headers, and a
// body (a value sent as JSON, or a string sent as is).
type req struct {
	method string
	path   string
	header map[string]string
	body   any
}

// do sends r once; against a real server a 429 is waited out once (X-Rate-Limit-Reset or
// Retry-After, at most maxRateWait) and retried, so that a low plan limit does not fail checks
// that are not about rate limits.
func (tg *target) do(t *testing.T, r req) *answer {
	t.Helper()
	a := tg.send(t, r)
	if a.status == http.StatusTooManyRequests && tg.mock == nil {
		wait := maxRateWait
		for _, h := range []string{"X-Rate-Limit-Reset", "Retry-After"} {
			if n, err := strconv.Atoi(a.header.Get(h)); err == nil && n >= 0 {
				wait = min(time.Duration(n+1)*time.Second, maxRateWait)
				break
			}
		}
		t.Logf("%s: 429 from the server; waiting %s once before retrying", a.what, wait)
		time.Sleep(wait)
		a = tg.send(t, r)
	}
	return a
}

func (tg *target) send(t *testing.T, r req) *answer {
	t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode the body: %v", err)
		}
		body = bytes.NewReader(raw)
	}
	what := r.method + " " + tg.scrub(r.path)
	hr, err := http.NewRequest(r.method, tg.base+r.path, body)
	if err != nil {
		t.Fatalf("%s: %v", what, tg.scrub(err.Error()))
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := tg.hc.Do(hr)
	if err != nil {
		t.Fatalf("%s: %v", what, tg.scrub(err.Error()))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("%s: read the body: %v", what, err)
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: raw, tg: tg, what: what}
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: Content-Encoding gzip, but the body is not gzip: %v", what, err)
		}
		if a.body, err = io.ReadAll(io.LimitReader(zr, 32<<20)); err != nil {
			t.Fatalf("%s: gunzip the body: %v", what, err)
		}
		a.gzipped = true
	}
	return a
}

// get sends a GET with headers given as name, value pairs.
func (tg *target) get(t *testing.T, path string, kv ...string) *answer {
	t.Helper()
	return tg.do(t, req{method: http.MethodGet, path: path, header: pairs(kv)})
}

func pairs(kv []string) map[string]string {
	h := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// appHeaders are the App-Id and App-Key headers of the target's app.
func (tg *target) appHeaders() []string { return []string{"App-Id", tg.appID, "App-Key", tg.appKey} }

// remember adds secrets the server handed out, so that scrub hides them.
func (tg *target) remember(secrets ...string) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			tg.secrets = append(tg.secrets, s)
		}
	}
}

var secretFields = regexp.MustCompile(`("(?:request_key|refresh_key|secret_key|app_key)"\s*:\s*")[^"]*(")|(request_key=)[^&"\s]*`)

// scrub hides every secret the suite knows of, and the values of secret fields, in s.
func (tg *target) scrub(s string) string {
	s = secretFields.ReplaceAllString(s, "$1$3***$2")
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for _, sec := range tg.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

// String is the answer for a failure message: status and scrubbed body, clipped.
func (a *answer) String() string {
	b := a.tg.scrub(string(a.body))
	if len(b) > 600 {
		b = b[:600] + "…"
	}
	return fmt.Sprintf("%s → %d %s", a.what, a.status, b)
}

// wantStatus fails the test unless the answer has status want.
func (a *answer) wantStatus(t *testing.T, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("want HTTP %d; got %s", want, a)
	}
}

// object checks status and a JSON object body (Content-Type application/json, sheet §1) and
// returns it.
func (a *answer) object(t *testing.T, status int) map[string]any {
	t.Helper()
	a.wantStatus(t, status)
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json (sheet §1)", a.what, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil || m == nil {
		t.Fatalf("want a JSON object; got %s", a)
	}
	return m
}

// wantStrings fails for every value of m that is not a JSON string, except the named keys:
// every scalar is a string, never a number, a boolean or null (sheet §1).
func wantStrings(t *testing.T, what string, m map[string]any, except ...string) {
	t.Helper()
	for k, v := range m {
		if slices.Contains(except, k) {
			continue
		}
		if _, ok := v.(string); !ok {
			t.Errorf("%s: %q is %T (%v), want a string (sheet §1: every scalar is a string)", what, k, v, printable(k, v))
		}
	}
}

func printable(k string, v any) any {
	if strings.Contains(k, "key") {
		return "***"
	}
	return v
}

// wantKeys fails unless m has exactly the keys want.
func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	w := slices.Clone(want)
	sort.Strings(w)
	if !slices.Equal(got, w) {
		var extra, missing []string
		for _, k := range got {
			if !slices.Contains(w, k) {
				extra = append(extra, k)
			}
		}
		for _, k := range w {
			if !slices.Contains(got, k) {
				missing = append(missing, k)
			}
		}
		t.Errorf("%s: fields differ from the sheet's: missing %v, extra %v", what, missing, extra)
	}
}

// str returns m[k] as a string ("" if absent or not a string).
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// requestKeyGrant and refreshKeyGrant are the bodies of POST /v4/request_key for each grant.
func (tg *target) requestKeyGrant() map[string]string {
	return map[string]string{"grant_type": "request_key", "office_id": tg.officeID,
		"secret_key": tg.secretKey, "app_id": tg.appID, "app_key": tg.appKey}
}

func (tg *target) refreshKeyGrant(refreshKey string) map[string]string {
	return map[string]string{"grant_type": "refresh_key", "refresh_key": refreshKey,
		"app_id": tg.appID, "app_key": tg.appKey}
}

// grant posts a grant body, checks 200, remembers the keys it answered, makes its request key
// the one read-only checks use, and returns the answer's object.
func (tg *target) grant(t *testing.T, body map[string]string) map[string]any {
	t.Helper()
	a := tg.do(t, req{method: http.MethodPost, path: "/request_key", body: body})
	m := a.object(t, http.StatusOK)
	key, refresh := str(m, "request_key"), str(m, "refresh_key")
	tg.remember(key, refresh)
	if key == "" {
		t.Fatalf("the %s grant answered no request_key: %s", body["grant_type"], a)
	}
	tg.mu.Lock()
	tg.key = key
	tg.mu.Unlock()
	return m
}

// requestKey returns a live request key for checks that only read, issuing one with the
// office's credentials when the target has none.
func (tg *target) requestKey(t *testing.T) string {
	t.Helper()
	tg.mu.Lock()
	k := tg.key
	tg.mu.Unlock()
	if k != "" {
		return k
	}
	return str(tg.grant(t, tg.requestKeyGrant()), "request_key")
}

// forgetKey drops the request key read-only checks use (after a test deleted it).
func (tg *target) forgetKey() {
	tg.mu.Lock()
	tg.key = ""
	tg.mu.Unlock()
}

// sikkaTime is the layout of start_time and end_time: no zone (sheet §1).
const sikkaTime = "2006-01-02T15:04:05"

func parseSikkaTime(t *testing.T, what, s string) time.Time {
	t.Helper()
	v, err := time.Parse(sikkaTime, s)
	if err != nil {
		t.Fatalf("%s %q is not a zone-less timestamp like 2020-09-23T04:00:28 (sheet §1)", what, s)
	}
	return v
}
