package mocksikka_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdminApps(t *testing.T) {
	e := newEnv(t)
	app := map[string]any{"app_id": "a2", "app_key": "k2", "name": "Other", "redirect_uris": []string{"https://other.example/cb"}}
	r := e.do("POST", "/_mock/apps", app)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	assert.Equal(t, map[string]string{"app_id": "a2"}, r.strings(t))
	assert.Equal(t, "API2013", e.do("POST", "/_mock/apps", app).envelope(t, 409)["error_code"])
	e.do("POST", "/_mock/apps", map[string]any{"app_id": "a3"}).envelope(t, 400)
	e.do("POST", "/_mock/apps", map[string]any{"app_id": "a3", "app_key": "k", "redirect_uris": []string{"::"}}).envelope(t, 400)
	e.do("POST", "/_mock/apps", map[string]any{"app_id": "a3", "app_key": "k", "typo": 1}).envelope(t, 400)
	e.do("POST", "/_mock/apps", "not json").envelope(t, 400)

	page := e.do("GET", "/portal/authapp.aspx?app_id=a2&redirect_uri=https://other.example/cb", nil)
	require.Equal(t, 200, page.status)
	assert.Contains(t, string(page.body), "Allow Other to access your practice data")

	require.Equal(t, 200, e.do("POST", "/_mock/reset", nil).status)
	assert.Equal(t, 400, e.do("GET", "/portal/authapp.aspx?app_id=a2&redirect_uri=https://other.example/cb", nil).status, "reset drops added apps")
}

func TestAdminPractices(t *testing.T) {
	e := newEnv(t)
	p := mocksikka.Practice{OfficeID: "N1", SecretKey: "sec", Name: "New Practice", PMS: "OpenDental"}
	r := e.do("POST", "/_mock/practices", p)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	assert.Equal(t, map[string]string{"office_id": "N1", "practice_id": "1"}, r.strings(t))
	e.do("POST", "/_mock/practices", p).envelope(t, 409)
	e.do("POST", "/_mock/practices", mocksikka.Practice{OfficeID: "N1", PracticeID: "2", SecretKey: "other", Name: "x"}).envelope(t, 400)
	e.do("POST", "/_mock/practices", mocksikka.Practice{OfficeID: "N2"}).envelope(t, 400)
	assert.Equal(t, 200, e.grant("request_key", "office_id", "N1", "secret_key", "sec").status)
	require.NoError(t, e.mock.AddPractice(mocksikka.Practice{OfficeID: "N1", PracticeID: "2", SecretKey: "sec", Name: "Second"}))
	assert.ErrorIs(t, e.mock.AddPractice(mocksikka.Practice{OfficeID: "N1", PracticeID: "2", SecretKey: "sec", Name: "Second"}), mocksikka.ErrExists)
	assert.ErrorIs(t, e.mock.AddPractice(mocksikka.Practice{OfficeID: "N3"}), mocksikka.ErrInvalid)
	assert.ErrorIs(t, e.mock.AddApp(mocksikka.DefaultApp()), mocksikka.ErrExists)
}

func TestAdminAutoApprove(t *testing.T) {
	e := newEnv(t)
	r := e.do("PUT", "/_mock/auto-approve", map[string]string{"office_id": mocksikka.DefaultOfficeID})
	require.Equal(t, 200, r.status, "body: %s", r.body)
	assert.Equal(t, http.StatusFound, e.do("GET", authQuery(mocksikka.DefaultRedirectURI, "s"), nil).status)
	require.Equal(t, 200, e.do("PUT", "/_mock/auto-approve", map[string]string{"office_id": ""}).status)
	assert.Equal(t, http.StatusOK, e.do("GET", authQuery(mocksikka.DefaultRedirectURI, "s"), nil).status)
	e.do("PUT", "/_mock/auto-approve", map[string]string{}).envelope(t, 400)
}

