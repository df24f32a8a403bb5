package sikka

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var received = time.Date(2026, 2, 10, 4, 0, 28, 0, time.UTC)

func TestParseKey(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Key
	}{
		{
			name: "real shape, all strings",
			body: `{"href":"https://api.sikkasoft.com/v4/request_key_info?request_key=70a2",
				"request_key":"70a2c702705ad41c395f8bd639fa7f85","refresh_key":"rk-1","start_time":"2026-02-10T04:00:28",
				"end_time":"2026-02-11T04:00:28","expires_in":"85603 second(s)","issued_to":"D36225",
				"status":"active","request_count":"0","scope":"all","domain":"Dental"}`,
			want: Key{
				RequestKey: "70a2c702705ad41c395f8bd639fa7f85", RefreshKey: "rk-1", IssuedTo: "D36225",
				Status: "active", Scope: "all", Domain: "Dental", RequestCount: 0,
				StartTime: time.Date(2026, 2, 10, 4, 0, 28, 0, time.UTC),
				EndTime:   time.Date(2026, 2, 11, 4, 0, 28, 0, time.UTC),
				Expiry:    received.Add(85603 * time.Second),
			},
		},
		{
			name: "notes shape, numbers",
			body: `{"request_key":"70a2","refresh_key":"yyyy-yyyy","expires_in":85603,"token_type":"Bearer"}`,
			want: Key{RequestKey: "70a2", RefreshKey: "yyyy-yyyy", RequestCount: -1, Expiry: received.Add(85603 * time.Second)},
		},
		{
			name: "expires_in bare number in a string, request_count number",
			body: `{"request_key":"k","expires_in":"3600","request_count":12}`,
			want: Key{RequestKey: "k", RequestCount: 12, Expiry: received.Add(time.Hour)},
		},
		{
			name: "no expires_in: end_time wins, read as UTC",
			body: `{"request_key":"k","end_time":"2026-02-11T04:00:28"}`,
			want: Key{RequestKey: "k", RequestCount: -1,
				EndTime: time.Date(2026, 2, 11, 4, 0, 28, 0, time.UTC),
				Expiry:  time.Date(2026, 2, 11, 4, 0, 28, 0, time.UTC)},
		},
		{
			name: "unreadable expires_in falls back to end_time with a zone",
			body: `{"request_key":"k","expires_in":"soon","end_time":"2026-02-11T04:00:28-05:00"}`,
			want: Key{RequestKey: "k", RequestCount: -1,
				EndTime: time.Date(2026, 2, 11, 9, 0, 28, 0, time.UTC),
				Expiry:  time.Date(2026, 2, 11, 9, 0, 28, 0, time.UTC)},
		},
		{
			name: "expires_in wins over end_time",
			body: `{"request_key":"k","expires_in":"60 second(s)","end_time":"2030-01-01T00:00:00"}`,
			want: Key{RequestKey: "k", RequestCount: -1,
				EndTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
				Expiry:  received.Add(time.Minute)},
		},
		{
			name: "neither: zero expiry; nulls and odd types tolerated",
			body: `{"request_key":"k","status":null,"scope":["a","b"],"domain":{"x":1},"issued_to":12345}`,
			want: Key{RequestKey: "k", Scope: "a,b", IssuedTo: "12345", RequestCount: -1},
		},
		{
			name: "wrapped in the list envelope",
			body: `{"items":[{"request_key":"k","issued_to":"D1","expires_in":"10 second(s)"}]}`,
			want: Key{RequestKey: "k", IssuedTo: "D1", RequestCount: -1, Expiry: received.Add(10 * time.Second)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKey([]byte(tt.body), received)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseKeyGarbage(t *testing.T) {
	for _, body := range []string{"", "   ", "<html>502 Bad Gateway</html>", `{"request_key":`, `"just a string"`, `[1,2]`} {
		t.Run(body, func(t *testing.T) {
			_, err := parseKey([]byte(body), received)
			assert.Error(t, err)
		})
	}
}

func TestParseExpiresIn(t *testing.T) {
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"85603 second(s)", 85603 * time.Second, true},
		{"85603", 85603 * time.Second, true},
		{"85603 seconds", 85603 * time.Second, true},
		{"85603second(s)", 85603 * time.Second, true},
		{"8.5603e4", 85603 * time.Second, true},
		{"90 minute(s)", 90 * time.Minute, true},
		{"24 hours", 24 * time.Hour, true},
		{"0 second(s)", 0, true},
		{"-5", 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"5 fortnights", 0, false},
		{"1e300", 0, false},
		{"NaN", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseExpiresIn(tt.in)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 2, 11, 4, 0, 28, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-02-11T04:00:28", want},
		{"2026-02-11 04:00:28", want},
		{"2026-02-11T04:00:28.000", want},
		{"2026-02-11T04:00:28Z", want},
		{"2026-02-11T06:00:28+02:00", want},
		{"2/11/2026 4:00:28 AM", want},
		{"", time.Time{}},
		{"yesterday", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := parseTime(tt.in)
			assert.True(t, tt.want.Equal(got), "got %v", got)
			assert.Equal(t, time.UTC, got.Location())
		})
	}
}

func TestNormalizePMS(t *testing.T) {
	tests := map[string]string{
		"Opendental":       "Open Dental",
		"OpenDental":       "Open Dental",
		"open dental":      "Open Dental",
		"OPEN_DENTAL":      "Open Dental",
		" Dentrix ":        "Dentrix",
		"DENTRIX":          "Dentrix",
		"EagleSoft":        "Eaglesoft",
		"eaglesoft":        "Eaglesoft",
		"Dentrix Ascend":   "Dentrix Ascend",
		"":                 "",
		"  Some   New PMS": "Some New PMS",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			assert.Equal(t, want, NormalizePMS(in))
		})
	}
}

