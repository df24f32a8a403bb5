package conformance

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
)

// Sheet §6: a writeback end to end, from the sheet alone: the request, the 201 API2016 answer
// with "Id:N" and the status URL, writeback_status (array-wrapped), the change visible in the
// data (§5 appointments, practice_events), GET /writebacks with App-Id and App-Key over at most
// 7 days, and DELETE /writebacks of a pending writeback.
//
// It books an appointment, so against a real server it runs only with
// SIKKA_CONFORMANCE_DESTRUCTIVE=1; in-process the mock's SPU delay is short (real clock), so
// that polling writeback_status sees the writeback pending, then completed.

// writebackStatusFields are writeback_status's item fields (sheet §6).
var writebackStatusFields = []string{"id", "office_id", "method", "api", "payload_body", "appointment_sr_no",
	"request_time", "is_completed", "has_error", "completed_time", "result", "practice_id", "status",
	"patient_id", "created_id"}

// writebacksFields are GET /writebacks' item fields (sheet §6).
var writebacksFields = []string{"href", "description", "id", "result", "office_id", "method", "completed_time",
	"api_name", "api_request_body", "command_time", "duration_in_second"}

// statusTime is writeback_status's timestamp layout (sheet §1: "2019-12-09 14:37:56").
const statusTime = "2006-01-02 15:04:05"

// mockSPUDelay is the in-process mock's writeback delay for this file: long enough for a DELETE
// to find the writeback pending, short enough to wait for.
const mockSPUDelay = time.Second

func writebackTarget(t *testing.T) *target {
	t.Helper()
	if remoteConfigured() {
		tg := newTarget(t)
		tg.destructive(t)
		return tg
	}
	tg := newMockTarget(t, mocksikka.WithWritebackDelay(mockSPUDelay))
	t.Cleanup(tg.mock.Close)
	return tg
}

// keyHeader is the Request-Key header of the target's live key.
func (tg *target) keyHeader(t *testing.T) []string { return []string{"Request-Key", tg.requestKey(t)} }

// firstItem returns the first item of a data list (§5) and fails when there is none.
func (tg *target) firstItem(t *testing.T, path string) map[string]any {
	t.Helper()
	l := tg.get(t, path, tg.keyHeader(t)...).list(t)
	if len(l.items) == 0 {
		t.Fatalf("GET %s: no item", path)
	}
	return l.items[0]
}

var idMessage = regexp.MustCompile(`^Id:(\d+)$`)

// writebackStatus reads writeback_status?id= and returns its one item: the list envelope
// wrapped in an array (sheet §4, §6), exactly the documented fields, every one a string.
func (tg *target) writebackStatus(t *testing.T, id string) map[string]any {
	t.Helper()
	a := tg.get(t, "/writeback_status?id="+id, tg.keyHeader(t)...)
	a.wantStatus(t, http.StatusOK)
	var wrapped []map[string]any
	if err := json.Unmarshal(a.body, &wrapped); err != nil || len(wrapped) != 1 {
		t.Fatalf("writeback_status: want an array holding one list envelope (sheet §4, §6); got %s", a)
	}
	items, _ := wrapped[0]["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("writeback_status: want one item; got %s", a)
	}
	it, _ := items[0].(map[string]any)
	wantKeys(t, "writeback_status item", it, writebackStatusFields...)
	wantStrings(t, "writeback_status item", it)
	for _, f := range []string{"is_completed", "has_error"} {
		if v := str(it, f); v != "True" && v != "False" {
			t.Errorf("writeback_status: %s %q, want \"True\" or \"False\" (sheet §1, §6)", f, v)
		}
	}
	if _, err := time.Parse(statusTime, str(it, "request_time")); err != nil {
		t.Errorf("writeback_status: request_time %q is not like 2020-12-04 13:51:34 (sheet §6)", str(it, "request_time"))
	}
	if str(it, "id") != id {
		t.Errorf("writeback_status: id %q, want %q", str(it, "id"), id)
	}
	return it
}

// book posts an appointment writeback and returns its id, checking the 201 API2016 answer.
func (tg *target) book(t *testing.T, body map[string]string) string {
	t.Helper()
	a := tg.do(t, req{method: http.MethodPost, path: "/appointment", header: pairs(tg.keyHeader(t)), body: body})
	e := a.envelope(t, http.StatusCreated, "API2016")
	wantTexts(t, "POST /appointment", e, "New resource created successfully", "", "")
	m := idMessage.FindStringSubmatch(e["long_message"])
	if m == nil {
		t.Fatalf("POST /appointment: long_message %q, want \"Id:N\" (sheet §6)", e["long_message"])
	}
	if want := tg.base + "/writeback_status?id=" + m[1]; e["more_information"] != want {
		t.Errorf("POST /appointment: more_information %q, want %q (sheet §6)", e["more_information"], want)
	}
	return m[1]
}

// bookingBody is a POST /appointment body (§6) for 10:30 on a weekday a year from now, with a
// patient, a provider and an operatory read from the data endpoints (§5).
func (tg *target) bookingBody(t *testing.T) map[string]string {
	t.Helper()
	practice := tg.firstItem(t, "/practices")
	patient := str(tg.firstItem(t, "/patients?limit=1"), "patient_id")
	provider := str(tg.firstItem(t, "/providers?limit=1&status=Active"), "provider_id")
	operatory := str(tg.firstItem(t, "/operatories?cust_id="+url.QueryEscape(str(practice, "cust_id"))+"&is_hidden=F"), "operatory")
	day := time.Now().UTC().AddDate(1, 0, 0)
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	return map[string]string{"patient_id": patient, "date": day.Format(time.DateOnly), "time": "10:30", "length": "30",
		"operatory": operatory, "provider_id": provider, "practice_id": str(practice, "practice_id"),
		"description": "Conformance check"}
}

