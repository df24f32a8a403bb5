package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/integrationtest"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/internal/syncbuf"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
	"github.com/parlae/sikka-connect/webhook"
)

// The payloads exactly as SIKKA_API.md (section 10) shows them.
const (
	dataRefreshBody = `{"event":"Data_Refresh","office_id":"D24710","practice_id":1,"prev_generated_time":"2019-12-09 14:37:56","next_data_synchronization_date":"2019-12-10 17:15:00","spc_schedule_interval":"25 Minutes","customer_id":"1","data_synchronization_date":"2018-04-04 17:03:07","practice_management_system_refresh_date":"2018-04-04 17:01:21","financial_system_refresh_date":"1111-11-11","web_upload_date":"2018-04-04 17:03:07","data_insert_date":"2018-04-04 17:11:34","practice_management_system_refresh_date_time_zone":"Eastern Standard Time","practice_management_system":"Dentrix","practice_management_system_version":"V16.6","financial_system":"","financial_system_version":"","utc_difference_in_minutes":"240","spc_schedule_time":"5:00 PM","spc_schedule_type":"Daily"}`
	patientBody     = `{"event":"patient","office_id":"D20226","practice_id":"1","customer_id":"1","prev_generated_time":"2019-12-09 14:37:56","next_data_synchronization_date":"2019-12-10 17:15:00","generated_time":"2018-04-04 17:06:00"}`
)

// The keys of the tests: both are secrets the logs must never show.
const (
	keyOld = "cb-key-old-6f1d0c2a"
	keyNew = "cb-key-new-93be77e4"
)

// Offices held by accounts in every test: D24710 (acct-1, the Data_Refresh
// example's) and D20226 (acct-2, the patient example's).
const (
	refreshOffice = "D24710"
	patientOffice = "D20226"
)

var now = time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)

// env is one test's host: a service on a backend, a receiver on a server,
// the events its hook saw, the logs and the clock.
type env struct {
	t     *testing.T
	repo  integration.Repository
	svc   *integration.Service
	url   string
	logs  *syncbuf.Buffer
	mu    sync.Mutex
	seen  chan webhook.Event
	clock time.Time // the service's and the receiver's; starts at now
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(d)
}

type option func(*webhook.Config)

func backends() []string { return []string{"memory", "postgres"} }

