package mocksikka_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookKey is the callback key of the tests' webhook targets.
const hookKey = "cb-Secret-7f3a9c"

// received is one request a receiver got.
type received struct {
	method string
	header http.Header
	body   []byte
}

// receiver is a webhook target: an httptest.Server that records every request and answers
// the status status returns for the n-th request (1-based).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status func(n int) int
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Method, req.Header.Clone(), b})
		n := len(r.got)
		r.mu.Unlock()
		w.WriteHeader(r.status(n))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func always(status int) func(int) int { return func(int) int { return status } }

// webhook is a target of the default app at r.
func (r *receiver) webhook(events ...string) mocksikka.Webhook {
	return mocksikka.Webhook{URL: r.srv.URL + "/sikka/webhook", Key: hookKey, Events: events}
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// wait returns the requests once there are at least n, failing the test after 5 s.
func (r *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.requests()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d requests, want %d", len(got), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// quiet asserts that the receiver still has n requests a moment later.
func (r *receiver) quiet(t *testing.T, n int, why string) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	assert.Len(t, r.requests(), n, why)
}

// waitDelivery waits until delivery id is in state, and returns it.
func waitDelivery(t *testing.T, m *mocksikka.Server, id int, state string) mocksikka.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, d := range m.WebhookDeliveries() {
			if d.ID == id && d.State == state {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %d never reached %q: %+v", id, state, m.WebhookDeliveries())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// sheetExample returns the JSON example that follows "<name>:" in section 10 of the sheet.
func sheetExample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../docs/SIKKA_SHEET.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), name+":\n```json\n")
	require.True(t, ok, "no %s example in the sheet", name)
	ex, _, _ := strings.Cut(rest, "\n```")
	return []byte(ex)
}

// shape is a JSON object's keys in order, each with its JSON type.
func shape(t *testing.T, b []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	tok, err := d.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok, "%s", b)
	var out []string
	for d.More() {
		k, err := d.Token()
		require.NoError(t, err)
		v, err := d.Token()
		require.NoError(t, err)
		out = append(out, fmt.Sprintf("%s:%T", k, v))
	}
	return out
}

func TestWebhookPayloadsAsDocumented(t *testing.T) {
	r := newReceiver(t, always(200))
	e := newEnv(t, mocksikka.WithWebhooks(r.webhook()))
	t.Cleanup(e.mock.Close)

	res := e.do("POST", "/_mock/webhooks/trigger", map[string]string{"event": "Data_Refresh", "office_id": mocksikka.DefaultOfficeID})
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
	got := r.wait(t, 1)
	assert.Equal(t, http.MethodPost, got[0].method)
	assert.Equal(t, []string{hookKey}, got[0].header.Values("callback-key"))
	assert.Equal(t, "application/json", got[0].header.Get("Content-Type"))
	assert.Equal(t, shape(t, sheetExample(t, "Data_Refresh")), shape(t, got[0].body), "the keys, their order and types of Sikka's example")
	// Times in the practice's local time: t0 (04:00:28 UTC) less utc_difference_in_minutes (300).
	assert.JSONEq(t, `{"event":"Data_Refresh","office_id":"D36225","practice_id":1,
		"prev_generated_time":"2026-02-09 23:00:28","next_data_synchronization_date":"2026-02-09 23:25:28",
		"spc_schedule_interval":"25 Minutes","customer_id":"36225",
		"data_synchronization_date":"2026-02-09 23:00:28","practice_management_system_refresh_date":"2026-02-09 23:00:28",
		"financial_system_refresh_date":"1111-11-11","web_upload_date":"2026-02-09 23:00:28","data_insert_date":"2026-02-09 23:00:28",
		"practice_management_system_refresh_date_time_zone":"Eastern Standard Time",
		"practice_management_system":"Dentrix","practice_management_system_version":"G7",
		"financial_system":"","financial_system_version":"","utc_difference_in_minutes":"300",
		"spc_schedule_time":"11:00 PM","spc_schedule_type":"Daily"}`, string(got[0].body))

	// The data events, as a completed writeback raises them.
	for i, ev := range []string{"patient", "transaction", "appointments"} {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		e.mock.DataChanged(mocksikka.DataChange{Event: ev, OfficeID: mocksikka.DefaultOfficeID, PracticeID: "1", Time: at})
		got = r.wait(t, 2+i)
		body := got[1+i].body
		assert.Equal(t, hookKey, got[1+i].header.Get("callback-key"))
		assert.Equal(t, shape(t, sheetExample(t, "patient")), shape(t, body), "%s: the shape of Sikka's patient example", ev)
		assert.JSONEq(t, `{"event":"`+ev+`","office_id":"D36225","practice_id":"1","customer_id":"36225",
			"prev_generated_time":"2026-02-10 04:00:28","next_data_synchronization_date":"2026-02-10 04:25:28",
			"generated_time":"`+at.Format(time.DateTime)+`"}`, string(body))
	}
	// prev_generated_time is the previous event of the kind for that practice.
	e.mock.DataChanged(mocksikka.DataChange{Event: "patient", OfficeID: mocksikka.DefaultOfficeID, Time: t0.Add(time.Hour)})
	body := r.wait(t, 5)[4].body
	assert.Contains(t, string(body), `"prev_generated_time":"2026-02-10 04:01:28"`)
	assert.Contains(t, string(body), `"generated_time":"2026-02-10 05:00:28"`)

	// A practice id that is not a whole number stays a string in Data_Refresh.
	require.NoError(t, e.mock.AddPractice(mocksikka.Practice{OfficeID: "C10001", PracticeID: "1-0", SecretKey: "k", Name: "Multi"}))
	_, err := e.mock.TriggerWebhook("Data_Refresh", "C10001", "")
	require.NoError(t, err)
	assert.Contains(t, string(r.wait(t, 6)[5].body), `"practice_id":"1-0"`)
}

