package sikka_test

// The client against small servers that answer exactly as Sikka's own
// documentation says (../shared/SIKKA_API.md: envelopes, error codes and
// their statuses, headers): the contract, whatever the mock does.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/sikka"
)

const (
	sheetAppID      = "sheet-app-id"
	sheetAppKey     = "sheet-app-key-0123456789abcdef"
	sheetRequestKey = "d7ab733c766917fa5ef8ae3a54100620"
	sheetRefreshKey = "f00dfeedf00dfeedf00dfeedf00dfeed"
)

// sheetCall is what the server saw of one request.
type sheetCall struct {
	method, path, query string
	header              http.Header
	body                string
}

// sheetServer is an httptest server on 127.0.0.1 answering with h, and a
// client of it whose waits between retries are recorded, not slept.
type sheetServer struct {
	client *sikka.Client

	mu    sync.Mutex
	calls []sheetCall
	waits []time.Duration
}

func newSheetServer(t *testing.T, h http.HandlerFunc, opts ...sikka.Option) *sheetServer {
	t.Helper()
	s := &sheetServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, sheetCall{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)})
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	base := []sikka.Option{sikka.WithBaseURL(srv.URL), sikka.WithBackoff(func(int) time.Duration { return time.Millisecond })}
	s.client = sikka.New(sheetAppID, sheetAppKey, append(base, opts...)...)
	sikka.SetSleep(s.client, func(ctx context.Context, d time.Duration) error {
		s.mu.Lock()
		s.waits = append(s.waits, d)
		s.mu.Unlock()
		return ctx.Err()
	})
	return s
}

func (s *sheetServer) recorded() ([]sheetCall, []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sheetCall(nil), s.calls...), append([]time.Duration(nil), s.waits...)
}

// sheetEnvelope is the documented error envelope, every field a string.
type sheetEnvelope struct {
	status                                      int
	desc, code, short, long, more, bodyHTTPCode string
}

// The documented answers (SIKKA_API.md sections 2 and 7).
var (
	envKeyInvalid = sheetEnvelope{400, "BadRequest", "API1004", "Missing Parameter", "Requestkey is missing.", "Please provide the requestkey.", ""}
	envKeyExpired = sheetEnvelope{400, "BadRequest", "API1025", "Request key expired", "Request key is not valid, it is expired.", "Please generate new request key and make new request.", ""}
	envAppCreds   = sheetEnvelope{401, "Unauthorized", "API2003", "Authentication/Authorization Failed", "ID or key is incorrect.", "", ""}
	envNotForAPI  = sheetEnvelope{401, "Unauthorized", "API2004", "Unauthorized", "Not authorized for this API.", "", ""}
	envForbidden  = sheetEnvelope{403, "Forbidden", "API2007", "Unauthorized", "Not authorized for this practice.", "", ""}
	envBadParam   = sheetEnvelope{400, "BadRequest", "API1020", "Missing Parameter", "A parameter is missing.", "", ""}
	envNoContent  = sheetEnvelope{200, "NoContent", "API2005", "No content found for given parameter", "Request is processed successfully, but no data/content returned.", "", "204"}
	envNotFound   = sheetEnvelope{404, "NotFound", "API2009", "Resource not found", "Resource not found", "", ""}
	envRevoked    = sheetEnvelope{200, "OK", "API0002", "OK", "Request Session terminated successfully.", "", ""}
	envTooMany    = sheetEnvelope{429, "Too Many Requests", "API2012", "Limit exceeded", "Request limit exceeded.", "", ""}
	// envExpiredIn200 is the key-expired envelope sent in a 200 answer.
	envExpiredIn200 = sheetEnvelope{200, "BadRequest", "API1025", "Request key expired", "Request key is not valid, it is expired.", "", "400"}
)