func openRepo(t *testing.T, backend string) integration.Repository {
	if backend == "memory" {
		return memory.New()
	}
	repo, db, err := postgres.Open(context.Background(), pgtest.URL(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return repo
}

func newEnv(t *testing.T, repo integration.Repository, opts ...option) *env {
	t.Helper()
	e := &env{t: t, repo: repo, logs: &syncbuf.Buffer{}, seen: make(chan webhook.Event, 100), clock: now}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := integration.NewService(integration.Config{
		Sikka:   sikka.New("app", "app-key", sikka.WithBaseURL("http://127.0.0.1:1")), // never called
		Secrets: secretmemory.New(),
		Records: repo,
		Logger:  log,
		Now:     e.now,
	})
	require.NoError(t, err)
	e.svc = svc
	ctx := context.Background()
	for acct, office := range map[string]string{"acct-1": refreshOffice, "acct-2": patientOffice} {
		if _, err := repo.Get(ctx, acct); errors.Is(err, integration.ErrNotFound) {
			_, err := repo.Upsert(ctx, integrationtest.Record(acct, office))
			require.NoError(t, err)
		}
	}
	cfg := webhook.Config{
		Service: svc,
		Keys:    []string{keyNew},
		Logger:  log,
		Now:     e.now,
		OnEvent: func(_ context.Context, ev webhook.Event) {
			e.seen <- ev
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	rcv, err := webhook.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/sikka/webhook"
	t.Cleanup(func() {
		for _, secret := range []string{keyOld, keyNew} {
			assert.NotContains(t, e.logs.String(), secret, "a callback key reached the logs")
		}
	})
	return e
}

// post delivers body as Sikka does (JSON, with the callback-key header
// unless key is ""), and returns the status and the answer's body. The
// client gives up after a second: every answer must come sooner.
func (e *env) post(key, body string) (int, string) {
	return e.do(http.MethodPost, key, "application/json", body)
}

func (e *env) do(method, key, contentType, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url, strings.NewReader(body))
	require.NoError(e.t, err)
	if key != "" {
		req.Header.Set("callback-key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Timeout: time.Second}).Do(req)
	require.NoError(e.t, err, "the receiver answers within a second")
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, string(raw)
}

// next waits for the hook's next event.
func (e *env) next() webhook.Event {
	e.t.Helper()
	select {
	case ev := <-e.seen:
		return ev
	case <-time.After(5 * time.Second):
		e.t.Fatal("the hook was not called")
		return webhook.Event{}
	}
}

// quiet asserts the hook sees no (further) event.
func (e *env) quiet() {
	e.t.Helper()
	select {
	case ev := <-e.seen:
		e.t.Fatalf("the hook was called with %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

func (e *env) record(acct string) integration.Record {
	e.t.Helper()
	rec, err := e.repo.Get(context.Background(), acct)
	require.NoError(e.t, err)
	return rec
}

// Data_Refresh with the right key: the office's record keeps the refresh,
// and the hook gets the event with its account.
func TestDataRefresh(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, openRepo(t, backend))
			code, _ := e.post(keyNew, dataRefreshBody)
			require.Equal(t, http.StatusNoContent, code)

			rec := e.record("acct-1")
			assert.Equal(t, now, rec.LastDataRefresh, "the receipt time, by the service's clock")
			// "2019-12-10 17:15:00" at utc_difference_in_minutes 240 (UTC-4).
			assert.Equal(t, time.Date(2019, 12, 10, 21, 15, 0, 0, time.UTC), rec.NextDataSync)
			assert.Equal(t, "V16.6", rec.PMSVersion)
			assert.True(t, e.record("acct-2").LastDataRefresh.IsZero(), "another office's record is untouched")

			ev := e.next()
			assert.Equal(t, webhook.EventDataRefresh, ev.Type)
			assert.Equal(t, "acct-1", ev.AccountID)
			assert.Equal(t, refreshOffice, ev.OfficeID)
			assert.Equal(t, "1", ev.PracticeID, "a number in Data_Refresh, text in the event")
			assert.Equal(t, "1", ev.CustomerID)
			assert.Equal(t, time.Date(2019, 12, 9, 18, 37, 56, 0, time.UTC), ev.PrevGeneratedTime)
			assert.Equal(t, rec.NextDataSync, ev.NextDataSync)
			assert.Equal(t, "V16.6", ev.PMSVersion)
			assert.JSONEq(t, dataRefreshBody, string(ev.Payload))
		})
	}
}

// A data-change event reaches the hook with the account of its office.
func TestDataChangeEvents(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, openRepo(t, backend))
			before := e.record("acct-2")
			code, _ := e.post(keyNew, patientBody)
			require.Equal(t, http.StatusNoContent, code)
			ev := e.next()
			assert.Equal(t, webhook.EventPatient, ev.Type)
			assert.Equal(t, "acct-2", ev.AccountID)
			assert.Equal(t, patientOffice, ev.OfficeID)
			assert.Equal(t, "1", ev.PracticeID)
			assert.Equal(t, time.Date(2018, 4, 4, 17, 6, 0, 0, time.UTC), ev.GeneratedTime, "no offset given: read as UTC")
			assert.Equal(t, now, ev.ReceivedAt)
			assert.Equal(t, patientBody, string(ev.Payload))
			assert.Equal(t, before, e.record("acct-2"), "a data-change event changes no record")

			for _, kind := range []string{webhook.EventTransaction, webhook.EventAppointments} {
				body := strings.Replace(patientBody, `"patient"`, `"`+kind+`"`, 1)
				code, _ := e.post(keyNew, body)
				require.Equal(t, http.StatusNoContent, code)
				ev := e.next()
				assert.Equal(t, kind, ev.Type)
				assert.Equal(t, "acct-2", ev.AccountID)
			}
		})
	}
}

