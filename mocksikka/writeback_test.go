package mocksikka_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wbEnv is an env with a request key of the default office, for writeback tests.
type wbEnv struct {
	*env
	key string
}

func newWBEnv(t *testing.T, opts ...mocksikka.Option) *wbEnv {
	t.Helper()
	e := newEnv(t, opts...)
	return &wbEnv{env: e, key: e.officeKey()["request_key"]}
}

// send sends a writeback (or any request) with the key.
func (e *wbEnv) send(method, path string, body any) response {
	e.t.Helper()
	return e.do(method, path, body, "Request-Key", e.key)
}

// accepted sends a writeback, requires its documented acceptance (201 API2016, or 200 with
// code for an update) and returns its id.
func (e *wbEnv) accepted(method, path string, body any, code string) string {
	e.t.Helper()
	r := e.send(method, path, body)
	status, short := http.StatusCreated, "New resource created successfully"
	if code != "API2016" {
		status, short = http.StatusOK, map[string]string{
			"API0007": "Appointment status logged successfully", "API0011": "Patient details logged successfully",
			"API0009": "Claim details logged successfully"}[code]
	}
	require.Equal(e.t, status, r.status, "%s %s: %s", method, path, r.body)
	m := r.strings(e.t)
	id, ok := strings.CutPrefix(m["long_message"], "Id:")
	require.True(e.t, ok, "long_message %q", m["long_message"])
	assert.Equal(e.t, map[string]string{"http_code": itoa(status), "http_code_desc": sheetDesc(status), "error_code": code,
		"short_message": short, "long_message": "Id:" + id,
		"more_information": e.srv.URL + "/v4/writeback_status?id=" + id}, m)
	return id
}

// status returns the writeback_status item of id, requiring the array-wrapped envelope.
func (e *wbEnv) status(id string) map[string]string {
	e.t.Helper()
	r := e.send("GET", "/v4/writeback_status?id="+id, nil)
	require.Equal(e.t, http.StatusOK, r.status, "body: %s", r.body)
	var wrapped []struct {
		Offset     string              `json:"offset"`
		TotalCount string              `json:"total_count"`
		Items      []map[string]string `json:"items"`
	}
	require.NoError(e.t, json.Unmarshal(r.body, &wrapped), "body: %s", r.body)
	require.Len(e.t, wrapped, 1, "array-wrapped envelope")
	require.Len(e.t, wrapped[0].Items, 1)
	assert.Equal(e.t, "1", wrapped[0].TotalCount)
	return wrapped[0].Items[0]
}

// one returns the single item a data GET answers.
func (e *wbEnv) one(path string) map[string]string {
	e.t.Helper()
	l := e.send("GET", "/v4/"+path, nil).list(e.t)
	require.Len(e.t, l.Items, 1, path)
	return l.Items[0]
}

// first returns the first item of a data GET.
func (e *wbEnv) first(path string) map[string]string {
	e.t.Helper()
	l := e.send("GET", "/v4/"+path, nil).list(e.t)
	require.NotEmpty(e.t, l.Items, path)
	return l.Items[0]
}

// events returns the practice_events items of kind.
func (e *wbEnv) events(kind string) []map[string]any {
	e.t.Helper()
	r := e.send("GET", "/v4/practice_events?events="+kind+"&limit=5000", nil)
	if r.status == http.StatusNoContent {
		return nil
	}
	require.Equal(e.t, http.StatusOK, r.status, "body: %s", r.body)
	var l struct {
		Items []map[string]any `json:"items"`
	}
	require.NoError(e.t, json.Unmarshal(r.body, &l))
	return l.Items
}

// futureDay is a date no generated appointment uses (the schedule ends 60 days ahead).
var futureDay = t0.AddDate(0, 0, 100).Format(time.DateOnly)

// booking is a POST /v4/appointment body for a free slot of OP-1.
func (e *wbEnv) booking(tm string) map[string]string {
	e.t.Helper()
	return map[string]string{"patient_id": e.first("patients?limit=1")["patient_id"], "date": futureDay, "time": tm,
		"length": "60", "operatory": "OP-1", "provider_id": e.first("providers?limit=1")["provider_id"],
		"practice_id": "1", "description": "New patient exam"}
}

var wbStatusKeys = []string{"id", "office_id", "method", "api", "payload_body", "appointment_sr_no", "request_time",
	"is_completed", "has_error", "completed_time", "result", "practice_id", "status", "patient_id", "created_id"}

