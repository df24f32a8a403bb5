package mocksikka

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Writebacks, as the SPU on the practice's server does them. A writeback request
// (POST /v4/appointment, PATCH /v4/patient/{patient_id}, …) is checked and answered at once
// with its id; the change itself waits, pending, until the office's SPU picks it up: when the
// SPU is online and the writeback delay (DefaultWritebackDelay, 30 s of the mock clock) has
// passed since the request. The SPU then fails it (a scripted WritebackFailRule, or a check
// that only the practice's data can answer, such as a double-booked operatory slot) or applies
// it to the practice data through insertRowLocked/updateRowLocked, so that the change shows in
// the data endpoints and practice_events and fires the data-change webhooks. Everything here
// is guarded by s.mu.

// Writeback settings.
const (
	// DefaultWritebackDelay is how long, on the mock clock, a writeback stays pending before
	// the SPU processes it, when WithWritebackDelay is not given.
	DefaultWritebackDelay = 30 * time.Second
	// MaxWritebacks is how many writebacks the mock keeps. One more forgets the oldest
	// completed or failed one; when all of them are pending the request is refused with 503
	// API2002 until some complete.
	MaxWritebacks = 10000
	// MaxWritebackBytes bounds the bytes of the bodies the kept writebacks hold (counted twice:
	// as sent and as fields), in the same way as MaxWritebacks bounds their number.
	MaxWritebackBytes = 64 << 20
	// firstWritebackID is the id of the first writeback after New or Reset.
	firstWritebackID = 275001
)

// wbState is where a writeback is.
type wbState uint8

const (
	wbPending wbState = iota
	wbSuccess
	wbFailed
)

// writeback is one writeback request and, once processed, its outcome.
type writeback struct {
	id                          int64
	kind                        *wbKind
	officeID, practiceID, appID string
	target                      string            // the path's id (appointment_sr_no, patient_id, claim_sr_no) or ""
	fields                      map[string]string // the body, checked and normalised by kind.check
	payload                     string            // payload_body: the body as sent (card data masked)
	requested                   time.Time         // mock clock
	state                       wbState
	completed                   time.Time
	result                      string // what the SPU said: "New Patient inserted successfully", …
	createdID                   string // the id of the record it created
	patientID, apptSrNo         string // for writeback_status
	size                        int    // bytes counted against MaxWritebackBytes
}

// writebacks is the mock SPU's queue and memory.
type writebacks struct {
	nextID  int64
	all     []*writeback // id order
	byID    map[int64]*writeback
	pending []*writeback // id order: the SPU processes them first in, first out
	bytes   int          // the sum of size over all
	rules   []*WritebackFailRule
	delay   time.Duration
}

func newWritebacks(delay time.Duration) writebacks {
	return writebacks{nextID: firstWritebackID, byID: map[int64]*writeback{}, delay: delay}
}

// add stores w as pending and gives it the next id. While MaxWritebacks are stored, or their
// bodies and w's would exceed MaxWritebackBytes, it forgets the oldest processed one; it
// reports false (storing nothing) when only pending ones are left to forget.
func (q *writebacks) add(w *writeback) bool {
	w.size = 2 * len(w.payload)
	for len(q.all) >= MaxWritebacks || q.bytes+w.size > MaxWritebackBytes {
		i := slices.IndexFunc(q.all, func(o *writeback) bool { return o.state != wbPending })
		if i < 0 {
			return false
		}
		q.forget(q.all[i])
	}
	w.id = q.nextID
	q.nextID++
	q.all = append(q.all, w)
	q.byID[w.id] = w
	q.bytes += w.size
	q.pending = append(q.pending, w)
	return true
}

// forget drops w (DELETE /v4/writebacks, or to make room).
func (q *writebacks) forget(w *writeback) {
	delete(q.byID, w.id)
	q.bytes -= w.size
	q.all = slices.DeleteFunc(q.all, func(o *writeback) bool { return o == w })
	q.pending = slices.DeleteFunc(q.pending, func(o *writeback) bool { return o == w })
}