// A wrong or missing key: 401, nothing recorded, no hook.
func TestBadKey(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, openRepo(t, backend))
			before := e.record("acct-1")
			for name, key := range map[string]string{
				"wrong": keyOld, "missing": "", "prefix": keyNew[:len(keyNew)-1], "longer": keyNew + "x",
			} {
				code, body := e.post(key, dataRefreshBody)
				assert.Equal(t, http.StatusUnauthorized, code, name)
				assert.NotContains(t, body, keyNew)
			}
			e.quiet()
			assert.Equal(t, before, e.record("acct-1"), "nothing changed")
			assert.Contains(t, e.logs.String(), "callback-key matches no configured key")

			// Then the right key still works: a refused delivery was not remembered.
			code, _ := e.post(keyNew, dataRefreshBody)
			assert.Equal(t, http.StatusNoContent, code)
			e.next()
		})
	}
}

// While two keys are configured, both are accepted: a key rotates without a
// refused delivery.
func TestRotatedKeys(t *testing.T) {
	e := newEnv(t, memory.New(), func(c *webhook.Config) { c.Keys = []string{keyOld, keyNew} })
	code, _ := e.post(keyOld, patientBody)
	assert.Equal(t, http.StatusNoContent, code)
	e.next()
	code, _ = e.post(keyNew, strings.Replace(patientBody, "17:06:00", "17:07:00", 1))
	assert.Equal(t, http.StatusNoContent, code)
	e.next()
	code, _ = e.post("cb-key-other", patientBody)
	assert.Equal(t, http.StatusUnauthorized, code)

	// Once the old key is dropped, it is refused.
	e2 := newEnv(t, memory.New())
	code, _ = e2.post(keyOld, patientBody)
	assert.Equal(t, http.StatusUnauthorized, code)
}

// A delivery Sikka sends again is answered 204 and handled once.
func TestDuplicate(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			repo := openRepo(t, backend)
			e := newEnv(t, repo)
			for range 3 {
				code, _ := e.post(keyNew, patientBody)
				require.Equal(t, http.StatusNoContent, code)
			}
			e.next()
			e.quiet()
			assert.Equal(t, 2, strings.Count(e.logs.String(), "duplicate delivery ignored"))

			// A Data_Refresh sent again does not move the last refresh.
			code, _ := e.post(keyNew, dataRefreshBody)
			require.Equal(t, http.StatusNoContent, code)
			e.next()
			first := e.record("acct-1").LastDataRefresh
			e.advance(time.Minute) // a second handling would record a later time
			code, _ = e.post(keyNew, dataRefreshBody)
			require.Equal(t, http.StatusNoContent, code)
			e.quiet()
			assert.Equal(t, first, e.record("acct-1").LastDataRefresh)

			// Another generation of the same office is no duplicate.
			code, _ = e.post(keyNew, strings.Replace(patientBody, "17:06:00", "17:31:00", 1))
			require.Equal(t, http.StatusNoContent, code)
			e.next()
		})
	}
}

// An office no account holds ACTIVE: 204 (Sikka keeps the webhook on),
// logged, no hook, nothing written.
func TestUnknownOffice(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			repo := openRepo(t, backend)
			e := newEnv(t, repo)
			ctx := context.Background()
			require.NoError(t, repo.SetStatus(ctx, "acct-2", integration.StatusRevoked))
			before1, before2 := e.record("acct-1"), e.record("acct-2")

			for _, body := range []string{
				strings.Replace(patientBody, patientOffice, "D00000", 1),
				strings.Replace(dataRefreshBody, refreshOffice, "D00000", 1),
				patientBody, // acct-2's record is REVOKED
				strings.Replace(dataRefreshBody, refreshOffice, patientOffice, 1),
			} {
				code, _ := e.post(keyNew, body)
				assert.Equal(t, http.StatusNoContent, code)
			}
			e.quiet()
			assert.Equal(t, before1, e.record("acct-1"))
			assert.Equal(t, before2, e.record("acct-2"))
			logs := e.logs.String()
			assert.Equal(t, 4, strings.Count(logs, "office no account holds ACTIVE"), logs)
			assert.Contains(t, logs, "office_id=D00000")

			// Once the office is connected, Sikka's next delivery is handled.
			require.NoError(t, repo.SetStatus(ctx, "acct-2", integration.StatusActive))
			code, _ := e.post(keyNew, patientBody)
			assert.Equal(t, http.StatusNoContent, code)
			assert.Equal(t, "acct-2", e.next().AccountID)
		})
	}
}

