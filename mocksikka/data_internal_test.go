package mocksikka

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var dataTestClock = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

// dataOf returns the data of the default office's practice 1, with s.mu held during fn.
func dataOf(t *testing.T, s *Server, fn func(d *practiceData)) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.dataLocked(DefaultOfficeID, "1")
	require.NoError(t, err)
	fn(d)
}

// The generated data holds together: every appointment's patient and provider exist, no two
// appointments share an operatory slot, the default sizes are met.
func TestGeneratedDataConsistent(t *testing.T) {
	s := New(WithClock(dataTestClock))
	dataOf(t, s, func(d *practiceData) {
		ap := d.tables[tblAppointments]
		assert.Equal(t, DefaultDataAppointments, ap.len())
		assert.Equal(t, DefaultDataPatients, d.tables[tblPatients].len())
		type slot struct {
			op, date string
			minute   int
		}
		taken := map[slot]string{}
		for r := range ap.len() {
			_, ok := d.patient(ap.get(r, "patient_id"))
			assert.True(t, ok, "appointment %s: patient %s", ap.get(r, "appointment_sr_no"), ap.get(r, "patient_id"))
			_, ok = d.provider(ap.get(r, "provider_id"))
			assert.True(t, ok)
			_, ok = d.operatory(ap.get(r, "operatory"))
			assert.True(t, ok)
			m, ok := minuteOfDay(ap.get(r, "time"))
			require.True(t, ok)
			n, _ := strconv.Atoi(ap.get(r, "length"))
			assert.GreaterOrEqual(t, m, 8*60)
			assert.LessOrEqual(t, m+n, 17*60)
			for k := m; k < m+n; k += 30 {
				sl := slot{ap.get(r, "operatory"), ap.get(r, "date"), k}
				assert.Empty(t, taken[sl], "double booked %v", sl)
				taken[sl] = ap.get(r, "appointment_sr_no")
			}
		}
		tx := d.tables[tblTransactions]
		require.Positive(t, tx.len())
		for r := range tx.len() {
			_, ok := d.patient(tx.get(r, "patient_id"))
			assert.True(t, ok)
			if c := tx.get(r, "claim_sr_no"); c != "" {
				_, ok := d.claim(c)
				assert.True(t, ok, "claim %s", c)
			}
		}
	})
}

func TestInsertUpdateRecordEvents(t *testing.T) {
	s := New(WithClock(dataTestClock))
	var got []DataChange
	s.onChange(func(c DataChange) { got = append(got, c) })
	dataOf(t, s, func(d *practiceData) {
		now := s.clock.now()
		id, err := s.insertRowLocked(d, tblAppointments, map[string]string{
			"patient_id": "1001", "date": "2026-03-11T00:00:00", "time": "07:00", "length": "30", "operatory": "OP-1", "status": "Scheduled",
		}, now)
		require.NoError(t, err)
		a, ok := d.appointment(id)
		require.True(t, ok)
		p, _ := d.patient("1001")
		assert.Equal(t, p["firstname"]+" "+p["lastname"], a["patient_name"])
		assert.Equal(t, "1", a["practice_id"])
		sr, taken := d.slotTaken("OP-1", "2026-03-11", "07:15", 30, "")
		assert.True(t, taken)
		assert.Equal(t, id, sr)
		_, taken = d.slotTaken("OP-1", "2026-03-11", "07:15", 30, id)
		assert.False(t, taken)

		ch, err := s.updateRowLocked(d, tblAppointments, id, map[string]string{"status": "Confirmed"}, now.Add(time.Minute))
		require.NoError(t, err)
		require.Len(t, ch, 2) // status, last_changed_date
		assert.Equal(t, FieldChange{Field: "status", Old: "Scheduled", New: "Confirmed"}, ch[0])

		_, err = s.insertRowLocked(d, tblPatients, map[string]string{"firstname": "A", "shoe_size": "9"}, now)
		assert.True(t, errors.Is(err, ErrInvalid))
		assert.ErrorContains(t, err, "shoe_size")
		_, err = s.updateRowLocked(d, tblPatients, "nope", map[string]string{"firstname": "A"}, now)
		assert.True(t, errors.Is(err, ErrNotFound))
		require.Len(t, d.events, 2)
		assert.Equal(t, "inserted", d.events[0].flag)
		assert.Equal(t, "updated", d.events[1].flag)
	})
	require.Len(t, got, 2)
	assert.Equal(t, DataChange{Event: "appointments", OfficeID: DefaultOfficeID, PracticeID: "1", Time: dataTestClock}, got[0])
}

// The field lists the endpoints use are those of docs/sikka_fields.json.
func TestDataFieldsMatchSheet(t *testing.T) {
	for name, want := range sheetFields {
		def, all := SheetFieldsOf(t, name)
		assert.Equal(t, def, want.def, name)
		assert.Equal(t, all, want.all, name)
	}
}

