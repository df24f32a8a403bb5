package sikka_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/sikka"
)

const (
	grantEndpoint     = "POST /v4/request_key"
	practicesEndpoint = "GET /v4/authorized_practices"
	infoEndpoint      = "GET /v4/request_key_info"
	revokeEndpoint    = "DELETE /v4/request_key"
)

// requireSikkaError asserts that err is an *Error of op matching want (and
// no other sentinel) and returns it.
func requireSikkaError(t *testing.T, err error, op string, want error) *sikka.Error {
	t.Helper()
	require.Error(t, err)
	var se *sikka.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, op, se.Op)
	for _, s := range []error{sikka.ErrInvalidGrant, sikka.ErrUnauthorized, sikka.ErrRateLimited, sikka.ErrUnavailable} {
		assert.Equal(t, s == want, errors.Is(err, s), "errors.Is(err, %v) for %v", s, err)
	}
	return se
}

// requireKeyRejected asserts that err is an *Error of op saying the request
// key is no good (ErrKeyRejected), whichever documented answer Sikka gave:
// 400 API1004/API1025, or 401/403, which match ErrUnauthorized too.
func requireKeyRejected(t *testing.T, err error, op string) *sikka.Error {
	t.Helper()
	require.ErrorIs(t, err, sikka.ErrKeyRejected)
	var se *sikka.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, op, se.Op)
	unauthorized := se.StatusCode == http.StatusUnauthorized || se.StatusCode == http.StatusForbidden || se.StatusCode == 0
	assert.Equal(t, unauthorized, errors.Is(err, sikka.ErrUnauthorized), "ErrUnauthorized only for 401/403: %v", err)
	for _, s := range []error{sikka.ErrInvalidGrant, sikka.ErrRateLimited, sikka.ErrUnavailable, sikka.ErrNoSuchPractice} {
		assert.False(t, errors.Is(err, s), "errors.Is(err, %v) for %v", s, err)
	}
	return se
}

func TestGrantsAgainstMock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// authorization_code
	key := f.connect(mocksikka.DefaultOfficeID)
	assert.Equal(t, mocksikka.DefaultOfficeID, key.IssuedTo)
	assert.NotEmpty(t, key.RequestKey)
	assert.NotEmpty(t, key.RefreshKey)
	assert.Equal(t, "active", key.Status)
	assert.Equal(t, "Dental", key.Domain)
	assert.Equal(t, start, key.StartTime)
	assert.Equal(t, start.Add(24*time.Hour), key.EndTime)
	assert.Equal(t, start.Add(24*time.Hour), key.Expiry, "expires_in from the clock at receipt")

	// request_key_info
	info, err := f.client.RequestKeyInfo(ctx, key.RequestKey)
	require.NoError(t, err)
	assert.Equal(t, key.RequestKey, info.RequestKey)
	assert.Equal(t, mocksikka.DefaultOfficeID, info.IssuedTo)
	assert.Equal(t, "active", info.Status)
	assert.Equal(t, key.Expiry, info.Expiry)

	// authorized_practices by request key
	practices, err := f.client.AuthorizedPractices(ctx, key.RequestKey)
	require.NoError(t, err)
	require.Len(t, practices, 1)
	p, ok := sikka.PrimaryPractice(practices, key.IssuedTo)
	require.True(t, ok)
	assert.Equal(t, sikka.Practice{
		OfficeID: mocksikka.DefaultOfficeID, PracticeID: "1", SecretKey: mocksikka.DefaultSecretKey,
		Name: "Happy Dental Clinic", PMS: "Dentrix", PMSRaw: "Dentrix", PMSVersion: "G7", Domain: "Dental",
		Address: "123 Main Street", City: "Toronto", State: "ON", Zip: "M5V 2T6", // no email: not a documented field
	}, p)

	// refresh_key, an hour before expiry: a new request key, the same refresh key (it lives
	// until deleted); the mock's default revokes the old request key (400 API1004)
	f.mock.Advance(23 * time.Hour)
	refreshed, err := f.client.RefreshKey(ctx, key.RefreshKey)
	require.NoError(t, err)
	assert.NotEqual(t, key.RequestKey, refreshed.RequestKey)
	assert.Equal(t, key.RefreshKey, refreshed.RefreshKey, "a refresh answers the same refresh key")
	assert.Equal(t, mocksikka.DefaultOfficeID, refreshed.IssuedTo)
	assert.Equal(t, start.Add(47*time.Hour), refreshed.Expiry)
	_, err = f.client.RequestKeyInfo(ctx, key.RequestKey)
	se := requireKeyRejected(t, err, "RequestKeyInfo")
	assert.Equal(t, http.StatusBadRequest, se.StatusCode)
	assert.Equal(t, "API1004", se.Envelope.ErrorCode)
	// the refresh key is used again, long after (two days): still good
	f.mock.Advance(48 * time.Hour)
	again, err := f.client.RefreshKey(ctx, key.RefreshKey)
	require.NoError(t, err)
	assert.Equal(t, key.RefreshKey, again.RefreshKey)
	assert.NotEqual(t, refreshed.RequestKey, again.RequestKey)

	// request_key from the stored office credentials
	minted, err := f.client.RequestKey(ctx, p.OfficeID, p.SecretKey)
	require.NoError(t, err)
	assert.Equal(t, mocksikka.DefaultOfficeID, minted.IssuedTo)
	assert.Equal(t, f.mock.Now().Add(24*time.Hour), minted.Expiry)

	// revocation
	require.NoError(t, f.client.RevokeKey(ctx, minted.RequestKey))
	_, err = f.client.AuthorizedPractices(ctx, minted.RequestKey)
	requireKeyRejected(t, err, "AuthorizedPractices")
	err = f.client.RevokeKey(ctx, minted.RequestKey)
	requireKeyRejected(t, err, "RevokeKey")

	assert.Equal(t, 1, f.mock.Count(grantEndpoint, "authorization_code"))
	assert.Equal(t, 2, f.mock.Count(grantEndpoint, "refresh_key"))
	assert.Equal(t, 1, f.mock.Count(grantEndpoint, "request_key"))
	assert.Equal(t, 2, f.mock.Count(revokeEndpoint, ""))
	assert.Empty(t, f.recordedWaits(), "nothing was retried")
}

