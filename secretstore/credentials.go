package secretstore

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/internal/redact"
)

// Redacted stands in for a secret field in every rendering meant for people
// or logs. An empty secret field renders as "" so a missing key stays visible.
const Redacted = redact.Marker

// Credentials are the Sikka credentials of one connected practice: the value
// a Store keeps.
//
// SecretKey, RequestKey and RefreshKey are secret. Every rendering of a
// Credentials meant for humans redacts them: String, GoString, Format (every
// verb, %v %+v %#v %s %q included), MarshalJSON and LogValue. The stored form
// is produced only by EncodeCredentials and read by DecodeCredentials; the
// output of json.Marshal is for logs and cannot be decoded back.
type Credentials struct {
	OfficeID     string    // Sikka office id, e.g. "D36225"; not secret
	SecretKey    string    // office secret key: SECRET
	RequestKey   string    // current request key: SECRET
	RefreshKey   string    // refresh key: SECRET
	TokenExpiry  time.Time // when RequestKey expires
	PracticeName string    // display name, e.g. "Happy Dental Clinic"
	PracticeID   string    // Sikka practice id, e.g. "1-1"
	PMSType      string    // practice-management system, e.g. "Dentrix"
}

// redacted is the log view of Credentials: what is safe to show.
type redacted struct {
	OfficeID     string `json:"officeId"`
	SecretKey    string `json:"secretKey"`
	RequestKey   string `json:"requestKey"`
	RefreshKey   string `json:"refreshKey"`
	TokenExpiry  string `json:"tokenExpiry"`
	PracticeName string `json:"practiceName"`
	PracticeID   string `json:"practiceId"`
	PMSType      string `json:"pmsType"`
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (c Credentials) redacted() redacted {
	return redacted{
		OfficeID:     c.OfficeID,
		SecretKey:    redact.IfSet(c.SecretKey),
		RequestKey:   redact.IfSet(c.RequestKey),
		RefreshKey:   redact.IfSet(c.RefreshKey),
		TokenExpiry:  formatExpiry(c.TokenExpiry),
		PracticeName: c.PracticeName,
		PracticeID:   c.PracticeID,
		PMSType:      c.PMSType,
	}
}

// String returns a one-line summary with the secret fields redacted.
func (c Credentials) String() string {
	r := c.redacted()
	return fmt.Sprintf("{OfficeID:%s SecretKey:%s RequestKey:%s RefreshKey:%s TokenExpiry:%s PracticeName:%s PracticeID:%s PMSType:%s}",
		r.OfficeID, r.SecretKey, r.RequestKey, r.RefreshKey, r.TokenExpiry, r.PracticeName, r.PracticeID, r.PMSType)
}

// GoString returns a Go-syntax-like rendering with the secret fields redacted.
func (c Credentials) GoString() string {
	r := c.redacted()
	return fmt.Sprintf("secretstore.Credentials{OfficeID:%q, SecretKey:%q, RequestKey:%q, RefreshKey:%q, TokenExpiry:%q, PracticeName:%q, PracticeID:%q, PMSType:%q}",
		r.OfficeID, r.SecretKey, r.RequestKey, r.RefreshKey, r.TokenExpiry, r.PracticeName, r.PracticeID, r.PMSType)
}

// Format implements fmt.Formatter so that every verb renders the redacted
// form: %#v gives GoString, %q a quoted String, anything else String.
func (c Credentials) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, c.String(), c.GoString())
}

// MarshalJSON renders the redacted form, for logs and debugging output. It is
// not the storage encoding: see EncodeCredentials.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(c.redacted())
}

// LogValue implements slog.LogValuer with the redacted form.
func (c Credentials) LogValue() slog.Value {
	r := c.redacted()
	return slog.GroupValue(
		slog.String("officeId", r.OfficeID),
		slog.String("secretKey", r.SecretKey),
		slog.String("requestKey", r.RequestKey),
		slog.String("refreshKey", r.RefreshKey),
		slog.String("tokenExpiry", r.TokenExpiry),
		slog.String("practiceName", r.PracticeName),
		slog.String("practiceId", r.PracticeID),
		slog.String("pmsType", r.PMSType),
	)
}

// String returns a one-line summary of the secret with the keys redacted.
func (s Secret) String() string {
	return fmt.Sprintf("{Ref:%s Version:%s Credentials:%s}", s.Ref, s.Version, s.Credentials.String())
}

// GoString returns a Go-syntax-like rendering with the keys redacted.
func (s Secret) GoString() string {
	return fmt.Sprintf("secretstore.Secret{Ref:%q, Version:%q, Credentials:%s}", s.Ref, s.Version, s.Credentials.GoString())
}

// Format implements fmt.Formatter; every verb renders the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, s.String(), s.GoString())
}

// MarshalJSON renders the redacted form, for logs.
func (s Secret) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Ref         string   `json:"ref"`
		Version     string   `json:"version"`
		Credentials redacted `json:"credentials"`
	}{s.Ref, s.Version, s.Credentials.redacted()})
}

// LogValue implements slog.LogValuer with the redacted form.
func (s Secret) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("ref", s.Ref),
		slog.String("version", s.Version),
		slog.Attr{Key: "credentials", Value: s.Credentials.LogValue()},
	)
}

func formatRedacted(f fmt.State, verb rune, plain, gosyntax string) {
	var out string
	switch {
	case verb == 'v' && f.Flag('#'):
		out = gosyntax
	case verb == 'q':
		out = strconv.Quote(plain)
	default:
		out = plain
	}
	if w, ok := f.Width(); ok && len(out) < w {
		pad := strings.Repeat(" ", w-len(out))
		if f.Flag('-') {
			out += pad
		} else {
			out = pad + out
		}
	}
	_, _ = fmt.Fprint(f, out)
}
