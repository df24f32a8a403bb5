package conformance

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
)

// Sheet §2: keys.

// grantFields are the fields both grants answer (the sheet's example).
var grantFields = []string{"href", "request_key", "start_time", "end_time", "expires_in", "issued_to",
	"status", "request_count", "scope", "domain", "refresh_key"}

// infoFields are request_key_info's: the grant's without refresh_key.
var infoFields = []string{"href", "status", "request_key", "start_time", "end_time", "expires_in",
	"issued_to", "request_count", "scope", "domain"}

var (
	keyShape       = regexp.MustCompile(`^[0-9A-Za-z]{32}$`)
	expiresInShape = regexp.MustCompile(`^([0-9]+) second\(s\)$`)
)

// checkKeyAnswer checks what the grants and request_key_info share: every value a string,
// issued_to the office, end = start + 24 h, expires_in "N second(s)" with 0 < N ≤ 24 h,
// scope a comma list starting "start,end,", a 32-character alphanumeric key.
func checkKeyAnswer(t *testing.T, tg *target, what string, m map[string]any) {
	t.Helper()
	wantStrings(t, what, m)
	if got := str(m, "issued_to"); got != tg.officeID {
		t.Errorf("%s: issued_to %q, want the office id %q", what, got, tg.officeID)
	}
	if !keyShape.MatchString(str(m, "request_key")) {
		t.Errorf("%s: request_key is not 32 alphanumeric characters (sheet §1: \"valid 32 characters alpha-numeric\")", what)
	}
	start := parseSikkaTime(t, what+" start_time", str(m, "start_time"))
	end := parseSikkaTime(t, what+" end_time", str(m, "end_time"))
	if end.Sub(start) != 24*time.Hour {
		t.Errorf("%s: end_time %s − start_time %s = %s, want 24h", what, str(m, "end_time"), str(m, "start_time"), end.Sub(start))
	}
	sm := expiresInShape.FindStringSubmatch(str(m, "expires_in"))
	if sm == nil {
		t.Errorf("%s: expires_in %q, want \"<N> second(s)\"", what, str(m, "expires_in"))
	} else if n, _ := strconv.Atoi(sm[1]); n <= 0 || n > 86400 {
		t.Errorf("%s: expires_in %q, want between 1 and 86400 seconds for a key issued just now", what, str(m, "expires_in"))
	}
	if sc := str(m, "scope"); !strings.HasPrefix(sc, "start,end,") {
		t.Errorf("%s: scope %q, want a comma list starting \"start,end,\"", what, sc)
	}
	if got := str(m, "status"); got != "active" {
		t.Errorf("%s: status %q, want \"active\"", what, got)
	}
}