// The headline: a booked appointment is pending until the SPU's delay has passed on the mock
// clock, then appears in /v4/appointments and practice_events.
func TestWritebackAppointmentPendingThenBooked(t *testing.T) {
	e := newWBEnv(t)
	body := e.booking("10:00")
	id := e.accepted("POST", "/v4/appointment", body, "API2016")

	// writeback_status: exactly the documented keys, in order, pending.
	raw := e.send("GET", "/v4/writeback_status?id="+id, nil).body
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	for tok, err := dec.Token(); err == nil; tok, err = dec.Token() {
		if s, ok := tok.(string); ok && dec.More() && slicesContains(wbStatusKeys, s) && !slicesContains(keys, s) {
			keys = append(keys, s)
		}
	}
	assert.Equal(t, wbStatusKeys, keys, "item fields in the sheet's order")
	st := e.status(id)
	assert.Equal(t, map[string]string{"id": id, "office_id": mocksikka.DefaultOfficeID, "method": "POST", "api": "appointment",
		"payload_body": mustJSON(t, body), "appointment_sr_no": "", "request_time": "2026-02-10 04:00:28",
		"is_completed": "False", "has_error": "False", "completed_time": "", "result": "", "practice_id": "1",
		"status": "Pending", "patient_id": body["patient_id"], "created_id": ""}, st)
	assert.Empty(t, e.events("appointments"), "nothing changed yet")

	e.mock.Advance(29 * time.Second)
	assert.Equal(t, "Pending", e.status(id)["status"], "29 s: still pending")
	e.mock.Advance(time.Second)
	st = e.status(id)
	assert.Equal(t, "Success", st["status"])
	assert.Equal(t, "True", st["is_completed"])
	assert.Equal(t, "False", st["has_error"])
	assert.Equal(t, "Appointment booked successfully", st["result"])
	assert.Equal(t, "2026-02-10 04:00:58", st["completed_time"])
	sr := st["created_id"]
	require.NotEmpty(t, sr)
	assert.Equal(t, sr, st["appointment_sr_no"])

	a := e.one("appointments?appointment_sr_no=" + sr + "&fields=get_all")
	assert.Equal(t, body["patient_id"], a["patient_id"])
	assert.Equal(t, body["provider_id"], a["provider_id"])
	assert.Equal(t, "OP-1", a["operatory"])
	assert.Equal(t, futureDay+"T00:00:00", a["date"])
	assert.Equal(t, "10:00", a["time"])
	assert.Equal(t, "60", a["length"])
	assert.Equal(t, "Scheduled", a["status"])
	assert.NotEmpty(t, a["patient_name"], "derived from the patient")

	evs := e.events("appointments")
	require.Len(t, evs, 1)
	assert.Equal(t, sr, evs[0]["appointment_sr_no"])
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// Each writeback kind: pending (data unchanged) until the delay, then completed with the data
// changed as a GET shows it.
func TestWritebackKindsComplete(t *testing.T) {
	type kind struct {
		name   string
		send   func(e *wbEnv) string                // sends the writeback, returns its id
		before func(e *wbEnv)                       // asserts the data before the SPU ran
		after  func(e *wbEnv, st map[string]string) // asserts the data after
		result string
		events string // practice_events kind that must list the change ("" none)
	}
	var appt, patient, claim map[string]string
	setup := func(e *wbEnv) {
		appt = e.first("appointments?status=Scheduled&limit=1&fields=get_all")
		patient = e.first("patients?limit=1")
		claim = e.first("claims?claim_status=O&limit=1")
	}
	kinds := []kind{
		{name: "PATCH appointment status",
			send: func(e *wbEnv) string {
				return e.accepted("PATCH", "/v4/appointments/"+appt["appointment_sr_no"],
					map[string]string{"op": "replace", "path": "/appointment_status", "value": "confirmed", "practice_id": "1"}, "API0007")
			},
			before: func(e *wbEnv) {
				assert.Equal(t, "Scheduled", e.one("appointments?appointment_sr_no=" + appt["appointment_sr_no"])["status"])
			},
			after: func(e *wbEnv, st map[string]string) {
				assert.Equal(t, "Confirmed", e.one("appointments?appointment_sr_no=" + appt["appointment_sr_no"])["status"],
					"the practice's spelling of the status")
				assert.Equal(t, appt["appointment_sr_no"], st["appointment_sr_no"])
				assert.Equal(t, appt["patient_id"], st["patient_id"])
				assert.Equal(t, "PATCH", st["method"])
			},
			result: "Appointment status updated successfully", events: "appointments"},
		{name: "PUT appointment",
			send: func(e *wbEnv) string {
				return e.accepted("PUT", "/v4/appointments/"+appt["appointment_sr_no"],
					map[string]string{"date": futureDay, "time": "14:30", "length": "30", "operatory": "OP-2", "practice_id": "1"}, "API0007")
			},
			before: func(e *wbEnv) {
				assert.Equal(t, appt["date"], e.one("appointments?appointment_sr_no=" + appt["appointment_sr_no"])["date"])
			},
			after: func(e *wbEnv, _ map[string]string) {
				a := e.one("appointments?appointment_sr_no=" + appt["appointment_sr_no"] + "&fields=get_all")
				assert.Equal(t, []string{futureDay + "T00:00:00", "14:30", "30", "OP-2"}, []string{a["date"], a["time"], a["length"], a["operatory"]})
			},
			result: "Appointment updated successfully", events: "appointments"},
		{name: "POST patient",
			send: func(e *wbEnv) string {
				return e.accepted("POST", "/v4/patient", map[string]any{"firstname": "Zelda", "lastname": "Quill",
					"birthdate": "1990-04-01", "email": "zelda@example.com", "cell": "555-0100", "check_spu": false}, "API2016")
			},
			before: func(e *wbEnv) {
				assert.Equal(t, http.StatusNoContent, e.send("GET", "/v4/patients?lastname=Quill", nil).status)
			},
			after: func(e *wbEnv, st map[string]string) {
				p := e.one("patients?lastname=Quill")
				assert.Equal(t, "Zelda", p["firstname"])
				assert.Equal(t, "1990-04-01T00:00:00", p["birthdate"])
				assert.Equal(t, p["patient_id"], st["created_id"])
				assert.Equal(t, p["patient_id"], st["patient_id"])
			},
			result: "New Patient inserted successfully", events: "patients"},
		{name: "PATCH patient",
			send: func(e *wbEnv) string {
				return e.accepted("PATCH", "/v4/patient/"+patient["patient_id"],
					map[string]string{"lastname": "Renamed", "preferred_name": "Ren", "practice_id": "1"}, "API0011")
			},
			before: func(e *wbEnv) {
				assert.Equal(t, patient["lastname"], e.one("patients?patient_id=" + patient["patient_id"])["lastname"])
			},
			after: func(e *wbEnv, st map[string]string) {
				p := e.one("patients?patient_id=" + patient["patient_id"])
				assert.Equal(t, "Renamed", p["lastname"])
				assert.Equal(t, "Ren", p["preferred_name"])
				assert.Equal(t, patient["patient_id"], st["patient_id"])
			},
			result: "Patient updated successfully", events: "patients"},
		{name: "POST medical_notes",
			send: func(e *wbEnv) string {
				return e.accepted("POST", "/v4/medical_notes", map[string]string{"patient_id": patient["patient_id"],
					"type": "Clinical Note", "date": "2026-02-09", "text": "Writeback note 42", "practice_id": "1"}, "API2016")
			},
			before: func(e *wbEnv) {
				assert.NotContains(t, string(e.send("GET", "/v4/medical_notes?patient_id="+patient["patient_id"], nil).body), "Writeback note 42")
			},
			after: func(e *wbEnv, st map[string]string) {
				l := e.send("GET", "/v4/medical_notes?patient_id="+patient["patient_id"]+"&fields=get_all", nil).list(t)
				var found map[string]string
				for _, n := range l.Items {
					if n["text"] == "Writeback note 42" {
						found = n
					}
				}
				require.NotNil(t, found)
				assert.Equal(t, "2026-02-09T00:00:00", found["date"])
				assert.Equal(t, found["note_id"], st["created_id"])
			},
			result: "Medical note inserted successfully"},
		{name: "POST claim_payment",
			send: func(e *wbEnv) string {
				return e.accepted("POST", "/v4/claim_payment", map[string]string{"claim_sr_no": claim["claim_sr_no"],
					"payment_amount": "80", "claim_payment_date": "2026-02-10", "cheque_no": "777001", "payment_mode": "Check", "practice_id": "1"}, "API2016")
			},
			before: func(e *wbEnv) {
				assert.Equal(t, "O", e.one("claims?claim_sr_no=" + claim["claim_sr_no"])["claim_status"])
			},
			after: func(e *wbEnv, st map[string]string) {
				c := e.one("claims?claim_sr_no=" + claim["claim_sr_no"])
				assert.Equal(t, "C", c["claim_status"])
				assert.Equal(t, "80.00", c["payment_amount"])
				assert.Equal(t, "2026-02-10T00:00:00", c["claim_payment_date"])
				tx := e.one("transactions?transaction_sr_no=" + st["created_id"])
				assert.Equal(t, "Insurance Payment", tx["transaction_type"])
				assert.Equal(t, "-80.0000", tx["amount"])
				assert.Equal(t, claim["claim_sr_no"], tx["claim_sr_no"])
				assert.Equal(t, claim["patient_id"], st["patient_id"])
			},
			result: "Claim payment inserted successfully", events: "claims"},
		{name: "POST transaction",
			send: func(e *wbEnv) string {
				return e.accepted("POST", "/v4/transaction", map[string]string{"patient_id": patient["patient_id"], "amount": "45.5",
					"payment_type": "3", "transaction_date": "2026-02-10", "card_number": "4111111111111111", "cvv": "123", "practice_id": "1"}, "API2016")
			},
			after: func(e *wbEnv, st map[string]string) {
				tx := e.one("transactions?transaction_sr_no=" + st["created_id"])
				assert.Equal(t, "Payment", tx["transaction_type"])
				assert.Equal(t, "45.5000", tx["amount"])
				assert.Equal(t, "3", tx["payment_type"])
				assert.Equal(t, patient["patient_id"], tx["patient_id"])
				assert.NotContains(t, st["payload_body"], "4111111111111111", "card numbers are not echoed")
				assert.Contains(t, st["payload_body"], `"card_number":"************1111"`)
				assert.NotContains(t, st["payload_body"], `"123"`)
			},
			result: "Transaction inserted successfully", events: "transactions"},
		{name: "PATCH claim",
			send: func(e *wbEnv) string {
				return e.accepted("PATCH", "/v4/claims/"+claim["claim_sr_no"], map[string]string{"status": "H", "note": "On hold: x-ray", "practice_id": "1"}, "API0009")
			},
			after: func(e *wbEnv, _ map[string]string) {
				c := e.one("claims?claim_sr_no=" + claim["claim_sr_no"])
				assert.Equal(t, "H", c["claim_status"])
				assert.Equal(t, "On hold: x-ray", c["note"])
			},
			result: "Claim updated successfully", events: "claims"},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			e := newWBEnv(t)
			setup(e)
			var n0 int
			if k.events != "" {
				n0 = len(e.events(k.events))
			}
			id := k.send(e)
			assert.Equal(t, "Pending", e.status(id)["status"])
			if k.before != nil {
				k.before(e)
			}
			e.mock.Advance(mocksikka.DefaultWritebackDelay)
			st := e.status(id)
			require.Equal(t, "Success", st["status"], "result: %s", st["result"])
			assert.Equal(t, k.result, st["result"])
			k.after(e, st)
			if k.events != "" {
				assert.Greater(t, len(e.events(k.events)), n0, "practice_events lists the change")
			}
		})
	}
}

