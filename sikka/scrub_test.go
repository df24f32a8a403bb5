package sikka

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// A 32-character key, like Sikka's request keys.
const hexKey = "9f86d081884c7d659a2feaa0c55ad015"

func TestPartialRunLen(t *testing.T) {
	for n, want := range map[int]int{4: 4, 5: 4, 7: 4, 8: 4, 9: 5, 10: 5, 14: 7, 15: 8, 16: 8, 32: 8, 200: 8} {
		assert.Equal(t, want, partialRunLen(strings.Repeat("a", n)), "length %d", n)
	}
}

func TestScrub(t *testing.T) {
	s := scrubber{hexKey, "Mixed/Case+Key=&é", `K&e<y>1&2"3'4&5`, "abc"}
	b64 := func(p string) string { return base64.StdEncoding.EncodeToString([]byte(p)) }
	tests := []struct {
		name, in, want string
	}{
		{"exact", "key " + hexKey + " refused", "key [REDACTED] refused"},
		{"upper-cased", "key " + strings.ToUpper(hexKey) + ".", "key [REDACTED]."},
		// Only ASCII letters fold: the É's second byte differs from é's.
		{"mixed case", "Mixed/CASE+key=&É", "[REDACTED]\uFFFD"},
		{"8-character run", "x" + hexKey[10:18] + "x", "x[REDACTED]x"},
		{"two runs", hexKey[:9] + "…" + hexKey[20:], "[REDACTED]…[REDACTED]"},
		{"7-character run stays", "x" + hexKey[10:17] + "x", "x" + hexKey[10:17] + "x"},
		{"query-escaped: kept decoded", "k=" + url.QueryEscape("Mixed/Case+Key=&é") + "&x=%41", "k=[REDACTED]&x=A"},
		{"path-escaped, upper-cased", "/" + strings.ToUpper(url.PathEscape(`K&e<y>1&2"3'4&5`)), "/[REDACTED]"},
		{"double-escaped", "k=" + url.QueryEscape(url.QueryEscape(hexKey[:12])), "k=[REDACTED]"},
		{"JSON escapes: kept decoded", `{"k":"\u0039\u0066\u0038\u0036\u0064\u0030\u0038\u0031","n":"\u00e9\ud83d\ude00"}`,
			`{"k":"[REDACTED]","n":"é😀"}`},
		{"Go hex escapes", `\x39\x66\x38\x36\x64\x30\x38\x31`, `[REDACTED]`},
		{"HTML-escaped", "<p>" + html.EscapeString(`K&e<y>1&2"3'4&5`) + "</p>", "<p>[REDACTED]</p>"},
		// What remains of a base64 form at its ends are characters that
		// hold fewer than 6 bits of the secret.
		{"base64", "token " + b64(hexKey), "token [REDACTED]U="},
		{"base64 at each alignment", b64("a"+hexKey) + " " + b64("ab"+hexKey) + " " + b64("abc"+hexKey),
			"YT[REDACTED] YWI[REDACTED]Q== YWJj[REDACTED]U="},
		{"base64url", base64.RawURLEncoding.EncodeToString([]byte("Mixed/Case+Key=&é")), "[REDACTED]"},
		{"short secrets are ignored", "abc abc", "abc abc"},
		{"no secret: escapes stay", "100% sure, 50%25, \\u0041 &amp; C:\\dir", "100% sure, 50%25, \\u0041 &amp; C:\\dir"},
		{"invalid UTF-8 stays when clean", "a\xffb", "a\xffb"},
		{"a run cut inside a character", "éé" + hexKey[:8], "éé[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.scrub(tt.in)
			assert.Equal(t, tt.want, got)
			if got != tt.in {
				assert.True(t, utf8.ValidString(got))
			}
		})
	}
	assert.Equal(t, "text", scrubber{}.scrub("text"))
	assert.Equal(t, "text", scrubber(nil).scrub("text"))
}

// A cause whose text held a secret prints scrubbed and still matches its
// original for errors.Is; a clean one is returned as it is.
func TestScrubCause(t *testing.T) {
	s := scrubber{hexKey}
	orig := fmt.Errorf("dial %s: %w", strings.ToUpper(hexKey), http.ErrHandlerTimeout)
	got := s.cause(orig)
	assert.Equal(t, "dial [REDACTED]: "+http.ErrHandlerTimeout.Error(), got.Error())
	assert.ErrorIs(t, got, http.ErrHandlerTimeout)
	clean := errors.New("connection refused")
	assert.Same(t, clean, s.cause(clean))
	assert.Nil(t, s.cause(nil))
}

