package conformance

import (
	"strconv"
	"testing"
)

// envelopeFields are the six fields of Sikka's error (and status) envelope (sheet §7).
var envelopeFields = []string{"http_code", "http_code_desc", "error_code", "short_message", "long_message", "more_information"}

// documentedDesc is http_code_desc as Sikka spells it for each status (sheet §7): no spaces,
// but for the four statuses it writes with them.
var documentedDesc = map[int]string{
	200: "OK", 201: "Created", 204: "NoContent", 400: "BadRequest", 401: "Unauthorized",
	404: "NotFound", 409: "Conflict", 410: "Gone", 415: "UnsupportedMediaType", 422: "Unprocessable",
	500: "InternalServerError", 503: "ServiceUnavailable",
	405: "Method Not Allowed", 412: "Precondition Failed", 429: "Too Many Requests", 504: "Gateway Timeout",
}

// codeStatus is the HTTP status of each documented code (sheet §7's table).
var codeStatus = map[string]int{
	"API0002": 200, "API0003": 200, "API0004": 200, "API0005": 200, "API0006": 200, "API0008": 200,
	"API1001": 400, "API1002": 400, "API1003": 400, "API1004": 400, "API1005": 400,
	"API1006": 415, "API1007": 200,
	"API1020": 400, "API1025": 400, "API1026": 400, "API1027": 400,
	"API2001": 500, "API2002": 503, "API2003": 401, "API2004": 401, "API2005": 204, "API2006": 500,
	"API2007": 401, "API2009": 404, "API2010": 500, "API2011": 429, "API2012": 429,
	"API2013": 409, "API2014": 405, "API2015": 409, "API2016": 201, "API2017": 412, "API2018": 410,
	"API2019": 422, "API2022": 504,
}

// envelope checks that the answer is Sikka's envelope (sheet §7): HTTP status, exactly the six
// fields, every one a string, http_code the status, http_code_desc the documented spelling,
// error_code code, and code's documented status the HTTP status. It returns the fields.
func (a *answer) envelope(t *testing.T, status int, code string) map[string]string {
	t.Helper()
	m := a.object(t, status)
	wantKeys(t, a.what+" envelope", m, envelopeFields...)
	wantStrings(t, a.what+" envelope", m)
	e := map[string]string{}
	for _, f := range envelopeFields {
		e[f] = str(m, f)
	}
	if e["http_code"] != strconv.Itoa(status) {
		t.Errorf("%s: http_code %q, want %q (the HTTP status, as a string)", a.what, e["http_code"], strconv.Itoa(status))
	}
	if want, ok := documentedDesc[status]; !ok {
		t.Errorf("%s: status %d is not among the sheet's statuses", a.what, status)
	} else if e["http_code_desc"] != want {
		t.Errorf("%s: http_code_desc %q, want %q (sheet §7's spelling)", a.what, e["http_code_desc"], want)
	}
	if e["error_code"] != code {
		t.Errorf("%s: error_code %q, want %q; got %s", a.what, e["error_code"], code, a)
	}
	if st, ok := codeStatus[code]; !ok || st != status {
		t.Errorf("%s: the sheet's table gives %s HTTP %d, not %d", a.what, code, st, status)
	}
	return e
}

// wantTexts checks an envelope's messages; an empty want is not checked.
func wantTexts(t *testing.T, what string, e map[string]string, short, long, more string) {
	t.Helper()
	for _, c := range []struct{ field, want string }{
		{"short_message", short}, {"long_message", long}, {"more_information", more},
	} {
		if c.want != "" && e[c.field] != c.want {
			t.Errorf("%s: %s %q, want %q (sheet §7)", what, c.field, e[c.field], c.want)
		}
	}
}

// TestDocumentedTablesAgree guards the suite's own copy of the sheet's §7 table: every code's
// status has a documented http_code_desc.
func TestDocumentedTablesAgree(t *testing.T) {
	for code, st := range codeStatus {
		if _, ok := documentedDesc[st]; !ok {
			t.Errorf("%s: status %d has no documented http_code_desc", code, st)
		}
	}
}