func TestAdminFaults(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/_mock/faults", `{"endpoint":"GET /v4/authorized_practices","count":2,"status":429,"retry_after":"1500ms"}`)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var faults []mocksikka.Fault
	require.NoError(t, json.Unmarshal(e.do("GET", "/_mock/faults", nil).body, &faults))
	assert.Equal(t, []mocksikka.Fault{{Endpoint: "GET /v4/authorized_practices", Count: 2, Status: 429, RetryAfter: 1500 * time.Millisecond}}, faults)

	got := e.do("GET", "/v4/authorized_practices", nil)
	assert.Equal(t, "MOCK9000", got.envelope(t, 429)["error_code"])
	assert.Equal(t, "2", got.header.Get("Retry-After"))
	assert.Equal(t, "0", got.header.Get("X-Rate-Limit-Remaining"), "an injected 429 looks like a real limit")
	assert.NotEmpty(t, got.header.Get("X-Rate-Limit-Limit"))
	assert.NotEmpty(t, got.header.Get("X-Rate-Limit-Reset"))

	require.Equal(t, 200, e.do("DELETE", "/_mock/faults", nil).status)
	assert.Equal(t, 400, e.do("GET", "/v4/authorized_practices", nil).status)

	for _, bad := range []string{
		`{"endpoint":"GET /v4/nope","status":500}`,
		`{"endpoint":"POST /_mock/reset","status":500}`,
		`{"endpoint":"GET /v4/practices","status":200}`,
		`{"endpoint":"GET /v4/practices","count":-1,"status":500}`,
		`{"endpoint":"GET /v4/practices"}`,
		`{"endpoint":"GET /v4/practices","delay":2}`,
		`{"endpoint":"GET /v4/practices","delay":"-1s"}`,
		`{"endpoint":"GET /v4/practices","status":500,"grant":"refresh_key"}`,
		`{"endpoint":"GET /v4/practices","status":500,"retryAfter":"1s"}`,
	} {
		assert.Equal(t, 400, e.do("POST", "/_mock/faults", bad).status, bad)
	}
	assert.Panics(t, func() { e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /nope", Status: 500}) })
}

func TestAdminJournalAndCount(t *testing.T) {
	e := newEnv(t)
	e.officeKey()
	e.grant("refresh_key", "refresh_key", "nope")
	var entries []mocksikka.Entry
	require.NoError(t, json.Unmarshal(e.do("GET", "/_mock/journal", nil).body, &entries))
	require.Len(t, entries, 2, "admin calls are not journaled")
	assert.Equal(t, "request_key", entries[0].Grant)
	assert.Equal(t, 200, entries[0].Status)
	assert.Equal(t, mocksikka.DefaultOfficeID, entries[0].OfficeID)
	assert.Equal(t, t0, entries[0].Time)
	assert.Equal(t, "refresh_key", entries[1].Grant)
	assert.Equal(t, 401, entries[1].Status)
	assert.Equal(t, "API2003", entries[1].ErrorCode)

	count := func(q string) int {
		var c struct{ Count int }
		require.NoError(t, json.Unmarshal(e.do("GET", "/_mock/count?"+q, nil).body, &c))
		return c.Count
	}
	assert.Equal(t, 2, count("endpoint=POST+/v4/request_key"))
	assert.Equal(t, 1, count("endpoint=post+/v4/request_key&grant=refresh_key"))
	assert.Equal(t, 2, count(""))
	assert.Equal(t, 0, count("endpoint=GET+/v4/practices"))

	require.Equal(t, 200, e.do("DELETE", "/_mock/journal", nil).status)
	assert.Empty(t, e.mock.Journal())
}

func TestAdminClock(t *testing.T) {
	e := newEnv(t)
	now := func(r response) time.Time {
		t.Helper()
		require.Equal(t, 200, r.status, "body: %s", r.body)
		v, err := time.Parse(time.RFC3339Nano, r.strings(t)["now"])
		require.NoError(t, err)
		return v
	}
	assert.Equal(t, t0, now(e.do("GET", "/_mock/clock", nil)))
	assert.Equal(t, t0.Add(25*time.Hour), now(e.do("POST", "/_mock/clock", `{"advance":"25h"}`)))
	assert.Equal(t, t0.Add(25*time.Hour), e.mock.Now())
	set := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, set, now(e.do("POST", "/_mock/clock", `{"set":"2027-01-01T00:00:00Z"}`)))
	e.do("POST", "/_mock/clock", `{}`).envelope(t, 400)
	e.do("POST", "/_mock/clock", `{"advance":"1h","set":"2027-01-01T00:00:00Z"}`).envelope(t, 400)
	e.do("POST", "/_mock/clock", `{"advance":"soon"}`).envelope(t, 400)
	e.mock.Reset()
	assert.Equal(t, t0, e.mock.Now())
}

func TestRealTimeClock(t *testing.T) {
	mock := mocksikka.New()
	before := time.Now()
	mock.Advance(time.Hour)
	got := mock.Now()
	assert.WithinDuration(t, before.Add(time.Hour), got, time.Minute)
	target := time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC)
	mock.SetTime(target)
	assert.WithinDuration(t, target, mock.Now(), time.Minute)
	mock.Reset()
	assert.WithinDuration(t, time.Now(), mock.Now(), time.Minute)
}

