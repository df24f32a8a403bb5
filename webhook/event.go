package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The events Sikka sends (SIKKA_API.md, section 10). Event.Type may also be
// a name Sikka adds later: the receiver hands any event of a connected
// office to Config.OnEvent.
const (
	// EventDataRefresh: the SPU finished refreshing the office's data. The
	// receiver records it on the office's integration record (see
	// integration.Service.RecordDataRefresh) before the hook sees it.
	EventDataRefresh = "Data_Refresh"
	// EventPatient, EventTransaction, EventAppointments: records of that
	// kind were added, changed or deleted at the office.
	EventPatient      = "patient"
	EventTransaction  = "transaction"
	EventAppointments = "appointments"
)

// Event is one webhook delivery from Sikka, for an office connected to an
// account. It holds no secret (the callback key is a header, never kept).
//
// Sikka's times carry no zone (SIKKA_API.md, section 12). They are read in
// the zone the payload's utc_difference_in_minutes gives, counted as
// Windows does (minutes behind UTC: "240" with "Eastern Standard Time" in
// April is UTC−4), and as UTC when the payload has none (the data-change
// events). A time that is absent or unreadable is zero.
type Event struct {
	// Type is the payload's "event": one of the Event… constants.
	Type string
	// OfficeID and PracticeID name the practice at Sikka; PracticeID is
	// text even when Sikka sends a number (Data_Refresh sends 1).
	OfficeID   string
	PracticeID string
	// CustomerID is Sikka's customer_id.
	CustomerID string
	// AccountID is the account whose ACTIVE integration holds the office.
	AccountID string
	// GeneratedTime (generated_time), PrevGeneratedTime
	// (prev_generated_time) and NextDataSync
	// (next_data_synchronization_date) are Sikka's times, read as said above.
	GeneratedTime     time.Time
	PrevGeneratedTime time.Time
	NextDataSync      time.Time
	// PMSVersion is practice_management_system_version (Data_Refresh only).
	PMSVersion string
	// ReceivedAt is when the receiver accepted the delivery (UTC).
	ReceivedAt time.Time
	// Payload is the JSON body as Sikka sent it, for the fields not above.
	Payload json.RawMessage
}

// payload is the part of a delivery the receiver reads. Sikka writes every
// scalar as a string except Data_Refresh's practice_id (a number); text
// accepts both, so a field that changes type is still read.
type payload struct {
	Event           text `json:"event"`
	OfficeID        text `json:"office_id"`
	PracticeID      text `json:"practice_id"`
	CustomerID      text `json:"customer_id"`
	GeneratedTime   text `json:"generated_time"`
	PrevGenerated   text `json:"prev_generated_time"`
	NextSync        text `json:"next_data_synchronization_date"`
	PMSVersion      text `json:"practice_management_system_version"`
	UTCDifferenceMn text `json:"utc_difference_in_minutes"`
}

// text is a JSON scalar read as text: a string as is, a number or a boolean
// as written, null as "". An object or an array is an error.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("empty value")
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(strings.TrimSpace(s))
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case b[0] == '{' || b[0] == '[':
		return errors.New("want a string or a number, not an object or an array")
	default: // a number, true or false: json.Unmarshal has checked the syntax
		*t = text(b)
	}
	return nil
}

// errMalformed wraps every reason a body is refused with 400.
var errMalformed = errors.New("malformed webhook body")

// delivery is a parsed body: the event, and its name for duplicate
// detection (named is false when it has none; see recent).
type delivery struct {
	Event
	name  [32]byte
	named bool
}

// parse reads a delivery's body.
func parse(body []byte, received time.Time) (delivery, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return delivery{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	switch {
	case p.Event == "":
		return delivery{}, fmt.Errorf("%w: no \"event\"", errMalformed)
	case p.OfficeID == "":
		return delivery{}, fmt.Errorf("%w: no \"office_id\"", errMalformed)
	}
	loc := zone(string(p.UTCDifferenceMn))
	d := delivery{Event: Event{
		Type:              string(p.Event),
		OfficeID:          string(p.OfficeID),
		PracticeID:        string(p.PracticeID),
		CustomerID:        string(p.CustomerID),
		GeneratedTime:     sikkaTime(string(p.GeneratedTime), loc),
		PrevGeneratedTime: sikkaTime(string(p.PrevGenerated), loc),
		NextDataSync:      sikkaTime(string(p.NextSync), loc),
		PMSVersion:        string(p.PMSVersion),
		ReceivedAt:        received.UTC(),
		Payload:           json.RawMessage(body),
	}}
	d.name, d.named = name(d.Event, string(p.GeneratedTime), string(p.PrevGenerated))
	return d, nil
}

// zone is the zone of utc_difference_in_minutes (minutes behind UTC), or
// UTC when it is absent or not a plausible offset.
func zone(minutes string) *time.Location {
	n, err := strconv.Atoi(minutes)
	if err != nil || n < -14*60 || n > 14*60 {
		return time.UTC
	}
	return time.FixedZone("", -n*60)
}

// sikkaTimeLayouts are the zone-less forms Sikka writes
// ("2019-12-09 14:37:56" in webhooks, "2020-09-23T04:00:28" elsewhere).
var sikkaTimeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}

// sikkaTime reads one of Sikka's times in loc, as UTC; zero when s is
// empty or in no known form.
func sikkaTime(s string, loc *time.Location) time.Time {
	for _, layout := range sikkaTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
