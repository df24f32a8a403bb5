package mocksikka_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Sikka's item fields, in the order of its example responses (sikka_fields.json).
var (
	authorizedPracticeFields = []string{"href", "city", "state", "practice_id", "address", "zip", "office_id",
		"domain", "secret_key", "practice_name", "practice_management_system", "financial_system",
		"practice_management_system_refresh_date", "data_synchronization_date", "data_insert_date",
		"practice_management_system_version", "practice_management_system_refresh_date_time_zone", "partner_id",
		"financial_system_refresh_date", "financial_system_version", "difference_in_minutes"}
	practiceFields = []string{"href", "patient_href", "address_line1", "address_line2", "city", "state", "zipcode",
		"email", "provider_href", "practice_id", "appointment_href", "guarantor_href", "transaction_href",
		"description", "name", "cust_id", "phone"}
	practiceFieldsGetAll = []string{"href", "patient_href", "address_line1", "address_line2", "city", "state",
		"zipcode", "email", "provider_href", "practice_id", "appointment_href", "guarantor_href", "country",
		"transaction_href", "description", "name", "cust_id", "national_provider_identifier", "phone", "website",
		"is_main_office"}
)

// itemKeys returns the keys of each item of a list answer in the order they were written,
// failing unless every value of every item is a JSON string (never null, never a number).
func itemKeys(t *testing.T, body []byte) [][]string {
	t.Helper()
	var env struct{ Items []json.RawMessage }
	require.NoError(t, json.Unmarshal(body, &env), "body: %s", body)
	var out [][]string
	for _, raw := range env.Items {
		out = append(out, objectKeys(t, raw))
	}
	return out
}

// objectKeys returns the keys of a JSON object of strings in the order they are written.
func objectKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	_, err := d.Token() // {
	require.NoError(t, err)
	var keys []string
	for d.More() {
		k, err := d.Token()
		require.NoError(t, err)
		v, err := d.Token()
		require.NoError(t, err)
		_, isString := v.(string)
		require.True(t, isString, "%s is %v, not a string", k, v)
		keys = append(keys, k.(string))
	}
	return keys
}

// ids lists "office_id/practice_id" of each item.
func ids(l list) []string {
	out := []string{}
	for _, it := range l.Items {
		out = append(out, it["office_id"]+"/"+it["practice_id"])
	}
	return out
}

// The error answers these tests meet, in one place: Sikka's documented codes (section 7 of
// docs/SIKKA_API.md).
var (
	errKey        = wantErr{400, "API1004"} // request key missing, unknown or revoked
	errExpired    = wantErr{400, "API1025"} // request key expired
	errApp        = wantErr{401, "API2003"} // App-Id or App-Key refused
	errAppKeyGone = wantErr{400, "API1002"} // App-Id without App-Key
	errQuery      = wantErr{400, "API1026"} // limit or offset malformed
	errNotFound   = wantErr{404, "API2009"} // no such path
	errMethod     = wantErr{405, "API2014"} // path without that method
	errOffice     = wantErr{401, "API2007"} // not authorized for this practice (Sikka's table)
)

type wantErr struct {
	status int
	code   string
}

func appHeaders(id, key string) []string { return []string{"App-Id", id, "App-Key", key} }

var defaultAppHeaders = appHeaders(mocksikka.DefaultAppID, mocksikka.DefaultAppKey)

// Sikka's Quickstart step 1 on a fresh mock: the configured practices have onboarded for the
// default app (the Marketplace path), so App-Id and App-Key list them with no other step.
func TestAuthorizedPracticesQuickstart(t *testing.T) {
	e := newEnv(t)
	l := e.do("GET", "/v4/authorized_practices", nil, defaultAppHeaders...).list(t)
	assert.Equal(t, []string{"D36225/1", "D48213/1", "D77104/1"}, ids(l), "without show=all: practice_id 1 rows")
	assert.Equal(t, "Opendental", l.Items[2]["practice_management_system"], "the raw spelling")
	// Step 2: the office id and secret key of an item give a key.
	it := l.Items[1]
	r := e.grant("request_key", "office_id", it["office_id"], "secret_key", it["secret_key"])
	require.Equal(t, 200, r.status, "body: %s", r.body)
	assert.Equal(t, mocksikka.MapleLeafOfficeID, r.strings(t)["issued_to"])
}

