package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/sikka"
)

// call sends a request to the demo as a client without cookies (so as
// demo-account) and decodes the JSON answer into out; it returns the
// status and the raw body.
func (d *demo) call(t *testing.T, method, path string, header http.Header, out any) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, d.url+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"), "%s %s: %s", method, path, body)
	if out != nil {
		require.NoError(t, json.Unmarshal(body, out), "%s %s: %s", method, path, body)
	}
	return res.StatusCode, string(body)
}

// mockAppointments lists the practice's appointments between from and to
// straight from the mock, with the account's request key: the test's own
// reading of the data, independent of the demo's.
func mockAppointments(t *testing.T, d *demo, from, to time.Time) []map[string]string {
	t.Helper()
	creds, err := d.app.svc.Credentials(context.Background(), defaultAccount)
	require.NoError(t, err)
	q := url.Values{"startdate": {from.Format(time.DateOnly)}, "enddate": {to.Format(time.DateOnly)},
		"fields": {"operatory"}, "offset": {"0"}, "limit": {"5000"}}
	req, err := http.NewRequest(http.MethodGet, d.app.sikkaURL+"/v4/appointments?"+q.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("Request-Key", creds.RequestKey)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	if res.StatusCode == http.StatusNoContent {
		return nil
	}
	var page struct {
		Items []map[string]string `json:"items"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&page))
	return page.Items
}

// startOf is an appointment's start as the panel writes it.
func startOf(a map[string]string) string { return a["date"][:10] + "T" + a["time"] }

// expectedUpcoming is the spec of the panel's list, read from the mock:
// the first five appointments starting at or after now, not cancelled,
// earliest first, ties by id.
func expectedUpcoming(t *testing.T, d *demo, now time.Time) []appointmentJSON {
	t.Helper()
	var want []map[string]string
	for _, a := range mockAppointments(t, d, now, now.AddDate(0, 0, horizonDays)) {
		if startOf(a) >= now.Format(wallClock) && !slices.Contains([]string{"Cancelled", "Broken"}, a["status"]) {
			want = append(want, a)
		}
	}
	slices.SortFunc(want, func(a, b map[string]string) int {
		if c := strings.Compare(startOf(a), startOf(b)); c != 0 {
			return c
		}
		x, _ := strconv.Atoi(a["appointment_sr_no"])
		y, _ := strconv.Atoi(b["appointment_sr_no"])
		return x - y
	})
	out := []appointmentJSON{}
	for _, a := range want[:min(5, len(want))] {
		n, _ := strconv.Atoi(a["length"])
		out = append(out, appointmentJSON{ID: a["appointment_sr_no"], Start: startOf(a), Patient: a["patient_name"],
			Length: n, Operatory: a["operatory"]})
	}
	return out
}

// The panel on the mock's generated practice: its patient count, and the
// next five appointments in order, read through the account's HTTP client.
func TestPracticeDataOfTheGeneratedPractice(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	d := startDemo(t, nil, nil, func(o *options) { o.now = func() time.Time { return now } })

	var e errorJSON
	code, _ := d.call(t, http.MethodGet, practiceDataPath, nil, &e)
	assert.Equal(t, http.StatusConflict, code, "not connected yet")
	assert.Equal(t, errorJSON{"not_connected", "Not connected: connect the practice first."}, e)

	connectDemo(t, d)
	var got practiceDataJSON
	code, body := d.call(t, http.MethodGet, practiceDataPath, nil, &got)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, d.app.sikkaMock.DataCounts(mocksikka.DefaultOfficeID, "1")["patients"], got.Patients)
	assert.Equal(t, mocksikka.DefaultDataPatients, got.Patients)
	want := expectedUpcoming(t, d, now)
	require.Len(t, want, upcomingCount, "the mock schedules appointments for weeks ahead")
	assert.Equal(t, want, got.Appointments)

	creds, err := d.app.svc.Credentials(context.Background(), defaultAccount)
	require.NoError(t, err)
	for _, secret := range []string{creds.RequestKey, creds.RefreshKey, mocksikka.DefaultAppKey, mocksikka.DefaultPractices()[0].SecretKey} {
		assert.NotContains(t, body, secret)
		assert.NotContains(t, d.logs.String(), secret)
	}
}

// A monday two weeks ahead, so that the whole week is a business week.
func nextMonday(now time.Time) time.Time {
	day := midnight(now).AddDate(0, 0, 14)
	for day.Weekday() != time.Monday {
		day = day.AddDate(0, 0, 1)
	}
	return day
}

// practiceFixture replaces the default office's data with a small practice
// whose schedule around monday 09:10 is known.
func practiceFixture(t *testing.T, d *demo, monday time.Time) {
	t.Helper()
	date := func(days int) string { return monday.AddDate(0, 0, days).Format(time.DateOnly) + "T00:00:00" }
	appt := func(id string, days int, at, length, op, patient, status string) map[string]string {
		return map[string]string{"appointment_sr_no": id, "date": date(days), "time": at, "length": length,
			"operatory": op, "patient_id": patient, "provider_id": "7", "status": status}
	}
	cust := mocksikka.DefaultPractices()[0].CustomerID
	require.NoError(t, d.app.sikkaMock.LoadData(mocksikka.DataFixture{
		OfficeID: mocksikka.DefaultOfficeID, Replace: true,
		Tables: map[string][]map[string]string{
			"patients": {
				{"patient_id": "1", "firstname": "Ina", "lastname": "Ctive", "status": "Inactive"},
				{"patient_id": "2", "firstname": "Ada", "lastname": "Lovelace", "status": "Active"},
				{"patient_id": "3", "firstname": "Alan", "lastname": "Turing", "status": "Active"},
			},
			"providers": {
				{"provider_id": "6", "firstname": "Hidden", "lastname": "Doc", "status": "Active", "is_hidden": "True"},
				{"provider_id": "7", "firstname": "Grace", "lastname": "Hopper", "status": "Active", "is_hidden": "False"},
			},
			"operatories": {
				{"operatory": "OP-9", "is_hidden": "T", "cust_id": cust},
				{"operatory": "OP-1", "is_hidden": "F", "cust_id": cust},
				{"operatory": "OP-2", "is_hidden": "F", "cust_id": cust},
			},
			// Listed out of order; 09:10 is "now".
			"appointments": {
				appt("108", 7, "08:00", "30", "OP-1", "3", "Scheduled"), // the next week
				appt("104", 0, "14:00", "60", "OP-1", "3", "Scheduled"),
				appt("101", 0, "08:00", "30", "OP-1", "2", "Completed"), // past
				appt("106", 1, "11:00", "30", "OP-2", "2", "Confirmed"),
				appt("102", 0, "09:00", "60", "OP-1", "3", "Scheduled"), // started: holds OP-1 until 10:00
				appt("103", 0, "09:30", "30", "OP-2", "2", "Cancelled"), // not listed; its slot still counts as taken
				appt("107", 2, "09:00", "30", "OP-1", "3", "Scheduled"),
				appt("105", 1, "08:00", "30", "OP-2", "2", "Scheduled"),
				appt("100", 0, "10:00", "60", "OP-2", "2", "Scheduled"),
			},
		},
	}))
}

// A test booking on a known practice: the first free slot (10:00 in OP-1:
// at 09:30 OP-1 is busy and OP-2 held by a cancelled appointment), pending
// until the mock's SPU writes it, then completed and listed; a second
// booking waits for the first; a cross-origin POST is refused.
func TestBookTestAppointment(t *testing.T) {
	monday := nextMonday(time.Now())
	now := monday.Add(9*time.Hour + 10*time.Minute)
	d := startDemo(t, []string{"-writeback-delay", "4s"}, nil, func(o *options) { o.now = func() time.Time { return now } })
	require.Equal(t, 4*time.Second, d.app.sikkaMock.WritebackDelay(), "-writeback-delay reaches the in-process mock")
	connectDemo(t, d)
	practiceFixture(t, d, monday)
	day := func(days int, at string) string { return monday.AddDate(0, 0, days).Format(time.DateOnly) + "T" + at }

	var got practiceDataJSON
	code, body := d.call(t, http.MethodGet, practiceDataPath, nil, &got)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, 3, got.Patients)
	assert.Equal(t, []appointmentJSON{
		{ID: "100", Start: day(0, "10:00"), Patient: "Ada Lovelace", Length: 60, Operatory: "OP-2"},
		{ID: "104", Start: day(0, "14:00"), Patient: "Alan Turing", Length: 60, Operatory: "OP-1"},
		{ID: "105", Start: day(1, "08:00"), Patient: "Ada Lovelace", Length: 30, Operatory: "OP-2"},
		{ID: "106", Start: day(1, "11:00"), Patient: "Ada Lovelace", Length: 30, Operatory: "OP-2"},
		{ID: "107", Start: day(2, "09:00"), Patient: "Alan Turing", Length: 30, Operatory: "OP-1"},
	}, got.Appointments)

	var e errorJSON
	code, _ = d.call(t, http.MethodPost, bookTestPath, http.Header{"Sec-Fetch-Site": {"cross-site"}}, &e)
	assert.Equal(t, http.StatusForbidden, code)
	assert.Equal(t, "cross_origin", e.Error)

	var wb writebackJSON
	code, body = d.call(t, http.MethodPost, bookTestPath, http.Header{"Sec-Fetch-Site": {"same-origin"}}, &wb)
	require.Equal(t, http.StatusAccepted, code, body)
	require.NotEmpty(t, wb.ID)
	assert.Equal(t, "pending", wb.State)
	assert.Equal(t, &appointmentJSON{Start: day(0, "10:00"), Patient: "Ada Lovelace", Length: testLength, Operatory: "OP-1"},
		wb.Appointment, "the first active patient, the first free slot")

	var st writebackJSON
	code, body = d.call(t, http.MethodGet, writebackPath+"?id="+wb.ID, nil, &st)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, writebackJSON{ID: wb.ID, State: "pending"}, st, "the mock's SPU waits -writeback-delay")
	code, _ = d.call(t, http.MethodPost, bookTestPath, nil, &e)
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, "booking_pending", e.Error, "no second booking while the first is pending")

	require.Eventually(t, func() bool {
		code, body = d.call(t, http.MethodGet, writebackPath+"?id="+wb.ID, nil, &st)
		require.Equal(t, http.StatusOK, code, body)
		return st.State != "pending"
	}, 30*time.Second, 200*time.Millisecond)
	assert.Equal(t, "completed", st.State, "result %q", st.Result)

	// Listed now, after the appointment of the same time with a smaller id.
	code, body = d.call(t, http.MethodGet, practiceDataPath, nil, &got)
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, got.Appointments, 5)
	booked := got.Appointments[1]
	assert.NotEmpty(t, booked.ID)
	booked.ID = ""
	assert.Equal(t, *wb.Appointment, booked)
	assert.Equal(t, "100", got.Appointments[0].ID)
	assert.Equal(t, "104", got.Appointments[2].ID)
	assert.Equal(t, expectedUpcoming(t, d, now), got.Appointments, "the mock's data agrees")

	// The next booking takes the next free slot (10:00 in OP-2 is taken
	// until 11:00, 10:30 in OP-1 is free), not the same one.
	code, body = d.call(t, http.MethodPost, bookTestPath, nil, &wb)
	require.Equal(t, http.StatusAccepted, code, body)
	assert.Equal(t, day(0, "10:30"), wb.Appointment.Start)
	assert.Equal(t, "OP-1", wb.Appointment.Operatory)
	assert.NotContains(t, d.logs.String(), mocksikka.DefaultAppKey)
}

// An unknown writeback id is a 404 with a message; Sikka unavailable is a
// 503 that says so.
func TestPracticeDataErrors(t *testing.T) {
	d := startDemo(t, nil, nil, nil)
	connectDemo(t, d)

	var e errorJSON
	code, _ := d.call(t, http.MethodGet, writebackPath+"?id=999999", nil, &e)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "no_such_writeback", e.Error)

	mockAdmin(t, d, http.MethodPost, "/_mock/faults", `{"endpoint":"GET /v4/patients","status":503}`)
	code, _ = d.call(t, http.MethodGet, practiceDataPath, nil, &e)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, errorJSON{"sikka_unavailable", "Sikka is unavailable; try again in a minute."}, e)
	assert.Contains(t, d.logs.String(), "sikka-demo: practice data: count patients")
}

func TestFreeSlot(t *testing.T) {
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) // a monday
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	appt := func(op string, h, m, length int) sikka.Appointment {
		return sikka.Appointment{Operatory: op, Start: at(h, m), Length: length}
	}
	ops := []string{"A", "B"}
	for _, c := range []struct {
		name   string
		now    time.Time
		taken  []sikka.Appointment
		start  time.Time
		op     string
		isFree bool
	}{
		{"opening", day, nil, at(8, 0), "A", true},
		{"not before now", at(9, 1), nil, at(9, 30), "A", true},
		{"at now", at(9, 30), nil, at(9, 30), "A", true},
		{"first op busy", at(8, 0), []sikka.Appointment{appt("A", 8, 0, 60)}, at(8, 0), "B", true},
		{"overlap from before", at(8, 0), []sikka.Appointment{appt("A", 7, 45, 30), appt("B", 8, 15, 30)}, at(8, 30), "A", true},
		{"adjacent is free", at(8, 0), []sikka.Appointment{appt("A", 7, 30, 30)}, at(8, 0), "A", true},
		{"last slot", at(16, 20), nil, at(16, 30), "A", true},
		{"closed", at(16, 31), nil, time.Time{}, "", false},
		{"full", at(16, 0), []sikka.Appointment{appt("A", 16, 0, 60), appt("B", 15, 0, 120)}, time.Time{}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			start, op, ok := freeSlot(c.now, day, ops, c.taken)
			assert.Equal(t, c.isFree, ok)
			assert.Equal(t, c.start, start)
			assert.Equal(t, c.op, op)
		})
	}
}