// SheetFieldsOf returns the default and get_all fields of an endpoint from
// docs/sikka_fields.json (get_all is the default list where the sheet gives
// none), and fails the test for an endpoint the sheet does not list.
// Exported for the package's external tests.
func SheetFieldsOf(t *testing.T, name string) (def, all []string) {
	t.Helper()
	b, err := os.ReadFile("../docs/sikka_fields.json")
	require.NoError(t, err)
	var f struct {
		Endpoints map[string]struct {
			Default []string `json:"default"`
			GetAll  []string `json:"get_all"`
		} `json:"endpoints"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	ep, ok := f.Endpoints[name]
	require.True(t, ok, name)
	if ep.GetAll == nil {
		ep.GetAll = ep.Default
	}
	return ep.Default, ep.GetAll
}

// eventsGet answers GET /v4/practice_events?query for the default office.
func eventsGet(t *testing.T, s *Server, query string) (int, []byte) {
	t.Helper()
	s.mu.Lock()
	k := s.store.newKey(DefaultAppID, DefaultOfficeID, s.clock.now(), time.Hour)
	s.mu.Unlock()
	req := httptest.NewRequest("GET", "/v4/practice_events?"+query, nil)
	req.Header.Set("Request-Key", k.requestKey)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}

// practice_events lists the changes of the kind asked for, within interval minutes or the
// loaded dates, with loadeddate, flag and changes (dates written as Sikka's events write them).
func TestPracticeEvents(t *testing.T) {
	s := New(WithClock(dataTestClock))
	var id string
	dataOf(t, s, func(d *practiceData) {
		var err error
		id, err = s.insertRowLocked(d, tblAppointments, map[string]string{"patient_id": "1001", "date": "2026-03-12T00:00:00", "time": "09:00", "length": "30", "operatory": "OP-2"}, s.clock.now())
		require.NoError(t, err)
	})
	s.Advance(2 * time.Hour)
	dataOf(t, s, func(d *practiceData) {
		_, err := s.updateRowLocked(d, tblAppointments, id, map[string]string{"date": "2026-03-13T00:00:00"}, s.clock.now())
		require.NoError(t, err)
		_, err = s.updateRowLocked(d, tblPatients, "1001", map[string]string{"cell": "416-555-0000"}, s.clock.now())
		require.NoError(t, err)
	})
	type item struct {
		AppointmentSrNo string `json:"appointment_sr_no"`
		Date            string `json:"date"`
		LoadedDate      string `json:"loadeddate"`
		Flag            string `json:"flag"`
		Changes         []struct {
			Field string `json:"field"`
			Old   string `json:"old_value"`
			New   string `json:"new_value"`
		} `json:"changes"`
	}
	list := func(query string) (int, []item, []byte) {
		code, body := eventsGet(t, s, query)
		var env struct{ Items []item }
		if code == 200 {
			require.NoError(t, json.Unmarshal(body, &env), "%s", body)
		}
		return code, env.Items, body
	}
	code, items, body := list("events=appointments")
	require.Equal(t, 200, code, "%s", body)
	require.Len(t, items, 2)
	assert.Equal(t, "inserted", items[0].Flag)
	assert.Equal(t, "2026-03-10T15:00:00", items[0].LoadedDate)
	assert.Equal(t, "2026-03-12T00:00:00", items[0].Date, "the row as it was after that change")
	assert.Equal(t, "updated", items[1].Flag)
	assert.Equal(t, id, items[1].AppointmentSrNo)
	require.NotEmpty(t, items[1].Changes)
	assert.Equal(t, "date", items[1].Changes[0].Field)
	assert.Equal(t, "3/12/2026 12:00:00 AM", items[1].Changes[0].Old)
	assert.Equal(t, "3/13/2026 12:00:00 AM", items[1].Changes[0].New)
	// the appointments items have exactly the fields of Sikka's practice_events example
	var raw struct{ Items []map[string]json.RawMessage }
	require.NoError(t, json.Unmarshal(body, &raw))
	assert.Len(t, raw.Items[0], len(sheetFields["practice_events"].def))

	_, items, _ = list("events=appointments&interval=60")
	assert.Len(t, items, 1, "only the change of the last hour")
	_, items, _ = list("events=appointments&loaded_startdate=2026-03-10&loaded_enddate=2026-03-10")
	assert.Len(t, items, 2)
	code, _, _ = list("events=appointments&loaded_startdate=2026-03-11")
	assert.Equal(t, 204, code)
	_, items, _ = list("events=patients")
	assert.Len(t, items, 1)
	code, _, _ = list("events=guarantors")
	assert.Equal(t, 204, code, "a documented kind the mock keeps no events of")
	for q, want := range map[string]string{"": "API1020", "events=pets": "API1026", "events=patients&interval=0": "API1026",
		"events=patients&interval=1441": "API1026", "events=patients&loaded_startdate=yesterday": "API1026"} {
		code, body := eventsGet(t, s, q)
		assert.Equal(t, 400, code, q)
		assert.Contains(t, string(body), want, q)
	}
}
