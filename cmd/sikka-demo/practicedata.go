// The setup page's "Practice data" panel: the connection in use. Every call
// to Sikka goes through the signed-in account's Service.HTTPClient and the
// sikka package's typed data client, as a host's own code would.

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/sikka"
)

// The panel's routes: JSON for the setup page's script, for the signed-in
// demo account only.
const (
	practiceDataPath = "/demo/practice-data"
	bookTestPath     = "/demo/book-test-appointment"
	writebackPath    = "/demo/writeback"
)

// The panel's schedule rules. Appointment times are the practice's wall
// clock without a zone (Sikka sends them so); the demo reads them, and its
// own clock, as UTC, which is the mock's schedule. A host that knows the
// practice's zone compares in that zone instead.
const (
	// upcomingCount is how many upcoming appointments the panel lists.
	upcomingCount = 5
	// horizonDays is how far ahead the panel looks for them, and for a free
	// slot (the mock schedules 60 days ahead).
	horizonDays = 62
	// testLength is the length of a test booking, in minutes; bookings
	// start on the half hour.
	testLength = 30
	slotStep   = 30 * time.Minute
	// The test booking's business hours, Monday to Friday (the mock's).
	dayOpen, dayClose = 8 * time.Hour, 17 * time.Hour
)

// practicePanel serves the panel's routes.
type practicePanel struct {
	svc   *integration.Service
	sikka *sikka.Client
	// sameOrigin refuses a cross-origin POST (the middleware's rule).
	sameOrigin func(*http.Request) error
	log        *slog.Logger
	now        func() time.Time

	// mu serializes test bookings in this process; booking holds each
	// account's last test booking (its writeback id), so that a second
	// one waits until the first is over instead of taking the same slot.
	mu      sync.Mutex
	booking map[string]string
}

func (p *practicePanel) mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+practiceDataPath, p.practiceData)
	mux.HandleFunc("POST "+bookTestPath, p.bookTest)
	mux.HandleFunc("GET "+writebackPath, p.writeback)
}

// practiceDataJSON is the answer of GET /demo/practice-data.
type practiceDataJSON struct {
	// Patients is the practice's patient count (Sikka's total_count).
	Patients int `json:"patients"`
	// Appointments are the next ones, earliest first, cancelled ones left
	// out.
	Appointments []appointmentJSON `json:"appointments"`
}

// appointmentJSON is an appointment as the panel shows it.
type appointmentJSON struct {
	ID string `json:"id,omitempty"`
	// Start is the practice's wall clock, "2006-01-02T15:04".
	Start     string `json:"start"`
	Patient   string `json:"patient"`
	Length    int    `json:"length"` // minutes
	Operatory string `json:"operatory,omitempty"`
}

// writebackJSON is the answer of POST /demo/book-test-appointment (with
// Appointment, what was asked) and of GET /demo/writeback?id=.
type writebackJSON struct {
	ID string `json:"id"`
	// State is "pending", "completed" or "failed"; Result is Sikka's text.
	State       string           `json:"state"`
	Result      string           `json:"result,omitempty"`
	Appointment *appointmentJSON `json:"appointment,omitempty"`
}

// errorJSON is every error answer: a code for the script, and a message to
// show.
type errorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

const wallClock = "2006-01-02T15:04"

func showAppointment(a sikka.Appointment) appointmentJSON {
	return appointmentJSON{ID: a.AppointmentSrNo, Start: a.Start.Format(wallClock), Patient: a.PatientName,
		Length: a.Length, Operatory: a.Operatory}
}

// client returns the signed-in account and its data client: every call goes
// through the account's HTTPClient, which refuses an account that is not
// connected (or must authorize again) before anything is sent, with
// integration.ErrNotConnected or ErrNeedsReauth (final: the data client does
// not retry a refusal), answered by fail like any other error.
func (p *practicePanel) client(r *http.Request) (string, *sikka.DataClient) {
	acct, _ := demoAccount(r)
	return acct, p.sikka.DataVia(p.svc.HTTPClient(acct))
}

func (p *practicePanel) practiceData(w http.ResponseWriter, r *http.Request) {
	acct, dc := p.client(r)
	ctx := r.Context()
	n, err := dc.Count(ctx, "patients")
	if err != nil {
		p.fail(w, r, acct, "count patients", err)
		return
	}
	next, err := upcoming(ctx, dc, p.now().UTC(), upcomingCount)
	if err != nil {
		p.fail(w, r, acct, "list appointments", err)
		return
	}
	body := practiceDataJSON{Patients: n, Appointments: []appointmentJSON{}}
	for _, a := range next {
		body.Appointments = append(body.Appointments, showAppointment(a))
	}
	writeJSON(w, http.StatusOK, body)
}

