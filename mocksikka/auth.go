package mocksikka

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// authKind says how a route authenticates.
type authKind int

const (
	authNone     authKind = iota // no credential, or the handler checks its own (POST request_key, DELETE refresh_key)
	authKey                      // a request key: Request-Key header or request_key query
	authKeyOrApp                 // a request key, or App-Id and App-Key headers (authorized_practices)
)

// keyRejected answers 400 for a request key that is missing or unknown (API1004) or
// expired (API1025), with Sikka's texts.
func (c *call) keyRejected(st keyState) {
	switch st {
	case keyExpired:
		c.failMore(http.StatusBadRequest, codeKeyExpired, "Request key expired",
			"Request key is not valid, it is expired.", "Please generate new request key and make new request.")
	case keyUnknown:
		c.failMore(http.StatusBadRequest, codeKeyMissing, "Missing Parameter",
			"Requestkey is missing/invalid", "Please provide correct requestkey")
	default: // missing
		c.failMore(http.StatusBadRequest, codeKeyMissing, "Missing Parameter",
			"Requestkey is missing.", "Please provide the requestkey.")
	}
}

// keyMissing is the keyState of a call that carries no request key at all.
const keyMissing keyState = -1

// checkRequestKey authenticates a call to a route that takes a request key, before its
// handler: it answers 400 API1004 for a missing, unknown or revoked key and 400 API1025 for an
// expired one; sets Request-Key-Expires whenever the key is known; applies the practice's
// daily caps (429 API2012, API2011); and hands a key given as the request_key query to the
// handler as the Request-Key header. A call to authorized_practices with App-Id or App-Key
// instead is left to the handler, once both are present.
func (s *Server) checkRequestKey(c *call, kind authKind) bool {
	key := c.requestKey()
	if key == "" {
		h := c.r.Header
		if kind == authKeyOrApp && (h.Get("App-Id") != "" || h.Get("App-Key") != "") {
			return c.requireFields([2]string{"App-Id", h.Get("App-Id")}, [2]string{"App-Key", h.Get("App-Key")})
		}
		c.keyRejected(keyMissing)
		return false
	}
	c.r.Header.Set("Request-Key", key) // the handlers read the header

	s.mu.Lock()
	now := s.clock.now()
	k, st := s.store.lookupKey(key, now)
	capCode := ""
	if k != nil {
		c.e.OfficeID, c.e.AppID = k.officeID, k.appID
		c.w.Header().Set("Request-Key-Expires", k.end.UTC().Format(http.TimeFormat))
	}
	if st == keyActive {
		capCode = s.daily(k.officeID, now).take(s.limits)
		if capCode == "" {
			c.capOffice = k.officeID
		}
	}
	s.mu.Unlock()

	switch {
	case st != keyActive:
		c.keyRejected(st)
		return false
	case capCode == codeDailyRequests:
		c.fail(http.StatusTooManyRequests, codeDailyRequests, "Daily request limit reached",
			"This practice has made its "+strconv.Itoa(s.limitsNow().DailyRequests)+" calls for today (UTC); "+
				"the limit resets at midnight UTC. Check the practice's limits with the datalimit API.")
		return false
	case capCode == codeDailyData:
		c.fail(http.StatusTooManyRequests, codeDailyData, "Daily data limit reached",
			"This practice has received its "+strconv.FormatInt(s.limitsNow().DailyBytes, 10)+" bytes for today (UTC); "+
				"the limit resets at midnight UTC. Check the practice's limits with the datalimit API.")
		return false
	}
	return true
}

// dailyUse is what one practice (office) used on one UTC day of the mock clock.
type dailyUse struct {
	day      string // yyyy-mm-dd
	requests int
	bytes    int64
}

// daily returns officeID's use for now's day; the caller holds s.mu.
func (s *Server) daily(officeID string, now time.Time) *dailyUse {
	day := now.UTC().Format(time.DateOnly)
	u := s.dailyUse[officeID]
	if u == nil || u.day != day {
		u = &dailyUse{day: day}
		s.dailyUse[officeID] = u
	}
	return u
}

// take counts one call against the caps, or returns the code of the cap it is over.
func (u *dailyUse) take(l Limits) string {
	switch {
	case l.DailyRequests > 0 && u.requests >= l.DailyRequests:
		return codeDailyRequests
	case l.DailyBytes > 0 && u.bytes >= l.DailyBytes:
		return codeDailyData
	}
	u.requests++
	return ""
}

// limitsNow returns the current limits.
func (s *Server) limitsNow() Limits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits
}

// rateWindow counts one app's calls in the current window.
type rateWindow struct {
	start time.Time
	calls int
}

// rateAppOf returns the app a call counts against: the app of its request key, else its
// App-Id header, else the app_id of its body; "" (one shared count) when none of them names a
// registered app. The caller holds s.mu.
func (s *Server) rateAppOf(c *call, now time.Time) string {
	id := ""
	if key := c.requestKey(); key != "" {
		if k, _ := s.store.lookupKey(key, now); k != nil {
			id = k.appID
		}
	}
	if id == "" {
		id = c.r.Header.Get("App-Id")
	}
	if id == "" && len(c.body) > 0 {
		id = peekField(c.body, "app_id")
	}
	if _, ok := s.app(id); !ok {
		return ""
	}
	return id
}

// admit counts the call against its app's rate limit and sets X-Rate-Limit-Limit,
// -Remaining and -Reset; over the limit it answers 429 (MOCK4029) with Remaining 0.
func (s *Server) admit(c *call) bool {
	s.mu.Lock()
	now := s.clock.now()
	app := s.rateAppOf(c, now)
	limit := s.limits.perApp()
	w := s.rates[app]
	if w == nil {
		w = &rateWindow{}
		s.rates[app] = w
	}
	if now.Before(w.start) || !now.Before(w.start.Add(RateWindow)) {
		w.start, w.calls = now, 0
	}
	over := w.calls >= limit
	if !over {
		w.calls++
	}
	reset := (w.start.Add(RateWindow).Sub(now) + time.Second - 1) / time.Second
	remaining := limit - w.calls
	s.mu.Unlock()

	if over {
		remaining = 0
	}
	h := c.w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(int64(reset), 10))
	if over {
		c.fail(http.StatusTooManyRequests, codeRateLimit, "Too Many Requests",
			"This app has made its "+strconv.Itoa(limit)+" calls for this 60-second window; "+
				"retry after X-Rate-Limit-Reset seconds.")
		return false
	}
	return true
}

// peekField returns the string field name of a JSON object body, or "".
func peekField(body []byte, name string) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	v, _ := m[name].(string)
	return v
}

// SetLimits replaces the rate limits (see Limits); counts already made are kept. It fails
// with ErrInvalid for a negative limit.
func (s *Server) SetLimits(l Limits) error {
	if err := l.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
	return nil
}

// Limits returns the rate limits in force.
func (s *Server) Limits() Limits { return s.limitsNow() }

// perApp is the per-app limit in force: PerApp, or UnlimitedRate when it is off.
func (l Limits) perApp() int {
	if l.PerApp <= 0 {
		return UnlimitedRate
	}
	return l.PerApp
}

// rateLimit returns the per-app limit in force.
func (s *Server) rateLimit() int { return s.limitsNow().perApp() }