// Every documented field, in Sikka's order, every value a string (empty "", never null); href
// is absolute on the mock's own base URL and answers.
func TestAuthorizedPracticeItem(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/v4/authorized_practices?show=all", nil, defaultAppHeaders...)
	keys := itemKeys(t, r.body)
	require.Len(t, keys, 4)
	for _, k := range keys {
		assert.Equal(t, authorizedPracticeFields, k)
	}
	it := r.list(t).Items[0]
	want := map[string]string{
		"href": e.srv.URL + "/v4/authorized_practices/D36225", "city": "Toronto", "state": "ON", "practice_id": "1",
		"address": "123 Main Street", "zip": "M5V 2T6", "office_id": "D36225", "domain": "Dental",
		"secret_key": mocksikka.DefaultSecretKey, "practice_name": "Happy Dental Clinic",
		"practice_management_system": "Dentrix", "financial_system": "",
		"practice_management_system_refresh_date": "2026-02-10T03:00:28",
		"data_synchronization_date":               "2026-02-10T03:55:28", "data_insert_date": "2026-02-10T04:00:28",
		"practice_management_system_version":                "G7",
		"practice_management_system_refresh_date_time_zone": "Eastern Standard Time", "partner_id": "1",
		"financial_system_refresh_date": "", "financial_system_version": "", "difference_in_minutes": "300",
	}
	assert.Equal(t, want, it)
	fin := r.list(t).Items[1]
	assert.Equal(t, "QuickBooks", fin["financial_system"])
	assert.Equal(t, "2026-02-10T03:00:28", fin["financial_system_refresh_date"], "set when there is a financial system")

	href := e.do("GET", it["href"][len(e.srv.URL):], nil, defaultAppHeaders...).list(t)
	assert.Equal(t, []string{"D36225/1"}, ids(href))
	assert.Equal(t, want, href.Items[0])

	// With fields=get_all the fields are the same.
	r = e.do("GET", "/v4/authorized_practices?fields=get_all", nil, defaultAppHeaders...)
	assert.Equal(t, authorizedPracticeFields, itemKeys(t, r.body)[0])
}