func TestAdminSettings(t *testing.T) {
	e := newEnv(t)
	want := map[string]any{"refresh_invalidates_old": true, "key_ttl": "24h0m0s", "code_ttl": "10m0s", "auto_approve": "",
		"rate_limit": 0.0, "daily_request_limit": 0.0, "daily_data_limit": 0.0, "writeback_delay": "30s"}
	var got map[string]any
	require.NoError(t, json.Unmarshal(e.do("GET", "/_mock/settings", nil).body, &got))
	assert.Equal(t, want, got)

	r := e.do("PUT", "/_mock/settings", `{"refresh_invalidates_old":false,"key_ttl":"2h","code_ttl":"1m"}`)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	k := e.officeKey()
	assert.Equal(t, "7200 second(s)", k["expires_in"])
	require.Equal(t, 200, e.grant("refresh_key", "refresh_key", k["refresh_key"]).status)
	assert.Equal(t, 200, e.do("GET", "/v4/practices", nil, "Request-Key", k["request_key"]).status, "old key kept")
	c := e.code()
	e.mock.Advance(time.Minute)
	assert.Equal(t, 400, e.grant("authorization_code", "code", c).status, "code TTL 1m")

	e.do("PUT", "/_mock/settings", `{"key_ttl":"0s"}`).envelope(t, 400)
	e.do("PUT", "/_mock/settings", `{"key_ttl":3600}`).envelope(t, 400)
	e.do("PUT", "/_mock/settings", `{"unknown":true}`).envelope(t, 400)
	e.do("PUT", "/_mock/settings", `{"rate_limit":-1}`).envelope(t, 400)
	e.do("PUT", "/_mock/settings", `{"writeback_delay":"-1s"}`).envelope(t, 400)
	require.Equal(t, 200, e.do("PUT", "/_mock/settings", `{"writeback_delay":"5s"}`).status)
	assert.Equal(t, 5*time.Second, e.mock.WritebackDelay())

	r = e.do("PUT", "/_mock/settings", `{"rate_limit":7,"daily_request_limit":100,"daily_data_limit":5000}`)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	assert.Equal(t, mocksikka.Limits{PerApp: 7, DailyRequests: 100, DailyBytes: 5000}, e.mock.Limits())
	assert.Equal(t, "7", e.do("GET", "/v4/practices", nil).header.Get("X-Rate-Limit-Limit"))
}

func TestAdminCodes(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/_mock/codes", map[string]string{"app_id": mocksikka.DefaultAppID, "office_id": mocksikka.MapleLeafOfficeID})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	code := r.strings(t)["code"]
	assert.Regexp(t, hex32, code)
	assert.Equal(t, mocksikka.MapleLeafOfficeID, e.grant("authorization_code", "code", code).strings(t)["issued_to"])
	e.do("POST", "/_mock/codes", map[string]string{"app_id": "nope", "office_id": mocksikka.MapleLeafOfficeID}).envelope(t, 404)
	e.do("POST", "/_mock/codes", map[string]string{"app_id": mocksikka.DefaultAppID, "office_id": "nope"}).envelope(t, 404)
	_, err := e.mock.IssueCode("nope", mocksikka.MapleLeafOfficeID)
	assert.ErrorIs(t, err, mocksikka.ErrNotFound)
}

func TestAdminReset(t *testing.T) {
	e := newEnv(t)
	k := e.officeKey()
	e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/practices", Status: 500})
	e.mock.SetAutoApprove(mocksikka.DefaultOfficeID)
	e.mock.Advance(time.Hour)
	require.Equal(t, 200, e.do("POST", "/_mock/reset", nil).status)
	assert.Equal(t, 400, e.do("GET", "/v4/practices", nil, "Request-Key", k["request_key"]).status, "keys gone, fault gone")
	assert.Equal(t, 200, e.do("GET", authQuery(mocksikka.DefaultRedirectURI, "s"), nil).status, "auto-approve off again")
	assert.Equal(t, t0, e.mock.Now())
	assert.Len(t, e.mock.Journal(), 2)
	assert.Empty(t, e.mock.Faults())
}
