package mocksikka

import (
	"time"
)

// The mock's clock-driven work (writebacks the SPU completes after a delay, webhook retries,
// Data_Refresh on a schedule) runs through one scheduler, so that it happens on the mock clock
// whether that clock is frozen (tests move it with Advance or SetTime) or follows real time.
//
// A clockTask is a function the scheduler calls, with s.mu held, every time it runs: it does
// whatever is due at now and returns when it next has something due (the zero time when
// nothing is pending). It must be quick and must not block: network work (sending a webhook)
// is handed to a goroutine. The scheduler runs every task:
//   - after the clock moves (Advance, SetTime) and after Reset;
//   - before each request is handled, so a request always sees the state its clock time implies;
//   - when the clock follows real time, at the earliest time a task asked for, by a timer
//     (no goroutine waits in between; Close stops the timer).
type clockTask func(now time.Time) (next time.Time)

// scheduler holds the registered tasks and the real-time timer; s.mu guards it.
type scheduler struct {
	tasks  []clockTask
	timer  *time.Timer
	due    time.Time // when the timer fires, on the mock clock; zero when unarmed
	closed bool
}

// onClock registers t; call it from New, before the server is used.
func (s *Server) onClock(t clockTask) { s.sched.tasks = append(s.sched.tasks, t) }

// runClockLocked runs every task at the mock clock's current time and re-arms the timer for the
// earliest next time. The caller holds s.mu.
func (s *Server) runClockLocked() {
	if len(s.sched.tasks) == 0 {
		return
	}
	now := s.clock.now()
	var next time.Time
	for _, t := range s.sched.tasks {
		if n := t(now); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	s.armLocked(now, next)
}

// armLocked sets the real-time timer to fire when the mock clock reaches next. A frozen clock
// only moves by Advance or SetTime, which run the tasks themselves: no timer then.
func (s *Server) armLocked(now, next time.Time) {
	sc := &s.sched
	if next.IsZero() || sc.closed || !s.clock.start.IsZero() {
		if sc.timer != nil {
			sc.timer.Stop()
		}
		sc.due = time.Time{}
		return
	}
	if !sc.due.IsZero() && !next.Before(sc.due) && sc.timer != nil {
		return // already armed for an earlier or equal time
	}
	wait := next.Sub(now)
	if wait < time.Millisecond {
		wait = time.Millisecond
	}
	sc.due = next
	if sc.timer == nil {
		sc.timer = time.AfterFunc(wait, s.fire)
		return
	}
	sc.timer.Reset(wait)
}

// fire is the timer's function: it runs the tasks now due.
func (s *Server) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sched.due = time.Time{}
	if s.sched.closed {
		return
	}
	s.runClockLocked()
}

// Close stops the mock's timers and its webhooks: writebacks stay pending, and no webhook is
// sent or retried after it returns (a delivery in flight is cancelled, and Close waits for
// it). Requests are still answered, and a clock moved by Advance or SetTime still runs the
// due work other than webhooks. Call it when a test or program is done with a Server that has
// webhook targets or whose clock follows real time; it is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	s.sched.closed = true
	if s.sched.timer != nil {
		s.sched.timer.Stop()
	}
	s.sched.due = time.Time{}
	s.mu.Unlock()
	s.stopWebhooks() // without s.mu: a send in flight takes it to record its end
}