// Who sees what: onboarded apps every configured office; any other app the offices that
// authorized it (Allow, a code, a request_key grant); a request key its own office.
func TestAuthorizedPracticesVisibility(t *testing.T) {
	other := mocksikka.App{ID: "other-app", Key: "other-key", RedirectURIs: []string{"https://other.example/cb"}}
	both := mocksikka.WithApps(mocksikka.DefaultApp(), other)
	otherHeaders := appHeaders(other.ID, other.Key)
	allow := func(e *env, appID, redirect, office string) {
		r := e.postForm(url.Values{"app_id": {appID}, "redirect_uri": {redirect}, "office_id": {office}, "decision": {"allow"}})
		require.Equal(t, http.StatusFound, r.status, "body: %s", r.body)
	}
	cases := []struct {
		name   string
		opts   []mocksikka.Option
		setup  func(e *env)
		header []string
		want   []string // nil: 204
	}{
		{"default app, fresh mock", nil, nil, defaultAppHeaders, []string{"D36225/1", "D48213/1", "D77104/1"}},
		{"another app, nothing authorized", []mocksikka.Option{both}, nil, otherHeaders, nil},
		{"another app after Allow", []mocksikka.Option{both}, func(e *env) {
			allow(e, other.ID, "https://other.example/cb", mocksikka.BrightSmilesOfficeID)
		}, otherHeaders, []string{"D77104/1"}},
		{"another app after a code and a request_key grant", []mocksikka.Option{both}, func(e *env) {
			_, err := e.mock.IssueCode(other.ID, mocksikka.BrightSmilesOfficeID)
			require.NoError(t, err)
			r := e.do("POST", "/v4/request_key", map[string]string{"grant_type": "request_key", "app_id": other.ID,
				"app_key": other.Key, "office_id": mocksikka.MapleLeafOfficeID, "secret_key": mocksikka.DefaultPractices()[1].SecretKey})
			require.Equal(t, 200, r.status, "body: %s", r.body)
		}, otherHeaders, []string{"D48213/1", "D77104/1"}},
		{"onboarding named for another app", []mocksikka.Option{both, mocksikka.WithOnboardedApps(other.ID)}, nil,
			otherHeaders, []string{"D36225/1", "D48213/1", "D77104/1"}},
		{"default app not onboarded then", []mocksikka.Option{both, mocksikka.WithOnboardedApps(other.ID)}, nil,
			defaultAppHeaders, nil},
		{"no onboarding: Allow alone counts", []mocksikka.Option{mocksikka.WithOnboardedApps()}, func(e *env) {
			allow(e, mocksikka.DefaultAppID, mocksikka.DefaultRedirectURI, mocksikka.MapleLeafOfficeID)
		}, defaultAppHeaders, []string{"D48213/1"}},
		{"a practice added later is onboarded too", nil, func(e *env) {
			require.NoError(t, e.mock.AddPractice(mocksikka.Practice{OfficeID: "D20006", SecretKey: "s", Name: "New", PMS: "Dentrix"}))
		}, defaultAppHeaders, []string{"D20006/1", "D36225/1", "D48213/1", "D77104/1"}},
		{"Reset forgets authorizations, keeps onboarding", []mocksikka.Option{both}, func(e *env) {
			allow(e, other.ID, "https://other.example/cb", mocksikka.BrightSmilesOfficeID)
			e.mock.Reset()
		}, otherHeaders, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts...)
			if c.setup != nil {
				c.setup(e)
			}
			r := e.do("GET", "/v4/authorized_practices", nil, c.header...)
			if c.want == nil {
				assert.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
				assert.Empty(t, r.body)
				return
			}
			assert.Equal(t, c.want, ids(r.list(t)))
		})
	}

	t.Run("request key: its own office", func(t *testing.T) {
		e := newEnv(t)
		k := e.officeKey()
		for name, r := range map[string]response{
			"header": e.do("GET", "/v4/authorized_practices?show=all", nil, "Request-Key", k["request_key"]),
			"query":  e.do("GET", "/v4/authorized_practices?show=all&request_key="+k["request_key"], nil),
		} {
			assert.Equal(t, []string{"D36225/1"}, ids(r.list(t)), name)
		}
		info := e.do("GET", "/v4/request_key_info", nil, "Request-Key", k["request_key"]).strings(t)
		assert.Equal(t, "2", info["request_count"], "authorized_practices counts on the key")
	})
}

// The documented filters of section 3 (show, practice_id, practice_name, the PMS and
// financial system and their versions, the time zone) and the order by office_id, then
// practice_id.
func TestAuthorizedPracticesFilters(t *testing.T) {
	ps := []mocksikka.Practice{ // configured out of order
		{OfficeID: "D20006", PracticeID: "2", SecretKey: "a", Name: "Two", PMS: "Dentrix", PMSVersion: "G7", TimeZone: "Pacific Standard Time"},
		{OfficeID: "C10001", PracticeID: "1", SecretKey: "b", Name: "Cee", PMS: "Eaglesoft", PMSVersion: "21.20", FinancialSystem: "QuickBooks", FinancialSystemVersion: "2024"},
		{OfficeID: "D20006", PracticeID: "1-1", SecretKey: "a", Name: "One-one", PMS: "Dentrix", PMSVersion: "G6"},
		{OfficeID: "D20006", PracticeID: "1", SecretKey: "a", Name: "One", PMS: "Dentrix", PMSVersion: "G7", TimeZone: "Eastern Standard Time"},
	}
	e := newEnv(t, mocksikka.WithPractices(ps...))
	cases := []struct {
		query string
		want  []string // nil: 204 No Content
	}{
		{"", []string{"C10001/1", "D20006/1"}},
		{"?show=all", []string{"C10001/1", "D20006/1", "D20006/1-1", "D20006/2"}},
		{"?practice_id=2", []string{"D20006/2"}},
		{"?practice_id=1-1&show=all", []string{"D20006/1-1"}},
		{"?practice_name=one-ONE", nil}, // show default: practice 1 only
		{"?practice_name=one-ONE&show=all", []string{"D20006/1-1"}},
		{"?practice_management_system=dentrix&show=all", []string{"D20006/1", "D20006/1-1", "D20006/2"}},
		{"?practice_management_system=Dentrix&practice_management_system_version=G7&show=all", []string{"D20006/1", "D20006/2"}},
		{"?financial_system=QuickBooks", []string{"C10001/1"}},
		{"?financial_system_version=2024&show=all", []string{"C10001/1"}},
		{"?practice_management_system_refresh_date_time_zone=Pacific+Standard+Time&show=all", []string{"D20006/2"}},
		{"?practice_id=9", nil},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			r := e.do("GET", "/v4/authorized_practices"+c.query, nil, defaultAppHeaders...)
			if c.want == nil {
				assert.Equal(t, http.StatusNoContent, r.status, "nothing matches: 204, body: %s", r.body)
				assert.Empty(t, r.body, "a 204 has no body")
				return
			}
			l := r.list(t)
			assert.Equal(t, c.want, ids(l))
			assert.Equal(t, strconv.Itoa(len(c.want)), l.TotalCount)
		})
	}
	entries := e.mock.Journal()
	last := entries[len(entries)-1]
	assert.Equal(t, http.StatusNoContent, last.Status)
	assert.Equal(t, "API2005", last.ErrorCode, "the journal names Sikka's code of an empty list")
}