func (e sheetEnvelope) write(w http.ResponseWriter) {
	httpCode := e.bodyHTTPCode
	if httpCode == "" {
		httpCode = fmt.Sprint(e.status)
	}
	b, _ := json.Marshal(map[string]string{
		"http_code": httpCode, "http_code_desc": e.desc, "error_code": e.code,
		"short_message": e.short, "long_message": e.long, "more_information": e.more,
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

func (e sheetEnvelope) handler() http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { e.write(w) }
}

// requestKeyCalls are the calls that send a Request-Key header.
var requestKeyCalls = []struct {
	name string
	call func(ctx context.Context, c *sikka.Client) error
}{
	{"RequestKeyInfo", func(ctx context.Context, c *sikka.Client) error {
		_, err := c.RequestKeyInfo(ctx, sheetRequestKey)
		return err
	}},
	{"RevokeKey", func(ctx context.Context, c *sikka.Client) error { return c.RevokeKey(ctx, sheetRequestKey) }},
	{"AuthorizedPractices", func(ctx context.Context, c *sikka.Client) error {
		_, err := c.AuthorizedPractices(ctx, sheetRequestKey)
		return err
	}},
}

// sentinels is every sentinel of the package.
var sentinels = []error{sikka.ErrInvalidGrant, sikka.ErrUnauthorized, sikka.ErrKeyRejected,
	sikka.ErrRateLimited, sikka.ErrUnavailable, sikka.ErrNoSuchPractice}

// assertSentinels checks that err matches exactly the sentinels in want.
func assertSentinels(t *testing.T, err error, want ...error) {
	t.Helper()
	require.Error(t, err)
	for _, s := range sentinels {
		wanted := false
		for _, w := range want {
			wanted = wanted || w == s
		}
		assert.Equal(t, wanted, errors.Is(err, s), "errors.Is(err, %v) for %v", s, err)
	}
}

// A request key Sikka refuses, expired (400 API1025), unknown or revoked
// (400 API1004) or unauthorized (401/403), matches ErrKeyRejected on every
// call that sent one; a 401 or 403 matches ErrUnauthorized as well. A 401 or
// 403 whose code says the call, not the key, is not allowed (API2004: this
// API; API2007: this practice) is ErrUnauthorized only: a new key would not
// help, so HTTPClient does not renew on it. None is retried.
func TestKeyRejectedOnTheDocumentedAnswers(t *testing.T) {
	answers := []struct {
		name string
		env  sheetEnvelope
		also []error
		fine bool // the key is not rejected
	}{
		{"400 API1004 (unknown or revoked key)", envKeyInvalid, nil, false},
		{"400 API1025 (expired key)", envKeyExpired, nil, false},
		{"401 API2003", envAppCreds, []error{sikka.ErrUnauthorized}, false},
		{"401 API2004", envNotForAPI, []error{sikka.ErrUnauthorized}, true},
		{"403 API2007", envForbidden, []error{sikka.ErrUnauthorized}, true},
		{"API1025 envelope in a 200 answer", envExpiredIn200, nil, false},
	}
	for _, call := range requestKeyCalls {
		for _, a := range answers {
			t.Run(call.name+"/"+a.name, func(t *testing.T) {
				s := newSheetServer(t, a.env.handler())
				err := call.call(context.Background(), s.client)
				if a.fine {
					assertSentinels(t, err, a.also...)
				} else {
					assertSentinels(t, err, append([]error{sikka.ErrKeyRejected}, a.also...)...)
				}
				var se *sikka.Error
				require.ErrorAs(t, err, &se)
				assert.Equal(t, a.env.code, se.Envelope.ErrorCode)
				assert.Equal(t, a.env.status, se.StatusCode)
				assert.NotContains(t, err.Error(), sheetRequestKey)
				calls, waits := s.recorded()
				assert.Len(t, calls, 1, "a rejected key is not retried")
				assert.Empty(t, waits)
				assert.Equal(t, sheetRequestKey, calls[0].header.Get("Request-Key"))
			})
		}
	}
	t.Run("an empty request key, without a request", func(t *testing.T) {
		s := newSheetServer(t, envKeyInvalid.handler())
		ctx := context.Background()
		_, err := s.client.RequestKeyInfo(ctx, "")
		assertSentinels(t, err, sikka.ErrKeyRejected, sikka.ErrUnauthorized)
		assertSentinels(t, s.client.RevokeKey(ctx, ""), sikka.ErrKeyRejected, sikka.ErrUnauthorized)
		_, err = s.client.AuthorizedPractices(ctx, "")
		assertSentinels(t, err, sikka.ErrKeyRejected, sikka.ErrUnauthorized)
		calls, _ := s.recorded()
		assert.Empty(t, calls)
	})
}

// ErrKeyRejected is only about a request key the call sent: other 400s of
// such calls, grants, app-authenticated calls and proxies' pages keep their
// old meaning.
func TestKeyRejectedOnlyForARequestKeySent(t *testing.T) {
	ctx := context.Background()
	t.Run("another 400 code on a request-key call", func(t *testing.T) {
		s := newSheetServer(t, envBadParam.handler())
		_, err := s.client.RequestKeyInfo(ctx, sheetRequestKey)
		assertSentinels(t, err)
	})
	t.Run("400 API1025 to a refresh grant is an invalid grant", func(t *testing.T) {
		s := newSheetServer(t, envKeyExpired.handler())
		_, err := s.client.RefreshKey(ctx, sheetRefreshKey)
		assertSentinels(t, err, sikka.ErrInvalidGrant)
		_, err = s.client.RequestKey(ctx, "D20006", "office-secret-key-123")
		assertSentinels(t, err, sikka.ErrInvalidGrant)
	})
	t.Run("401 to a grant is unauthorized", func(t *testing.T) {
		s := newSheetServer(t, envAppCreds.handler())
		_, err := s.client.RefreshKey(ctx, sheetRefreshKey)
		assertSentinels(t, err, sikka.ErrUnauthorized)
	})
	t.Run("401 to an app-authenticated list", func(t *testing.T) {
		s := newSheetServer(t, envAppCreds.handler())
		_, err := s.client.AuthorizedPracticesForApp(ctx)
		assertSentinels(t, err, sikka.ErrUnauthorized)
	})
	t.Run("a proxy's 401 page", func(t *testing.T) {
		s := newSheetServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, "<html>sign in to the proxy</html>")
		}, sikka.WithMaxAttempts(1))
		_, err := s.client.RequestKeyInfo(ctx, sheetRequestKey)
		assertSentinels(t, err, sikka.ErrUnavailable)
	})
}

