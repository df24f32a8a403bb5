package mocksikka_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve answers one request in-process, without a listener: fast enough for the caps.
func serve(mock *mocksikka.Server, method, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	mock.ServeHTTP(rec, req)
	return rec
}

const officeGrant = `{"grant_type":"request_key","office_id":"` + mocksikka.DefaultOfficeID + `","secret_key":"` +
	mocksikka.DefaultSecretKey + `","app_id":"` + mocksikka.DefaultAppID + `","app_key":"` + mocksikka.DefaultAppKey + `"}`

func exchange(code string) string {
	return `{"grant_type":"authorization_code","code":"` + code + `","app_id":"` + mocksikka.DefaultAppID +
		`","app_key":"` + mocksikka.DefaultAppKey + `"}`
}

// Item 2: codes that expired, and request keys expired for ExpiredKeyMemory, are forgotten
// when the next code or key is issued, at most once per SweepInterval of the mock clock.
// Refresh keys live until deleted.
func TestExpiredCodesAndKeysAreSwept(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		e.code()
	}
	for range 3 {
		e.officeKey()
	}
	require.Equal(t, mocksikka.Sizes{Codes: 5, Keys: 3, Refresh: 3, CodeQueue: 5, KeyQueue: 3, RefreshQueue: 3}, e.mock.StoreSizes())

	e.mock.Advance(mocksikka.DefaultKeyTTL) // every code and key has expired
	e.code()
	assert.Equal(t, mocksikka.Sizes{Codes: 1, Keys: 3, Refresh: 3, CodeQueue: 1, KeyQueue: 3, RefreshQueue: 3}, e.mock.StoreSizes(),
		"one issuance swept the codes; expired keys are remembered (API1025)")
	e.mock.Advance(mocksikka.ExpiredKeyMemory)
	e.code()
	assert.Equal(t, mocksikka.Sizes{Codes: 1, Refresh: 3, CodeQueue: 1, RefreshQueue: 3}, e.mock.StoreSizes(),
		"request keys forgotten after ExpiredKeyMemory; refresh keys kept")

	// Not again within SweepInterval: an expired code waits for the next sweep.
	e.mock.SetCodeTTL(time.Second)
	e.code() // a
	e.mock.Advance(2 * time.Second)
	e.code() // b; a has expired
	assert.Equal(t, 3, e.mock.StoreSizes().Codes, "at most one sweep per interval")
	e.mock.Advance(mocksikka.SweepInterval)
	e.code()
	assert.Equal(t, 2, e.mock.StoreSizes().Codes, "a and b swept, the 10-minute code and the new one kept")

	// A key issued by a grant sweeps too, and a swept key stays unknown.
	k := e.officeKey()
	e.mock.Advance(mocksikka.DefaultKeyTTL + mocksikka.ExpiredKeyMemory)
	e.officeKey()
	assert.Equal(t, 1, e.mock.StoreSizes().Keys)
	e.mock.Advance(-mocksikka.ExpiredKeyMemory - time.Hour) // k would be within its lifetime again
	assert.Equal(t, "API1004", e.do("GET", "/v4/practices", nil, "Request-Key", k["request_key"]).envelope(t, 400)["error_code"])
}

// Item 2: at MaxLiveCodes unredeemed codes, a new code forgets the oldest one still held
// (a redeemed one is skipped).
func TestLiveCodesAreCapped(t *testing.T) {
	e := newEnv(t)
	codes := make([]string, mocksikka.MaxLiveCodes)
	for i := range codes {
		codes[i] = e.code()
	}
	require.Equal(t, 200, serve(e.mock, "POST", "/v4/request_key", exchange(codes[0])).Code)
	e.code() // fills the place of the redeemed code
	assert.Equal(t, mocksikka.MaxLiveCodes, e.mock.StoreSizes().Codes)
	e.code() // evicts codes[1], the oldest held
	assert.Equal(t, mocksikka.MaxLiveCodes, e.mock.StoreSizes().Codes)

	r := serve(e.mock, "POST", "/v4/request_key", exchange(codes[1]))
	assert.Equal(t, 400, r.Code)
	assert.Contains(t, r.Body.String(), "API1026")
	assert.Equal(t, 200, serve(e.mock, "POST", "/v4/request_key", exchange(codes[2])).Code)
}