// A setting answers an empty list 200 with items [] instead of 204.
func TestEmptyListOK(t *testing.T) {
	e := newEnv(t, mocksikka.WithEmptyListOK(true))
	k := e.officeKey()
	for _, r := range []response{
		e.do("GET", "/v4/authorized_practices?practice_id=9", nil, defaultAppHeaders...),
		e.do("GET", "/v4/practices?practice_id=9", nil, "Request-Key", k["request_key"]),
	} {
		l := r.list(t)
		assert.Equal(t, "0", l.TotalCount)
		require.NotNil(t, l.Items)
		assert.Empty(t, l.Items)
		assert.Contains(t, string(r.body), `"items":[]`)
		assert.Equal(t, "", l.Pagination["previous"])
		assert.Equal(t, "", l.Pagination["next"])
	}
}

// GET /v4/authorized_practices/{office_id} (the href of an item; Sikka's reply is
// undocumented): the list envelope of that office, under the same credentials and filters.
func TestAuthorizedPracticeByOffice(t *testing.T) {
	other := mocksikka.App{ID: "other-app", Key: "other-key"}
	e := newEnv(t, mocksikka.WithApps(mocksikka.DefaultApp(), other))
	k := e.officeKey()
	path := "/v4/authorized_practices/D48213"
	cases := []struct {
		name, path string
		header     []string
		want       []string // nil with no err: 204
		err        *wantErr
	}{
		{"app", path, defaultAppHeaders, []string{"D48213/1"}, nil},
		{"app, show=all", path + "?show=all", defaultAppHeaders, []string{"D48213/1", "D48213/2"}, nil},
		{"app, practice_id", path + "?practice_id=2", defaultAppHeaders, []string{"D48213/2"}, nil},
		{"app, nothing matches", path + "?practice_id=7", defaultAppHeaders, nil, nil},
		{"its own key", "/v4/authorized_practices/D36225", []string{"Request-Key", k["request_key"]}, []string{"D36225/1"}, nil},
		{"another office's key", path, []string{"Request-Key", k["request_key"]}, nil, &errOffice},
		{"app not authorized", path, appHeaders(other.ID, other.Key), nil, &errOffice},
		{"unknown office", "/v4/authorized_practices/D99999", defaultAppHeaders, nil, &errOffice},
		{"bad app key", path, appHeaders(mocksikka.DefaultAppID, "wrong"), nil, &errApp},
		{"no credentials", path, nil, nil, &errKey},
		{"deeper path", path + "/x", defaultAppHeaders, nil, &errNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("GET", c.path, nil, c.header...)
			switch {
			case c.err != nil:
				assert.Equal(t, c.err.code, r.envelope(t, c.err.status)["error_code"])
			case c.want == nil:
				assert.Equal(t, 204, r.status)
				assert.Empty(t, r.body)
			default:
				l := r.list(t)
				assert.Equal(t, c.want, ids(l))
				u, _, _ := strings.Cut(c.path, "?")
				assert.Equal(t, e.srv.URL+u+"?offset=0&limit=50", l.Pagination["first"], "links on the office's path, filters dropped")
			}
		})
	}
	assert.Equal(t, errMethod.code, e.do("DELETE", path, nil, defaultAppHeaders...).envelope(t, errMethod.status)["error_code"])
}