// What is not a delivery is refused, and nothing changes.
func TestRefusedRequests(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, openRepo(t, backend))
			before := e.record("acct-1")
			big := `{"event":"Data_Refresh","office_id":"D24710","pad":"` + strings.Repeat("x", webhook.DefaultMaxBody) + `"}`
			for _, tc := range []struct {
				name, method, contentType, body string
				code                            int
			}{
				{"not JSON", "POST", "application/json", `{"event":"Data_Refresh",`, 400},
				{"an array", "POST", "application/json", `[` + dataRefreshBody + `]`, 400},
				{"null", "POST", "application/json", `null`, 400},
				{"empty", "POST", "application/json", ``, 400},
				{"no event", "POST", "application/json", `{"office_id":"D24710"}`, 400},
				{"no office", "POST", "application/json", `{"event":"Data_Refresh","practice_id":1}`, 400},
				{"object office", "POST", "application/json", `{"event":"Data_Refresh","office_id":{"id":"D24710"}}`, 400},
				{"trailing data", "POST", "application/json", dataRefreshBody + `{}`, 400},
				{"wrong content type", "POST", "text/plain", dataRefreshBody, 415},
				{"no content type", "POST", "", dataRefreshBody, 415},
				{"form", "POST", "application/x-www-form-urlencoded", "event=Data_Refresh&office_id=D24710", 415},
				{"oversize", "POST", "application/json", big, 413},
				{"GET", "GET", "", "", 405},
				{"PUT", "PUT", "application/json", dataRefreshBody, 405},
			} {
				code, _ := e.do(tc.method, keyNew, tc.contentType, tc.body)
				assert.Equal(t, tc.code, code, tc.name)
			}
			e.quiet()
			assert.Equal(t, before, e.record("acct-1"), "nothing changed")

			// JSON with a charset parameter is JSON.
			code, _ := e.do("POST", keyNew, "application/json; charset=utf-8", dataRefreshBody)
			assert.Equal(t, http.StatusNoContent, code)
		})
	}
}

// A 405 names the method allowed.
func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, memory.New())
	req, err := http.NewRequest(http.MethodGet, e.url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))
}

// A hook that blocks delays no answer; past MaxHooks running, events are
// dropped and logged, still answered 204.
func TestBlockingHook(t *testing.T) {
	release := make(chan struct{})
	var calls sync.WaitGroup
	e := newEnv(t, memory.New(), func(c *webhook.Config) {
		c.MaxHooks = 2
		c.OnEvent = func(ctx context.Context, _ webhook.Event) {
			defer calls.Done()
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	calls.Add(2)
	for i := range 5 {
		body := strings.Replace(patientBody, "17:06:00", fmt.Sprintf("17:06:0%d", i), 1)
		code, _ := e.post(keyNew, body) // fails if the answer takes a second
		assert.Equal(t, http.StatusNoContent, code)
	}
	assert.Equal(t, 3, strings.Count(e.logs.String(), "webhook: hook dropped"), e.logs.String())
	close(release)
	calls.Wait()

	// A hook past its timeout is cancelled.
	done := make(chan error, 1)
	e2 := newEnv(t, memory.New(), func(c *webhook.Config) {
		c.HookTimeout = 20 * time.Millisecond
		c.OnEvent = func(ctx context.Context, _ webhook.Event) {
			<-ctx.Done()
			done <- ctx.Err()
		}
	})
	code, _ := e2.post(keyNew, patientBody)
	require.Equal(t, http.StatusNoContent, code)
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("the hook's context never ended")
	}
}

// A hook that panics is logged; the receiver serves on.
func TestPanickingHook(t *testing.T) {
	e := newEnv(t, memory.New(), func(c *webhook.Config) {
		c.OnEvent = func(context.Context, webhook.Event) { panic("host bug") }
	})
	code, _ := e.post(keyNew, patientBody)
	require.Equal(t, http.StatusNoContent, code)
	require.Eventually(t, func() bool { return strings.Contains(e.logs.String(), "webhook: hook panicked") },
		5*time.Second, 5*time.Millisecond)
	assert.Contains(t, e.logs.String(), "panic=\"host bug\"")
	code, _ = e.post(keyNew, dataRefreshBody)
	assert.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, now, e.record("acct-1").LastDataRefresh)
}

// failingRepo fails the data-refresh writes while fail is set.
type failingRepo struct {
	integration.Repository
	mu   sync.Mutex
	fail bool
}

func (f *failingRepo) RecordDataRefresh(ctx context.Context, p integration.Provider, office string, at time.Time, d integration.DataRefresh) (integration.Record, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return integration.Record{}, errors.New("database is down")
	}
	return f.Repository.RecordDataRefresh(ctx, p, office, at, d)
}

