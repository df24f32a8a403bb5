package mocksikka

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// dueAt is a clockTask that records each time it ran and is due once, at at.
type dueAt struct {
	mu   sync.Mutex
	at   time.Time
	done []time.Time // the clock times at which it found itself due
}

func (d *dueAt) task(now time.Time) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at.IsZero() {
		return time.Time{}
	}
	if now.Before(d.at) {
		return d.at
	}
	d.done = append(d.done, now)
	d.at = time.Time{}
	return time.Time{}
}

func (d *dueAt) ran() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.done)
}

func TestScheduleFrozenClockRunsOnAdvanceOnly(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s := New(WithClock(start))
	d := &dueAt{at: start.Add(30 * time.Second)}
	s.onClock(d.task)

	s.Advance(29 * time.Second)
	if d.ran() != 0 {
		t.Fatalf("ran %d times 1 s before it was due", d.ran())
	}
	time.Sleep(20 * time.Millisecond) // a frozen clock arms no timer
	if d.ran() != 0 {
		t.Fatal("ran on real time with a frozen clock")
	}
	s.Advance(time.Second)
	if d.ran() != 1 || !d.done[0].Equal(start.Add(30*time.Second)) {
		t.Fatalf("after Advance to its time: ran %v, want once at +30s", d.done)
	}
	s.SetTime(start.Add(time.Hour))
	if d.ran() != 1 {
		t.Fatal("a task that returned zero ran again")
	}
}

func TestScheduleRequestSeesDueWork(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s := New(WithClock(start))
	d := &dueAt{}
	s.onClock(d.task)
	s.mu.Lock()
	s.clock.advance(time.Minute) // moved behind the scheduler's back
	d.at = start.Add(time.Second)
	s.mu.Unlock()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v4/practices", nil))
	if d.ran() != 1 {
		t.Fatalf("a request did not run the work due at its clock time (ran %d)", d.ran())
	}
}

func TestScheduleRealClockFiresByTimerAndCloseStopsIt(t *testing.T) {
	s := New()
	d := &dueAt{}
	s.onClock(d.task)
	s.mu.Lock()
	d.at = s.clock.now().Add(30 * time.Millisecond)
	s.runClockLocked()
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for d.ran() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if d.ran() != 1 {
		t.Fatal("the timer did not run the task at its time")
	}

	s.mu.Lock()
	d.at = s.clock.now().Add(30 * time.Millisecond)
	s.runClockLocked()
	s.mu.Unlock()
	s.Close()
	s.Close() // twice is fine
	time.Sleep(100 * time.Millisecond)
	if d.ran() != 1 {
		t.Fatal("the task ran after Close")
	}
	s.Advance(time.Second) // moving the clock still runs due work
	if d.ran() != 2 {
		t.Fatalf("Advance after Close did not run the due task (ran %d)", d.ran())
	}
}
