package mocksikka

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Error codes of the error envelope. The API* codes are Sikka's documented codes (section 7
// of docs/SIKKA_API.md), each used only for its documented meaning; the MOCK* codes are the
// mock's own, for answers Sikka's documentation does not describe. doc.go lists them all.
const (
	codeSessionEnded   = "API0002" // 200 DELETE request_key / refresh_key: session terminated
	codeAppIDMissing   = "API1001" // 400 app_id (App-Id) missing
	codeAppKeyMissing  = "API1002" // 400 app_key (App-Key) missing
	codeKeyMissing     = "API1004" // 400 request key missing, unknown or revoked
	codeSecretMissing  = "API1005" // 400 secret_key missing
	codeBadContentType = "API1006" // 415 body is not application/json
	codeParamMissing   = "API1020" // 400 another required parameter is missing
	codeKeyExpired     = "API1025" // 400 request key expired
	codeParamInvalid   = "API1026" // 400 a parameter or the body is invalid
	codeBadCredentials = "API2003" // 401 app, office or refresh credentials incorrect
	codeNotFound       = "API2009" // 404 no such route (admin: unknown app or office)
	codeDailyData      = "API2011" // 429 the practice's daily data cap is used up
	codeDailyRequests  = "API2012" // 429 the practice's daily request cap is used up
	codeConflict       = "API2013" // 409 admin: already exists
	codeMethod         = "API2014" // 405 route exists, method does not

	codeAdminHost = "MOCK4003" // 403 admin API: Host neither loopback nor configured
	codeTooLarge  = "MOCK4013" // 413 body over MaxBodyBytes
	codeRateLimit = "MOCK4029" // 429 the app's calls per window are used up (Sikka's body is undocumented)
	codeFault     = "MOCK9000" // any status injected by a Fault

	// Older names, kept for the handlers that use them.
	codeBadRequestKey = codeKeyMissing
	codeBadApp        = codeBadCredentials
	codeBadQuery      = codeParamInvalid
	codeBadJSON       = codeParamInvalid
)

// statusDesc is http_code_desc as Sikka spells it; other statuses use Go's status text
// without spaces, the style of most documented ones.
var statusDesc = map[int]string{
	200: "OK", 201: "Created", 204: "NoContent", 400: "BadRequest", 401: "Unauthorized",
	404: "NotFound", 405: "Method Not Allowed", 409: "Conflict", 410: "Gone",
	412: "Precondition Failed", 415: "UnsupportedMediaType", 422: "Unprocessable",
	429: "Too Many Requests", 500: "InternalServerError", 503: "ServiceUnavailable",
	504: "Gateway Timeout",
}

// httpCodeDesc returns http_code_desc for status.
func httpCodeDesc(status int) string {
	if d, ok := statusDesc[status]; ok {
		return d
	}
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

const moreInformation = "mocksikka: see the package documentation of github.com/parlae/sikka-connect/mocksikka"

// errorEnvelope is Sikka's error body; every value is a string.
type errorEnvelope struct {
	HTTPCode        string `json:"http_code"`
	HTTPCodeDesc    string `json:"http_code_desc"`
	ErrorCode       string `json:"error_code"`
	ShortMessage    string `json:"short_message"`
	LongMessage     string `json:"long_message"`
	MoreInformation string `json:"more_information"`
}

// call is one request in flight: what the handlers read and how they answer, so that the
// journal learns the status without wrapping the ResponseWriter.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	body  []byte
	grant string // grant_type of a POST /v4/request_key, read once
	e     *Entry
	q     url.Values // the parsed query, once asked for

	capOffice string // the office whose daily data cap this answer counts against, if any
	sent      int    // bytes of the answer's body, before any compression
}

// query returns the request's query, parsed once per call. Callers must not
// change it.
func (c *call) query() url.Values {
	if c.q == nil {
		c.q = c.r.URL.Query()
	}
	return c.q
}

// jsonBuffers recycles the buffers answers are encoded into.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// json answers with v as JSON.
func (c *call) json(status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // keep only ordinary sizes
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	switch v := v.(type) {
	case keyResponse: // the hot answers: written directly, byte for byte what the encoder writes
		buf.Write(append(v.appendJSON(buf.AvailableBuffer()), '\n'))
	case listEnvelope:
		buf.Write(append(v.appendJSON(buf.AvailableBuffer()), '\n'))
	default:
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)              // links keep a plain "&", as Sikka writes them
		if err := enc.Encode(v); err != nil { // only the mock's own types are encoded; this cannot happen
			status = http.StatusInternalServerError
			buf.Reset()
			buf.WriteString(`{"http_code":"500"}` + "\n")
		}
	}
	c.send(status, buf.Bytes())
}

// send answers with body, a JSON document already encoded.
func (c *call) send(status int, body []byte) {
	c.begin(status)
	c.write(body)
}