// practiceItem is an authorized_practices item with the documented fields.
func practiceItem(officeID, practiceID string) map[string]string {
	return map[string]string{
		"href":          "https://api.sikkasoft.com/v4/authorized_practices/" + officeID,
		"office_id":     officeID,
		"practice_id":   practiceID,
		"secret_key":    "secret-of-" + officeID + "-" + practiceID,
		"practice_name": "Practice " + practiceID, "domain": "Dental",
		"practice_management_system": "Dentrix", "practice_management_system_version": "G7",
		"city": "Toronto", "state": "ON", "address": "1 Main", "zip": "M5V",
	}
}

// listBody is the documented list envelope: offset is a page index.
func listBody(path string, page, limit int, next bool, items ...map[string]string) string {
	link := func(p int) string {
		return fmt.Sprintf("https://api.sikkasoft.com%s?offset=%d&limit=%d", path, p, limit)
	}
	pg := map[string]string{"first": link(0), "previous": "", "current": link(page), "next": "", "last": link(page)}
	if page > 0 {
		pg["previous"] = link(page - 1)
	}
	if next {
		pg["next"], pg["last"] = link(page+1), link(page+1)
	}
	if items == nil {
		items = []map[string]string{}
	}
	b, _ := json.Marshal(map[string]any{"offset": fmt.Sprint(page), "limit": fmt.Sprint(limit),
		"execution_time": "18", "pagination": pg, "items": items})
	return string(b)
}