func TestAuthorizedPracticesRejects(t *testing.T) {
	e := newEnv(t)
	k := e.officeKey()
	cases := []struct {
		name, query string
		header      []string
		err         wantErr
	}{
		{"no credentials", "", nil, errKey},
		{"unknown key", "", []string{"Request-Key", "nope"}, errKey},
		{"wrong app key", "", appHeaders(mocksikka.DefaultAppID, "wrong"), errApp},
		{"unknown app", "", appHeaders("nobody", mocksikka.DefaultAppKey), errApp},
		{"app id without key", "", appHeaders(mocksikka.DefaultAppID, ""), errAppKeyGone},
		{"limit not a number", "?limit=x", []string{"Request-Key", k["request_key"]}, errQuery},
		{"limit zero", "?limit=0", []string{"Request-Key", k["request_key"]}, errQuery},
		{"negative offset", "?offset=-1", []string{"Request-Key", k["request_key"]}, errQuery},
		{"offset overflow", "?offset=99999999999999999999", []string{"Request-Key", k["request_key"]}, errQuery},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("GET", "/v4/authorized_practices"+c.query, nil, c.header...)
			assert.Equal(t, c.err.code, r.envelope(t, c.err.status)["error_code"])
		})
	}
	e.mock.Advance(25 * time.Hour)
	for _, path := range []string{"/v4/authorized_practices", "/v4/authorized_practices/" + k["issued_to"], "/v4/practices"} {
		r := e.do("GET", path, nil, "Request-Key", k["request_key"])
		assert.Equal(t, errExpired.code, r.envelope(t, errExpired.status)["error_code"], "expired key on %s", path)
	}
}

// Section 4: offset is a page index, limit defaults to 50 and is at most 5000, the links are
// absolute "?offset=N&limit=M" with the filters dropped, previous is "" on page 0 and next ""
// on the last page; every value is a string.
func TestListEnvelope(t *testing.T) {
	var ps []mocksikka.Practice
	for i := 1; i <= 7; i++ {
		ps = append(ps, mocksikka.Practice{OfficeID: fmt.Sprintf("D%d", i), SecretKey: "s", Name: fmt.Sprintf("P%d", i), PMS: "Dentrix"})
	}
	e := newEnv(t, mocksikka.WithPractices(ps...))
	link := func(page, limit int) string {
		return fmt.Sprintf("%s/v4/authorized_practices?offset=%d&limit=%d", e.srv.URL, page, limit)
	}
	cases := []struct {
		query                      string
		names                      []string
		offset, limit              string
		first, prev, current, next string
		last                       string
	}{
		{"", []string{"P1", "P2", "P3", "P4", "P5", "P6", "P7"}, "0", "50", link(0, 50), "", link(0, 50), "", link(0, 50)},
		{"?limit=3&show=all", []string{"P1", "P2", "P3"}, "0", "3", link(0, 3), "", link(0, 3), link(1, 3), link(2, 3)},
		{"?limit=3&offset=1&practice_management_system=Dentrix", []string{"P4", "P5", "P6"}, "1", "3", link(0, 3), link(0, 3), link(1, 3), link(2, 3), link(2, 3)},
		{"?limit=3&offset=2", []string{"P7"}, "2", "3", link(0, 3), link(1, 3), link(2, 3), "", link(2, 3)},
		{"?limit=3&offset=9", []string{}, "9", "3", link(0, 3), link(2, 3), link(9, 3), "", link(2, 3)},
		{"?limit=2&offset=1&show=all", []string{"P3", "P4"}, "1", "2", link(0, 2), link(0, 2), link(1, 2), link(2, 2), link(3, 2)},
		{"?limit=7", []string{"P1", "P2", "P3", "P4", "P5", "P6", "P7"}, "0", "7", link(0, 7), "", link(0, 7), "", link(0, 7)},
		{"?limit=999999", []string{"P1", "P2", "P3", "P4", "P5", "P6", "P7"}, "0", "5000", link(0, 5000), "", link(0, 5000), "", link(0, 5000)},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			r := e.do("GET", "/v4/authorized_practices"+c.query, nil, defaultAppHeaders...)
			var raw map[string]any
			require.NoError(t, json.Unmarshal(r.body, &raw))
			for _, f := range []string{"offset", "limit", "total_count", "execution_time"} {
				assert.IsType(t, "", raw[f], f)
			}
			l := r.list(t)
			names := []string{}
			for _, it := range l.Items {
				names = append(names, it["practice_name"])
			}
			assert.Equal(t, c.names, names)
			assert.Equal(t, "7", l.TotalCount)
			assert.Equal(t, c.offset, l.Offset)
			assert.Equal(t, c.limit, l.Limit)
			assert.Equal(t, map[string]string{"first": c.first, "previous": c.prev, "current": c.current, "next": c.next, "last": c.last}, l.Pagination)
		})
	}
	// The guide's example: total 6, limit 2, current 1 → previous 0, next 2, last 2.
	var six []mocksikka.Practice
	for i := 1; i <= 6; i++ {
		six = append(six, mocksikka.Practice{OfficeID: fmt.Sprintf("C%d", i), SecretKey: "s", Name: "c"})
	}
	g := newEnv(t, mocksikka.WithPractices(six...))
	l := g.do("GET", "/v4/authorized_practices?limit=2&offset=1", nil, defaultAppHeaders...).list(t)
	guide := func(page int) string {
		return fmt.Sprintf("%s/v4/authorized_practices?offset=%d&limit=2", g.srv.URL, page)
	}
	assert.Equal(t, guide(0), l.Pagination["previous"])
	assert.Equal(t, guide(2), l.Pagination["next"])
	assert.Equal(t, guide(2), l.Pagination["last"])
	assert.Contains(t, string(g.do("GET", "/v4/authorized_practices", nil, defaultAppHeaders...).body), "?offset=0&limit=50",
		"links are not HTML-escaped")
}