// Item 2: at MaxLiveKeys request keys and refresh keys, a new key forgets the oldest of each:
// they then fail like unknown ones.
func TestLiveKeysAreCapped(t *testing.T) {
	mock := mocksikka.New(mocksikka.WithClock(t0))
	first := serve(mock, "POST", "/v4/request_key", officeGrant).Body.String()
	firstKey, firstRefresh := between(first, `"request_key":"`, `"`), between(first, `"refresh_key":"`, `"`)
	require.Len(t, firstKey, 32)
	second := between(serve(mock, "POST", "/v4/request_key", officeGrant).Body.String(), `"request_key":"`, `"`)
	for range mocksikka.MaxLiveKeys - 1 {
		require.Equal(t, 200, serve(mock, "POST", "/v4/request_key", officeGrant).Code)
	}
	assert.Equal(t, mocksikka.MaxLiveKeys, mock.StoreSizes().Keys)
	assert.Equal(t, mocksikka.MaxLiveKeys, mock.StoreSizes().Refresh)

	assert.Equal(t, 400, serve(mock, "GET", "/v4/practices", "", "Request-Key", firstKey).Code)
	r := serve(mock, "POST", "/v4/request_key", refreshGrant(firstRefresh))
	assert.Equal(t, 401, r.Code)
	assert.Contains(t, r.Body.String(), "API2003")
	assert.Equal(t, 200, serve(mock, "GET", "/v4/practices", "", "Request-Key", second).Code)
}

// Item 2: the issue-order queues behind eviction stay O(live) while codes are redeemed and
// keys refreshed (each leaves a stale entry behind).
func TestEvictionQueuesStayBounded(t *testing.T) {
	mock := mocksikka.New(mocksikka.WithClock(t0))
	refresh := between(serve(mock, "POST", "/v4/request_key", officeGrant).Body.String(), `"refresh_key":"`, `"`)
	for range 3000 {
		r := serve(mock, "POST", "/v4/request_key", refreshGrant(refresh))
		require.Equal(t, http.StatusOK, r.Code, r.Body.String())
		refresh = between(r.Body.String(), `"refresh_key":"`, `"`)
	}
	s := mock.StoreSizes()
	assert.Equal(t, 1, s.Keys, "each refresh forgot the request key it replaced")
	assert.Equal(t, 1, s.Refresh, "a refresh keeps its refresh key")
	assert.LessOrEqual(t, s.KeyQueue, 2*s.Keys+1024)

	for range 3000 {
		code, err := mock.IssueCode(mocksikka.DefaultAppID, mocksikka.DefaultOfficeID)
		require.NoError(t, err)
		require.Equal(t, 200, serve(mock, "POST", "/v4/request_key", exchange(code)).Code)
	}
	s = mock.StoreSizes()
	assert.Equal(t, 0, s.Codes)
	assert.LessOrEqual(t, s.CodeQueue, 1024)
}

func refreshGrant(refresh string) string {
	return `{"grant_type":"refresh_key","refresh_key":"` + refresh + `","app_id":"` + mocksikka.DefaultAppID +
		`","app_key":"` + mocksikka.DefaultAppKey + `"}`
}

// The journal keeps the latest 10000 entries.
func TestJournalIsBounded(t *testing.T) {
	mock := mocksikka.New(mocksikka.WithClock(t0))
	for i := range 10005 {
		serve(mock, "GET", fmt.Sprintf("/nope/%d", i), "")
	}
	j := mock.Journal()
	require.Len(t, j, 10000)
	assert.Equal(t, "/nope/5", j[0].Path)
	assert.Equal(t, "/nope/10004", j[len(j)-1].Path)
	assert.Equal(t, 10000, mock.Count("", ""))
}

// between returns the text of s after the first before and up to the next after.
func between(s, before, after string) string {
	_, rest, _ := strings.Cut(s, before)
	v, _, _ := strings.Cut(rest, after)
	return v
}