// No content (a 204 without a body, or the API2005 envelope) to a list call
// is an empty list, and ends a list being paged.
func TestNoContentIsAnEmptyList(t *testing.T) {
	ctx := context.Background()
	noContent := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	for name, h := range map[string]http.HandlerFunc{
		"204":                    noContent,
		"API2005 envelope (200)": envNoContent.handler(),
	} {
		t.Run(name, func(t *testing.T) {
			s := newSheetServer(t, h)
			ps, err := s.client.AuthorizedPractices(ctx, sheetRequestKey)
			require.NoError(t, err)
			assert.Empty(t, ps)
			ps, err = s.client.AuthorizedPracticesForApp(ctx)
			require.NoError(t, err)
			assert.Empty(t, ps)
			calls, waits := s.recorded()
			assert.Len(t, calls, 2, "one page each, not retried")
			assert.Empty(t, waits)
		})
	}
	t.Run("204 past the last page", func(t *testing.T) {
		s := newSheetServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("offset") != "0" {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, listBody(r.URL.Path, 0, 2, true, practiceItem("D20006", "1"), practiceItem("D20006", "1-1")))
		}, sikka.WithPageSize(2))
		ps, err := s.client.AuthorizedPracticesForApp(ctx)
		require.NoError(t, err)
		require.Len(t, ps, 2)
		assert.Equal(t, "1-1", ps[1].PracticeID)
		calls, _ := s.recorded()
		require.Len(t, calls, 2)
		assert.Contains(t, calls[1].query, "offset=1")
	})
}

// A 429 carries X-Rate-Limit-Reset, and the retry waits it out when there
// is no Retry-After; Retry-After wins; either is bounded by the maximum
// wait.
func TestRateLimitResetIsExposedAndHonoured(t *testing.T) {
	ctx := context.Background()
	tooMany := func(reset, retryAfter string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Rate-Limit-Limit", "5")
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			if reset != "" {
				w.Header().Set("X-Rate-Limit-Reset", reset)
			}
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			envTooMany.write(w)
		}
	}
	t.Run("reset waited out, then exposed", func(t *testing.T) {
		s := newSheetServer(t, tooMany("10", ""))
		_, err := s.client.AuthorizedPractices(ctx, sheetRequestKey)
		assertSentinels(t, err, sikka.ErrRateLimited)
		var se *sikka.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 10*time.Second, se.RateLimitReset)
		assert.Zero(t, se.RetryAfter)
		calls, waits := s.recorded()
		assert.Len(t, calls, sikka.DefaultMaxAttempts)
		assert.Equal(t, []time.Duration{10 * time.Second, 10 * time.Second}, waits)
	})
	t.Run("Retry-After wins over the reset", func(t *testing.T) {
		s := newSheetServer(t, tooMany("10", "3"))
		_, err := s.client.RequestKeyInfo(ctx, sheetRequestKey)
		assertSentinels(t, err, sikka.ErrRateLimited)
		_, waits := s.recorded()
		assert.Equal(t, []time.Duration{3 * time.Second, 3 * time.Second}, waits)
	})
	t.Run("a reset beyond the maximum wait ends the call", func(t *testing.T) {
		s := newSheetServer(t, tooMany("60", ""))
		_, err := s.client.RefreshKey(ctx, sheetRefreshKey) // a grant: retried on 429 only
		var se *sikka.Error
		require.ErrorAs(t, err, &se)
		assert.ErrorIs(t, err, sikka.ErrRateLimited)
		assert.Equal(t, time.Minute, se.RateLimitReset)
		calls, waits := s.recorded()
		assert.Len(t, calls, 1)
		assert.Empty(t, waits)
	})
	t.Run("a bounded maximum wait applies to the reset", func(t *testing.T) {
		s := newSheetServer(t, tooMany("10", ""), sikka.WithMaxRetryWait(5*time.Second))
		err := s.client.RevokeKey(ctx, sheetRequestKey)
		assert.ErrorIs(t, err, sikka.ErrRateLimited)
		calls, waits := s.recorded()
		assert.Len(t, calls, 1)
		assert.Empty(t, waits)
	})
	t.Run("the reset of a non-429 answer is exposed, not waited", func(t *testing.T) {
		s := newSheetServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Rate-Limit-Reset", "20")
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		_, err := s.client.RequestKeyInfo(ctx, sheetRequestKey)
		var se *sikka.Error
		require.ErrorAs(t, err, &se)
		assertSentinels(t, err, sikka.ErrUnavailable)
		assert.Equal(t, 20*time.Second, se.RateLimitReset)
		_, waits := s.recorded()
		assert.Equal(t, []time.Duration{time.Millisecond, time.Millisecond}, waits, "the backoff")
	})
}