// GET /v4/practices: Sikka's /v4/practices item (no office_id, no secret_key), its
// practice_id filter, fields=get_all, 204 when nothing matches.
func TestPracticesEndpoint(t *testing.T) {
	e := newEnv(t)
	r := e.grant("request_key", "office_id", mocksikka.MapleLeafOfficeID, "secret_key", mocksikka.DefaultPractices()[1].SecretKey)
	require.Equal(t, 200, r.status)
	key := r.strings(t)["request_key"]
	get := func(query string) response {
		return e.do("GET", "/v4/practices"+query, nil, "Request-Key", key)
	}
	r = get("")
	for _, k := range itemKeys(t, r.body) {
		assert.Equal(t, practiceFields, k)
	}
	l := r.list(t)
	require.Len(t, l.Items, 2, "every practice of the key's office")
	base := e.srv.URL + "/v4/"
	assert.Equal(t, map[string]string{
		"href": base + "practices?practice_id=1", "patient_href": base + "patients?practice_id=1",
		"address_line1": "456 Queen Street West", "address_line2": "", "city": "Toronto", "state": "ON",
		"zipcode": "M5V 2A9", "email": "office@mapleleafdental.example", "provider_href": base + "providers?practice_id=1",
		"practice_id": "1", "appointment_href": base + "appointments?practice_id=1",
		"guarantor_href": base + "guarantors?practice_id=1", "transaction_href": base + "transactions?practice_id=1",
		"description": "Maple Leaf Family Dentistry", "name": "Maple Leaf Family Dentistry", "cust_id": "48213",
		"phone": "416-555-0178",
	}, l.Items[0])
	assert.Equal(t, "2", l.Items[1]["practice_id"])

	all := get("?fields=get_all&practice_id=2")
	assert.Equal(t, [][]string{practiceFieldsGetAll}, itemKeys(t, all.body))
	it := all.list(t).Items[0]
	assert.Equal(t, "CA", it["country"])
	assert.Equal(t, "False", it["is_main_office"])
	assert.Equal(t, "", it["national_provider_identifier"])

	assert.Equal(t, []string{"2"}, []string{get("?practice_id=2").list(t).Items[0]["practice_id"]})
	none := get("?practice_id=3")
	assert.Equal(t, http.StatusNoContent, none.status, "a filter that matches nothing: 204")
	assert.Empty(t, none.body)

	q := e.do("GET", "/v4/practices?request_key="+key, nil)
	assert.Len(t, q.list(t).Items, 2, "request_key as a query parameter")
	info := e.do("GET", "/v4/request_key_info", nil, "Request-Key", key).strings(t)
	assert.Equal(t, "5", info["request_count"], "every call counts on the key, 204 included")
	gz := e.do("GET", "/v4/practices?practice_id=3", nil, "Request-Key", key, "Accept-Encoding", "gzip")
	assert.Equal(t, http.StatusNoContent, gz.status)
	assert.Empty(t, gz.body, "a 204 has no body, not even an empty gzip stream")
	assert.Empty(t, gz.header.Get("Content-Encoding"))
	assert.NotEmpty(t, gz.header.Get("X-Rate-Limit-Limit"), "the rate-limit headers on a 204 too")
	assert.NotEmpty(t, gz.header.Get("Request-Key-Expires"), "and the key's expiry")
	assert.Equal(t, errKey.code, e.do("GET", "/v4/practices", nil).envelope(t, errKey.status)["error_code"])
}

