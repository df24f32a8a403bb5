package conformance

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// Sheet §5 (data endpoints), §4 (lists) and §8 (Data-Insert), checked on the data a request
// key of the target's office reads. Nothing here assumes what the data holds beyond what the
// sheet says: a check that needs an item skips when the office has none.

// dataFields are the item fields of Sikka's example responses (sikka_fields.json, beside the
// sheet): default and fields=get_all.
func dataFields(t *testing.T, name string) (def, all []string) {
	t.Helper()
	b, err := os.ReadFile("../docs/sikka_fields.json")
	if err != nil {
		t.Fatalf("read the sheet's field lists: %v", err)
	}
	var f struct {
		Endpoints map[string]struct {
			Default []string `json:"default"`
			GetAll  []string `json:"get_all"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("sikka_fields.json: %v", err)
	}
	ep, ok := f.Endpoints[name]
	if !ok {
		t.Fatalf("sikka_fields.json lists no %s", name)
	}
	if ep.GetAll == nil {
		ep.GetAll = ep.Default
	}
	return ep.Default, ep.GetAll
}

// dataList GETs a data endpoint with the request key. It answers the list, or ok false for
// 204 (API2005: nothing matches; the sheet also allows 200 with "items":[]).
func (tg *target) dataList(t *testing.T, path string) (list, bool) {
	t.Helper()
	a := tg.get(t, path, "Request-Key", tg.requestKey(t))
	if a.status == http.StatusNoContent {
		if len(a.body) != 0 {
			t.Errorf("%s: 204 with a body (%d bytes); a 204 carries none (sheet §4)", a.what, len(a.body))
		}
		return list{}, false
	}
	l := a.list(t)
	wantStrings(t, a.what, l.m, "pagination", "items")
	return l, len(l.items) > 0
}

// custID is the cust_id of the office's practice, as /v4/practices lists it (operatories needs it).
func (tg *target) custID(t *testing.T) string {
	t.Helper()
	l, ok := tg.dataList(t, "/practices")
	if !ok {
		t.Skip("/v4/practices lists no practice for this office")
	}
	return str(l.items[0], "cust_id")
}

// TestDataEndpointFields: each data endpoint answers the list envelope whose items carry
// exactly the documented default fields, every value a string; fields=get_all the get_all
// fields; lightweight=true&fields=a,b only a and b (sheet §4, §5).
func TestDataEndpointFields(t *testing.T) {
	tg := newTarget(t)
	cust := tg.custID(t)
	for _, name := range []string{"patients", "appointments", "providers", "operatories", "transactions", "claims",
		"payment_types", "patient_balance", "treatment_plans", "insurance_plan_coverage", "medical_notes",
		"practice_variables"} {
		t.Run(name, func(t *testing.T) {
			def, all := dataFields(t, name)
			q := "?limit=2"
			if name == "operatories" {
				q += "&cust_id=" + url.QueryEscape(cust)
			}
			l, ok := tg.dataList(t, "/"+name+q)
			if !ok {
				t.Skipf("the office has no %s", name)
			}
			for _, it := range l.items {
				wantKeys(t, name+" item", it, def...)
				wantStrings(t, name+" item", it)
			}
			l, _ = tg.dataList(t, "/"+name+q+"&fields=get_all")
			for _, it := range l.items {
				wantKeys(t, name+" item with fields=get_all", it, all...)
			}
			pick := []string{def[len(def)-1], def[0]}
			l, _ = tg.dataList(t, "/"+name+q+"&lightweight=true&fields="+strings.Join(pick, ","))
			for _, it := range l.items {
				wantKeys(t, name+" item with lightweight=true", it, pick...)
			}
		})
	}
}

// TestDataPages: offset is a page index on a data list too: limit=1&offset=1 is the second
// item of limit=2; the links are absolute "?offset=N&limit=M" with the filters dropped.
func TestDataPages(t *testing.T) {
	tg := newTarget(t)
	two, ok := tg.dataList(t, "/patients?limit=2")
	if !ok || len(two.items) < 2 {
		t.Skip("needs two patients")
	}
	second, _ := tg.dataList(t, "/patients?limit=1&offset=1")
	if len(second.items) != 1 || str(second.items[0], "patient_id") != str(two.items[1], "patient_id") {
		t.Errorf("limit=1&offset=1 gave %v; want the second patient %q (offset counts pages, sheet §4)",
			second.items, str(two.items[1], "patient_id"))
	}
	p := second.pagination(t)
	if !strings.HasSuffix(p["current"], "/patients?offset=1&limit=1") || !strings.HasPrefix(p["current"], "http") {
		t.Errorf("pagination current %q, want an absolute …/patients?offset=1&limit=1 (sheet §4)", p["current"])
	}
	if !strings.HasSuffix(p["previous"], "/patients?offset=0&limit=1") {
		t.Errorf("pagination previous %q, want …/patients?offset=0&limit=1", p["previous"])
	}
	if filtered, ok := tg.dataList(t, "/patients?limit=1&status=Active"); ok {
		if cur := filtered.pagination(t)["current"]; strings.Contains(cur, "status=") {
			t.Errorf("pagination current %q keeps a filter; the sheet's links drop them (sheet §4)", cur)
		}
	}
}

// TestDataFilters: a documented id filter keeps only its rows, one nobody matches answers 204
// (API2005), and an appointment's patient is found by patient_id (sheet §4, §5).
func TestDataFilters(t *testing.T) {
	tg := newTarget(t)
	appts, ok := tg.dataList(t, "/appointments?limit=5")
	if !ok {
		t.Skip("the office has no appointments")
	}
	a := appts.items[0]
	for _, f := range []string{"date", "time"} {
		if f == "date" && !strings.HasSuffix(str(a, f), "T00:00:00") || f == "time" && len(str(a, f)) != 5 {
			t.Errorf("appointment %s %q; the sheet's example is \"2020-09-29T00:00:00\" and \"10:30\"", f, str(a, f))
		}
	}
	one, ok := tg.dataList(t, "/appointments?appointment_sr_no="+url.QueryEscape(str(a, "appointment_sr_no")))
	if !ok || len(one.items) != 1 || str(one.items[0], "appointment_sr_no") != str(a, "appointment_sr_no") {
		t.Errorf("appointment_sr_no=%s gave %d items", str(a, "appointment_sr_no"), len(one.items))
	}
	pid := str(a, "patient_id")
	mine, _ := tg.dataList(t, "/appointments?limit=50&patient_id="+url.QueryEscape(pid))
	for _, it := range mine.items {
		if str(it, "patient_id") != pid {
			t.Errorf("patient_id=%s kept an appointment of patient %s", pid, str(it, "patient_id"))
		}
	}
	p, ok := tg.dataList(t, "/patients?patient_id="+url.QueryEscape(pid))
	if !ok || len(p.items) != 1 {
		t.Errorf("the appointment's patient %s is not in /patients", pid)
	}
	if l, ok := tg.dataList(t, "/patients?patient_id=987654321987"); ok {
		t.Errorf("patient_id=987654321987 matched %d patients; want 204 (API2005)", len(l.items))
	}
}

// TestDataInsertHeader: patients, appointments, transactions and treatment_plans carry
// Data-Insert: completed or "in progress" (sheet §8), and every request-key call
// Request-Key-Expires.
func TestDataInsertHeader(t *testing.T) {
	tg := newTarget(t)
	for _, name := range []string{"patients", "appointments", "transactions", "treatment_plans"} {
		a := tg.get(t, "/"+name+"?limit=1", "Request-Key", tg.requestKey(t))
		if v := a.header.Get("Data-Insert"); v != "completed" && v != "in progress" {
			t.Errorf("%s: Data-Insert %q, want completed or in progress (sheet §8)", name, v)
		}
		if a.header.Get("Request-Key-Expires") == "" {
			t.Errorf("%s: no Request-Key-Expires (sheet §8: on every request-key API)", name)
		}
	}
}

// TestPracticeEvents: practice_events lists modified records with loadeddate, flag and a
// changes array of field, old_value and new_value (sheet §5).
func TestPracticeEvents(t *testing.T) {
	tg := newTarget(t)
	if tg.mock != nil {
		// The in-process mock's data changes only by writebacks: book one and let its SPU run it.
		tg.book(t, tg.bookingBody(t))
		tg.mock.Advance(tg.mock.WritebackDelay())
	}
	a := tg.get(t, "/practice_events?events=appointments&interval=1440", "Request-Key", tg.requestKey(t))
	if a.status == http.StatusNoContent && tg.mock == nil {
		t.Skip("no record of the office changed in the last day")
	}
	l := a.list(t)
	if len(l.items) == 0 {
		t.Fatal("practice_events lists no change after a completed writeback")
	}
	for _, it := range l.items {
		wantStrings(t, "practice_events item", it, "changes")
		for _, f := range []string{"loadeddate", "flag"} {
			if str(it, f) == "" {
				t.Errorf("practice_events item has no %s", f)
			}
		}
		changes, ok := it["changes"].([]any)
		if !ok {
			t.Errorf("practice_events changes is %T, want an array (sheet §1)", it["changes"])
		}
		for _, c := range changes {
			m, _ := c.(map[string]any)
			wantKeys(t, "practice_events change", m, "field", "old_value", "new_value")
		}
	}
}

// TestDataNotImplementedByTheMock: the mock answers a documented endpoint it does not serve
// with 501 MOCK5001, and a path Sikka does not have with 404 API2009, so a user tells them
// apart (the mock's own choice: Sikka serves both, or answers the second undocumented).
func TestDataNotImplementedByTheMock(t *testing.T) {
	tg := mockOnly(t, "the mock's answer to what it does not implement")
	key := tg.requestKey(t)
	for path, want := range map[string]struct {
		status int
		code   string
	}{"/guarantors": {501, "MOCK5001"}, "/procedure_codes": {501, "MOCK5001"}, "/patientz": {404, "API2009"}} {
		m := tg.get(t, path, "Request-Key", key).object(t, want.status)
		if str(m, "error_code") != want.code {
			t.Errorf("%s: error_code %q, want %s", path, str(m, "error_code"), want.code)
		}
	}
}