func TestParsePracticePage(t *testing.T) {
	t.Run("real envelope", func(t *testing.T) {
		body := `{"offset":"0","limit":"50","total_count":"1","execution_time":"12",
			"pagination":{"first":"f","previous":"","current":"c","next":"","last":"l"},
			"items":[{"office_id":"D36225","practice_id":"1","secret_key":"STc3kSY7",
			"practice_name":"Happy Dental Clinic","practice_management_system":"Dentrix",
			"practice_management_system_version":"G7","domain":"Dental","address":"1 Main St","city":"Toronto",
			"state":"ON","zip":"M5V","email":"front@happy.example","href":"h","data_insert_date":"d"}]}`
		pg, err := parsePracticePage([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, 1, pg.total)
		assert.True(t, pg.hasPagination)
		assert.Empty(t, pg.next)
		require.Len(t, pg.items, 1)
		assert.Equal(t, Practice{
			OfficeID: "D36225", PracticeID: "1", SecretKey: "STc3kSY7", Name: "Happy Dental Clinic",
			PMS: "Dentrix", PMSRaw: "Dentrix", PMSVersion: "G7", Domain: "Dental", Address: "1 Main St",
			City: "Toronto", State: "ON", Zip: "M5V", Email: "front@happy.example",
		}, pg.items[0])
	})
	t.Run("notes shape: pms_type, no pagination", func(t *testing.T) {
		body := `{"items":[{"office_id":"D36225","practice_id":"1-1","secret_key":"s=","practice_name":"Happy","pms_type":"Opendental"}]}`
		pg, err := parsePracticePage([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, -1, pg.total)
		assert.False(t, pg.hasPagination)
		require.Len(t, pg.items, 1)
		assert.Equal(t, "Open Dental", pg.items[0].PMS)
		assert.Equal(t, "Opendental", pg.items[0].PMSRaw)
		assert.Equal(t, "1-1", pg.items[0].PracticeID)
	})
	t.Run("practice_management_system wins over pms_type", func(t *testing.T) {
		pg, err := parsePracticePage([]byte(`{"items":[{"office_id":"A","practice_management_system":"EagleSoft","pms_type":"Dentrix"}]}`))
		require.NoError(t, err)
		assert.Equal(t, "Eaglesoft", pg.items[0].PMS)
		assert.Equal(t, "EagleSoft", pg.items[0].PMSRaw)
	})
	t.Run("numbers for strings", func(t *testing.T) {
		pg, err := parsePracticePage([]byte(`{"total_count":3,"limit":50,"items":[{"office_id":36225,"practice_id":1,"zip":90210}],"pagination":{"next":"n"}}`))
		require.NoError(t, err)
		assert.Equal(t, 3, pg.total)
		assert.Equal(t, "n", pg.next)
		assert.Equal(t, "36225", pg.items[0].OfficeID)
		assert.Equal(t, "1", pg.items[0].PracticeID)
		assert.Equal(t, "90210", pg.items[0].Zip)
	})
	for _, body := range []string{"", "  \n", "null", `{}`, `{"items":null}`, `{"items":[]}`, `[]`} {
		t.Run(fmt.Sprintf("no items %q", body), func(t *testing.T) {
			pg, err := parsePracticePage([]byte(body))
			require.NoError(t, err)
			assert.Empty(t, pg.items)
		})
	}
	t.Run("bare array", func(t *testing.T) {
		pg, err := parsePracticePage([]byte(`[{"office_id":"A"},{"office_id":"B"}]`))
		require.NoError(t, err)
		assert.Len(t, pg.items, 2)
	})
	for _, body := range []string{"<html>oops</html>", `{"items":[1,2]}`, `{"items":"x"}`, `{"items":[`, `"x"`} {
		t.Run(fmt.Sprintf("garbage %q", body), func(t *testing.T) {
			_, err := parsePracticePage([]byte(body))
			assert.Error(t, err)
		})
	}
}

func TestPrimaryPractice(t *testing.T) {
	ps := []Practice{
		{OfficeID: "A", PracticeID: "2"},
		{OfficeID: "B", PracticeID: "1-1"},
		{OfficeID: "A", PracticeID: "1"},
	}
	p, ok := PrimaryPractice(ps, "A")
	assert.True(t, ok)
	assert.Equal(t, "1", p.PracticeID)
	p, ok = PrimaryPractice(ps, "B")
	assert.True(t, ok)
	assert.Equal(t, "1-1", p.PracticeID)
	_, ok = PrimaryPractice(ps, "C")
	assert.False(t, ok)
}

// respond runs response() on a canned answer.
func respond(t *testing.T, r *request, status int, header http.Header, body string) *Error {
	t.Helper()
	c := New("app", "app-key-secret", WithClock(func() time.Time { return received }))
	if header == nil {
		header = http.Header{}
	}
	resp := &http.Response{StatusCode: status, Header: header}
	return c.response(r, resp, []byte(body), func(b []byte, at time.Time) error {
		k, err := parseKey(b, at)
		if err == nil && k.RequestKey == "" {
			return errNoRequestKey
		}
		return err
	})
}

func TestResponseErrors(t *testing.T) {
	grant := &request{op: "RefreshKey", method: "POST", path: pathRequestKey, grant: true,
		secrets: scrubber{"app-key-secret", "refresh-secret-1"}}
	get := &request{op: "RequestKeyInfo", method: "GET", path: pathRequestKeyInfo,
		secrets: scrubber{"app-key-secret", "refresh-secret-1"}}
	envelope := func(code any) string {
		b, _ := json.Marshal(map[string]any{
			"http_code": code, "http_code_desc": "Desc", "error_code": "API2001",
			"short_message": "Invalid key refresh-secret-1", "long_message": "long", "more_information": "more",
		})
		return string(b)
	}
	tests := []struct {
		name       string
		r          *request
		status     int
		header     http.Header
		body       string
		kind       error
		wantCode   string
		retryAfter time.Duration
	}{
		{"400 on grant, string http_code", grant, 400, nil, envelope("400"), ErrInvalidGrant, "400", 0},
		{"400 on grant, numeric http_code", grant, 400, nil, envelope(400), ErrInvalidGrant, "400", 0},
		{"400 on a GET is no grant error", get, 400, nil, envelope("400"), nil, "400", 0},
		{"401", get, 401, nil, envelope("401"), ErrUnauthorized, "401", 0},
		{"403", grant, 403, nil, envelope(403), ErrUnauthorized, "403", 0},
		{"429 with Retry-After seconds", get, 429, http.Header{"Retry-After": {"7"}}, envelope("429"), ErrRateLimited, "429", 7 * time.Second},
		{"429 with Retry-After date", get, 429, http.Header{"Retry-After": {received.Add(90 * time.Second).Format(http.TimeFormat)}}, "", ErrRateLimited, "", 90 * time.Second},
		{"429 from a proxy in HTML stays rate limited", get, 429, nil, "<html>slow down</html>", ErrRateLimited, "", 0},
		{"503 envelope", get, 503, http.Header{"Retry-After": {"junk"}}, envelope("503"), ErrUnavailable, "503", 0},
		{"502 HTML from a proxy", get, 502, http.Header{"Content-Type": {"text/html"}}, "<html>Bad Gateway refresh-secret-1</html>", ErrUnavailable, "", 0},
		{"401 HTML from a proxy is unavailable", grant, 401, nil, "<html>login</html>", ErrUnavailable, "", 0},
		{"empty 401 is still unauthorized", get, 401, nil, "", ErrUnauthorized, "", 0},
		{"404 matches no sentinel", get, 404, nil, envelope("404"), nil, "404", 0},
		{"302 redirect", grant, 302, http.Header{"Location": {"https://elsewhere.example/"}}, "", ErrUnavailable, "", 0},
		{"200 with garbage", grant, 200, nil, "<html>hello</html>", ErrUnavailable, "", 0},
		{"200 with an empty body", grant, 200, nil, "", ErrUnavailable, "", 0},
		{"200 without request_key", grant, 200, nil, `{"status":"active"}`, ErrUnavailable, "", 0},
		{"200 carrying an error envelope", grant, 200, nil, envelope("401"), ErrUnauthorized, "401", 0},
	}
	sentinels := []error{ErrInvalidGrant, ErrUnauthorized, ErrRateLimited, ErrUnavailable}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := respond(t, tt.r, tt.status, tt.header, tt.body)
			require.NotNil(t, e)
			for _, s := range sentinels {
				assert.Equal(t, s == tt.kind, errors.Is(e, s), "errors.Is(%v)", s)
			}
			assert.Equal(t, tt.wantCode, e.Envelope.HTTPCode)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.retryAfter, e.RetryAfter)
			msg := e.Error()
			assert.True(t, strings.HasPrefix(msg, "sikka: "+tt.r.op+": "+tt.r.endpoint()), msg)
			assert.NotContains(t, msg, "refresh-secret-1")
			assert.NotContains(t, msg, "app-key-secret")
			assert.NotContains(t, e.Envelope.ShortMessage, "refresh-secret-1")
			assert.NotContains(t, msg, "<html>")
		})
	}
	t.Run("message", func(t *testing.T) {
		e := respond(t, grant, 400, nil, envelope("400"))
		assert.Equal(t, "sikka: RefreshKey: POST /v4/request_key: 400 Bad Request: Invalid key [REDACTED] (API2001)", e.Error())
		assert.Equal(t, "long", e.Envelope.LongMessage)
		assert.Equal(t, "more", e.Envelope.MoreInformation)
		assert.Equal(t, "Desc", e.Envelope.HTTPCodeDesc)
	})
	t.Run("success", func(t *testing.T) {
		assert.Nil(t, respond(t, grant, 200, nil, `{"request_key":"k"}`))
	})
}

