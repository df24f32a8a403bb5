package conformance

import (
	"net/http"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
)

// Sheet §7: errors. Every check goes through answer.envelope, which also holds each answer to
// the six string fields, the documented http_code_desc and the table's status for its code.

// unknownKey is 32 hex characters no server issued.
const unknownKey = "0123456789abcdef0123456789abcdef"

// TestMissingRequestKeyIsAPI1004: a request-key call without a key answers 400 API1004
// "Missing Parameter" / "Requestkey is missing." / "Please provide the requestkey.".
func TestMissingRequestKeyIsAPI1004(t *testing.T) {
	tg := newTarget(t)
	for _, path := range []string{"/request_key_info", "/practices"} {
		a := tg.get(t, path)
		e := a.envelope(t, http.StatusBadRequest, "API1004")
		wantTexts(t, a.what, e, "Missing Parameter", "Requestkey is missing.", "Please provide the requestkey.")
	}
}

// TestUnknownRequestKeyIsAPI1004: a key the server never issued is 400 API1004, with either of
// the documented long messages.
func TestUnknownRequestKeyIsAPI1004(t *testing.T) {
	tg := newTarget(t)
	for _, path := range []string{"/request_key_info", "/practices"} {
		a := tg.get(t, path, "Request-Key", unknownKey)
		e := a.envelope(t, http.StatusBadRequest, "API1004")
		wantTexts(t, a.what, e, "Missing Parameter", "", "")
		if l := e["long_message"]; l != "Requestkey is missing." && l != "Requestkey is missing/invalid" {
			t.Errorf("%s: long_message %q, want \"Requestkey is missing.\" or \"Requestkey is missing/invalid\"", a.what, l)
		}
	}
}

// TestExpiredRequestKeyIsAPI1025: an expired key is 400 API1025 "Request key expired" / "Request
// key is not valid, it is expired." / "Please generate new request key and make new request.".
func TestExpiredRequestKeyIsAPI1025(t *testing.T) {
	tg := mockOnly(t, "an expired key needs the mock's clock (a real key lives 24 h)",
		mocksikka.WithClock(time.Date(2026, 2, 10, 4, 0, 0, 0, time.UTC)))
	key := tg.requestKey(t)
	tg.mock.Advance(25 * time.Hour)
	for _, path := range []string{"/request_key_info", "/practices", "/authorized_practices"} {
		a := tg.get(t, path, "Request-Key", key)
		e := a.envelope(t, http.StatusBadRequest, "API1025")
		wantTexts(t, a.what, e, "Request key expired", "Request key is not valid, it is expired.",
			"Please generate new request key and make new request.")
	}
}

// TestBadCredentialsAreAPI2003: a wrong App-Key on authorized_practices, and a wrong app_key or
// secret_key in the request_key grant, are 401 API2003 "Authentication/Authorization Failed" /
// "ID or key is incorrect.".
func TestBadCredentialsAreAPI2003(t *testing.T) {
	tg := newTarget(t)
	const wrong = "not-the-key-0000000000000000000000"
	answers := []*answer{tg.get(t, "/authorized_practices", "App-Id", tg.appID, "App-Key", wrong)}
	for _, field := range []string{"app_key", "secret_key"} {
		body := tg.requestKeyGrant()
		body[field] = wrong
		a := tg.do(t, req{method: http.MethodPost, path: "/request_key", body: body})
		a.what += " (wrong " + field + ")"
		answers = append(answers, a)
	}
	for _, a := range answers {
		e := a.envelope(t, http.StatusUnauthorized, "API2003")
		wantTexts(t, a.what, e, "Authentication/Authorization Failed", "ID or key is incorrect.", "")
	}
}

// TestMissingParametersAre400: the request_key grant without app_id is API1001, without app_key
// API1002, without secret_key API1005, without grant_type API1020, all 400.
func TestMissingParametersAre400(t *testing.T) {
	tg := newTarget(t)
	for field, code := range map[string]string{"app_id": "API1001", "app_key": "API1002",
		"secret_key": "API1005", "grant_type": "API1020"} {
		body := tg.requestKeyGrant()
		delete(body, field)
		a := tg.do(t, req{method: http.MethodPost, path: "/request_key", body: body})
		a.what += " (no " + field + ")"
		a.envelope(t, http.StatusBadRequest, code)
	}
}

// TestNotJSONIs415: the request_key grant sent as a form is 415 API1006 ("supports json/xml").
func TestNotJSONIs415(t *testing.T) {
	tg := newTarget(t)
	a := tg.do(t, req{method: http.MethodPost, path: "/request_key",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		body:   "grant_type=request_key"})
	a.envelope(t, http.StatusUnsupportedMediaType, "API1006")
}

// TestUnknownPathAndMethod: the mock's documented choices where Sikka is silent (sheet §12): an
// unknown path is 404 API2009, a known path with another method 405 API2014, each with its
// documented status and spelling.
func TestUnknownPathAndMethod(t *testing.T) {
	tg := mockOnly(t, "Sikka's answer to an unknown path or method is undocumented (sheet §12); this checks the mock's documented choice")
	tg.get(t, "/no_such_endpoint", "Request-Key", tg.requestKey(t)).envelope(t, http.StatusNotFound, "API2009")
	tg.do(t, req{method: http.MethodPut, path: "/request_key_info", header: map[string]string{"Request-Key": tg.requestKey(t)}}).
		envelope(t, http.StatusMethodNotAllowed, "API2014")
}
