package sikka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/parlae/sikka-connect/internal/redact"
)

// Practice is one practice that authorized the app, as listed by
// AuthorizedPractices and AuthorizedPracticesForApp.
//
// SecretKey is a secret: with the office id it mints new request keys
// (RequestKey). The field stays exported for callers that store it;
// String, GoString, Format (every verb) and LogValue print "[REDACTED]" in
// its place. encoding/json does not redact.
type Practice struct {
	// OfficeID identifies the practice's office at Sikka; unique.
	OfficeID string
	// PracticeID is the practice within the office; often "1".
	PracticeID string
	// SecretKey is the office's secret key (secret_key). Secret.
	SecretKey string
	// Name is the practice name (practice_name).
	Name string
	// PMS is the practice-management system's display name (see
	// NormalizePMS), such as "Open Dental".
	PMS string
	// PMSRaw is the practice-management system exactly as Sikka sent it,
	// from practice_management_system or else pms_type.
	PMSRaw string
	// PMSVersion is practice_management_system_version, such as "G7".
	PMSVersion string
	// Domain is Sikka's domain, such as "Dental".
	Domain string
	// Address, City, State, Zip and Email describe the practice, as sent.
	Address string
	City    string
	State   string
	Zip     string
	Email   string
}

// String returns the practice with SecretKey redacted.
func (p Practice) String() string {
	return fmt.Sprintf("sikka.Practice{OfficeID:%q PracticeID:%q SecretKey:%q Name:%q PMS:%q PMSRaw:%q PMSVersion:%q Domain:%q Address:%q City:%q State:%q Zip:%q Email:%q}",
		p.OfficeID, p.PracticeID, redact.IfSet(p.SecretKey), p.Name, p.PMS, p.PMSRaw, p.PMSVersion, p.Domain,
		p.Address, p.City, p.State, p.Zip, p.Email)
}

// GoString returns the same redacted text as String (for %#v).
func (p Practice) GoString() string { return p.String() }

// Format prints the redacted String for every verb (%v, %+v, %#v, %s, %q…).
func (p Practice) Format(f fmt.State, verb rune) { formatRedacted(f, verb, p.String()) }

// LogValue implements slog.LogValuer: the practice's public identity,
// SecretKey redacted.
func (p Practice) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("office_id", p.OfficeID),
		slog.String("practice_id", p.PracticeID),
		slog.String("secret_key", redact.IfSet(p.SecretKey)),
		slog.String("name", p.Name),
		slog.String("pms", p.PMS),
	)
}

// PrimaryPractice picks the practice of officeID from a list returned by
// AuthorizedPractices: the one with practice id "1" when there is one (what
// Sikka returns without show=all), else the first of that office in the
// server's order. ok is false when the office is not in the list.
func PrimaryPractice(practices []Practice, officeID string) (p Practice, ok bool) {
	for _, q := range practices {
		if q.OfficeID != officeID {
			continue
		}
		if q.PracticeID == "1" {
			return q, true
		}
		if !ok {
			p, ok = q, true
		}
	}
	return p, ok
}

// practiceJSON is the wire form of one authorized practice.
type practiceJSON struct {
	OfficeID     flexString `json:"office_id"`
	PracticeID   flexString `json:"practice_id"`
	SecretKey    flexString `json:"secret_key"`
	PracticeName flexString `json:"practice_name"`
	PMS          flexString `json:"practice_management_system"`
	PMSType      flexString `json:"pms_type"`
	PMSVersion   flexString `json:"practice_management_system_version"`
	Domain       flexString `json:"domain"`
	Address      flexString `json:"address"`
	City         flexString `json:"city"`
	State        flexString `json:"state"`
	Zip          flexString `json:"zip"`
	Email        flexString `json:"email"`
}

func (pj practiceJSON) practice() Practice {
	raw := string(pj.PMS)
	if raw == "" {
		raw = string(pj.PMSType)
	}
	return Practice{
		OfficeID:   string(pj.OfficeID),
		PracticeID: string(pj.PracticeID),
		SecretKey:  string(pj.SecretKey),
		Name:       string(pj.PracticeName),
		PMS:        NormalizePMS(raw),
		PMSRaw:     raw,
		PMSVersion: string(pj.PMSVersion),
		Domain:     string(pj.Domain),
		Address:    string(pj.Address),
		City:       string(pj.City),
		State:      string(pj.State),
		Zip:        string(pj.Zip),
		Email:      string(pj.Email),
	}
}

// practicePage is one page of a practice list.
type practicePage struct {
	items []Practice
	// total is total_count, or -1 when Sikka did not say.
	total int
	// hasPagination tells whether the pagination object was present; next
	// is its next link.
	hasPagination bool
	next          string
}

// parsePracticePage reads one page of authorized practices, in any form
// parsePage reads.
func parsePracticePage(body []byte) (practicePage, error) {
	pg, err := parsePage[practiceJSON](body)
	if err != nil {
		return practicePage{total: -1}, fmt.Errorf("reading practices: %w", err)
	}
	out := practicePage{total: pg.total, hasPagination: pg.hasPagination, next: pg.next}
	out.items = make([]Practice, 0, len(pg.items))
	for _, pj := range pg.items {
		out.items = append(out.items, pj.practice())
	}
	return out, nil
}

// parsePracticeOrPage reads the answer about one practice, whose shape
// Sikka does not document: a bare practice object (it has office_id), or
// anything parsePracticePage reads. Items without an office id are
// dropped.
func parsePracticeOrPage(body []byte) ([]Practice, error) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var probe struct {
			Items    json.RawMessage `json:"items"`
			OfficeID *flexString     `json:"office_id"`
		}
		if err := json.Unmarshal(body, &probe); err != nil {
			return nil, fmt.Errorf("reading practice: %w", err)
		}
		if probe.Items == nil && probe.OfficeID != nil {
			var pj practiceJSON
			if err := json.Unmarshal(body, &pj); err != nil {
				return nil, fmt.Errorf("reading practice: %w", err)
			}
			if pj.OfficeID == "" {
				return nil, nil
			}
			return []Practice{pj.practice()}, nil
		}
	}
	pg, err := parsePracticePage(body)
	if err != nil {
		return nil, err
	}
	out := pg.items[:0]
	for _, p := range pg.items {
		if p.OfficeID != "" {
			out = append(out, p)
		}
	}
	return out, nil
}
