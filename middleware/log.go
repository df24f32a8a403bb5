// One log line per request: what it logs and how a request is named.

package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// entry is what one request logs.
type entry struct {
	id, route  string
	begin      time.Time
	account    string
	httpStatus int
	outcome    string // the callback's status
	reason     string
	err        error
}

func (h *Handler) logEntry(ctx context.Context, e *entry) {
	level := slog.LevelInfo
	switch {
	case e.reason == ReasonInternal || e.httpStatus >= 500:
		level = slog.LevelError
	case e.err != nil || e.httpStatus >= 400:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", e.id),
		slog.String("route", e.route),
		slog.Int("http_status", e.httpStatus),
		slog.Float64("duration_ms", float64(time.Since(e.begin).Microseconds())/1000),
	}
	if e.account != "" {
		attrs = append(attrs, slog.String("account_id", e.account))
	}
	if e.outcome != "" {
		attrs = append(attrs, slog.String("outcome", e.outcome))
	}
	if e.reason != "" {
		attrs = append(attrs, slog.String("reason", e.reason))
	}
	if e.err != nil {
		attrs = append(attrs, slog.String("error", e.err.Error()))
	}
	h.log.LogAttrs(ctx, level, "sikka connect: "+e.route, attrs...)
}

// requestID returns the request's X-Request-Id if it is a plain token, else
// a new random one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 && strings.Trim(id,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == "" {
		return id
	}
	var b [8]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