// RevokeRefreshKey is DELETE /v4/refresh_key with the refresh key and the
// app credentials in headers; 200 API0002 is success.
func TestRevokeRefreshKey(t *testing.T) {
	ctx := context.Background()
	t.Run("documented success", func(t *testing.T) {
		s := newSheetServer(t, envRevoked.handler())
		require.NoError(t, s.client.RevokeRefreshKey(ctx, sheetRefreshKey))
		calls, _ := s.recorded()
		require.Len(t, calls, 1)
		c := calls[0]
		assert.Equal(t, "DELETE /v4/refresh_key", c.method+" "+c.path)
		assert.Equal(t, sheetRefreshKey, c.header.Get("Refresh-Key"))
		assert.Equal(t, sheetAppID, c.header.Get("App-Id"))
		assert.Equal(t, sheetAppKey, c.header.Get("App-Key"))
		assert.Equal(t, "application/json", c.header.Get("Content-Type"))
		assert.Empty(t, c.header.Get("Request-Key"))
		assert.Empty(t, c.query, "no secret in the URL")
		assert.Empty(t, c.body)
	})
	t.Run("bad app credentials", func(t *testing.T) {
		s := newSheetServer(t, envAppCreds.handler())
		err := s.client.RevokeRefreshKey(ctx, sheetRefreshKey)
		assertSentinels(t, err, sikka.ErrUnauthorized)
		assert.NotContains(t, err.Error(), sheetRefreshKey)
		assert.NotContains(t, err.Error(), sheetAppKey)
		assert.Equal(t, "sikka: RevokeRefreshKey: DELETE /v4/refresh_key: 401 Unauthorized: Authentication/Authorization Failed (API2003)", err.Error())
	})
	t.Run("an unknown refresh key", func(t *testing.T) {
		s := newSheetServer(t, envKeyInvalid.handler())
		err := s.client.RevokeRefreshKey(ctx, sheetRefreshKey)
		assertSentinels(t, err)
		var se *sikka.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, "API1004", se.Envelope.ErrorCode)
	})
	t.Run("retried on 503", func(t *testing.T) {
		n := 0
		var mu sync.Mutex
		s := newSheetServer(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			if first {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			envRevoked.write(w)
		})
		require.NoError(t, s.client.RevokeRefreshKey(ctx, sheetRefreshKey))
		calls, _ := s.recorded()
		assert.Len(t, calls, 2)
	})
	t.Run("empty refresh key, without a request", func(t *testing.T) {
		s := newSheetServer(t, envRevoked.handler())
		assertSentinels(t, s.client.RevokeRefreshKey(ctx, ""), sikka.ErrInvalidGrant)
		calls, _ := s.recorded()
		assert.Empty(t, calls)
	})
}