// checkKeyHref checks href: absolute …/v4/request_key_info?request_key=<key>.
func checkKeyHref(t *testing.T, what string, m map[string]any) {
	t.Helper()
	u, err := url.Parse(str(m, "href"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		!strings.HasSuffix(u.Path, "/v4/request_key_info") || u.Query().Get("request_key") != str(m, "request_key") {
		t.Errorf("%s: href is not the absolute …/v4/request_key_info?request_key=<its key>", what)
	}
}

// TestRequestKeyGrant: the request_key grant (office_id, secret_key, app_id, app_key) answers
// 200 with the sheet's fields, all strings, issued_to the office, end = start + 24 h, expires_in
// "N second(s)", scope "start,end,…", and a refresh_key.
func TestRequestKeyGrant(t *testing.T) {
	tg := newTarget(t)
	m := tg.grant(t, tg.requestKeyGrant())
	wantKeys(t, "request_key grant", m, grantFields...)
	checkKeyAnswer(t, tg, "request_key grant", m)
	checkKeyHref(t, "request_key grant", m)
	if str(m, "refresh_key") == "" {
		t.Error("request_key grant: no refresh_key")
	}
}

// TestRefreshKeyGrant: the refresh_key grant (refresh_key, app_id, app_key) answers 200 in the
// same shape, with a request key that works. Whether it revokes the old key or returns a new
// refresh key is open (sheet §12) and not checked.
func TestRefreshKeyGrant(t *testing.T) {
	tg := newTarget(t)
	first := tg.grant(t, tg.requestKeyGrant())
	m := tg.grant(t, tg.refreshKeyGrant(str(first, "refresh_key")))
	wantKeys(t, "refresh_key grant", m, grantFields...)
	checkKeyAnswer(t, tg, "refresh_key grant", m)
	checkKeyHref(t, "refresh_key grant", m)
	if str(m, "refresh_key") == "" {
		t.Error("refresh_key grant: no refresh_key")
	}
	tg.get(t, "/request_key_info", "Request-Key", str(m, "request_key")).wantStatus(t, http.StatusOK)
}

// TestRequestKeyInfo: GET /v4/request_key_info with Request-Key answers the bare object of the
// key (no envelope, no refresh_key).
func TestRequestKeyInfo(t *testing.T) {
	tg := newTarget(t)
	key := tg.requestKey(t)
	a := tg.get(t, "/request_key_info", "Request-Key", key)
	m := a.object(t, http.StatusOK)
	wantKeys(t, "request_key_info", m, infoFields...)
	checkKeyAnswer(t, tg, "request_key_info", m)
	checkKeyHref(t, "request_key_info", m)
	if str(m, "request_key") != key {
		t.Error("request_key_info: request_key is not the key asked about")
	}
}

// TestRequestKeyAsQueryParameter: request_key is a listed parameter and a key's href carries it
// as ?request_key= (sheet §1, [inf]): request_key_info answers the key given that way.
func TestRequestKeyAsQueryParameter(t *testing.T) {
	tg := newTarget(t)
	key := tg.requestKey(t)
	m := tg.get(t, "/request_key_info?request_key="+url.QueryEscape(key)).object(t, http.StatusOK)
	if str(m, "request_key") != key {
		t.Error("request_key_info?request_key=: request_key is not the key asked about")
	}
}

// TestRequestKeyLasts24Hours: a request key works until start + 24 h and not after (sheet §2),
// the mock's clock standing in for a day's wait.
func TestRequestKeyLasts24Hours(t *testing.T) {
	tg := mockOnly(t, "expiry after 24 h needs the mock's clock",
		mocksikka.WithClock(time.Date(2026, 2, 10, 4, 0, 0, 0, time.UTC)))
	key := tg.requestKey(t)
	tg.mock.Advance(24*time.Hour - time.Second)
	tg.get(t, "/request_key_info", "Request-Key", key).wantStatus(t, http.StatusOK)
	tg.mock.Advance(time.Second)
	tg.get(t, "/request_key_info", "Request-Key", key).envelope(t, http.StatusBadRequest, "API1025")
}

// TestRefreshKeyLivesUntilDeleted: a refresh key still works long after its request key
// expired (sheet §2: "refresh key until deleted").
func TestRefreshKeyLivesUntilDeleted(t *testing.T) {
	tg := mockOnly(t, "a refresh key's lifetime past 24 h needs the mock's clock",
		mocksikka.WithClock(time.Date(2026, 2, 10, 4, 0, 0, 0, time.UTC)))
	first := tg.grant(t, tg.requestKeyGrant())
	tg.mock.Advance(30 * 24 * time.Hour)
	m := tg.grant(t, tg.refreshKeyGrant(str(first, "refresh_key")))
	tg.get(t, "/request_key_info", "Request-Key", str(m, "request_key")).wantStatus(t, http.StatusOK)
}

// checkSessionTerminated checks the documented answer of DELETE request_key and DELETE
// refresh_key: 200 API0002 "Request Session terminated successfully.".
func checkSessionTerminated(t *testing.T, a *answer) {
	t.Helper()
	e := a.envelope(t, http.StatusOK, "API0002")
	wantTexts(t, a.what, e, "OK", "Request Session terminated successfully.", "")
	if e["more_information"] != "" {
		t.Errorf("%s: more_information %q, want \"\"", a.what, e["more_information"])
	}
}

// TestDeleteRequestKey: DELETE /v4/request_key (Content-Type, Request-Key) answers 200 API0002
// "Request Session terminated successfully."; the key is then no good (400 API1004, as a
// missing/invalid key).
func TestDeleteRequestKey(t *testing.T) {
	tg := newTarget(t)
	tg.destructive(t)
	key := str(tg.grant(t, tg.requestKeyGrant()), "request_key")
	a := tg.do(t, req{method: http.MethodDelete, path: "/request_key",
		header: map[string]string{"Content-Type": "application/json", "Request-Key": key}})
	tg.forgetKey()
	checkSessionTerminated(t, a)
	tg.get(t, "/request_key_info", "Request-Key", key).envelope(t, http.StatusBadRequest, "API1004")
}

// TestDeleteRefreshKey: DELETE /v4/refresh_key (Content-Type, Refresh-Key, App-Id, App-Key)
// answers 200 API0002; the refresh key then no longer yields a request key (the sheet does not
// say with which code, so any 4xx passes).
func TestDeleteRefreshKey(t *testing.T) {
	tg := newTarget(t)
	tg.destructive(t)
	refresh := str(tg.grant(t, tg.requestKeyGrant()), "refresh_key")
	a := tg.do(t, req{method: http.MethodDelete, path: "/refresh_key", header: map[string]string{
		"Content-Type": "application/json", "Refresh-Key": refresh, "App-Id": tg.appID, "App-Key": tg.appKey}})
	checkSessionTerminated(t, a)
	again := tg.do(t, req{method: http.MethodPost, path: "/request_key", body: tg.refreshKeyGrant(refresh)})
	if again.status < 400 || again.status > 499 {
		t.Errorf("a deleted refresh key: want a 4xx; got %s", again)
	}
}
