package mocksikka

import (
	"errors"
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