func TestWebhookTrigger(t *testing.T) {
	r := newReceiver(t, always(204))
	e := newEnv(t, mocksikka.WithWebhooks(r.webhook()))
	t.Cleanup(e.mock.Close)
	trigger := func(body map[string]string) response { return e.do("POST", "/_mock/webhooks/trigger", body) }

	res := trigger(map[string]string{"event": "appointments", "office_id": mocksikka.MapleLeafOfficeID})
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
	var ds []mocksikka.WebhookDelivery
	require.NoError(t, json.Unmarshal(res.body, &ds))
	require.Len(t, ds, 2, "one delivery per practice of the office")
	assert.Equal(t, []string{"1", "2"}, []string{ds[0].PracticeID, ds[1].PracticeID})
	r.wait(t, 2)
	waitDelivery(t, e.mock, ds[0].ID, "delivered")
	d := waitDelivery(t, e.mock, ds[1].ID, "delivered")
	require.Len(t, d.Attempts, 1)
	assert.Equal(t, 204, d.Attempts[0].Status)
	assert.Equal(t, t0, d.Attempts[0].Time, "attempts are timed on the mock clock")

	res = trigger(map[string]string{"event": "patient", "office_id": mocksikka.MapleLeafOfficeID, "practice_id": "2"})
	require.NoError(t, json.Unmarshal(res.body, &ds))
	require.Len(t, ds, 1)
	assert.Contains(t, string(r.wait(t, 3)[2].body), `"practice_id":"2"`)

	trigger(map[string]string{"event": "claims", "office_id": mocksikka.DefaultOfficeID}).envelope(t, 400)
	trigger(map[string]string{"office_id": mocksikka.DefaultOfficeID}).envelope(t, 400)
	trigger(map[string]string{"event": "patient", "office_id": "NOPE"}).envelope(t, 404)
	trigger(map[string]string{"event": "patient", "office_id": mocksikka.DefaultOfficeID, "practice_id": "9"}).envelope(t, 404)
	r.quiet(t, 3, "a refused trigger sends nothing")

	res = e.do("GET", "/_mock/webhooks/deliveries", nil)
	require.Equal(t, 200, res.status)
	var all []map[string]any
	require.NoError(t, json.Unmarshal(res.body, &all))
	require.Len(t, all, 3)
	assert.Equal(t, "delivered", all[2]["state"])
	assert.Equal(t, "patient", all[2]["payload"].(map[string]any)["event"], "the payload sent is shown")
}