// AuthorizedPractice reads GET /v4/authorized_practices/{office_id}, whose
// answer Sikka does not document, as a list envelope or a bare object.
func TestAuthorizedPractice(t *testing.T) {
	ctx := context.Background()
	const officeID = "D20006"
	itemJSON := func(m map[string]string) string { b, _ := json.Marshal(m); return string(b) }
	shapes := map[string]string{
		"bare object":   itemJSON(practiceItem(officeID, "1")),
		"list envelope": listBody("/v4/authorized_practices/"+officeID, 0, 50, false, practiceItem(officeID, "1-1"), practiceItem(officeID, "1")),
		"bare array":    "[" + itemJSON(practiceItem(officeID, "1")) + "]",
		"array-wrapped list envelope": "[" + listBody("/v4/authorized_practices/"+officeID, 0, 50, false,
			practiceItem(officeID, "1")) + "]",
	}
	for name, body := range shapes {
		t.Run(name, func(t *testing.T) {
			s := newSheetServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, body)
			})
			p, err := s.client.AuthorizedPractice(ctx, officeID)
			require.NoError(t, err)
			assert.Equal(t, officeID, p.OfficeID)
			assert.Equal(t, "1", p.PracticeID, "practice id 1 preferred")
			assert.Equal(t, "secret-of-D20006-1", p.SecretKey)
			assert.Equal(t, "Dentrix", p.PMS)
			calls, _ := s.recorded()
			require.Len(t, calls, 1)
			c := calls[0]
			assert.Equal(t, "GET /v4/authorized_practices/D20006", c.method+" "+c.path)
			assert.Equal(t, sheetAppID, c.header.Get("App-Id"))
			assert.Equal(t, sheetAppKey, c.header.Get("App-Key"))
			assert.Empty(t, c.query)
		})
	}
	absent := map[string]http.HandlerFunc{
		"404 API2009, no list either": envNotFound.handler(),
		"401 API2007": sheetEnvelope{401, "Unauthorized", "API2007", "Not authorized",
			"You are not authorized for this practice.", "", ""}.handler(),
		"403 API2007":            envForbidden.handler(),
		"204":                    func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) },
		"API2005 envelope (200)": envNoContent.handler(),
		"another office listed": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, listBody("/v4/authorized_practices/"+officeID, 0, 50, false, practiceItem("C10001", "1")))
		},
		"bare object without office id": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, `{"office_id":"","practice_name":"x"}`)
		},
	}
	for name, h := range absent {
		t.Run("absent: "+name, func(t *testing.T) {
			s := newSheetServer(t, h)
			p, err := s.client.AuthorizedPractice(ctx, officeID)
			assert.Nil(t, p)
			assertSentinels(t, err, sikka.ErrNoSuchPractice)
			assert.Contains(t, err.Error(), "GET /v4/authorized_practices/D20006")
			calls, _ := s.recorded()
			want := 1
			if strings.HasPrefix(name, "404") {
				want = 2 // the office's path, then the documented list
			}
			assert.Len(t, calls, want, "not retried")
		})
	}
	// A server without the per-office path (it is inferred, not documented) still has the
	// documented list: the office is looked up there.
	for name, listed := range map[string]bool{"listed": true, "not listed": false} {
		t.Run("path not served, office "+name+" in the list", func(t *testing.T) {
			s := newSheetServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v4/authorized_practices" {
					envNotFound.handler()(w, r)
					return
				}
				items := []map[string]string{practiceItem("C10001", "1")}
				if listed {
					items = append(items, practiceItem(officeID, "1"))
				}
				fmt.Fprint(w, listBody("/v4/authorized_practices", 0, 50, false, items...))
			})
			p, err := s.client.AuthorizedPractice(ctx, officeID)
			calls, _ := s.recorded()
			require.Len(t, calls, 2)
			assert.Equal(t, "/v4/authorized_practices", calls[1].path)
			assert.Equal(t, sheetAppID, calls[1].header.Get("App-Id"))
			if !listed {
				assertSentinels(t, err, sikka.ErrNoSuchPractice)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "secret-of-D20006-1", p.SecretKey)
		})
	}
	t.Run("bad app credentials", func(t *testing.T) {
		s := newSheetServer(t, envAppCreds.handler())
		_, err := s.client.AuthorizedPractice(ctx, officeID)
		assertSentinels(t, err, sikka.ErrUnauthorized)
		assert.NotContains(t, err.Error(), sheetAppKey)
	})
	t.Run("office ids that are no path segment", func(t *testing.T) {
		s := newSheetServer(t, envNotFound.handler())
		for _, id := range []string{"", ".", ".."} {
			_, err := s.client.AuthorizedPractice(ctx, id)
			assertSentinels(t, err, sikka.ErrNoSuchPractice)
		}
		calls, _ := s.recorded()
		assert.Empty(t, calls)
		_, err := s.client.AuthorizedPractice(ctx, "a/b?c")
		assertSentinels(t, err, sikka.ErrNoSuchPractice)
		calls, _ = s.recorded()
		require.Len(t, calls, 2, "the office's path, then the list")
		assert.Equal(t, "/v4/authorized_practices/a/b?c", calls[0].path, "escaped as one segment")
		assert.Empty(t, calls[0].query)
	})
}

func TestErrorTextOfTheDocumentedCodes(t *testing.T) {
	s := newSheetServer(t, envKeyExpired.handler())
	_, err := s.client.RequestKeyInfo(context.Background(), sheetRequestKey)
	require.Error(t, err)
	assert.Equal(t, "sikka: RequestKeyInfo: GET /v4/request_key_info: 400 Bad Request: Request key expired (API1025)", err.Error())
	assert.False(t, strings.Contains(err.Error(), sheetRequestKey))
}