// upcoming returns the first n appointments starting at or after now
// within horizonDays, earliest first (ties by id), cancelled, broken and
// deleted ones left out. It lists a week at a time until it has n.
func upcoming(ctx context.Context, dc *sikka.DataClient, now time.Time, n int) ([]sikka.Appointment, error) {
	today := midnight(now)
	var out []sikka.Appointment
	for from := today; len(out) < n && from.Before(today.AddDate(0, 0, horizonDays)); from = from.AddDate(0, 0, 7) {
		var week []sikka.Appointment
		for a, err := range dc.Appointments(ctx, sikka.Dates(from, from.AddDate(0, 0, 6)),
			sikka.Fields("operatory"), sikka.PageSize(sikka.MaxPageSize)) {
			if err != nil {
				return nil, err
			}
			if !a.Start.Before(now) && !cancelled(a.Status) {
				week = append(week, a)
			}
		}
		slices.SortFunc(week, func(a, b sikka.Appointment) int {
			return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(len(a.AppointmentSrNo), len(b.AppointmentSrNo)),
				strings.Compare(a.AppointmentSrNo, b.AppointmentSrNo))
		})
		out = append(out, week...)
	}
	return out[:min(n, len(out))], nil
}

// cancelled tells whether an appointment of this status no longer takes
// place.
func cancelled(status string) bool {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "cancelled", "canceled", "broken", "deleted":
		return true
	}
	return false
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// bookTest books a test appointment for the signed-in account's practice
// as a writeback: the first patient and provider of the practice's first
// practice, in the first free slot (freeSlot). It answers 202 with the
// writeback's id while Sikka's utility has not written it yet; the page
// then polls GET /demo/writeback. Same-origin POSTs only.
func (p *practicePanel) bookTest(w http.ResponseWriter, r *http.Request) {
	if err := p.sameOrigin(r); err != nil {
		p.log.Warn("sikka-demo: cross-origin booking refused", "error", err)
		writeJSON(w, http.StatusForbidden, errorJSON{"cross_origin", "Refused: the request came from another site."})
		return
	}
	acct, dc := p.client(r)
	ctx := r.Context()
	p.mu.Lock()
	defer p.mu.Unlock()
	if id := p.booking[acct]; id != "" {
		st, err := dc.WritebackStatus(ctx, id)
		if err == nil && !st.Done() || errors.Is(err, sikka.ErrNoSuchWriteback) {
			writeJSON(w, http.StatusConflict, errorJSON{"booking_pending",
				"The last test appointment is still being written to the practice; wait until it completes."})
			return
		}
		if err != nil {
			p.fail(w, r, acct, "writeback status", err)
			return
		}
	}
	a, err := testAppointment(ctx, dc, p.now().UTC())
	if errors.Is(err, errNoFreeSlot) {
		writeJSON(w, http.StatusConflict, errorJSON{"no_free_slot", "No free slot for a test appointment in the next " +
			"weeks (or the practice lists no patient, provider or operatory)."})
		return
	}
	if err != nil {
		p.fail(w, r, acct, "find a free slot", err)
		return
	}
	wb, err := dc.BookAppointment(ctx, a.NewAppointment)
	if err != nil {
		p.fail(w, r, acct, "book an appointment", err)
		return
	}
	if p.booking == nil {
		p.booking = map[string]string{}
	}
	p.booking[acct] = wb.ID
	p.log.Info("sikka-demo: test appointment submitted", "account_id", acct, "writeback_id", wb.ID,
		"start", a.Start.Format(wallClock), "operatory", a.Operatory)
	shown := appointmentJSON{Start: a.Start.Format(wallClock), Patient: a.patientName, Length: a.Length, Operatory: a.Operatory}
	writeJSON(w, http.StatusAccepted, writebackJSON{ID: wb.ID, State: "pending", Appointment: &shown})
}

// errNoFreeSlot: the practice lists no patient, provider or operatory, or
// no slot is free within horizonDays.
var errNoFreeSlot = errors.New("no free slot")

// testBooking is the appointment bookTest asks for.
type testBooking struct {
	sikka.NewAppointment
	patientName string
}