// A double-booked operatory slot fails when the SPU processes the second booking; a booking of
// a slot the first one does not overlap succeeds.
func TestWritebackDoubleBookingFails(t *testing.T) {
	e := newWBEnv(t)
	first := e.accepted("POST", "/v4/appointment", e.booking("09:00"), "API2016")
	b := e.booking("09:30") // overlaps 09:00-10:00
	second := e.accepted("POST", "/v4/appointment", b, "API2016")
	b["time"] = "10:00" // starts as the first ends
	third := e.accepted("POST", "/v4/appointment", b, "API2016")
	e.mock.Advance(30 * time.Second)

	assert.Equal(t, "Success", e.status(first)["status"])
	st := e.status(second)
	assert.Equal(t, "Failed", st["status"])
	assert.Equal(t, "True", st["is_completed"])
	assert.Equal(t, "True", st["has_error"])
	assert.Contains(t, st["result"], "operatory OP-1 is already booked")
	assert.Contains(t, st["result"], e.status(first)["created_id"], "names the appointment in the way")
	assert.Empty(t, st["created_id"])
	assert.Equal(t, "Success", e.status(third)["status"])
	l := e.send("GET", "/v4/appointments?operatory=OP-1&startdate="+futureDay+"&enddate="+futureDay, nil).list(t)
	assert.Len(t, l.Items, 2, "the failed booking changed nothing")

	// A cancelled appointment frees its slot; taking it back fails once another holds it.
	firstSr := e.status(first)["created_id"]
	status := func(v string) string {
		return e.accepted("PATCH", "/v4/appointments/"+firstSr, map[string]string{"op": "replace", "path": "/appointment_status", "value": v}, "API0007")
	}
	cancel := status("Cancelled")
	e.mock.Advance(30 * time.Second)
	require.Equal(t, "Success", e.status(cancel)["status"])
	b["time"] = "09:00"
	taker := e.accepted("POST", "/v4/appointment", b, "API2016")
	e.mock.Advance(30 * time.Second)
	require.Equal(t, "Success", e.status(taker)["status"], "the slot is free")
	back := status("Scheduled")
	e.mock.Advance(30 * time.Second)
	st = e.status(back)
	assert.Equal(t, "Failed", st["status"])
	assert.Contains(t, st["result"], e.status(taker)["created_id"])
	assert.Equal(t, "Cancelled", e.one("appointments?appointment_sr_no=" + firstSr)["status"])
}