func TestAuthorizedPracticesAsksShowAll(t *testing.T) {
	f := newFixture(t)
	key := f.connect(mocksikka.MapleLeafOfficeID) // an office with two practices
	practices, err := f.client.AuthorizedPractices(context.Background(), key.RequestKey)
	require.NoError(t, err)
	require.Len(t, practices, 2)
	assert.Equal(t, []string{"1", "2"}, []string{practices[0].PracticeID, practices[1].PracticeID})
	p, ok := sikka.PrimaryPractice(practices, mocksikka.MapleLeafOfficeID)
	require.True(t, ok)
	assert.Equal(t, "Maple Leaf Family Dentistry", p.Name)
	assert.Equal(t, "Eaglesoft", p.PMS)
	for _, e := range f.mock.Journal() {
		if e.Endpoint() == practicesEndpoint {
			assert.Contains(t, e.Query, "show=all")
			assert.Equal(t, "request_key", e.Auth)
		}
	}
}

func TestAuthorizedPracticesForApp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// Sikka's Quickstart: the default app is onboarded (the Marketplace
	// path), so a fresh mock lists every configured practice.
	practices, err := f.client.AuthorizedPracticesForApp(ctx)
	require.NoError(t, err)
	assert.Len(t, practices, 4, "the configured practices, onboarded")

	// An app nobody onboarded sees the practices that authorized it only.
	f.mock = mocksikka.New(mocksikka.WithClock(start), mocksikka.WithOnboardedApps())
	practices, err = f.client.AuthorizedPracticesForApp(ctx)
	require.NoError(t, err)
	assert.Empty(t, practices, "no practice authorized the app yet (204: no content)")

	for _, office := range []string{mocksikka.DefaultOfficeID, mocksikka.MapleLeafOfficeID, mocksikka.BrightSmilesOfficeID} {
		f.code(office) // authorizing is enough; the code need not be exchanged
	}
	practices, err = f.client.AuthorizedPracticesForApp(ctx)
	require.NoError(t, err)
	require.Len(t, practices, 4)
	open, ok := sikka.PrimaryPractice(practices, mocksikka.BrightSmilesOfficeID)
	require.True(t, ok)
	assert.Equal(t, "Open Dental", open.PMS)
	assert.Equal(t, "Opendental", open.PMSRaw)
	for _, e := range f.mock.Journal() {
		assert.Equal(t, "app_key", e.Auth)
	}

	_, err = f.newClient("wrong-app-key-0123456789").AuthorizedPracticesForApp(ctx)
	se := requireSikkaError(t, err, "AuthorizedPracticesForApp", sikka.ErrUnauthorized)
	assert.Equal(t, http.StatusUnauthorized, se.StatusCode)
}

