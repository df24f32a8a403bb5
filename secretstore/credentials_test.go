package secretstore_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/secretstore"
)

func sample() secretstore.Credentials {
	return secretstore.Credentials{
		OfficeID:     "D36225",
		SecretKey:    "STc3kSY7S4ORJHb5hE0r5yBwdeCFu7av0ahG9hPlDj0=",
		RequestKey:   "70a2c702705ad41c395f8bd639fa7f85",
		RefreshKey:   "yyyy-refresh-yyyy",
		TokenExpiry:  time.Date(2026, 2, 11, 4, 0, 28, 0, time.UTC),
		PracticeName: "Happy Dental Clinic",
		PracticeID:   "1-1",
		PMSType:      "Dentrix",
	}
}

func secrets(c secretstore.Credentials) []string {
	return []string{c.SecretKey, c.RequestKey, c.RefreshKey}
}

// renderings returns every human-facing rendering of v that the package
// promises to redact.
func renderings(t *testing.T, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%20v", "%-20s"} {
		out[verb] = fmt.Sprintf(verb, v)
	}
	out["Sprint"] = fmt.Sprint(v)
	out["Sprintln"] = fmt.Sprintln(v)
	js, err := json.Marshal(v)
	require.NoError(t, err)
	out["json"] = string(js)
	js, err = json.Marshal(map[string]any{"nested": v})
	require.NoError(t, err)
	out["json nested"] = string(js)
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(h(&buf))
		l.Info("creds", "value", v)
		l.Info("creds", slog.Any("any", v), slog.Group("g", "inner", v))
		out[name] = buf.String()
	}
	return out
}

func TestRenderingsRedact(t *testing.T) {
	c := sample()
	s := secretstore.Secret{Ref: "ref-1", Version: "7", Credentials: c}
	for name, v := range map[string]any{
		"Credentials":         c,
		"*Credentials":        &c,
		"[]Credentials":       []secretstore.Credentials{c},
		"map of Credentials":  map[string]secretstore.Credentials{"k": c},
		"struct holding":      struct{ Creds secretstore.Credentials }{c},
		"struct holding ptr":  struct{ Creds *secretstore.Credentials }{&c},
		"Secret":              s,
		"*Secret":             &s,
		"struct holding Secr": struct{ S secretstore.Secret }{s},
	} {
		t.Run(name, func(t *testing.T) {
			for how, text := range renderings(t, v) {
				for _, secret := range secrets(c) {
					assert.NotContains(t, text, secret, "%s leaks a secret: %s", how, text)
				}
				if how != "%x" && !strings.HasPrefix(name, "struct holding ptr") {
					assert.Contains(t, text, "D36225", "%s should show the office id", how)
				}
			}
		})
	}
}

func TestRenderingsShowUsefulFields(t *testing.T) {
	c := sample()
	assert.Equal(t,
		"{OfficeID:D36225 SecretKey:[REDACTED] RequestKey:[REDACTED] RefreshKey:[REDACTED] TokenExpiry:2026-02-11T04:00:28Z PracticeName:Happy Dental Clinic PracticeID:1-1 PMSType:Dentrix}",
		c.String())
	js, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"officeId":"D36225","secretKey":"[REDACTED]","requestKey":"[REDACTED]","refreshKey":"[REDACTED]",
		"tokenExpiry":"2026-02-11T04:00:28Z","practiceName":"Happy Dental Clinic","practiceId":"1-1","pmsType":"Dentrix"}`, string(js))
	// An empty secret field stays visibly empty.
	c.RefreshKey = ""
	assert.Contains(t, c.String(), "RefreshKey: ")
	assert.Contains(t, fmt.Sprintf("%#v", c), `RefreshKey:""`)
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	c := sample()
	c.TokenExpiry = time.Date(2026, 2, 11, 4, 0, 28, 123456789, time.FixedZone("x", 3600))
	data, err := secretstore.EncodeCredentials(c)
	require.NoError(t, err)
	got, err := secretstore.DecodeCredentials(data)
	require.NoError(t, err)
	assert.True(t, c.TokenExpiry.Equal(got.TokenExpiry))
	assert.Equal(t, time.UTC, got.TokenExpiry.Location())
	c.TokenExpiry = got.TokenExpiry
	assert.Equal(t, c, got)
}

func TestEncodeUsesTheNotesFieldNames(t *testing.T) {
	data, err := secretstore.EncodeCredentials(sample())
	require.NoError(t, err)
	assert.JSONEq(t, `{
	  "officeId": "D36225",
	  "secretKey": "STc3kSY7S4ORJHb5hE0r5yBwdeCFu7av0ahG9hPlDj0=",
	  "requestKey": "70a2c702705ad41c395f8bd639fa7f85",
	  "refreshKey": "yyyy-refresh-yyyy",
	  "tokenExpiry": "2026-02-11T04:00:28Z",
	  "practiceName": "Happy Dental Clinic",
	  "practiceId": "1-1",
	  "pmsType": "Dentrix"
	}`, string(data))
}

func TestDecodeNotesExampleAndZeroExpiry(t *testing.T) {
	got, err := secretstore.DecodeCredentials([]byte(`{"officeId":"D1","secretKey":"s","extra":1}`))
	require.NoError(t, err)
	assert.Equal(t, secretstore.Credentials{OfficeID: "D1", SecretKey: "s"}, got)
	data, err := secretstore.EncodeCredentials(got)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "tokenExpiry")
}

func TestDecodeErrorsNeverQuoteInput(t *testing.T) {
	for name, in := range map[string]string{
		"syntax":  `{"secretKey":"TOPSECRET" TOPSECRET}`,
		"type":    `{"secretKey":12345678}`,
		"expiry":  `{"secretKey":"x","tokenExpiry":"TOPSECRET"}`,
		"array":   `["TOPSECRET"]`,
		"garbage": `TOPSECRET`,
		"empty":   ``,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := secretstore.DecodeCredentials([]byte(in))
			require.ErrorIs(t, err, secretstore.ErrMalformed)
			assert.NotContains(t, err.Error(), "TOPSECRET")
			assert.NotContains(t, err.Error(), "12345678")
		})
	}
}