// testAppointment picks the test booking: the practice's first practice,
// its first active patient, its first active provider that is not hidden,
// and the first free slot of its operatories that are not hidden.
func testAppointment(ctx context.Context, dc *sikka.DataClient, now time.Time) (testBooking, error) {
	var practice sikka.Record
	for pr, err := range sikka.List[sikka.Record](ctx, dc, "practices") {
		if err != nil {
			return testBooking{}, err
		}
		practice = pr
		break
	}
	pid := practice["practice_id"]
	var patient *sikka.Patient
	for pt, err := range dc.Patients(ctx, sikka.PracticeID(pid)) {
		if err != nil {
			return testBooking{}, err
		}
		if strings.EqualFold(pt.Status, "Active") {
			patient = &pt
			break
		}
	}
	var provider *sikka.Provider
	for pv, err := range dc.Providers(ctx, sikka.PracticeID(pid)) {
		if err != nil {
			return testBooking{}, err
		}
		if !pv.Hidden && (pv.Status == "" || strings.EqualFold(pv.Status, "Active")) {
			provider = &pv
			break
		}
	}
	var ops []string
	for op, err := range sikka.List[sikka.Record](ctx, dc, "operatories", sikka.Filter("cust_id", practice["cust_id"])) {
		if err != nil {
			return testBooking{}, err
		}
		if h := strings.ToUpper(strings.TrimSpace(op["is_hidden"])); op["operatory"] != "" && h != "T" && h != "TRUE" {
			ops = append(ops, op["operatory"])
		}
	}
	if patient == nil || provider == nil || len(ops) == 0 {
		return testBooking{}, errNoFreeSlot
	}
	for d := range horizonDays {
		day := midnight(now).AddDate(0, 0, d)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		var taken []sikka.Appointment
		for a, err := range dc.Appointments(ctx, sikka.Dates(day, day), sikka.Fields("operatory"), sikka.PageSize(sikka.MaxPageSize)) {
			if err != nil {
				return testBooking{}, err
			}
			taken = append(taken, a)
		}
		if start, op, ok := freeSlot(now, day, ops, taken); ok {
			name := strings.TrimSpace(patient.FirstName + " " + patient.LastName)
			return testBooking{NewAppointment: sikka.NewAppointment{
				PracticeID: pid, PatientID: patient.PatientID, ProviderID: provider.ProviderID,
				Operatory: op, Start: start, Length: testLength, Description: "Test appointment (sikka-demo)",
			}, patientName: name}, nil
		}
	}
	return testBooking{}, errNoFreeSlot
}

// freeSlot returns the first half hour of day, within business hours and
// not before now, when one of ops (tried in order) is free for testLength
// minutes. Every appointment of taken holds its operatory, whatever its
// status: a slot is never double-booked (one a cancellation freed may be
// skipped).
func freeSlot(now, day time.Time, ops []string, taken []sikka.Appointment) (time.Time, string, bool) {
	for t := day.Add(dayOpen); !t.Add(testLength * time.Minute).After(day.Add(dayClose)); t = t.Add(slotStep) {
		if t.Before(now) {
			continue
		}
		end := t.Add(testLength * time.Minute)
		for _, op := range ops {
			free := true
			for _, a := range taken {
				if a.Operatory == op && a.Start.Before(end) && t.Before(a.End()) {
					free = false
					break
				}
			}
			if free {
				return t, op, true
			}
		}
	}
	return time.Time{}, "", false
}

// writeback reports a writeback of the signed-in account's practice (GET
// /demo/writeback?id=): pending, completed, or failed with Sikka's result.
func (p *practicePanel) writeback(w http.ResponseWriter, r *http.Request) {
	acct, dc := p.client(r)
	id := r.URL.Query().Get("id")
	st, err := dc.WritebackStatus(r.Context(), id)
	if errors.Is(err, sikka.ErrNoSuchWriteback) {
		p.mu.Lock()
		ours := id != "" && p.booking[acct] == id
		p.mu.Unlock()
		if ours { // submitted, not listed yet
			writeJSON(w, http.StatusOK, writebackJSON{ID: id, State: "pending"})
			return
		}
		writeJSON(w, http.StatusNotFound, errorJSON{"no_such_writeback", "Sikka lists no writeback " + id + " for this practice."})
		return
	}
	if err != nil {
		p.fail(w, r, acct, "writeback status", err)
		return
	}
	body := writebackJSON{ID: id, State: "pending", Result: st.Result}
	switch {
	case st.Failed():
		body.State = "failed"
	case st.Completed:
		body.State = "completed"
	}
	writeJSON(w, http.StatusOK, body)
}

// fail answers err as a message the page shows, and logs it (neither holds
// a key: the integration's and the sikka package's errors never do).
func (p *practicePanel) fail(w http.ResponseWriter, r *http.Request, acct, what string, err error) {
	code, body := http.StatusInternalServerError, errorJSON{"internal", "Internal error; the demo's log says more."}
	switch {
	case errors.Is(err, integration.ErrNeedsReauth):
		code, body = http.StatusConflict, errorJSON{"needs_reauth", "The practice must authorize again: click Connect PMS."}
	case errors.Is(err, integration.ErrNotConnected):
		code, body = http.StatusConflict, errorJSON{"not_connected", "Not connected: connect the practice first."}
	case errors.Is(err, sikka.ErrSPUOffline):
		code, body = http.StatusServiceUnavailable, errorJSON{"spu_offline", "The practice's server (Sikka's utility) is offline; try again when it is back."}
	case errors.Is(err, sikka.ErrUnavailable), errors.Is(err, sikka.ErrRateLimited):
		code, body = http.StatusServiceUnavailable, errorJSON{"sikka_unavailable", "Sikka is unavailable; try again in a minute."}
	case r.Context().Err() != nil:
		return // the browser left
	case errors.As(err, new(*sikka.Error)):
		code, body = http.StatusBadGateway, errorJSON{"sikka_error", "Sikka refused the request; the demo's log says why."}
	}
	p.log.Warn("sikka-demo: practice data: "+what, "account_id", acct, "answer", body.Error, "error", err)
	writeJSON(w, code, body)
}

// writeJSON answers code with body as JSON, not to be cached.
func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