// A storage failure answers 500, so that Sikka retries, and the retry is
// handled (not taken for a duplicate).
func TestStorageFailureIsRetried(t *testing.T) {
	repo := &failingRepo{Repository: memory.New(), fail: true}
	e := newEnv(t, repo)
	code, _ := e.post(keyNew, dataRefreshBody)
	assert.Equal(t, http.StatusInternalServerError, code)
	e.quiet()
	assert.True(t, e.record("acct-1").LastDataRefresh.IsZero())
	assert.Contains(t, e.logs.String(), "database is down")

	repo.mu.Lock()
	repo.fail = false
	repo.mu.Unlock()
	code, _ = e.post(keyNew, dataRefreshBody)
	assert.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, now, e.record("acct-1").LastDataRefresh)
	e.next()
}

// New refuses a config it cannot serve, saying what to set.
func TestNewChecksConfig(t *testing.T) {
	svc, err := integration.NewService(integration.Config{Sikka: sikka.New("a", "k"), Secrets: secretmemory.New(), Records: memory.New()})
	require.NoError(t, err)
	for name, cfg := range map[string]webhook.Config{
		"no service": {Keys: []string{keyNew}},
		"no keys":    {Service: svc},
		"empty key":  {Service: svc, Keys: []string{keyNew, ""}},
	} {
		_, err := webhook.New(cfg)
		assert.Error(t, err, name)
	}
	_, err = webhook.New(webhook.Config{Service: svc, Keys: []string{keyNew}})
	assert.NoError(t, err)
}

// The events arrive in the payload's mixed types, whatever Sikka picks.
func TestMixedTypes(t *testing.T) {
	e := newEnv(t, memory.New())
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(patientBody), &p))
	p["practice_id"] = 7                 // a number where the example has a string
	p["customer_id"] = nil               // null
	p["utc_difference_in_minutes"] = -60 // a number, UTC+1
	b, err := json.Marshal(p)
	require.NoError(t, err)
	code, _ := e.post(keyNew, string(bytes.TrimSpace(b)))
	require.Equal(t, http.StatusNoContent, code)
	ev := e.next()
	assert.Equal(t, "7", ev.PracticeID)
	assert.Empty(t, ev.CustomerID)
	assert.Equal(t, time.Date(2018, 4, 4, 16, 6, 0, 0, time.UTC), ev.GeneratedTime)
}

// Sikka's retries racing each other: of many concurrent copies of one
// delivery, the hook sees one.
func TestConcurrentDuplicates(t *testing.T) {
	e := newEnv(t, memory.New())
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, e.url, strings.NewReader(patientBody))
			if !assert.NoError(t, err) {
				return
			}
			req.Header.Set("callback-key", keyNew)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if assert.NoError(t, err) {
				resp.Body.Close()
				assert.Equal(t, http.StatusNoContent, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	e.next()
	e.quiet()
	assert.Equal(t, 19, strings.Count(e.logs.String(), "duplicate delivery ignored"))
}