func TestWebhookDataRefreshSchedule(t *testing.T) {
	r := newReceiver(t, always(200))
	e := newEnv(t, mocksikka.WithWebhooks(r.webhook()))
	t.Cleanup(e.mock.Close)

	e.mock.Advance(mocksikka.DefaultDataRefreshInterval - time.Second)
	r.quiet(t, 0, "nothing before the interval has passed")
	e.mock.Advance(time.Second)
	got := r.wait(t, 4)
	var offices []string
	for _, g := range got {
		var p map[string]any
		require.NoError(t, json.Unmarshal(g.body, &p))
		assert.Equal(t, "Data_Refresh", p["event"])
		assert.Equal(t, "2026-02-09 23:25:28", p["data_synchronization_date"], "t0+25m, local (UTC-5)")
		assert.Equal(t, "2026-02-09 23:50:28", p["next_data_synchronization_date"])
		offices = append(offices, fmt.Sprint(p["office_id"], "/", p["practice_id"]))
	}
	assert.ElementsMatch(t, []string{"D36225/1", "D48213/1", "D48213/2", "D77104/1"}, offices, "one per practice")

	e.mock.Advance(3 * time.Hour)
	r.wait(t, 8)
	r.quiet(t, 8, "a clock moved past several ticks sends one refresh per practice")

	// The admin API changes the interval (from now) and turns it off.
	res := e.do("PUT", "/_mock/webhooks/settings", map[string]any{"data_refresh_interval": "10m"})
	require.Equal(t, 200, res.status, "body: %s", res.body)
	assert.JSONEq(t, `{"data_refresh_interval":"10m0s","retry_intervals":["1m0s","5m0s","15m0s","30m0s","1h0m0s"],"timeout":"10s"}`, string(res.body))
	e.mock.Advance(10 * time.Minute)
	assert.Contains(t, string(r.wait(t, 12)[11].body), `"spc_schedule_interval":"10 Minutes"`)
	require.Equal(t, 200, e.do("PUT", "/_mock/webhooks/settings", map[string]any{"data_refresh_interval": "0s"}).status)
	e.mock.Advance(24 * time.Hour)
	r.quiet(t, 12, "interval 0 turns the schedule off")
	e.do("PUT", "/_mock/webhooks/settings", map[string]any{"retry_intervals": []string{}}).envelope(t, 400)
	e.do("PUT", "/_mock/webhooks/settings", map[string]any{"timeout": "-1s"}).envelope(t, 400)

	// Reset restores the configured schedule.
	e.mock.Reset()
	e.mock.Advance(mocksikka.DefaultDataRefreshInterval)
	r.wait(t, 16)
}

func TestWebhookDataRefreshOnRealClock(t *testing.T) {
	r := newReceiver(t, always(200))
	m := mocksikka.New(mocksikka.WithWebhooks(r.webhook("Data_Refresh")), mocksikka.WithDataRefreshInterval(30*time.Millisecond))
	t.Cleanup(m.Close)
	got := r.wait(t, 4) // by the scheduler's timer: no request, no Advance
	assert.Contains(t, string(got[0].body), `"event":"Data_Refresh"`)
	assert.Contains(t, string(got[0].body), `"spc_schedule_interval":"0.03 Seconds"`)
}

