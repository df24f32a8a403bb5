package sikka

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// flexString is a JSON scalar read as text. Sikka sends every value as a
// string ("85603", "1"), simplified payloads send numbers; both read the
// same. A string is kept as is (trimmed), a number as its literal, true and
// false as words, null as "". An array of scalars reads as its values joined
// with ","; an object reads as "" (ignored), so that one odd field never
// fails a whole response.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		*s = ""
		return nil
	}
	switch b[0] {
	case '"':
		// encoding/json has already checked the token; a string without
		// escapes and with valid UTF-8 decodes to its own bytes, so only
		// the others need decoding again.
		if len(b) >= 2 {
			if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				*s = flexString(strings.TrimSpace(string(inner)))
				return nil
			}
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(strings.TrimSpace(v))
	case 'n':
		*s = ""
	case '{':
		*s = ""
	case '[':
		var vs []flexString
		if err := json.Unmarshal(b, &vs); err != nil {
			// An array of objects or arrays: ignored like an object.
			*s = ""
			return nil
		}
		parts := make([]string, 0, len(vs))
		for _, v := range vs {
			if v != "" {
				parts = append(parts, string(v))
			}
		}
		*s = flexString(strings.Join(parts, ","))
	default: // a number literal, true or false (encoding/json validated it)
		*s = flexString(b)
	}
	return nil
}

func (s flexString) String() string { return string(s) }

// maxExpiresIn bounds a believable key lifetime; larger values are treated
// as garbage (and would overflow time.Duration long before anything else).
const maxExpiresIn = 100 * 365 * 24 * time.Hour

// parseExpiresIn reads Sikka's expires_in: "85603 second(s)", "85603",
// 85603, "85603 seconds", "8.5603e4", and also minute and hour units. A
// negative value means already expired (0). ok is false when s holds no
// usable duration.
func parseExpiresIn(s string) (d time.Duration, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	num, unit := s, ""
	if i := strings.IndexFunc(s, func(r rune) bool {
		return (unicode.IsLetter(r) && r != 'e' && r != 'E') || r == '(' || unicode.IsSpace(r)
	}); i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	var per time.Duration
	switch strings.ToLower(strings.TrimSuffix(unit, "(s)")) {
	case "", "s", "sec", "secs", "second", "seconds":
		per = time.Second
	case "m", "min", "mins", "minute", "minutes":
		per = time.Minute
	case "h", "hr", "hrs", "hour", "hours":
		per = time.Hour
	default:
		return 0, false
	}
	if f <= 0 {
		return 0, true
	}
	if f*float64(per) > float64(maxExpiresIn) {
		return 0, false
	}
	return time.Duration(f * float64(per)), true
}

// timeLayouts are the forms accepted for start_time and end_time. Layouts
// without a zone parse as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"1/2/2006 3:04:05 PM",
	"2006-01-02",
}

// parseTime reads a Sikka timestamp. Sikka's start_time and end_time carry
// no zone ("2026-02-11T04:00:28"); those are read as UTC. RFC 3339 with a
// zone is accepted too. A value that fits no layout is the zero time.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// parseCount reads a non-negative count ("12", 12); -1 when absent or not a
// count.
func parseCount(s flexString) int {
	str := strings.TrimSpace(string(s))
	if str == "" {
		return -1
	}
	n, err := strconv.Atoi(str)
	if err != nil {
		f, ferr := strconv.ParseFloat(str, 64)
		if ferr != nil || f < 0 || f > math.MaxInt32 || f != math.Trunc(f) {
			return -1
		}
		return int(f)
	}
	if n < 0 {
		return -1
	}
	return n
}
