package conformance

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Sheet §3: authorized_practices.

// authorizedPracticeFields are the item fields of Sikka's example, default and fields=get_all
// alike (sikka_fields.json, endpoints.authorized_practices).
var authorizedPracticeFields = []string{"href", "city", "state", "practice_id", "address", "zip",
	"office_id", "domain", "secret_key", "practice_name", "practice_management_system",
	"financial_system", "practice_management_system_refresh_date", "data_synchronization_date",
	"data_insert_date", "practice_management_system_version",
	"practice_management_system_refresh_date_time_zone", "partner_id", "financial_system_refresh_date",
	"financial_system_version", "difference_in_minutes"}

// list is a list answer: the envelope and its items.
type list struct {
	m     map[string]any
	items []map[string]any
}

// list checks a 200 list answer (items an array of objects) and returns it.
func (a *answer) list(t *testing.T) list {
	t.Helper()
	m := a.object(t, http.StatusOK)
	raw, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("want a list envelope with an items array; got %s", a)
	}
	l := list{m: m}
	for i, it := range raw {
		o, ok := it.(map[string]any)
		if !ok {
			t.Fatalf("%s: item %d is %T, want an object", a.what, i, it)
		}
		l.items = append(l.items, o)
	}
	return l
}

// rowID names an item of authorized_practices.
func rowID(it map[string]any) string { return str(it, "office_id") + "/" + str(it, "practice_id") }

// authorizedPractices lists /authorized_practices with the app's credentials and query q.
func (tg *target) authorizedPractices(t *testing.T, q string) list {
	t.Helper()
	return tg.get(t, "/authorized_practices"+q, tg.appHeaders()...).list(t)
}

// officeItem returns the item of the target's office with practice_id "1", or any item of it.
func (tg *target) officeItem(l list) map[string]any {
	var found map[string]any
	for _, it := range l.items {
		if str(it, "office_id") == tg.officeID {
			if str(it, "practice_id") == "1" {
				return it
			}
			if found == nil {
				found = it
			}
		}
	}
	return found
}

// TestAuthorizedPracticesWithAppCredentials: the Quickstart's first step, GET
// /v4/authorized_practices with App-Id and App-Key, lists the onboarded office with the secret
// key the request_key grant takes.
func TestAuthorizedPracticesWithAppCredentials(t *testing.T) {
	tg := newTarget(t)
	l := tg.authorizedPractices(t, "?show=all")
	it := tg.officeItem(l)
	if it == nil {
		t.Fatalf("authorized_practices with App-Id/App-Key: office %s is not listed (%d items)", tg.officeID, len(l.items))
	}
	if str(it, "secret_key") != tg.secretKey {
		t.Errorf("authorized_practices: office %s's secret_key is not the one configured for the request_key grant", tg.officeID)
	}
}

// TestAuthorizedPracticesWithRequestKey: authorized_practices also takes a Request-Key, and then
// lists the key's office.
func TestAuthorizedPracticesWithRequestKey(t *testing.T) {
	tg := newTarget(t)
	l := tg.get(t, "/authorized_practices", "Request-Key", tg.requestKey(t)).list(t)
	if tg.officeItem(l) == nil {
		t.Errorf("authorized_practices with Request-Key: the key's office %s is not listed", tg.officeID)
	}
}

// TestAuthorizedPracticeItems: every item has exactly the 21 fields of Sikka's example, each a
// string, and href is the absolute …/v4/authorized_practices/{office_id}.
func TestAuthorizedPracticeItems(t *testing.T) {
	tg := newTarget(t)
	for _, q := range []string{"?show=all", "?show=all&fields=get_all"} {
		l := tg.authorizedPractices(t, q)
		if len(l.items) == 0 {
			t.Fatalf("authorized_practices%s: no item", q)
		}
		for _, it := range l.items {
			what := "authorized_practices" + q + " item " + rowID(it)
			wantKeys(t, what, it, authorizedPracticeFields...)
			wantStrings(t, what, it)
			u, err := url.Parse(str(it, "href"))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				!strings.HasSuffix(u.Path, "/v4/authorized_practices/"+str(it, "office_id")) {
				t.Errorf("%s: href %q, want the absolute …/v4/authorized_practices/%s", what, str(it, "href"), str(it, "office_id"))
			}
		}
	}
}

// TestAuthorizedPracticesShowAll: without show=all only practice_id "1" rows are listed;
// show=all lists them and the others.
func TestAuthorizedPracticesShowAll(t *testing.T) {
	tg := newTarget(t)
	def := tg.authorizedPractices(t, "")
	all := tg.authorizedPractices(t, "?show=all")
	inAll := map[string]bool{}
	others := 0
	for _, it := range all.items {
		inAll[rowID(it)] = true
		if str(it, "practice_id") != "1" {
			others++
		}
	}
	for _, it := range def.items {
		if str(it, "practice_id") != "1" {
			t.Errorf("authorized_practices without show=all lists %s (practice_id not \"1\")", rowID(it))
		}
		if !inAll[rowID(it)] {
			t.Errorf("authorized_practices?show=all misses %s, listed without it", rowID(it))
		}
	}
	switch {
	case others > 0:
	case tg.mock != nil:
		t.Error("show=all lists no practice_id other than \"1\"; the default mock has one (E48213/2)")
	default:
		t.Log("every authorized practice is practice_id \"1\": the difference show=all makes cannot be seen here")
	}
}