func TestWebhookRetriesThenSucceeds(t *testing.T) {
	r := newReceiver(t, func(n int) int {
		if n == 1 {
			return 500
		}
		return 200
	})
	e := newEnv(t, mocksikka.WithWebhooks(r.webhook("patient")))
	t.Cleanup(e.mock.Close)
	ds, err := e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "1")
	require.NoError(t, err)
	require.Len(t, ds, 1)
	r.wait(t, 1)
	d := waitDelivery(t, e.mock, ds[0].ID, "pending")
	require.NotNil(t, d.NextAttempt)
	assert.Equal(t, t0.Add(time.Minute), *d.NextAttempt, "retry 1 after the first interval on the mock clock")

	e.mock.Advance(59 * time.Second)
	r.quiet(t, 1, "no retry before its interval")
	e.mock.Advance(time.Second)
	got := r.wait(t, 2)
	assert.Equal(t, got[0].body, got[1].body, "a retry sends the same payload")
	assert.Equal(t, hookKey, got[1].header.Get("callback-key"))
	d = waitDelivery(t, e.mock, ds[0].ID, "delivered")
	assert.Equal(t, []int{500, 200}, []int{d.Attempts[0].Status, d.Attempts[1].Status})
	assert.Nil(t, d.NextAttempt)
	assert.True(t, e.mock.Webhooks()[0].Active)
}

func TestWebhookDeactivatedAfterFifthRetryAndReactivated(t *testing.T) {
	var mu sync.Mutex
	status := 500
	r := newReceiver(t, func(int) int { mu.Lock(); defer mu.Unlock(); return status })
	e := newEnv(t, mocksikka.WithWebhooks(r.webhook("patient")))
	t.Cleanup(e.mock.Close)
	ds, err := e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	r.wait(t, 1)
	for i, wait := range mocksikka.DefaultWebhookRetryIntervals() {
		waitDelivery(t, e.mock, ds[0].ID, "pending")
		e.mock.Advance(wait)
		r.wait(t, i+2)
	}
	d := waitDelivery(t, e.mock, ds[0].ID, "failed")
	assert.Len(t, d.Attempts, 1+mocksikka.WebhookRetries)
	assert.Contains(t, d.Reason, "made inactive")
	hooks := e.mock.Webhooks()
	require.Len(t, hooks, 1)
	assert.False(t, hooks[0].Active)

	mu.Lock()
	status = 200
	mu.Unlock()
	res := e.do("POST", "/_mock/webhooks/trigger", map[string]string{"event": "patient", "office_id": mocksikka.DefaultOfficeID})
	require.Equal(t, http.StatusAccepted, res.status)
	assert.JSONEq(t, `[]`, string(res.body), "an inactive webhook gets no delivery")
	e.mock.DataChanged(mocksikka.DataChange{Event: "patient", OfficeID: mocksikka.DefaultOfficeID})
	e.mock.Advance(24 * time.Hour)
	r.quiet(t, 6, "an inactive webhook is sent nothing more")

	res = e.do("POST", "/_mock/webhooks/reactivate", map[string]string{"id": hooks[0].ID})
	require.Equal(t, 200, res.status, "body: %s", res.body)
	assert.Contains(t, string(res.body), `"active":true`)
	e.do("POST", "/_mock/webhooks/reactivate", map[string]string{"id": "99"}).envelope(t, 404)
	ds, err = e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	require.Len(t, ds, 1)
	r.wait(t, 7)
	waitDelivery(t, e.mock, ds[0].ID, "delivered")
}

func TestWebhookRetriesOnRealClockAndTimeout(t *testing.T) {
	block := make(chan struct{})
	r := newReceiver(t, always(200))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.ReadAll(req.Body) // then the server notices the client going away
		select {
		case <-block:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(block) })
	m := mocksikka.New(mocksikka.WithDataRefreshInterval(0),
		mocksikka.WithWebhooks(mocksikka.Webhook{URL: slow.URL, Key: hookKey}, r.webhook()),
		mocksikka.WithWebhookRetryIntervals(10*time.Millisecond), mocksikka.WithWebhookTimeout(100*time.Millisecond))
	t.Cleanup(m.Close)
	ds, err := m.TriggerWebhook("transaction", mocksikka.DefaultOfficeID, "1")
	require.NoError(t, err)
	require.Len(t, ds, 2)
	r.wait(t, 1)
	d := waitDelivery(t, m, ds[0].ID, "failed") // the timer drives the 5 retries of a real clock
	require.Len(t, d.Attempts, 6)
	for _, a := range d.Attempts {
		assert.Equal(t, 0, a.Status)
		assert.Equal(t, "timeout after 100ms", a.Error)
	}
	assert.False(t, m.Webhooks()[0].Active)
	assert.True(t, m.Webhooks()[1].Active, "the other target is unaffected")
}