func TestRequestKeyInfo(t *testing.T) {
	e := newEnv(t)
	k := e.officeKey()
	e.mock.Advance(100) // nanoseconds: still 86399 whole seconds left
	for name, r := range map[string]response{
		"header":   e.do("GET", "/v4/request_key_info", nil, "Request-Key", k["request_key"]),
		"href":     e.do("GET", "/v4/request_key_info?request_key="+k["request_key"], nil),
		"href abs": e.do("GET", k["href"][len(e.srv.URL):], nil),
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, 200, r.status, "body: %s", r.body)
			info := r.strings(t)
			assert.Equal(t, mocksikka.DefaultOfficeID, info["issued_to"])
			assert.Equal(t, "active", info["status"])
			assert.Equal(t, "86399 second(s)", info["expires_in"])
			assert.Equal(t, "0", info["request_count"])
			assert.Equal(t, "Dental", info["domain"])
			assert.Equal(t, k["start_time"], info["start_time"])
			assert.Equal(t, k["end_time"], info["end_time"])
			assert.NotContains(t, info, "refresh_key")
		})
	}
}

// Links keep the prefix under which the mock is mounted.
func TestLinksUnderPrefix(t *testing.T) {
	mock := mocksikka.New()
	mux := http.NewServeMux()
	mux.Handle("/sikka/", http.StripPrefix("/sikka", mock))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// env's helpers prefix paths with srv.URL: give them the mount point.
	e := &env{t: t, mock: mock, srv: &httptest.Server{URL: srv.URL + "/sikka"}, hc: srv.Client()}
	k := e.officeKey()
	assert.Equal(t, srv.URL+"/sikka/v4/request_key_info?request_key="+k["request_key"], k["href"])
	l := e.do("GET", "/v4/authorized_practices", nil, "Request-Key", k["request_key"]).list(t)
	assert.Equal(t, srv.URL+"/sikka/v4/authorized_practices?offset=0&limit=50", l.Pagination["first"])
	assert.Equal(t, srv.URL+"/sikka/v4/authorized_practices/D36225", l.Items[0]["href"])
	assert.Equal(t, []string{"D36225/1"}, ids(e.do("GET", "/v4/authorized_practices/D36225", nil, "Request-Key", k["request_key"]).list(t)))
}

// The binary's configuration file picks the same settings: onboarded_apps ([] for none) and
// empty_list_ok.
func TestListingConfig(t *testing.T) {
	c, err := mocksikka.LoadConfig(writeFile(t, `{"onboarded_apps":[],"empty_list_ok":true}`))
	require.NoError(t, err)
	e := newEnv(t, c.Options()...)
	l := e.do("GET", "/v4/authorized_practices", nil, defaultAppHeaders...).list(t)
	assert.Equal(t, "0", l.TotalCount, "no app onboarded; empty answers 200")

	c, err = mocksikka.LoadConfig(writeFile(t, `{}`))
	require.NoError(t, err)
	e = newEnv(t, c.Options()...)
	assert.Len(t, e.do("GET", "/v4/authorized_practices", nil, defaultAppHeaders...).list(t).Items, 3, "defaults")
	assert.Equal(t, http.StatusNoContent, e.do("GET", "/v4/authorized_practices?practice_id=9", nil, defaultAppHeaders...).status)
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mock.json")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}
