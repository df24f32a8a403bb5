package webhook

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A flood of refused deliveries makes one log line per refusalLogEvery, and the next line
// says how many were not logged.
func TestRefusalLogIsThrottled(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	l := &refusalLog{log: slog.New(slog.NewTextHandler(&buf, nil)), now: func() time.Time { return now }}
	for range 1000 {
		l.warn("webhook: refused a delivery", "remote", "127.0.0.1:1")
	}
	if n := strings.Count(buf.String(), "refused a delivery"); n != 1 {
		t.Fatalf("1000 refusals within the period made %d lines, want 1:\n%s", n, buf.String())
	}
	now = now.Add(refusalLogEvery)
	l.warn("webhook: refused a delivery", "remote", "127.0.0.1:1")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "refused_not_logged=999") {
		t.Fatalf("after the period: want a second line counting 999 not logged, got:\n%s", buf.String())
	}
}