func TestWebhookSPUOffline(t *testing.T) {
	r := newReceiver(t, always(200))
	e := newEnv(t, mocksikka.WithWebhooks(r.webhook()))
	t.Cleanup(e.mock.Close)
	require.NoError(t, e.mock.SetSPUOnline(mocksikka.DefaultOfficeID, false))

	ds, err := e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, "held", ds[0].State)
	e.mock.Advance(mocksikka.DefaultDataRefreshInterval)
	got := r.wait(t, 3)
	r.quiet(t, 3, "the scheduled refresh skips the offline office, and its held event stays held")
	for _, g := range got {
		assert.NotContains(t, string(g.body), mocksikka.DefaultOfficeID)
	}
	assert.Equal(t, "held", waitDelivery(t, e.mock, ds[0].ID, "held").State)

	require.Equal(t, 200, e.do("POST", "/_mock/spu", map[string]any{"office_id": mocksikka.DefaultOfficeID, "online": true}).status)
	got = r.wait(t, 4)
	assert.Contains(t, string(got[3].body), `"event":"patient","office_id":"D36225"`, "held deliveries go out when the SPU is back")
	waitDelivery(t, e.mock, ds[0].ID, "delivered")
}

func TestWebhookTargetsFollowAuthorizedOffices(t *testing.T) {
	def := newReceiver(t, always(200))
	other := newReceiver(t, always(200))
	e := newEnv(t, mocksikka.WithWebhooks(def.webhook()))
	t.Cleanup(e.mock.Close)
	require.NoError(t, e.mock.AddApp(mocksikka.App{ID: "app2", Key: "app2-key"}))
	res := e.do("POST", "/_mock/webhooks", map[string]any{"app_id": "app2", "url": other.srv.URL, "callback_key": "k2", "events": []string{"patient"}})
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	assert.NotContains(t, string(res.body), "k2")

	ds, err := e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	require.Len(t, ds, 1, "app2 is not onboarded and no office authorized it")
	assert.Equal(t, "1", ds[0].WebhookID)
	def.wait(t, 1)

	_, err = e.mock.IssueCode("app2", mocksikka.DefaultOfficeID) // the office authorizes app2
	require.NoError(t, err)
	ds, err = e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	require.Len(t, ds, 2)
	assert.Equal(t, "k2", other.wait(t, 1)[0].header.Get("callback-key"))
	ds, err = e.mock.TriggerWebhook("transaction", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	assert.Len(t, ds, 1, "app2's target takes only patient")
}

func TestWebhookAdmin(t *testing.T) {
	r := newReceiver(t, always(200))
	e := newEnv(t, mocksikka.WithWebhooks(r.webhook()))
	t.Cleanup(e.mock.Close)
	list := func() []mocksikka.WebhookStatus {
		res := e.do("GET", "/_mock/webhooks", nil)
		require.Equal(t, 200, res.status)
		var out []mocksikka.WebhookStatus
		require.NoError(t, json.Unmarshal(res.body, &out))
		return out
	}
	require.Equal(t, []mocksikka.WebhookStatus{{ID: "1", AppID: mocksikka.DefaultAppID, URL: r.srv.URL + "/sikka/webhook",
		Events: []string{"Data_Refresh", "patient", "transaction", "appointments"}, Active: true}}, list())

	for name, body := range map[string]map[string]any{
		"no key":        {"url": r.srv.URL},
		"no url":        {"callback_key": "k"},
		"relative url":  {"url": "/hook", "callback_key": "k"},
		"ftp url":       {"url": "ftp://example.com/x", "callback_key": "k"},
		"unknown event": {"url": r.srv.URL, "callback_key": "k", "events": []string{"claims"}},
		"unknown field": {"url": r.srv.URL, "callback_key": "k", "secret": "x"},
	} {
		e.do("POST", "/_mock/webhooks", body).envelope(t, 400)
		_ = name
	}
	e.do("POST", "/_mock/webhooks", map[string]any{"app_id": "nope", "url": r.srv.URL, "callback_key": "k"}).envelope(t, 404)

	res := e.do("POST", "/_mock/webhooks", map[string]any{"url": r.srv.URL + "/two?token=abc&office_id=D1", "callback_key": "k"})
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	var st mocksikka.WebhookStatus
	require.NoError(t, json.Unmarshal(res.body, &st))
	assert.Equal(t, "2", st.ID)
	assert.Equal(t, r.srv.URL+"/two?office_id=D1&token=***", st.URL, "query values are masked")
	require.Len(t, list(), 2)

	e.do("DELETE", "/_mock/webhooks", map[string]string{"id": "7"}).envelope(t, 404)
	require.Equal(t, 200, e.do("DELETE", "/_mock/webhooks", map[string]string{"id": "1"}).status)
	assert.Equal(t, "2", list()[0].ID)
	require.Equal(t, 200, e.do("DELETE", "/_mock/webhooks", nil).status)
	assert.Empty(t, list())
	ds, err := e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	assert.Empty(t, ds)

	require.Equal(t, 200, e.do("POST", "/_mock/reset", nil).status)
	assert.Len(t, list(), 1, "Reset restores the configured targets")
	assert.Equal(t, 415, e.do("POST", "/_mock/webhooks/trigger", `{"event":"patient","office_id":"D36225"}`, "Content-Type", "text/plain").status)
}

func TestWebhookSecretsStayOut(t *testing.T) {
	const urlSecret = "urltoken-5b1e"
	var logs syncBuffer
	r := newReceiver(t, func(n int) int { return []int{500, 200}[min(n, 2)-1] })
	w := mocksikka.Webhook{URL: r.srv.URL + "/hook?token=" + urlSecret, Key: hookKey}
	e := newEnv(t, mocksikka.WithWebhooks(w), mocksikka.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))),
		mocksikka.WithWebhookRetryIntervals(time.Second))
	t.Cleanup(e.mock.Close)
	ds, err := e.mock.TriggerWebhook("Data_Refresh", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	r.wait(t, 1)
	waitDelivery(t, e.mock, ds[0].ID, "pending")
	e.mock.Advance(time.Second)
	waitDelivery(t, e.mock, ds[0].ID, "delivered")
	assert.Equal(t, hookKey, r.requests()[1].header.Get("callback-key"))

	slog.New(slog.NewTextHandler(&logs, nil)).Info("a user logs the webhook", "webhook", w)
	seen := []string{logs.String(), fmt.Sprint(w), fmt.Sprintf("%+v %#v %s", w, w, w)}
	for _, path := range []string{"/_mock/webhooks", "/_mock/webhooks/deliveries", "/_mock/journal"} {
		seen = append(seen, string(e.do("GET", path, nil).body))
	}
	assert.Contains(t, logs.String(), `"msg":"mocksikka webhook"`, "each attempt is logged")
	for _, s := range seen {
		assert.NotContains(t, s, hookKey)
		assert.NotContains(t, s, urlSecret)
	}
}