// processWritebacksLocked is the SPU: the clock task that processes every pending writeback
// whose office's SPU is online and whose delay has passed, in the order they were requested.
// It returns when the next one is due (zero when none waits on the clock: a writeback of an
// offline office waits for SetSPUOnline, which runs the clock).
func (s *Server) processWritebacksLocked(now time.Time) time.Time {
	q := &s.wb
	var next time.Time
	keep := q.pending[:0]
	for _, w := range q.pending {
		if !s.spuOnlineLocked(w.officeID) {
			keep = append(keep, w)
			continue
		}
		if due := w.requested.Add(q.delay); now.Before(due) {
			keep = append(keep, w)
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		s.processLocked(w, now)
	}
	clear(q.pending[len(keep):])
	q.pending = keep
	return next
}

// processLocked completes or fails w at now.
func (s *Server) processLocked(w *writeback, now time.Time) {
	w.completed = now
	w.state = wbFailed
	d, err := s.dataLocked(w.officeID, w.practiceID)
	if err != nil {
		w.result = "Practice " + w.practiceID + " of office " + w.officeID + " is no longer configured."
		return
	}
	if r := s.wb.matchRule(w); r != nil {
		w.result = r.Result
		return
	}
	result, created, err := w.kind.apply(s, d, w, now)
	if err != nil {
		w.result = result
		if w.result == "" {
			w.result = err.Error()
		}
		return
	}
	w.state, w.result, w.createdID = wbSuccess, result, created
	switch w.kind.createdField {
	case "patient_id":
		w.patientID = created
	case "appointment_sr_no":
		w.apptSrNo = created
	}
}

// WritebackFailRule makes the mock's SPU fail writebacks, as a practice's software refuses
// some: the next Count writebacks of Endpoint (of OfficeID only, when set) fail with Result as
// their result text when the SPU processes them. Rules are tried in the order they were added;
// a rule whose count is used up is dropped.
type WritebackFailRule struct {
	// Endpoint is a writeback endpoint as the sheet names it ("POST /v4/appointment",
	// "PATCH /v4/appointments/{appointment_sr_no}", "PATCH /v4/patient/{patient_id}", …), or
	// "*" for every one.
	Endpoint string `json:"endpoint"`
	// OfficeID restricts the rule to one office; "" is every office.
	OfficeID string `json:"office_id,omitempty"`
	// Count is how many writebacks fail (at least 1); in WritebackFailRules, how many are left.
	Count int `json:"count"`
	// Result is the failed writeback's result text; "" is "Writeback failed (mocksikka fail rule)".
	Result string `json:"result,omitempty"`
}

// FailWritebacks adds a rule that fails writebacks when the SPU processes them, until Reset or
// ClearWritebackFailRules. It fails with ErrInvalid for an unknown endpoint or a count below 1.
func (s *Server) FailWritebacks(r WritebackFailRule) error {
	if r.Endpoint != "*" && wbKindOf(r.Endpoint) == nil {
		return fmt.Errorf("writeback fail rule: endpoint %q is not a writeback the mock serves (one of %s, or \"*\"): %w",
			r.Endpoint, wbEndpointNames(), ErrInvalid)
	}
	if r.Count < 1 {
		return fmt.Errorf("writeback fail rule: count must be at least 1: %w", ErrInvalid)
	}
	if r.Result == "" {
		r.Result = "Writeback failed (mocksikka fail rule)"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wb.rules = append(s.wb.rules, &r)
	return nil
}

// WritebackFailRules returns the rules in force, with the count each has left.
func (s *Server) WritebackFailRules() []WritebackFailRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WritebackFailRule, 0, len(s.wb.rules))
	for _, r := range s.wb.rules {
		out = append(out, *r)
	}
	return out
}

// ClearWritebackFailRules drops every fail rule.
func (s *Server) ClearWritebackFailRules() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wb.rules = nil
}

// matchRule returns the first rule that fails w, counting it.
func (q *writebacks) matchRule(w *writeback) *WritebackFailRule {
	for i, r := range q.rules {
		if (r.Endpoint == "*" || r.Endpoint == w.kind.endpoint) && (r.OfficeID == "" || r.OfficeID == w.officeID) {
			r.Count--
			if r.Count <= 0 {
				q.rules = slices.Delete(q.rules, i, i+1)
			}
			return r
		}
	}
	return nil
}

// SetWritebackDelay sets how long writebacks stay pending before the SPU processes them,
// those already pending included (their delay counts from their request); a negative d is
// ignored. 0 processes each at the next tick of the clock: the request itself.
func (s *Server) SetWritebackDelay(d time.Duration) {
	if d < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wb.delay = d
	s.runClockLocked()
}

// WritebackDelay returns the writeback delay in force.
func (s *Server) WritebackDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wb.delay
}

// WithWritebackDelay sets how long, on the mock clock, a writeback stays pending before the
// SPU processes it (default DefaultWritebackDelay, 30 s; 0 processes it at once). New panics
// on a negative d.
func WithWritebackDelay(d time.Duration) Option {
	return func(c *config) { c.writebackDelay = d }
}

func (s *Server) adminFailRules(c *call) { c.json(http.StatusOK, s.WritebackFailRules()) }

func (s *Server) adminAddFailRule(c *call) {
	var r WritebackFailRule
	if !c.decodeAdmin(&r) {
		return
	}
	if err := s.FailWritebacks(r); err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusCreated, s.WritebackFailRules())
}

func (s *Server) adminClearFailRules(c *call) { s.ClearWritebackFailRules(); ok(c) }

// wbTime formats a writeback time as writeback_status shows it: "2020-12-04 13:51:34".
func wbTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateTime)
}

// wbID parses a writeback id.
func wbID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