func TestPaginationAgainstMock(t *testing.T) {
	f := newFixture(t, sikka.WithPageSize(5))
	ctx := context.Background()
	const office = "P10001"
	for i := 1; i <= 23; i++ {
		require.NoError(t, f.mock.AddPractice(mocksikka.Practice{
			OfficeID: office, PracticeID: fmt.Sprint(i), SecretKey: "multi-practice-secret-key",
			Name: fmt.Sprintf("Practice %d", i), PMS: "OpenDental",
		}))
	}
	for i := 1; i <= 12; i++ {
		require.NoError(t, f.mock.AddPractice(mocksikka.Practice{
			OfficeID: fmt.Sprintf("Q%05d", i), SecretKey: fmt.Sprintf("office-secret-%02d", i),
			Name: fmt.Sprintf("Office %d", i), PMS: "EAGLESOFT",
		}))
		f.code(fmt.Sprintf("Q%05d", i))
	}

	t.Run("by request key", func(t *testing.T) {
		f.mock.ClearJournal()
		key := f.connect(office)
		practices, err := f.client.AuthorizedPractices(ctx, key.RequestKey)
		require.NoError(t, err)
		require.Len(t, practices, 23)
		for i, p := range practices {
			assert.Equal(t, fmt.Sprint(i+1), p.PracticeID, "server order kept")
			assert.Equal(t, "Open Dental", p.PMS)
		}
		assert.Equal(t, 5, f.mock.Count(practicesEndpoint, ""), "5+5+5+5+3")
		var offsets []string
		for _, e := range f.mock.Journal() {
			if e.Endpoint() == practicesEndpoint {
				offsets = append(offsets, e.Query)
			}
		}
		assert.Equal(t, []string{
			"limit=5&offset=0&show=all", "limit=5&offset=1&show=all", "limit=5&offset=2&show=all",
			"limit=5&offset=3&show=all", "limit=5&offset=4&show=all",
		}, offsets, "offset is a page number")
	})

	t.Run("by app credentials", func(t *testing.T) {
		f.mock.ClearJournal()
		practices, err := f.client.AuthorizedPracticesForApp(ctx)
		require.NoError(t, err)
		// The default app is onboarded: it sees every configured practice,
		// the mock's 4 defaults too.
		assert.Len(t, practices, 4+23+12)
		assert.Equal(t, 8, f.mock.Count(practicesEndpoint, ""))
	})

	t.Run("exact multiple of the page size", func(t *testing.T) {
		f.mock.ClearJournal()
		c := f.newClient(mocksikka.DefaultAppKey, sikka.WithPageSize(23))
		key := f.connect(office)
		practices, err := c.AuthorizedPractices(ctx, key.RequestKey)
		require.NoError(t, err)
		assert.Len(t, practices, 23)
		assert.Equal(t, 1, f.mock.Count(practicesEndpoint, ""), "total_count reached, no extra page")
	})

	t.Run("page cap", func(t *testing.T) {
		f.mock.ClearJournal()
		c := f.newClient(mocksikka.DefaultAppKey, sikka.WithPageSize(5), sikka.WithMaxPages(3))
		key := f.connect(office)
		_, err := c.AuthorizedPractices(ctx, key.RequestKey)
		requireSikkaError(t, err, "AuthorizedPractices", sikka.ErrUnavailable)
		assert.Contains(t, err.Error(), "did not end after 3 pages")
		assert.Equal(t, 3, f.mock.Count(practicesEndpoint, ""))
	})
}