func TestWebhookCloseStopsSending(t *testing.T) {
	started := make(chan struct{}, 10)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.ReadAll(req.Body) // then the server notices the client going away
		started <- struct{}{}
		<-req.Context().Done()
	}))
	t.Cleanup(hang.Close)
	r := newReceiver(t, always(200))
	m := mocksikka.New(mocksikka.WithClock(t0),
		mocksikka.WithWebhooks(mocksikka.Webhook{URL: hang.URL, Key: hookKey, Events: []string{"patient"}}, r.webhook("transaction")))
	_, err := m.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	<-started
	closed := make(chan struct{})
	go func() { m.Close(); close(closed) }()
	select {
	case <-closed: // the hanging delivery was cancelled, not waited out for 10 s
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a delivery hung")
	}
	ds, err := m.TriggerWebhook("transaction", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	require.Len(t, ds, 1)
	m.Advance(time.Hour)
	r.quiet(t, 0, "nothing is sent after Close")
}

func TestWebhookConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := dir + "/c.json"
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	c, err := mocksikka.LoadConfig(write(`{"webhooks":[{"url":"http://127.0.0.1:9/hook","callback_key":"k","events":["patient"]}],
		"data_refresh_interval":"0s","webhook_retry_intervals":["1s","2s"],"webhook_timeout":"3s"}`))
	require.NoError(t, err)
	m := mocksikka.New(c.Options()...)
	t.Cleanup(m.Close)
	assert.Equal(t, mocksikka.WebhookSettings{RetryIntervals: []time.Duration{time.Second, 2 * time.Second}, Timeout: 3 * time.Second}, m.WebhookSettings())
	require.Len(t, m.Webhooks(), 1)
	assert.Equal(t, []string{"patient"}, m.Webhooks()[0].Events)

	for _, bad := range []string{
		`{"webhooks":[{"url":"http://127.0.0.1:9/hook"}]}`,
		`{"webhooks":[{"app_id":"other","url":"http://127.0.0.1:9/hook","callback_key":"k"}]}`,
		`{"data_refresh_interval":"-1s"}`,
		`{"webhook_retry_intervals":["1s","1s","1s","1s","1s","1s"]}`,
		`{"webhook_retry_intervals":[]}`,
		`{"webhook_timeout":"-1s"}`,
	} {
		_, err := mocksikka.LoadConfig(write(bad))
		assert.ErrorIs(t, err, mocksikka.ErrInvalid, bad)
	}
}