func TestRedaction(t *testing.T) {
	k := Key{RequestKey: "req-SECRET", RefreshKey: "ref-SECRET", IssuedTo: "D36225", Status: "active", Expiry: received}
	p := Practice{OfficeID: "D36225", SecretKey: "sec-SECRET", Name: "Happy"}
	c := New("app-id", "app-SECRET")
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("k", "key", k, "practice", p, "kp", &k, "pp", &p)
	log.Info("t", slog.Any("key", k))
	slog.New(slog.NewTextHandler(&logs, nil)).Info("k", "key", k, "practice", p)
	outs := []string{logs.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outs = append(outs,
			fmt.Sprintf(verb, k), fmt.Sprintf(verb, &k), fmt.Sprintf(verb, p), fmt.Sprintf(verb, &p),
			fmt.Sprintf(verb, []Key{k}), fmt.Sprintf(verb, []Practice{p}), fmt.Sprintf(verb, c),
			fmt.Sprintf(verb, map[string]Practice{"a": p}))
	}
	outs = append(outs, k.String(), p.String(), k.GoString(), p.GoString(), c.String())
	for _, out := range outs {
		assert.NotContains(t, out, "SECRET")
	}
	assert.Contains(t, k.String(), "D36225")
	assert.Contains(t, p.String(), "Happy")
	assert.Contains(t, logs.String(), "D36225")
	assert.Contains(t, k.String(), redacted)
	assert.Equal(t, "req-SECRET", k.RequestKey, "fields stay usable")
}