// Fail rules: the next N writebacks of an endpoint fail with the scripted result.
func TestWritebackFailRules(t *testing.T) {
	e := newWBEnv(t)
	r := e.do("POST", "/_mock/writebacks/fail-rules", map[string]any{"endpoint": "POST /v4/patient", "count": 2, "result": "Patient already exists in PMS"})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	body := map[string]string{"firstname": "A", "lastname": "B"}
	ids := []string{e.accepted("POST", "/v4/patient", body, "API2016"), e.accepted("POST", "/v4/patient", body, "API2016")}
	note := e.accepted("POST", "/v4/medical_notes", map[string]string{"patient_id": e.first("patients?limit=1")["patient_id"], "text": "x"}, "API2016")
	e.mock.Advance(30 * time.Second)
	for _, id := range ids {
		st := e.status(id)
		assert.Equal(t, "Failed", st["status"])
		assert.Equal(t, "Patient already exists in PMS", st["result"])
	}
	assert.Equal(t, "Success", e.status(note)["status"], "other endpoints unaffected")
	var rules []mocksikka.WritebackFailRule
	require.NoError(t, json.Unmarshal(e.do("GET", "/_mock/writebacks/fail-rules", nil).body, &rules))
	assert.Empty(t, rules, "used up")
	third := e.accepted("POST", "/v4/patient", body, "API2016")
	e.mock.Advance(30 * time.Second)
	assert.Equal(t, "Success", e.status(third)["status"])

	require.NoError(t, e.mock.FailWritebacks(mocksikka.WritebackFailRule{Endpoint: "*", OfficeID: mocksikka.MapleLeafOfficeID, Count: 1}))
	assert.Len(t, e.mock.WritebackFailRules(), 1)
	fourth := e.accepted("POST", "/v4/patient", body, "API2016")
	e.mock.Advance(30 * time.Second)
	assert.Equal(t, "Success", e.status(fourth)["status"], "a rule of another office")
	assert.Equal(t, 200, e.do("DELETE", "/_mock/writebacks/fail-rules", nil).status)
	assert.Empty(t, e.mock.WritebackFailRules())

	e.do("POST", "/_mock/writebacks/fail-rules", map[string]any{"endpoint": "POST /v4/nope", "count": 1}).envelope(t, 400)
	e.do("POST", "/_mock/writebacks/fail-rules", map[string]any{"endpoint": "*", "count": 0}).envelope(t, 400)
	assert.ErrorIs(t, e.mock.FailWritebacks(mocksikka.WritebackFailRule{Endpoint: "GET /v4/patients", Count: 1}), mocksikka.ErrInvalid)
}

