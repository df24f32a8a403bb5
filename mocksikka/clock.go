package mocksikka

import "time"

// clock is the mock's controllable time. It is not safe for concurrent use: the Server's
// mutex guards it.
type clock struct {
	start  time.Time // zero: real time plus offset
	frozen time.Time // current time when start is set
	offset time.Duration
}

func newClock(start time.Time) clock {
	return clock{start: start, frozen: start}
}

func (c *clock) now() time.Time {
	if !c.start.IsZero() {
		return c.frozen
	}
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	if !c.start.IsZero() {
		c.frozen = c.frozen.Add(d)
		return
	}
	c.offset += d
}

func (c *clock) set(t time.Time) {
	if !c.start.IsZero() {
		c.frozen = t
		return
	}
	c.offset = time.Until(t)
}