func TestKeyExpired(t *testing.T) {
	k := Key{Expiry: received.Add(2 * time.Hour)}
	assert.False(t, k.Expired(received, time.Hour))
	assert.True(t, k.Expired(received.Add(time.Hour), time.Hour))
	assert.True(t, k.Expired(received.Add(3*time.Hour), 0))
	assert.False(t, Key{}.Expired(received, time.Hour), "unknown expiry")
}

func TestAuthorizeURL(t *testing.T) {
	c := New("b0ca", "secret-app-key", WithBaseURL("https://sikka.example/base/"))
	assert.Equal(t,
		"https://sikka.example/base/portal/authapp.aspx?app_id=b0ca&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fa%3D1&state=s+1%26x",
		c.AuthorizeURL("https://app.example/cb?a=1", "s 1&x"))
	assert.Equal(t, "https://api.sikkasoft.com/portal/authapp.aspx?app_id=b0ca&redirect_uri=r&state=s",
		New("b0ca", "k").AuthorizeURL("r", "s"))
	assert.Empty(t, New("b0ca", "k", WithBaseURL("not a url")).AuthorizeURL("r", "s"))
}

func TestBackoff(t *testing.T) {
	b := ExponentialBackoff(100*time.Millisecond, time.Second)
	for i := 0; i < 200; i++ {
		for retry, limit := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 100: time.Second} {
			d := b(retry)
			assert.GreaterOrEqual(t, d, limit/2)
			assert.LessOrEqual(t, d, limit)
		}
	}
	assert.Equal(t, time.Duration(0), ExponentialBackoff(0, 0)(1))
}

func TestParseRetryAfter(t *testing.T) {
	assert.Equal(t, 3*time.Second, parseRetryAfter("3", received))
	assert.Equal(t, time.Duration(0), parseRetryAfter("0", received))
	assert.Equal(t, time.Duration(0), parseRetryAfter("-3", received))
	assert.Equal(t, time.Duration(0), parseRetryAfter("", received))
	assert.Equal(t, time.Duration(0), parseRetryAfter("later", received))
	assert.Equal(t, time.Duration(0), parseRetryAfter(received.Add(-time.Minute).Format(http.TimeFormat), received))
	assert.Equal(t, maxExpiresIn, parseRetryAfter("99999999999999999", received))
}
