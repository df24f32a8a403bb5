package sikka_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/sikka"
)

// The typed data client against the mock's data plane: the mock and the client were written
// from the same sheet by different hands, so this is where they must agree.
func TestDataClientAgainstMock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key := f.connect(mocksikka.DefaultOfficeID)
	dc := f.client.Data(sikka.StaticKey(key.RequestKey))
	want := f.mock.DataCounts(mocksikka.DefaultOfficeID, "1")

	n, err := dc.Count(ctx, "patients")
	require.NoError(t, err)
	assert.Equal(t, want["patients"], n, "Count reads total_count")

	// Every patient once, across pages of an odd size (page-index offsets).
	seen := map[string]bool{}
	for p, err := range dc.Patients(ctx, sikka.PageSize(37)) {
		require.NoError(t, err)
		require.False(t, seen[p.PatientID], "patient %s listed twice", p.PatientID)
		seen[p.PatientID] = true
		assert.NotEmpty(t, p.LastName)
		assert.False(t, p.Birthdate.IsZero(), "birthdate %q decoded", p.Birthdate.Raw)
	}
	assert.Len(t, seen, want["patients"])

	// Appointments of one day: each of a listed patient, on that day.
	day := start.AddDate(0, 0, 1)
	var appts []sikka.Appointment
	for a, err := range dc.Appointments(ctx, sikka.Dates(day, day), sikka.PageSize(500)) {
		require.NoError(t, err)
		appts = append(appts, a)
	}
	require.NotEmpty(t, appts, "the mock schedules appointments around today")
	for _, a := range appts {
		assert.True(t, seen[a.PatientID], "appointment %s of unknown patient %s", a.AppointmentSrNo, a.PatientID)
		assert.Equal(t, day.Format(time.DateOnly), a.Date.Format(time.DateOnly))
		assert.Positive(t, a.Length)
	}

	// Book a slot no generated appointment uses, and wait for the mock's SPU: each poll moves
	// the mock clock on, as time would pass.
	var provider sikka.Provider
	for p, err := range dc.Providers(ctx, sikka.PageSize(1)) {
		require.NoError(t, err)
		provider = p
		break
	}
	first := appts[0]
	slot := time.Date(start.Year()+1, 1, 7, 9, 0, 0, 0, time.UTC)
	wb, err := dc.BookAppointment(ctx, sikka.NewAppointment{PracticeID: "1", PatientID: first.PatientID,
		ProviderID: provider.ProviderID, Operatory: "OP-1", Start: slot, Length: 30, Description: "Test booking"})
	require.NoError(t, err)
	require.NotEmpty(t, wb.ID)
	pending, err := dc.WritebackStatus(ctx, wb.ID)
	require.NoError(t, err)
	assert.False(t, pending.Done(), "pending until the SPU's delay passes")
	st, err := dc.WaitWriteback(ctx, wb.ID, func(int) time.Duration {
		f.mock.Advance(10 * time.Second)
		return 10 * time.Second
	})
	require.NoError(t, err)
	require.True(t, st.Completed && !st.Failed(), "status %+v", st)

	var booked []sikka.Appointment
	for a, err := range dc.Appointments(ctx, sikka.Dates(slot, slot)) {
		require.NoError(t, err)
		booked = append(booked, a)
	}
	require.Len(t, booked, 1, "the completed writeback is in the data")
	assert.Equal(t, slot, booked[0].Start)
	assert.Equal(t, first.PatientID, booked[0].PatientID)

	// The same slot again: the SPU refuses the double booking.
	wb2, err := dc.BookAppointment(ctx, sikka.NewAppointment{PracticeID: "1", PatientID: first.PatientID,
		ProviderID: provider.ProviderID, Operatory: "OP-1", Start: slot, Length: 30})
	require.NoError(t, err)
	_, err = dc.WaitWriteback(ctx, wb2.ID, func(int) time.Duration { f.mock.Advance(10 * time.Second); return time.Second })
	assert.ErrorIs(t, err, sikka.ErrWritebackFailed)

	// SPU offline: check_spu is refused at once.
	require.NoError(t, f.mock.SetSPUOnline(mocksikka.DefaultOfficeID, false))
	_, err = dc.BookAppointment(ctx, sikka.NewAppointment{PracticeID: "1", PatientID: first.PatientID,
		ProviderID: provider.ProviderID, Operatory: "OP-2", Start: slot, Length: 30, CheckSPU: true})
	assert.ErrorIs(t, err, sikka.ErrSPUOffline)
}