// begin starts a JSON answer with status; its body follows in one or more calls of write.
func (c *call) begin(status int) {
	h := c.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	c.e.Status = status
	c.w.WriteHeader(status)
}

// write sends part of the body of an answer begun with begin.
func (c *call) write(b []byte) {
	c.sent += len(b)
	_, _ = c.w.Write(b)
}

// fail answers with the error envelope; more_information points to the mock's documentation.
func (c *call) fail(status int, code, short, long string) {
	c.failMore(status, code, short, long, moreInformation)
}

// documentedTexts are the short and long messages the sheet gives for a code; they replace
// whatever a handler passes, so that every answer with the code reads as Sikka's.
var documentedTexts = map[string][2]string{
	codeBadCredentials: {"Authentication/Authorization Failed", "ID or key is incorrect."},
	codeKeyExpired:     {"Request key expired", "Request key is not valid, it is expired."},
}

// failMore answers with the error envelope and the given more_information.
func (c *call) failMore(status int, code, short, long, more string) {
	if t, ok := documentedTexts[code]; ok {
		short, long = t[0], t[1]
	}
	c.e.ErrorCode = code
	c.json(status, errorEnvelope{
		HTTPCode:        strconv.Itoa(status),
		HTTPCodeDesc:    httpCodeDesc(status),
		ErrorCode:       code,
		ShortMessage:    short,
		LongMessage:     long,
		MoreInformation: more,
	})
}

// redirect answers 302 Found to loc.
func (c *call) redirect(loc string) {
	c.w.Header().Set("Location", loc)
	c.w.Header().Set("Cache-Control", "no-store")
	c.e.Status = http.StatusFound
	c.w.WriteHeader(http.StatusFound)
}

// html answers with an HTML page.
func (c *call) html(status int, page []byte) {
	h := c.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	c.e.Status = status
	c.w.WriteHeader(status)
	_, _ = c.w.Write(page)
}

// baseURL is the scheme, host and mount prefix under which the mock is reached, for absolute
// links (href, pagination). A prefix stripped by http.StripPrefix is kept.
func (c *call) baseURL() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	host := c.r.Host
	if host == "" {
		host = "localhost"
	}
	prefix := ""
	if c.r.URL.RawPath == "" {
		p, _, _ := strings.Cut(c.r.RequestURI, "?")
		if strings.HasPrefix(p, "/") {
			if pre, ok := strings.CutSuffix(p, c.r.URL.Path); ok {
				prefix = pre
			}
		}
	}
	return scheme + "://" + host + prefix
}

// appendJSONString appends s as a JSON string exactly as encoding/json's Encoder with
// SetEscapeHTML(false) writes it: printable ASCII other than '"' and '\\' as is; anything else
// (control characters, non-ASCII, invalid UTF-8) through the encoder itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			var q bytes.Buffer
			enc := json.NewEncoder(&q)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(q.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONField appends ,"name":"value" (no comma when first).
func appendJSONField(b []byte, first bool, name, value string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendJSON writes r as encoding/json does (field order, omitempty refresh_key).
func (r keyResponse) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendJSONField(b, true, "href", r.Href)
	b = appendJSONField(b, false, "request_key", r.RequestKey)
	b = appendJSONField(b, false, "start_time", r.StartTime)
	b = appendJSONField(b, false, "end_time", r.EndTime)
	b = appendJSONField(b, false, "expires_in", r.ExpiresIn)
	b = appendJSONField(b, false, "issued_to", r.IssuedTo)
	b = appendJSONField(b, false, "status", r.Status)
	b = appendJSONField(b, false, "request_count", r.RequestCount)
	b = appendJSONField(b, false, "scope", r.Scope)
	b = appendJSONField(b, false, "domain", r.Domain)
	if r.RefreshKey != "" {
		b = appendJSONField(b, false, "refresh_key", r.RefreshKey)
	}
	return append(b, '}')
}

// appendJSON writes e as encoding/json does.
func (e listEnvelope) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendJSONField(b, true, "offset", e.Offset)
	b = appendJSONField(b, false, "limit", e.Limit)
	b = appendJSONField(b, false, "total_count", e.TotalCount)
	b = appendJSONField(b, false, "execution_time", e.ExecutionTime)
	b = append(b, `,"pagination":{`...)
	b = appendJSONField(b, true, "first", e.Pagination.First)
	b = appendJSONField(b, false, "previous", e.Pagination.Previous)
	b = appendJSONField(b, false, "current", e.Pagination.Current)
	b = appendJSONField(b, false, "next", e.Pagination.Next)
	b = appendJSONField(b, false, "last", e.Pagination.Last)
	b = append(b, `},"items":`...)
	if e.appendItems != nil {
		b = append(b, '[')
		b = e.appendItems(b)
		b = append(b, ']')
	} else if e.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, it := range e.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = it.appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