// Each envelope field is cut to its limit after scrubbing; a huge field
// costs bounded work.
func TestEnvelopeLimits(t *testing.T) {
	long := strings.Repeat("é", 1<<20)
	env := scrubber{hexKey}.envelope(Envelope{
		HTTPCode: long, HTTPCodeDesc: long, ErrorCode: long,
		ShortMessage: long, LongMessage: hexKey + long, MoreInformation: "short",
	})
	for name, got := range map[string]struct {
		v     string
		limit int
	}{
		"HTTPCode": {env.HTTPCode, 16}, "HTTPCodeDesc": {env.HTTPCodeDesc, 128}, "ErrorCode": {env.ErrorCode, 128},
		"ShortMessage": {env.ShortMessage, 512}, "LongMessage": {env.LongMessage, 512},
	} {
		assert.LessOrEqual(t, len(got.v), got.limit+len("…"), name)
		assert.Greater(t, len(got.v), got.limit-4, name)
		assert.True(t, strings.HasSuffix(got.v, "…"), name)
		assert.True(t, utf8.ValidString(got.v), name)
	}
	assert.True(t, strings.HasPrefix(env.LongMessage, "[REDACTED]é"), env.LongMessage[:20])
	assert.Equal(t, "short", env.MoreInformation)
}

// A key response, the success path: no scrubbing happens there.
const benchKeyBody = `{"href":"https://api.sikkasoft.com/v4/request_key","request_key":"b3a9c1d2e4f5a6b7c8d9e0f1a2b3c4d5",
"refresh_key":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","expires_in":"85603 second(s)","issued_to":"D36225",
"status":"active","start_time":"2026-02-10T04:00:28","end_time":"2026-02-11T04:00:28","scope":"DEFAULT","domain":"Dental"}`

func BenchmarkResponseSuccess(b *testing.B) {
	r := &request{op: "RefreshKey", method: "POST", path: pathRequestKey, grant: true,
		secrets: scrubber{"app-key-secret-0123456789", hexKey}}
	c := New("app", "app-key-secret-0123456789")
	resp := &http.Response{StatusCode: 200, Header: http.Header{}}
	body := []byte(benchKeyBody)
	b.ReportAllocs()
	for b.Loop() {
		if e := c.response(r, resp, body, func(b []byte, at time.Time) error { _, err := parseKey(b, at); return err }); e != nil {
			b.Fatal(e)
		}
	}
}

func BenchmarkResponseErrorEnvelope(b *testing.B) {
	r := &request{op: "RefreshKey", method: "POST", path: pathRequestKey, grant: true,
		secrets: scrubber{"app-key-secret-0123456789", hexKey}}
	c := New("app", "app-key-secret-0123456789")
	resp := &http.Response{StatusCode: 401, Header: http.Header{}}
	body := []byte(`{"http_code":"401","http_code_desc":"Unauthorized","error_code":"API2001",` +
		`"short_message":"Invalid refresh key ` + url.QueryEscape(hexKey) + `","long_message":"The refresh key is invalid or expired.",` +
		`"more_information":"https://apidocs.sikkasoft.com"}`)
	b.ReportAllocs()
	for b.Loop() {
		if e := c.response(r, resp, body, nil); e == nil || !strings.Contains(e.Error(), redacted) {
			b.Fatal(e)
		}
	}
}

// Of an error body, only the envelope fields are kept: another field,
// however named and whatever it holds, reaches neither the error nor its
// text.
func TestEnvelopeKeepsOnlyItsFields(t *testing.T) {
	get := &request{op: "RequestKeyInfo", method: "GET", path: pathRequestKeyInfo, secrets: scrubber{"app-key-secret"}}
	for _, status := range []int{401, 200} {
		e := respond(t, get, status, nil, `{"http_code":"401","http_code_desc":"Unauthorized","error_code":"API2001",`+
			`"short_message":"Invalid key","long_message":"long","more_information":"more",`+
			`"debug":"EXTRA-1","request":{"headers":{"Request-Key":"EXTRA-2"}},"Short_Message ":"EXTRA-3","trace":["EXTRA-4"]}`)
		assert.Equal(t, Envelope{HTTPCode: "401", HTTPCodeDesc: "Unauthorized", ErrorCode: "API2001",
			ShortMessage: "Invalid key", LongMessage: "long", MoreInformation: "more"}, e.Envelope)
		assert.NotContains(t, fmt.Sprintf("%v|%+v|%#v|%s", e, e, e, e.Error()), "EXTRA")
	}
}
