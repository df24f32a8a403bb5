package secretstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// stored is the storage form of Credentials: the JSON field names of the
// original service, so secrets written by either can be read by the other.
type stored struct {
	OfficeID     string `json:"officeId"`
	SecretKey    string `json:"secretKey"`
	RequestKey   string `json:"requestKey"`
	RefreshKey   string `json:"refreshKey"`
	TokenExpiry  string `json:"tokenExpiry,omitempty"`
	PracticeName string `json:"practiceName"`
	PracticeID   string `json:"practiceId"`
	PMSType      string `json:"pmsType"`
}

// EncodeCredentials returns the storage encoding of c, with the secret
// fields in clear: a JSON object with the fields officeId, secretKey,
// requestKey, refreshKey, tokenExpiry (RFC 3339 in UTC, fractional seconds
// only when present, omitted when zero), practiceName, practiceId and
// pmsType. Only backends should call it.
func EncodeCredentials(c Credentials) ([]byte, error) {
	return json.Marshal(stored{
		OfficeID:     c.OfficeID,
		SecretKey:    c.SecretKey,
		RequestKey:   c.RequestKey,
		RefreshKey:   c.RefreshKey,
		TokenExpiry:  formatExpiry(c.TokenExpiry),
		PracticeName: c.PracticeName,
		PracticeID:   c.PracticeID,
		PMSType:      c.PMSType,
	})
}

// DecodeCredentials reads the encoding of EncodeCredentials. Unknown fields
// are ignored; a missing or empty tokenExpiry gives the zero time. Failures
// wrap ErrMalformed and never quote the input.
func DecodeCredentials(data []byte) (Credentials, error) {
	var s stored
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return Credentials{}, fmt.Errorf("%w: %s", ErrMalformed, describeJSONError(err))
	}
	c := Credentials{
		OfficeID:     s.OfficeID,
		SecretKey:    s.SecretKey,
		RequestKey:   s.RequestKey,
		RefreshKey:   s.RefreshKey,
		PracticeName: s.PracticeName,
		PracticeID:   s.PracticeID,
		PMSType:      s.PMSType,
	}
	if s.TokenExpiry != "" {
		t, err := time.Parse(time.RFC3339Nano, s.TokenExpiry)
		if err != nil {
			return Credentials{}, fmt.Errorf("%w: tokenExpiry is not an RFC 3339 time", ErrMalformed)
		}
		c.TokenExpiry = t.UTC()
	}
	return c, nil
}

// describeJSONError says what went wrong without echoing any of the input
// (encoding/json's messages can quote a character or a value).
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong JSON type %s", typ.Field, typ.Value)
	default:
		return "not a JSON object"
	}
}
