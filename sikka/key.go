package sikka

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/parlae/sikka-connect/internal/redact"
)

// redacted replaces a secret in String, Format and LogValue output, and in
// scrubbed error text (errors.go).
const redacted = redact.Marker

// Key is a request key and what Sikka said about it, as returned by
// ExchangeCode, RequestKey, RefreshKey and RequestKeyInfo.
//
// RequestKey and RefreshKey are secrets. The fields stay exported for
// callers that store them; String, GoString, Format (every verb) and
// LogValue print "[REDACTED]" in their place, so a Key passed to fmt or slog
// never shows them. encoding/json does not redact: marshalling a Key is an
// explicit act of persisting it.
type Key struct {
	// RequestKey authenticates data calls (header Request-Key). Secret.
	RequestKey string
	// RefreshKey renews the request key before it expires (RefreshKey). Secret.
	RefreshKey string
	// IssuedTo is the office id the key was issued to (Sikka's issued_to).
	IssuedTo string
	// Status is Sikka's status of the key, such as "active".
	Status string
	// Scope is Sikka's scope string, as sent.
	Scope string
	// Domain is Sikka's domain, such as "Dental".
	Domain string
	// RequestCount is how many requests the key has made, or -1 when Sikka
	// did not say.
	RequestCount int
	// StartTime and EndTime are Sikka's start_time and end_time. Sikka sends
	// them without a time zone; they are read as UTC (a value with a zone
	// keeps its instant). Zero when absent or unreadable.
	StartTime time.Time
	EndTime   time.Time
	// Expiry is when the request key stops working, computed once when the
	// response arrived: from expires_in relative to the client's clock when
	// Sikka sent it (it does not depend on Sikka's unknown time zone), else
	// EndTime. Zero when Sikka said neither.
	Expiry time.Time
}

// Expired reports whether the key is past its expiry at now, or will be
// within margin of it. A key of unknown expiry (zero Expiry) never expires
// by this test.
func (k Key) Expired(now time.Time, margin time.Duration) bool {
	return !k.Expiry.IsZero() && !now.Add(margin).Before(k.Expiry)
}

// String returns the key with RequestKey and RefreshKey redacted.
func (k Key) String() string {
	return fmt.Sprintf("sikka.Key{RequestKey:%q RefreshKey:%q IssuedTo:%q Status:%q Scope:%q Domain:%q RequestCount:%d StartTime:%s EndTime:%s Expiry:%s}",
		redact.IfSet(k.RequestKey), redact.IfSet(k.RefreshKey), k.IssuedTo, k.Status, k.Scope, k.Domain, k.RequestCount,
		fmtTime(k.StartTime), fmtTime(k.EndTime), fmtTime(k.Expiry))
}

// GoString returns the same redacted text as String (for %#v).
func (k Key) GoString() string { return k.String() }

// Format prints the redacted String for every verb (%v, %+v, %#v, %s, %q…).
func (k Key) Format(f fmt.State, verb rune) { formatRedacted(f, verb, k.String()) }

// LogValue implements slog.LogValuer: the key's public fields, secrets
// redacted.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("request_key", redact.IfSet(k.RequestKey)),
		slog.String("refresh_key", redact.IfSet(k.RefreshKey)),
		slog.String("issued_to", k.IssuedTo),
		slog.String("status", k.Status),
		slog.Time("expiry", k.Expiry),
	)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return t.Format(time.RFC3339)
}

// formatRedacted writes s for any verb; %q quotes it.
func formatRedacted(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s)
		return
	}
	_, _ = f.Write([]byte(s))
}

// keyJSON is the wire form of a key response: Sikka's real shape (all
// strings) and the integration notes' simplified one (numbers).
type keyJSON struct {
	RequestKey   flexString `json:"request_key"`
	RefreshKey   flexString `json:"refresh_key"`
	StartTime    flexString `json:"start_time"`
	EndTime      flexString `json:"end_time"`
	ExpiresIn    flexString `json:"expires_in"`
	IssuedTo     flexString `json:"issued_to"`
	Status       flexString `json:"status"`
	RequestCount flexString `json:"request_count"`
	Scope        flexString `json:"scope"`
	Domain       flexString `json:"domain"`
	// Items lets a key come wrapped in the list envelope.
	Items []keyJSON `json:"items"`
}

var errEmptyBody = errors.New("empty response body")

// parseKey reads a key response received at now. It fails only on a body
// that is not a JSON object; missing fields are left zero.
func parseKey(body []byte, now time.Time) (Key, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Key{}, errEmptyBody
	}
	var kj keyJSON
	if err := json.Unmarshal(body, &kj); err != nil {
		return Key{}, fmt.Errorf("reading key: %w", err)
	}
	if kj.RequestKey == "" && kj.IssuedTo == "" && len(kj.Items) > 0 {
		kj = kj.Items[0]
	}
	k := Key{
		RequestKey:   string(kj.RequestKey),
		RefreshKey:   string(kj.RefreshKey),
		IssuedTo:     string(kj.IssuedTo),
		Status:       string(kj.Status),
		Scope:        string(kj.Scope),
		Domain:       string(kj.Domain),
		RequestCount: parseCount(kj.RequestCount),
		StartTime:    parseTime(string(kj.StartTime)),
		EndTime:      parseTime(string(kj.EndTime)),
	}
	if d, ok := parseExpiresIn(string(kj.ExpiresIn)); ok {
		k.Expiry = now.Add(d)
	} else {
		k.Expiry = k.EndTime
	}
	return k, nil
}