func TestWebhookBounds(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	flying, most, total := 0, 0, 0
	hold := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.ReadAll(req.Body)
		mu.Lock()
		flying++
		total++
		most = max(most, flying)
		mu.Unlock()
		<-release
		mu.Lock()
		flying--
		mu.Unlock()
	}))
	t.Cleanup(hold.Close)
	e := newEnv(t, mocksikka.WithWebhooks(mocksikka.Webhook{URL: hold.URL, Key: hookKey}))
	t.Cleanup(e.mock.Close)
	for range 10 {
		_, err := e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return total == mocksikka.MaxWebhookSends }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	states := map[string]int{}
	for _, d := range e.mock.WebhookDeliveries() {
		states[d.State]++
	}
	assert.Equal(t, map[string]int{"sending": mocksikka.MaxWebhookSends, "pending": 10 - mocksikka.MaxWebhookSends}, states)
	close(release)
	require.Eventually(t, func() bool {
		for _, d := range e.mock.WebhookDeliveries() {
			if d.State != "delivered" {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond, "the waiting deliveries go out as slots free up")
	mu.Lock()
	assert.Equal(t, mocksikka.MaxWebhookSends, most, "never more than MaxWebhookSends in flight")
	assert.Equal(t, 10, total)
	mu.Unlock()

	// The queue is bounded: with the SPU offline everything waits, and one more is dropped.
	e.mock.Reset()
	require.NoError(t, e.mock.SetSPUOnline(mocksikka.DefaultOfficeID, false))
	for range mocksikka.MaxWebhookQueue {
		_, err := e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
		require.NoError(t, err)
	}
	ds, err := e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, "dropped", ds[0].State)
	assert.Contains(t, ds[0].Reason, "queue full")

	// The list keeps every waiting delivery and at least the latest MaxWebhookLog finished ones.
	for range 2 * mocksikka.MaxWebhookLog {
		ds, err = e.mock.TriggerWebhook("patient", mocksikka.DefaultOfficeID, "")
		require.NoError(t, err)
	}
	all := e.mock.WebhookDeliveries()
	states = map[string]int{}
	for _, d := range all {
		states[d.State]++
	}
	assert.Equal(t, mocksikka.MaxWebhookQueue, states["held"])
	assert.GreaterOrEqual(t, states["dropped"], mocksikka.MaxWebhookLog)
	assert.LessOrEqual(t, len(all), mocksikka.MaxWebhookQueue+2*mocksikka.MaxWebhookLog, "bounded")
	assert.Equal(t, ds[0].ID, all[len(all)-1].ID, "the latest is kept")
}
