package conformance

import (
	"net/http"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
)

// Sheet §9: rate limiting. Both checks run only in-process: they exceed a limit on purpose,
// which is not something to do to a real server.

// TestOverTheRateLimitIs429: past the per-app limit of a 60 s window the answer is 429 with
// X-Rate-Limit-Remaining 0 (the sheet's example: Limit 5, Remaining 0, Reset 10); Remaining
// counts down before. The 429 body is undocumented and not checked.
func TestOverTheRateLimitIs429(t *testing.T) {
	const limit = 3
	tg := mockOnly(t, "it exceeds the rate limit on purpose, with a low limit configured (mocksikka.WithRateLimit)",
		mocksikka.WithRateLimit(limit), mocksikka.WithClock(time.Date(2026, 2, 10, 4, 0, 0, 0, time.UTC)))
	for i := 1; i <= limit; i++ {
		a := tg.get(t, "/authorized_practices", tg.appHeaders()...)
		a.wantStatus(t, http.StatusOK)
		if l, r, _ := checkRateHeaders(t, a); l != limit || r != limit-i {
			t.Errorf("call %d of %d: Limit %d Remaining %d, want %d and %d", i, limit, l, r, limit, limit-i)
		}
	}
	a := tg.get(t, "/authorized_practices", tg.appHeaders()...)
	a.wantStatus(t, http.StatusTooManyRequests)
	if l, r, _ := checkRateHeaders(t, a); l != limit || r != 0 {
		t.Errorf("over the limit: Limit %d Remaining %d, want %d and 0", l, r, limit)
	}
}

// TestDailyCapsAre429: the per-practice daily caps answer 429 API2012 (requests) and API2011
// (data) in Sikka's envelope.
func TestDailyCapsAre429(t *testing.T) {
	for _, c := range []struct {
		name     string
		requests int
		bytes    int64
		code     string
	}{
		{"request cap", 1, 0, "API2012"},
		{"data cap", 0, 1, "API2011"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tg := mockOnly(t, "it exhausts a daily cap on purpose, with a low cap configured (mocksikka.WithDailyLimits)",
				mocksikka.WithDailyLimits(c.requests, c.bytes))
			key := tg.requestKey(t)
			tg.get(t, "/practices", "Request-Key", key).wantStatus(t, http.StatusOK)
			a := tg.get(t, "/practices", "Request-Key", key)
			a.envelope(t, http.StatusTooManyRequests, c.code)
		})
	}
}