func TestWritebackEndToEnd(t *testing.T) {
	tg := writebackTarget(t)
	kh := tg.keyHeader(t)

	body := tg.bookingBody(t)
	patient, date := body["patient_id"], body["date"]
	id := tg.book(t, body)
	st := tg.writebackStatus(t, id)
	if str(st, "is_completed") == "False" && str(st, "completed_time") != "" {
		t.Errorf("writeback_status: completed_time %q while not completed", str(st, "completed_time"))
	}

	// Asynchronous (§6): poll until the SPU has run it.
	deadline := time.Now().Add(10 * time.Second)
	if tg.mock == nil {
		deadline = time.Now().Add(10 * time.Minute)
	}
	for str(st, "is_completed") != "True" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		st = tg.writebackStatus(t, id)
	}
	if str(st, "is_completed") != "True" {
		t.Fatalf("writeback %s still not completed: %v", id, st)
	}
	if str(st, "has_error") != "False" || str(st, "status") != "Success" {
		t.Fatalf("writeback %s: has_error %q, status %q, result %q; want a success", id, str(st, "has_error"), str(st, "status"), str(st, "result"))
	}
	if _, err := time.Parse(statusTime, str(st, "completed_time")); err != nil {
		t.Errorf("writeback_status: completed_time %q is not like 2020-12-04 13:51:34", str(st, "completed_time"))
	}
	created := str(st, "created_id")
	if created == "" {
		t.Fatalf("writeback_status: no created_id for a new appointment: %v", st)
	}

	// The data changed (§5): the appointment and its practice_events entry.
	appt := tg.firstItem(t, "/appointments?appointment_sr_no="+url.QueryEscape(created))
	if !strings.HasPrefix(str(appt, "date"), date) || str(appt, "time") != "10:30" || str(appt, "length") != "30" ||
		str(appt, "patient_id") != patient {
		t.Errorf("the booked appointment reads date %q, time %q, length %q, patient %q; want %s, 10:30, 30, %s",
			str(appt, "date"), str(appt, "time"), str(appt, "length"), str(appt, "patient_id"), date, patient)
	}
	events := tg.get(t, "/practice_events?events=appointments&interval=1440&limit=5000", kh...).list(t)
	found := false
	for _, ev := range events.items {
		found = found || str(ev, "appointment_sr_no") == created
	}
	if !found {
		t.Errorf("practice_events?events=appointments does not list appointment %s", created)
	}

	// GET /writebacks (App-Id + App-Key), startdate and enddate at most 7 days apart.
	today := time.Now().UTC()
	q := "/writebacks?startdate=" + today.AddDate(0, 0, -3).Format(time.DateOnly) + "&enddate=" +
		today.AddDate(0, 0, 3).Format(time.DateOnly) + "&id=" + id
	l := tg.get(t, q, tg.appHeaders()...).list(t)
	if len(l.items) != 1 {
		t.Fatalf("GET %s: want the writeback; got %d items", q, len(l.items))
	}
	wantKeys(t, "writebacks item", l.items[0], writebacksFields...)
	wantStrings(t, "writebacks item", l.items[0])
	if str(l.items[0], "id") != id {
		t.Errorf("writebacks: id %q, want %s", str(l.items[0], "id"), id)
	}
	wide := "/writebacks?startdate=" + today.AddDate(0, 0, -8).Format(time.DateOnly) + "&enddate=" + today.Format(time.DateOnly)
	if a := tg.get(t, wide, tg.appHeaders()...); a.status != http.StatusBadRequest {
		t.Errorf("GET /writebacks over 8 days: want 400 (at most 7 days apart, sheet §6); got %s", a)
	}

	// DELETE /writebacks?id= while pending: 200 API4006.
	body["time"] = "11:30"
	pending := tg.book(t, body)
	a := tg.do(t, req{method: http.MethodDelete, path: "/writebacks?id=" + pending, header: pairs(tg.appHeaders())})
	if tg.mock == nil && a.status != http.StatusOK {
		t.Skipf("the real SPU processed writeback %s before it could be deleted: %s", pending, a)
	}
	m := a.object(t, http.StatusOK)
	wantKeys(t, "DELETE /writebacks", m, envelopeFields...)
	if str(m, "error_code") != "API4006" || str(m, "short_message") != "" ||
		str(m, "long_message") != "Writeback request deleted successfully." {
		t.Errorf("DELETE /writebacks: want API4006, short_message \"\", long_message \"Writeback request deleted successfully.\"; got %s", a)
	}
	// A completed writeback is no longer pending: it cannot be deleted.
	if a := tg.do(t, req{method: http.MethodDelete, path: "/writebacks?id=" + id, header: pairs(tg.appHeaders())}); a.status == http.StatusOK {
		t.Errorf("DELETE /writebacks of a completed writeback: want a refusal (pending only, sheet §6); got %s", a)
	}
}