func TestErrorsAgainstMock(t *testing.T) {
	ctx := context.Background()

	t.Run("unknown code", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.client.ExchangeCode(ctx, "no-such-code-123")
		se := requireSikkaError(t, err, "ExchangeCode", sikka.ErrInvalidGrant)
		assert.Equal(t, http.StatusBadRequest, se.StatusCode)
		assert.Equal(t, "400", se.Envelope.HTTPCode)
		assert.Equal(t, "API1026", se.Envelope.ErrorCode, "Sikka's code for an invalid parameter")
		assert.Equal(t, "sikka: ExchangeCode: POST /v4/request_key: 400 Bad Request: Invalid authorization code (API1026)", se.Error())
	})
	t.Run("reused code", func(t *testing.T) {
		f := newFixture(t)
		code := f.code(mocksikka.DefaultOfficeID)
		_, err := f.client.ExchangeCode(ctx, code)
		require.NoError(t, err)
		_, err = f.client.ExchangeCode(ctx, code)
		requireSikkaError(t, err, "ExchangeCode", sikka.ErrInvalidGrant)
	})
	t.Run("expired code", func(t *testing.T) {
		f := newFixture(t)
		code := f.code(mocksikka.DefaultOfficeID)
		f.mock.Advance(mocksikka.DefaultCodeTTL + time.Second)
		_, err := f.client.ExchangeCode(ctx, code)
		requireSikkaError(t, err, "ExchangeCode", sikka.ErrInvalidGrant)
	})
	t.Run("empty inputs are refused without a request", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.client.ExchangeCode(ctx, "")
		requireSikkaError(t, err, "ExchangeCode", sikka.ErrInvalidGrant)
		_, err = f.client.RefreshKey(ctx, "")
		requireSikkaError(t, err, "RefreshKey", sikka.ErrInvalidGrant)
		_, err = f.client.RequestKey(ctx, mocksikka.DefaultOfficeID, "")
		requireSikkaError(t, err, "RequestKey", sikka.ErrInvalidGrant)
		_, err = f.client.AuthorizedPractices(ctx, "")
		requireKeyRejected(t, err, "AuthorizedPractices")
		_, err = f.client.RequestKeyInfo(ctx, "")
		requireKeyRejected(t, err, "RequestKeyInfo")
		requireKeyRejected(t, f.client.RevokeKey(ctx, ""), "RevokeKey")
		assert.Empty(t, f.mock.Journal())
	})
	t.Run("wrong app key", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.newClient("wrong-app-key-0123456789").ExchangeCode(ctx, f.code(mocksikka.DefaultOfficeID))
		se := requireSikkaError(t, err, "ExchangeCode", sikka.ErrUnauthorized)
		assert.Equal(t, "API2003", se.Envelope.ErrorCode, "Sikka's code for bad app credentials")
	})
	t.Run("wrong secret key", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.client.RequestKey(ctx, mocksikka.DefaultOfficeID, "not-the-secret-key")
		se := requireSikkaError(t, err, "RequestKey", sikka.ErrUnauthorized)
		assert.Equal(t, "API2003", se.Envelope.ErrorCode)
		assert.Equal(t, 1, f.mock.Count(grantEndpoint, "request_key"), "a refused grant is not retried")
	})
	t.Run("unknown and expired request keys", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.client.AuthorizedPractices(ctx, "unknown-request-key")
		se := requireKeyRejected(t, err, "AuthorizedPractices")
		assert.Equal(t, [2]any{http.StatusBadRequest, "API1004"}, [2]any{se.StatusCode, se.Envelope.ErrorCode})
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.Advance(24*time.Hour + time.Second)
		_, err = f.client.RequestKeyInfo(ctx, key.RequestKey)
		se = requireKeyRejected(t, err, "RequestKeyInfo")
		assert.Equal(t, [2]any{http.StatusBadRequest, "API1025"}, [2]any{se.StatusCode, se.Envelope.ErrorCode})
		assert.Equal(t, 1, f.mock.Count(infoEndpoint, ""), "a rejected key is not retried")
	})
	t.Run("rate limited for longer than the maximum wait", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: practicesEndpoint, Status: 429, RetryAfter: time.Minute})
		_, err := f.client.AuthorizedPractices(ctx, key.RequestKey)
		se := requireSikkaError(t, err, "AuthorizedPractices", sikka.ErrRateLimited)
		assert.Equal(t, time.Minute, se.RetryAfter)
		assert.Equal(t, 1, f.mock.Count(practicesEndpoint, ""))
		assert.Empty(t, f.recordedWaits())
	})
	t.Run("5xx until attempts run out", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: practicesEndpoint, Status: 503})
		_, err := f.client.AuthorizedPractices(ctx, key.RequestKey)
		se := requireSikkaError(t, err, "AuthorizedPractices", sikka.ErrUnavailable)
		assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
		assert.Equal(t, sikka.DefaultMaxAttempts, f.mock.Count(practicesEndpoint, ""))
		assert.Len(t, f.recordedWaits(), sikka.DefaultMaxAttempts-1)
	})
	t.Run("connection refused", func(t *testing.T) {
		f := newFixture(t)
		c := f.newClient(mocksikka.DefaultAppKey, sikka.WithBaseURL(refusedURL(t)))
		_, err := c.RequestKeyInfo(ctx, "some-request-key")
		se := requireSikkaError(t, err, "RequestKeyInfo", sikka.ErrUnavailable)
		assert.Zero(t, se.StatusCode)
		assert.Contains(t, err.Error(), "connection refused")
		_, err = c.ExchangeCode(ctx, "some-code-1234")
		requireSikkaError(t, err, "ExchangeCode", sikka.ErrUnavailable)
	})
	t.Run("garbled answers", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.setOverride(func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "text/html")
			switch r.URL.Path {
			case "/v4/authorized_practices":
				fmt.Fprint(w, "<html><body>Welcome to the captive portal</body></html>")
			case "/v4/request_key":
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, "<html><body>502 Bad Gateway</body></html>")
			case "/v4/request_key_info":
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"request_key":`)
			}
			return true
		})
		_, err := f.client.AuthorizedPractices(ctx, key.RequestKey)
		requireSikkaError(t, err, "AuthorizedPractices", sikka.ErrUnavailable)
		assert.Contains(t, err.Error(), "not JSON (text/html")
		_, err = f.client.RequestKeyInfo(ctx, key.RequestKey)
		requireSikkaError(t, err, "RequestKeyInfo", sikka.ErrUnavailable)
		_, err = f.client.RefreshKey(ctx, key.RefreshKey)
		se := requireSikkaError(t, err, "RefreshKey", sikka.ErrUnavailable)
		assert.Equal(t, http.StatusBadGateway, se.StatusCode)
		assert.NotContains(t, err.Error(), "<html>")
	})
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
	}))
	defer other.Close()
	f := newFixture(t)
	ctx := context.Background()
	key := f.connect(mocksikka.DefaultOfficeID)
	f.setOverride(func(w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		return true
	})
	_, err := f.client.RefreshKey(ctx, key.RefreshKey)
	se := requireSikkaError(t, err, "RefreshKey", sikka.ErrUnavailable)
	assert.Equal(t, http.StatusTemporaryRedirect, se.StatusCode)
	_, err = f.client.AuthorizedPracticesForApp(ctx)
	requireSikkaError(t, err, "AuthorizedPracticesForApp", sikka.ErrUnavailable)
	assert.Zero(t, elsewhere.Load(), "credentials never went to the redirect target")
}

func TestRetriesAgainstMock(t *testing.T) {
	ctx := context.Background()

	t.Run("GET: 503 then 200", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: practicesEndpoint, Count: 1, Status: 503})
		practices, err := f.client.AuthorizedPractices(ctx, key.RequestKey)
		require.NoError(t, err)
		assert.Len(t, practices, 1)
		assert.Equal(t, 2, f.mock.Count(practicesEndpoint, ""))
		waits := f.recordedWaits()
		require.Len(t, waits, 1)
		assert.LessOrEqual(t, waits[0], 250*time.Millisecond, "the default backoff's first step")
	})
	t.Run("GET: 429 with Retry-After is honoured", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: infoEndpoint, Count: 1, Status: 429, RetryAfter: 3 * time.Second})
		_, err := f.client.RequestKeyInfo(ctx, key.RequestKey)
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{3 * time.Second}, f.recordedWaits())
		assert.Equal(t, 2, f.mock.Count(infoEndpoint, ""))
	})
	t.Run("GET: Retry-After really waited", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		c := f.realClient(mocksikka.DefaultAppKey)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: infoEndpoint, Count: 1, Status: 429, RetryAfter: time.Second})
		began := time.Now()
		_, err := c.RequestKeyInfo(ctx, key.RequestKey)
		require.NoError(t, err)
		elapsed := time.Since(began)
		assert.GreaterOrEqual(t, elapsed, time.Second)
		assert.Less(t, elapsed, 5*time.Second)
	})
	t.Run("GET: Retry-After past the context deadline ends the call at once", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: infoEndpoint, Status: 429, RetryAfter: 5 * time.Second})
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := f.client.RequestKeyInfo(ctx, key.RequestKey)
		requireSikkaError(t, err, "RequestKeyInfo", sikka.ErrRateLimited)
		assert.Empty(t, f.recordedWaits())
		assert.Equal(t, 1, f.mock.Count(infoEndpoint, ""))
	})
	t.Run("GET: a slow attempt times out and the retry succeeds", func(t *testing.T) {
		f := newFixture(t, sikka.WithAttemptTimeout(300*time.Millisecond))
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: infoEndpoint, Count: 1, Delay: 5 * time.Second})
		began := time.Now()
		_, err := f.client.RequestKeyInfo(ctx, key.RequestKey)
		require.NoError(t, err)
		assert.Less(t, time.Since(began), 3*time.Second)
		assert.Len(t, f.recordedWaits(), 1)
		assert.Contains(t, f.logs.String(), "attempt timed out after 300ms")
	})
	t.Run("DELETE: 503 then 200", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: revokeEndpoint, Count: 1, Status: 503})
		require.NoError(t, f.client.RevokeKey(ctx, key.RequestKey))
		assert.Equal(t, 2, f.mock.Count(revokeEndpoint, ""))
	})
	t.Run("ExchangeCode: never retried", func(t *testing.T) {
		for _, status := range []int{503, 429, 500} {
			t.Run(fmt.Sprint(status), func(t *testing.T) {
				f := newFixture(t)
				code := f.code(mocksikka.DefaultOfficeID)
				f.mock.InjectFault(mocksikka.Fault{Endpoint: grantEndpoint, Grant: "authorization_code", Count: 1, Status: status, RetryAfter: time.Second})
				_, err := f.client.ExchangeCode(ctx, code)
				want := sikka.ErrUnavailable
				if status == 429 {
					want = sikka.ErrRateLimited
				}
				requireSikkaError(t, err, "ExchangeCode", want)
				assert.Equal(t, 1, f.mock.Count(grantEndpoint, "authorization_code"))
				assert.Empty(t, f.recordedWaits())
			})
		}
	})
	t.Run("ExchangeCode: not retried even when the connection is refused", func(t *testing.T) {
		f := newFixture(t)
		c := f.newClient(mocksikka.DefaultAppKey, sikka.WithBaseURL(refusedURL(t)))
		_, err := c.ExchangeCode(ctx, "some-code-1234")
		requireSikkaError(t, err, "ExchangeCode", sikka.ErrUnavailable)
		assert.Empty(t, f.recordedWaits())
	})
	t.Run("RefreshKey: 5xx not retried, 429 retried", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: grantEndpoint, Grant: "refresh_key", Count: 1, Status: 503})
		_, err := f.client.RefreshKey(ctx, key.RefreshKey)
		requireSikkaError(t, err, "RefreshKey", sikka.ErrUnavailable)
		assert.Equal(t, 1, f.mock.Count(grantEndpoint, "refresh_key"))

		f.mock.InjectFault(mocksikka.Fault{Endpoint: grantEndpoint, Grant: "refresh_key", Count: 1, Status: 429, RetryAfter: time.Second})
		refreshed, err := f.client.RefreshKey(ctx, key.RefreshKey)
		require.NoError(t, err)
		assert.NotEqual(t, key.RequestKey, refreshed.RequestKey)
		assert.Equal(t, 3, f.mock.Count(grantEndpoint, "refresh_key"))
		assert.Equal(t, []time.Duration{time.Second}, f.recordedWaits())
	})
	t.Run("RequestKey: 429 retried, 502 not", func(t *testing.T) {
		f := newFixture(t)
		// The mock's 429 carries X-Rate-Limit-Reset (what is left of its 60 s window, over the
		// maximum wait); Retry-After asks for less, and wins.
		f.mock.InjectFault(mocksikka.Fault{Endpoint: grantEndpoint, Grant: "request_key", Count: 1, Status: 429, RetryAfter: time.Second})
		key, err := f.client.RequestKey(ctx, mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
		require.NoError(t, err)
		assert.Equal(t, mocksikka.DefaultOfficeID, key.IssuedTo)
		assert.Equal(t, 2, f.mock.Count(grantEndpoint, "request_key"))
		assert.Equal(t, []time.Duration{time.Second}, f.recordedWaits())

		f.mock.InjectFault(mocksikka.Fault{Endpoint: grantEndpoint, Grant: "request_key", Count: 1, Status: 502})
		_, err = f.client.RequestKey(ctx, mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
		requireSikkaError(t, err, "RequestKey", sikka.ErrUnavailable)
		assert.Equal(t, 3, f.mock.Count(grantEndpoint, "request_key"))
	})
	t.Run("RequestKey and RefreshKey: retried when the connection is refused", func(t *testing.T) {
		f := newFixture(t)
		c := f.newClient(mocksikka.DefaultAppKey, sikka.WithBaseURL(refusedURL(t)))
		_, err := c.RequestKey(ctx, mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
		requireSikkaError(t, err, "RequestKey", sikka.ErrUnavailable)
		assert.Len(t, f.recordedWaits(), sikka.DefaultMaxAttempts-1)
		_, err = c.RefreshKey(ctx, "some-refresh-key")
		requireSikkaError(t, err, "RefreshKey", sikka.ErrUnavailable)
		assert.Len(t, f.recordedWaits(), 2*(sikka.DefaultMaxAttempts-1))
	})
	t.Run("RefreshKey: not retried when the server hangs up after receiving it", func(t *testing.T) {
		f := newFixture(t, sikka.WithAttemptTimeout(200*time.Millisecond))
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: grantEndpoint, Grant: "refresh_key", Count: 1, Delay: 2 * time.Second})
		_, err := f.client.RefreshKey(ctx, key.RefreshKey)
		requireSikkaError(t, err, "RefreshKey", sikka.ErrUnavailable)
		assert.Contains(t, err.Error(), "attempt timed out")
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "the caller's context did not expire")
		assert.Empty(t, f.recordedWaits())
	})
	t.Run("WithMaxAttempts(1) disables retries", func(t *testing.T) {
		f := newFixture(t, sikka.WithMaxAttempts(1))
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: practicesEndpoint, Count: 1, Status: 503})
		_, err := f.client.AuthorizedPractices(ctx, key.RequestKey)
		requireSikkaError(t, err, "AuthorizedPractices", sikka.ErrUnavailable)
		assert.Equal(t, 1, f.mock.Count(practicesEndpoint, ""))
	})
}

func TestContextAgainstMock(t *testing.T) {
	t.Run("deadline during a slow answer", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: practicesEndpoint, Delay: 10 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		began := time.Now()
		_, err := f.client.AuthorizedPractices(ctx, key.RequestKey)
		requireSikkaError(t, err, "AuthorizedPractices", sikka.ErrUnavailable)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(began), 3*time.Second)
		assert.Empty(t, f.recordedWaits(), "no retry once the caller's context is done")
	})
	t.Run("cancelled during a slow answer", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		f.mock.InjectFault(mocksikka.Fault{Endpoint: grantEndpoint, Delay: 10 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := f.client.RefreshKey(ctx, key.RefreshKey)
		requireSikkaError(t, err, "RefreshKey", sikka.ErrUnavailable)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("cancelled while waiting to retry", func(t *testing.T) {
		f := newFixture(t)
		key := f.connect(mocksikka.DefaultOfficeID)
		c := f.realClient(mocksikka.DefaultAppKey, sikka.WithBackoff(func(int) time.Duration { return time.Minute }))
		f.mock.InjectFault(mocksikka.Fault{Endpoint: infoEndpoint, Status: 503})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		began := time.Now()
		_, err := c.RequestKeyInfo(ctx, key.RequestKey)
		se := requireSikkaError(t, err, "RequestKeyInfo", sikka.ErrUnavailable)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode, "the last answer is kept")
		assert.Less(t, time.Since(began), 5*time.Second)
		assert.Equal(t, 1, f.mock.Count(infoEndpoint, ""))
	})
	t.Run("already cancelled", func(t *testing.T) {
		f := newFixture(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := f.client.AuthorizedPracticesForApp(ctx)
		requireSikkaError(t, err, "AuthorizedPracticesForApp", sikka.ErrUnavailable)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, f.mock.Journal())
	})
}

// TestNoSecretInLogsOrErrors runs every call, successful and failing,
// captures the client's debug log and every error, and looks for every
// secret the run used.
func TestNoSecretInLogsOrErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const wrongAppKey = "wrong-app-key-0123456789"
	const wrongSecret = "wrong-secret-key-0123456789"
	secrets := []string{mocksikka.DefaultAppKey, wrongAppKey, wrongSecret}
	for _, p := range mocksikka.DefaultPractices() {
		secrets = append(secrets, p.SecretKey)
	}
	var errs []error
	var printed []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	keep := func(k *sikka.Key) {
		require.NotNil(t, k)
		secrets = append(secrets, k.RequestKey, k.RefreshKey)
		printed = append(printed, fmt.Sprintf("%v|%+v|%#v|%s", k, *k, *k, k))
	}

	code := f.code(mocksikka.DefaultOfficeID)
	secrets = append(secrets, code)
	key, err := f.client.ExchangeCode(ctx, code)
	require.NoError(t, err)
	keep(key)
	_, err = f.client.ExchangeCode(ctx, code) // reused
	note(err)
	code2 := f.code(mocksikka.MapleLeafOfficeID)
	secrets = append(secrets, code2)
	_, err = f.newClient(wrongAppKey).ExchangeCode(ctx, code2)
	note(err)
	key2, err := f.client.ExchangeCode(ctx, code2)
	require.NoError(t, err)
	keep(key2)

	practices, err := f.client.AuthorizedPractices(ctx, key.RequestKey)
	require.NoError(t, err)
	all, err := f.client.AuthorizedPracticesForApp(ctx)
	require.NoError(t, err)
	printed = append(printed, fmt.Sprintf("%v|%+v|%#v", practices, all, all))
	_, err = f.newClient(wrongAppKey).AuthorizedPracticesForApp(ctx)
	note(err)
	_, err = f.client.RequestKeyInfo(ctx, key.RequestKey)
	require.NoError(t, err)

	refreshed, err := f.client.RefreshKey(ctx, key.RefreshKey) // the same refresh key back
	require.NoError(t, err)
	keep(refreshed)
	_, err = f.client.RequestKeyInfo(ctx, key.RequestKey) // invalidated by the refresh
	note(err)
	require.NoError(t, f.client.RevokeRefreshKey(ctx, key.RefreshKey))
	_, err = f.client.RefreshKey(ctx, key.RefreshKey) // deleted
	note(err)
	note(f.client.RevokeRefreshKey(ctx, key.RefreshKey)) // deleted already
	minted, err := f.client.RequestKey(ctx, mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
	require.NoError(t, err)
	keep(minted)
	_, err = f.client.RequestKey(ctx, mocksikka.DefaultOfficeID, wrongSecret)
	note(err)
	require.NoError(t, f.client.RevokeKey(ctx, minted.RequestKey))
	note(f.client.RevokeKey(ctx, minted.RequestKey))

	// Faults: retried and not.
	f.mock.InjectFault(mocksikka.Fault{Endpoint: "*", Count: 2, Status: 503})
	_, err = f.client.AuthorizedPractices(ctx, refreshed.RequestKey)
	require.NoError(t, err)
	f.mock.InjectFault(mocksikka.Fault{Endpoint: "*", Status: 429, RetryAfter: time.Second})
	_, err = f.client.RequestKeyInfo(ctx, refreshed.RequestKey)
	note(err)
	_, err = f.client.RefreshKey(ctx, refreshed.RefreshKey)
	note(err)
	code3 := f.code(mocksikka.BrightSmilesOfficeID)
	secrets = append(secrets, code3)
	_, err = f.client.ExchangeCode(ctx, code3)
	note(err)
	f.mock.ClearFaults()

	// A server that echoes every secret it was sent.
	f.setOverride(func(w http.ResponseWriter, r *http.Request) bool {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		echo := strings.Join([]string{r.Header.Get("Request-Key"), r.Header.Get("App-Key"), string(body[:n])}, " ")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"http_code":401,"short_message":%q,"long_message":%q,"more_information":%q}`, echo, echo, echo)
		return true
	})
	_, err = f.client.RequestKeyInfo(ctx, refreshed.RequestKey)
	note(err)
	assert.Contains(t, err.Error(), "[REDACTED]")
	var se *sikka.Error
	require.ErrorAs(t, err, &se)
	printed = append(printed, fmt.Sprintf("%+v|%#v", se.Envelope, se.Envelope))
	_, err = f.client.RefreshKey(ctx, refreshed.RefreshKey)
	note(err)
	_, err = f.client.RequestKey(ctx, mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
	note(err)
	_, err = f.client.AuthorizedPracticesForApp(ctx)
	note(err)
	f.setOverride(nil)

	// Nobody home.
	down := f.newClient(mocksikka.DefaultAppKey, sikka.WithBaseURL(refusedURL(t)))
	_, err = down.RequestKey(ctx, mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
	note(err)
	_, err = down.AuthorizedPractices(ctx, refreshed.RequestKey)
	note(err)
	printed = append(printed, fmt.Sprintf("%v|%+v|%#v|%s", f.client, f.client, f.client, f.client))

	logs := f.logs.String()
	require.NotEmpty(t, logs)
	assert.Contains(t, logs, "sikka: retrying")
	assert.GreaterOrEqual(t, len(errs), 15)
	for _, secret := range secrets {
		require.NotEmpty(t, secret)
		assert.NotContains(t, logs, secret, "a secret in the log")
		for _, err := range errs {
			assert.NotContains(t, err.Error(), secret, "a secret in an error")
			assert.NotContains(t, fmt.Sprintf("%+v|%#v", err, err), secret, "a secret in a printed error")
		}
		for _, p := range printed {
			assert.NotContains(t, p, secret, "a secret printed")
		}
	}
}
