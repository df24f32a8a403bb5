package webhook

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// refusalLogEvery is how often, at most, the receiver logs refused
// deliveries: a flood of bad keys or bodies (anyone can POST to the URL)
// makes one line per period, with the count of the ones not logged.
const refusalLogEvery = 10 * time.Second

// refusalLog logs refused deliveries, at most one line per refusalLogEvery.
type refusalLog struct {
	log *slog.Logger
	now func() time.Time

	mu         sync.Mutex
	last       time.Time // when the last line was written
	suppressed int       // refusals since, not logged
}

// warn logs msg with attrs, unless a refusal was logged less than
// refusalLogEvery ago; then it only counts it, and the next line says how
// many were not logged.
func (l *refusalLog) warn(msg string, attrs ...any) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < refusalLogEvery {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		attrs = append(attrs, slog.Int("refused_not_logged", n))
	}
	l.log.Log(context.Background(), slog.LevelWarn, msg, attrs...)
}