// Requests that cannot be a writeback are refused at once with the documented codes.
func TestWritebackValidation(t *testing.T) {
	e := newWBEnv(t)
	good := e.booking("11:00")
	with := func(k, v string) map[string]string {
		b := map[string]string{}
		for kk, vv := range good {
			b[kk] = vv
		}
		if v == "\x00" {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	sr := e.first("appointments?limit=1")["appointment_sr_no"]
	cases := []struct {
		name         string
		method, path string
		body         any
		header       []string
		status       int
		code, text   string
	}{
		{"not JSON", "POST", "/v4/appointment", nil, []string{"Content-Type", "text/plain"}, 415, "API1006", ""},
		{"not an object", "POST", "/v4/appointment", `["x"]`, nil, 400, "API1026", "JSON object"},
		{"object value", "POST", "/v4/appointment", `{"patient_id":{"a":1}}`, nil, 400, "API1026", "patient_id must be a string"},
		{"unknown field", "POST", "/v4/appointment", with("colour", "red"), nil, 400, "API1026", "no field colour"},
		{"missing field", "POST", "/v4/appointment", with("operatory", "\x00"), nil, 400, "API1020", "operatory is missing"},
		{"empty field", "POST", "/v4/appointment", with("time", ""), nil, 400, "API1020", "time is missing"},
		{"unknown patient", "POST", "/v4/appointment", with("patient_id", "999999"), nil, 400, "API1026", "patient_id 999999 does not exist"},
		{"unknown provider", "POST", "/v4/appointment", with("provider_id", "NOPE"), nil, 400, "API1026", "provider_id NOPE"},
		{"unknown operatory", "POST", "/v4/appointment", with("operatory", "OP-99"), nil, 400, "API1026", "operatory OP-99"},
		{"bad date", "POST", "/v4/appointment", with("date", "02/10/2026"), nil, 400, "API1026", "yyyy-mm-dd"},
		{"bad time", "POST", "/v4/appointment", with("time", "25:00"), nil, 400, "API1026", "HH:mm"},
		{"bad length", "POST", "/v4/appointment", with("length", "an hour"), nil, 400, "API1026", "length"},
		{"bad status", "POST", "/v4/appointment", with("status", "Maybe"), nil, 400, "API1026", "not an appointment status"},
		{"bad check_spu", "POST", "/v4/appointment", with("check_spu", "maybe"), nil, 400, "API1026", "check_spu"},
		{"other office's practice", "POST", "/v4/appointment", with("practice_id", "2"), nil, 401, "API2007", ""},
		{"no key", "POST", "/v4/appointment", good, []string{"Request-Key", ""}, 400, "API1004", ""},
		{"unknown appointment", "PATCH", "/v4/appointments/999999", map[string]string{"op": "replace", "path": "/appointment_status", "value": "Confirmed"}, nil, 404, "API2009", "Appointment 999999"},
		{"bad op", "PATCH", "/v4/appointments/" + sr, map[string]string{"op": "add", "path": "/appointment_status", "value": "Confirmed"}, nil, 400, "API1026", "replace"},
		{"bad path", "PATCH", "/v4/appointments/" + sr, map[string]string{"op": "replace", "path": "/date", "value": "x"}, nil, 400, "API1026", "/appointment_status"},
		{"PUT without a change", "PUT", "/v4/appointments/" + sr, map[string]string{"practice_id": "1"}, nil, 400, "API1020", "at least one"},
		{"unknown patient path", "PATCH", "/v4/patient/999999", map[string]string{"lastname": "X"}, nil, 404, "API2009", "Patient 999999"},
		{"unknown claim", "POST", "/v4/claim_payment", map[string]string{"claim_sr_no": "1", "payment_amount": "5"}, nil, 400, "API1026", "claim_sr_no 1"},
		{"bad amount", "POST", "/v4/transaction", map[string]string{"patient_id": good["patient_id"], "amount": "lots"}, nil, 400, "API1026", "amount"},
		{"unknown payment type", "POST", "/v4/transaction", map[string]string{"patient_id": good["patient_id"], "amount": "5", "payment_type": "99"}, nil, 400, "API1026", "payment_type 99"},
		{"note without text", "POST", "/v4/medical_notes", map[string]string{"patient_id": good["patient_id"]}, nil, 400, "API1020", "text is missing"},
		{"not implemented", "POST", "/v4/perio_chart", map[string]string{"patient_id": "1"}, nil, 501, "MOCK5001", ""},
		{"GET on a writeback path", "GET", "/v4/appointments/" + sr, nil, nil, 405, "API2014", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := append([]string{"Request-Key", e.key}, c.header...)
			m := e.do(c.method, c.path, c.body, h...).envelope(t, c.status)
			assert.Equal(t, c.code, m["error_code"])
			assert.Contains(t, m["long_message"], c.text)
		})
	}
	// Nothing was queued.
	assert.Equal(t, http.StatusNoContent, e.send("GET", "/v4/writeback_status?id=275001", nil).status)
}

// The SPU offline: check_spu=true answers 412 exactly as documented; other writebacks stay
// pending until the SPU is back, then complete at once when their delay has passed.
func TestWritebackSPUOffline(t *testing.T) {
	e := newWBEnv(t)
	require.NoError(t, e.mock.SetSPUOnline(mocksikka.DefaultOfficeID, false))
	for _, v := range []any{true, "true", "True"} {
		b := map[string]any{"firstname": "A", "lastname": "B", "check_spu": v}
		r := e.send("POST", "/v4/patient", b)
		require.Equal(t, http.StatusPreconditionFailed, r.status)
		var got map[string]any
		require.NoError(t, json.Unmarshal(r.body, &got))
		assert.Equal(t, map[string]any{"http_code": "412", "http_code_desc": "Preconditon Failed", "error_code": "API2017",
			"short_message": "The server does not meet one of the preconditions that the requester put on the request.",
			"log_message":   "Sikka platform utility is offline", "more_information": "--"}, got)
		assert.Equal(t, `{"http_code":"412","http_code_desc":"Preconditon Failed","error_code":"API2017",`+
			`"short_message":"The server does not meet one of the preconditions that the requester put on the request.",`+
			`"log_message":"Sikka platform utility is offline","more_information":"--"}`, strings.TrimSpace(string(r.body)), "field order as documented")
	}
	id := e.accepted("POST", "/v4/patient", map[string]any{"firstname": "A", "lastname": "B", "check_spu": false}, "API2016")
	id2 := e.accepted("POST", "/v4/patient", map[string]any{"firstname": "C", "lastname": "D"}, "API2016")
	e.mock.Advance(time.Hour)
	assert.Equal(t, "Pending", e.status(id)["status"], "waits for the SPU")

	// Another office's SPU is unaffected.
	other := &wbEnv{env: e.env, key: e.grant("request_key", "office_id", mocksikka.BrightSmilesOfficeID,
		"secret_key", "Zk3Lp9Qw2Er7Ty5Ui1Op4As8Df6Gh0Jk2Lz9Xc3Vb7N=").strings(t)["request_key"]}
	oid := other.accepted("POST", "/v4/patient", map[string]any{"firstname": "E", "lastname": "F", "check_spu": true}, "API2016")
	e.mock.Advance(30 * time.Second)
	assert.Equal(t, "Success", other.status(oid)["status"])
	assert.Equal(t, "Pending", e.status(id)["status"])

	require.NoError(t, e.mock.SetSPUOnline(mocksikka.DefaultOfficeID, true))
	for _, i := range []string{id, id2} {
		st := e.status(i)
		assert.Equal(t, "Success", st["status"], "completes at once: its delay has long passed")
		assert.Equal(t, wbTimeOf(e.mock.Now()), st["completed_time"])
	}
	// Back online, a new writeback waits its delay again.
	id3 := e.accepted("POST", "/v4/patient", map[string]any{"firstname": "G", "lastname": "H", "check_spu": true}, "API2016")
	assert.Equal(t, "Pending", e.status(id3)["status"])
	e.mock.Advance(30 * time.Second)
	assert.Equal(t, "Success", e.status(id3)["status"])
}

func wbTimeOf(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// GET /v4/writebacks: App-Id and App-Key, startdate and enddate at most 7 days apart.
func TestWritebacksList(t *testing.T) {
	e := newWBEnv(t)
	id := e.accepted("POST", "/v4/appointment", e.booking("13:00"), "API2016")
	app := []string{"App-Id", mocksikka.DefaultAppID, "App-Key", mocksikka.DefaultAppKey}
	list := func(q string) response { return e.do("GET", "/v4/writebacks"+q, nil, app...) }

	l := list("?startdate=2026-02-10&enddate=2026-02-10").list(t)
	require.Len(t, l.Items, 1)
	it := l.Items[0]
	assert.Equal(t, map[string]string{"href": e.srv.URL + "/v4/writebacks?id=" + id, "description": "Book a new appointment",
		"id": id, "result": "pending", "office_id": mocksikka.DefaultOfficeID, "method": "POST", "completed_time": "",
		"api_name": "appointment", "api_request_body": e.status(id)["payload_body"], "command_time": "2026-02-10 04:00:28",
		"duration_in_second": ""}, it)
	var raw struct {
		Items []json.RawMessage `json:"items"`
	}
	require.NoError(t, json.Unmarshal(list("?startdate=2026-02-10&enddate=2026-02-10").body, &raw))
	assert.True(t, strings.HasPrefix(string(raw.Items[0]), `{"href":`) && strings.Contains(string(raw.Items[0]), `"command_time":"2026-02-10 04:00:28","duration_in_second":""}`),
		"fields in the sheet's order: %s", raw.Items[0])

	e.mock.Advance(45 * time.Second)
	it = list("?startdate=2026-02-04&enddate=2026-02-11&id=" + id).list(t).Items[0]
	assert.Equal(t, "Appointment booked successfully", it["result"])
	assert.Equal(t, "45", it["duration_in_second"], "processed at the first clock run after its delay")
	assert.Equal(t, "2026-02-10 04:01:13", it["completed_time"])

	assert.Equal(t, http.StatusNoContent, list("?startdate=2026-02-11&enddate=2026-02-12").status, "another week")
	assert.Equal(t, http.StatusNoContent, list("?startdate=2026-02-10&enddate=2026-02-10&id=1").status, "another id")
	for q, code := range map[string]string{
		"?enddate=2026-02-10":                           "API1020",
		"?startdate=2026-02-10":                         "API1020",
		"?startdate=2026-02-01&enddate=2026-02-09":      "API1026", // 8 days apart
		"?startdate=2026-02-10&enddate=2026-02-09":      "API1026",
		"?startdate=10/02/2026&enddate=2026-02-10":      "API1026",
		"?startdate=2026-02-10&enddate=2026-02-10&id=x": "API1026",
	} {
		assert.Equal(t, code, list(q).envelope(t, 400)["error_code"], q)
	}
	assert.Equal(t, "API2003", e.do("GET", "/v4/writebacks?startdate=2026-02-10&enddate=2026-02-10", nil,
		"App-Id", mocksikka.DefaultAppID, "App-Key", "wrong").envelope(t, 401)["error_code"])
	assert.Equal(t, "API1002", e.do("GET", "/v4/writebacks?startdate=2026-02-10&enddate=2026-02-10", nil,
		"App-Id", mocksikka.DefaultAppID).envelope(t, 400)["error_code"])

	// Another app sees none of this app's writebacks.
	require.NoError(t, e.mock.AddApp(mocksikka.App{ID: "other-app", Key: "other-key", Name: "Other"}))
	assert.Equal(t, http.StatusNoContent, e.do("GET", "/v4/writebacks?startdate=2026-02-10&enddate=2026-02-10", nil,
		"App-Id", "other-app", "App-Key", "other-key").status)
}

// DELETE /v4/writebacks: a pending writeback is dropped and never applied; a processed one
// cannot be deleted.
func TestWritebackDelete(t *testing.T) {
	e := newWBEnv(t)
	app := []string{"App-Id", mocksikka.DefaultAppID, "App-Key", mocksikka.DefaultAppKey}
	body := e.booking("15:00")
	id := e.accepted("POST", "/v4/appointment", body, "API2016")
	r := e.do("DELETE", "/v4/writebacks?id="+id, nil, app...)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, map[string]string{"http_code": "200", "http_code_desc": "OK", "error_code": "API4006", "short_message": "",
		"long_message": "Writeback request deleted successfully.", "more_information": ""}, r.strings(t))
	assert.Equal(t, http.StatusNoContent, e.send("GET", "/v4/writeback_status?id="+id, nil).status)
	e.mock.Advance(time.Minute)
	assert.Equal(t, http.StatusNoContent, e.send("GET", "/v4/appointments?operatory=OP-1&startdate="+futureDay+"&enddate="+futureDay, nil).status,
		"the deleted writeback was never applied")
	assert.Equal(t, "API2009", e.do("DELETE", "/v4/writebacks?id="+id, nil, app...).envelope(t, 404)["error_code"], "already deleted")

	done := e.accepted("POST", "/v4/appointment", body, "API2016")
	e.mock.Advance(30 * time.Second)
	m := e.do("DELETE", "/v4/writebacks?id="+done, nil, app...).envelope(t, 400)
	assert.Equal(t, "API1026", m["error_code"])
	assert.Contains(t, m["long_message"], "no longer pending")
	assert.Equal(t, "Success", e.status(done)["status"])
	assert.Equal(t, "API1020", e.do("DELETE", "/v4/writebacks", nil, app...).envelope(t, 400)["error_code"])
	assert.Equal(t, "API2003", e.do("DELETE", "/v4/writebacks?id="+done, nil, "App-Id", mocksikka.DefaultAppID, "App-Key", "x").envelope(t, 401)["error_code"])
}

// writeback_status: id required; another office's writeback is not visible.
func TestWritebackStatusErrors(t *testing.T) {
	e := newWBEnv(t)
	id := e.accepted("POST", "/v4/patient", map[string]string{"firstname": "A", "lastname": "B"}, "API2016")
	assert.Equal(t, "API1020", e.send("GET", "/v4/writeback_status", nil).envelope(t, 400)["error_code"])
	assert.Equal(t, "API1026", e.send("GET", "/v4/writeback_status?id=abc", nil).envelope(t, 400)["error_code"])
	assert.Equal(t, "API1004", e.do("GET", "/v4/writeback_status?id="+id, nil).envelope(t, 400)["error_code"])
	other := e.grant("request_key", "office_id", mocksikka.BrightSmilesOfficeID, "secret_key", "Zk3Lp9Qw2Er7Ty5Ui1Op4As8Df6Gh0Jk2Lz9Xc3Vb7N=").strings(t)["request_key"]
	assert.Equal(t, http.StatusNoContent, e.do("GET", "/v4/writeback_status?id="+id, nil, "Request-Key", other).status)

	// Reset forgets writebacks and starts the ids again.
	e.mock.Reset()
	e.key = e.officeKey()["request_key"]
	assert.Equal(t, http.StatusNoContent, e.send("GET", "/v4/writeback_status?id="+id, nil).status)
	assert.Equal(t, id, e.accepted("POST", "/v4/patient", map[string]string{"firstname": "A", "lastname": "B"}, "API2016"))
}

// With a delay of 0 the SPU processes a writeback before its request is answered.
func TestWritebackNoDelay(t *testing.T) {
	e := newWBEnv(t, mocksikka.WithWritebackDelay(0))
	id := e.accepted("POST", "/v4/patient", map[string]string{"firstname": "A", "lastname": "B"}, "API2016")
	assert.Equal(t, "Success", e.status(id)["status"])
}
