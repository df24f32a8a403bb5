package conformance

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
)

// Sheet §8: headers (and §1's compression).

// checkKeyExpires checks Request-Key-Expires: an HTTP date in GMT equal to end_time. end_time
// has no zone (sheet §1, its zone is open in §12): the mock writes UTC and must match exactly;
// another server must match in some zone (a whole quarter-hour offset within 14 h).
func checkKeyExpires(t *testing.T, tg *target, a *answer, endTime string) {
	t.Helper()
	h := a.header.Get("Request-Key-Expires")
	if h == "" {
		t.Errorf("%s: no Request-Key-Expires header", a.what)
		return
	}
	exp, err := http.ParseTime(h)
	if err != nil || !strings.HasSuffix(h, " GMT") {
		t.Errorf("%s: Request-Key-Expires %q is not an HTTP date in GMT (\"Wed, 11 May 2022 09:12:24 GMT\")", a.what, h)
		return
	}
	end := parseSikkaTime(t, "end_time", endTime)
	diff := exp.Sub(end)
	if tg.mock != nil && diff != 0 {
		t.Errorf("%s: Request-Key-Expires %q, want end_time %s (UTC)", a.what, h, endTime)
	}
	if diff%(15*time.Minute) != 0 || diff.Abs() > 14*time.Hour {
		t.Errorf("%s: Request-Key-Expires %q is not end_time %s in any zone", a.what, h, endTime)
	}
}

// TestRequestKeyExpiresHeader: every answer to a request-key call carries Request-Key-Expires,
// start + 24 h while the key is active.
func TestRequestKeyExpiresHeader(t *testing.T) {
	tg := newTarget(t)
	key := tg.requestKey(t)
	info := tg.get(t, "/request_key_info", "Request-Key", key)
	end := str(info.object(t, http.StatusOK), "end_time")
	checkKeyExpires(t, tg, info, end)
	for _, path := range []string{"/authorized_practices", "/practices", "/practices?practice_id=999999"} {
		checkKeyExpires(t, tg, tg.get(t, path, "Request-Key", key), end)
	}
}

// TestRequestKeyExpiresHeaderOnceExpired: once the key has expired the header stays end_time.
func TestRequestKeyExpiresHeaderOnceExpired(t *testing.T) {
	tg := mockOnly(t, "an expired key needs the mock's clock",
		mocksikka.WithClock(time.Date(2026, 2, 10, 4, 0, 0, 0, time.UTC)))
	m := tg.grant(t, tg.requestKeyGrant())
	tg.mock.Advance(25 * time.Hour)
	a := tg.get(t, "/request_key_info", "Request-Key", str(m, "request_key"))
	a.envelope(t, http.StatusBadRequest, "API1025")
	checkKeyExpires(t, tg, a, str(m, "end_time"))
}

// checkRateHeaders checks X-Rate-Limit-Limit, -Remaining and -Reset: whole numbers, Remaining at
// most Limit, Reset the seconds left of a 60 s window (sheet §8, §9). It returns them.
func checkRateHeaders(t *testing.T, a *answer) (limit, remaining, reset int) {
	t.Helper()
	vals := make([]int, 3)
	for i, h := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"} {
		v := a.header.Get(h)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Errorf("%s (HTTP %d): %s %q, want a whole number", a.what, a.status, h, v)
		}
		vals[i] = n
	}
	if vals[1] > vals[0] {
		t.Errorf("%s: X-Rate-Limit-Remaining %d > X-Rate-Limit-Limit %d", a.what, vals[1], vals[0])
	}
	if vals[2] > 60 {
		t.Errorf("%s: X-Rate-Limit-Reset %d, want the seconds left of a 60 s window", a.what, vals[2])
	}
	return vals[0], vals[1], vals[2]
}

// TestRateLimitHeaders: X-Rate-Limit-Limit/Remaining/Reset on the answers of a grant, of
// authorized_practices (App-Id/App-Key), of request_key_info, of a 204 and of an error.
func TestRateLimitHeaders(t *testing.T) {
	tg := newTarget(t)
	answers := []*answer{
		tg.do(t, req{method: http.MethodPost, path: "/request_key", body: tg.requestKeyGrant()}),
		tg.get(t, "/authorized_practices", tg.appHeaders()...),
	}
	var m map[string]any
	if err := json.Unmarshal(answers[0].body, &m); err == nil {
		key := str(m, "request_key")
		tg.remember(key, str(m, "refresh_key"))
		tg.mu.Lock()
		tg.key = key // the newest key: the one read-only checks use from now on
		tg.mu.Unlock()
		answers = append(answers,
			tg.get(t, "/request_key_info", "Request-Key", key),
			tg.get(t, "/practices?practice_id=999999", "Request-Key", key))
	}
	answers = append(answers, tg.get(t, "/request_key_info", "Request-Key", unknownKey))
	for _, a := range answers {
		checkRateHeaders(t, a)
	}
}

// TestGzip: with Accept-Encoding "gzip,compress", as Sikka's examples send it, a JSON answer
// comes with Content-Encoding gzip (sheet §1).
func TestGzip(t *testing.T) {
	tg := newTarget(t)
	a := tg.get(t, "/authorized_practices", append(tg.appHeaders(), "Accept-Encoding", "gzip,compress")...)
	a.list(t) // gunzipped by send when Content-Encoding says gzip
	if !a.gzipped {
		t.Errorf("%s with Accept-Encoding gzip,compress: Content-Encoding %q, want gzip", a.what, a.header.Get("Content-Encoding"))
	}
}
