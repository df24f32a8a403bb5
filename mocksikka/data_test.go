package mocksikka_test

import (
	"crypto/sha256"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dataEnv is an env with a request key of the default office.
type dataEnv struct {
	*env
	key string
}

func newDataEnv(t *testing.T, opts ...mocksikka.Option) *dataEnv {
	t.Helper()
	e := newEnv(t, opts...)
	return &dataEnv{env: e, key: e.officeKey()["request_key"]}
}

// get sends GET /v4/<path> with the key.
func (e *dataEnv) get(path string) response {
	e.t.Helper()
	return e.do("GET", "/v4/"+path, nil, "Request-Key", e.key)
}

// dataEndpointNames are the data lists the mock serves, with a query each needs.
var dataEndpointNames = map[string]string{
	"patients": "", "providers": "", "operatories": "cust_id=36225", "appointments": "",
	"appointments_available_slots": "", "transactions": "", "claims": "", "payment_types": "",
	"patient_balance": "", "treatment_plans": "", "insurance_plan_coverage": "", "medical_notes": "",
	"practice_variables": "",
}

// withQuery joins a path and query parts.
func withQuery(path string, parts ...string) string {
	var q []string
	for _, p := range parts {
		if p != "" {
			q = append(q, p)
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + strings.Join(q, "&")
}

// Every data endpoint answers the list envelope whose items carry exactly Sikka's default
// fields in order, every value a string; fields=get_all gives the get_all fields; fields=a,b
// adds to the defaults; lightweight=true&fields=a,b gives only a and b.
func TestDataFields(t *testing.T) {
	e := newDataEnv(t)
	for name, need := range dataEndpointNames {
		t.Run(name, func(t *testing.T) {
			def, all := mocksikka.SheetFieldsOf(t, name)
			r := e.get(withQuery(name, need, "limit=3"))
			for _, keys := range itemKeys(t, r.body) {
				assert.Equal(t, def, keys)
			}
			r = e.get(withQuery(name, need, "limit=3", "fields=get_all"))
			for _, keys := range itemKeys(t, r.body) {
				assert.Equal(t, all, keys)
			}
			var extra []string
			for _, f := range all {
				if !slices.Contains(def, f) && len(extra) < 2 {
					extra = append(extra, f)
				}
			}
			if len(extra) > 0 {
				r = e.get(withQuery(name, need, "limit=3", "fields="+strings.Join(extra, ",")))
				for _, keys := range itemKeys(t, r.body) {
					assert.Equal(t, append(slices.Clone(def), extra...), keys)
				}
			}
			r = e.get(withQuery(name, need, "limit=3", "lightweight=true", "fields="+def[len(def)-1]+","+def[0]))
			for _, keys := range itemKeys(t, r.body) {
				assert.Equal(t, []string{def[len(def)-1], def[0]}, keys)
			}
			r = e.get(withQuery(name, need, "fields=shoe_size,"+def[0]))
			m := r.envelope(t, http.StatusBadRequest)
			assert.Equal(t, "API1026", m["error_code"])
			assert.Contains(t, m["long_message"], "shoe_size")
		})
	}
}

// Paging: offset is a page index, the links are absolute with filters dropped, previous is ""
// on page 0 and next "" on the last page, a page past the last is 200 with no item, and the
// pages together are the whole list in order.
func TestDataPaging(t *testing.T) {
	e := newDataEnv(t)
	whole := e.get("patients?limit=5000&status=Active").list(t)
	total, _ := strconv.Atoi(whole.TotalCount)
	require.Greater(t, total, 150)
	require.Len(t, whole.Items, total)
	last := (total+69)/70 - 1
	link := func(n int) string {
		return e.srv.URL + "/v4/patients?offset=" + strconv.Itoa(n) + "&limit=70"
	}
	var joined []map[string]string
	for page := 0; page <= last; page++ {
		l := e.get("patients?limit=70&status=Active&offset=" + strconv.Itoa(page)).list(t)
		assert.Equal(t, strconv.Itoa(page), l.Offset)
		assert.Equal(t, "70", l.Limit)
		assert.Equal(t, whole.TotalCount, l.TotalCount)
		assert.Equal(t, link(0), l.Pagination["first"])
		assert.Equal(t, link(page), l.Pagination["current"])
		assert.Equal(t, link(last), l.Pagination["last"])
		if page == 0 {
			assert.Equal(t, "", l.Pagination["previous"])
		} else {
			assert.Equal(t, link(page-1), l.Pagination["previous"])
		}
		if page == last {
			assert.Equal(t, "", l.Pagination["next"])
			assert.Len(t, l.Items, total-70*last)
		} else {
			assert.Equal(t, link(page+1), l.Pagination["next"])
			assert.Len(t, l.Items, 70)
		}
		joined = append(joined, l.Items...)
	}
	assert.Equal(t, whole.Items, joined)
	past := e.get("patients?limit=70&status=Active&offset=" + strconv.Itoa(last+1)).list(t)
	assert.Empty(t, past.Items)
	assert.Equal(t, whole.TotalCount, past.TotalCount)
	assert.Equal(t, "50", e.get("appointments").list(t).Limit, "default limit")
	assert.Len(t, e.get("appointments?limit=9000").list(t).Items, mocksikka.DefaultDataAppointments)
}

// Filters: each keeps exactly the rows it names (compared with the whole list), dates follow
// date_filter_on, a filter nobody matches answers 204 (API2005), bad values answer 400.
func TestDataFilters(t *testing.T) {
	e := newDataEnv(t)
	appts := e.get("appointments?limit=5000&fields=get_all").list(t)
	require.Len(t, appts.Items, mocksikka.DefaultDataAppointments)
	count := func(keep func(map[string]string) bool) int {
		n := 0
		for _, it := range appts.Items {
			if keep(it) {
				n++
			}
		}
		return n
	}
	some := appts.Items[len(appts.Items)/2]
	for _, tc := range []struct {
		query string
		keep  func(map[string]string) bool
	}{
		{"patient_id=" + some["patient_id"], func(m map[string]string) bool { return m["patient_id"] == some["patient_id"] }},
		{"provider_id=" + some["provider_id"], func(m map[string]string) bool { return m["provider_id"] == some["provider_id"] }},
		{"appointment_sr_no=" + some["appointment_sr_no"], func(m map[string]string) bool { return m["appointment_sr_no"] == some["appointment_sr_no"] }},
		{"status=completed", func(m map[string]string) bool { return m["status"] == "Completed" }},
		{"operatory=" + some["operatory"], func(m map[string]string) bool { return m["operatory"] == some["operatory"] }},
		{"procedure_code=D0120", func(m map[string]string) bool {
			return m["procedure_code1"] == "D0120" || m["procedure_code2"] == "D0120"
		}},
		{"startdate=2026-02-10&enddate=2026-02-16", func(m map[string]string) bool {
			return m["date"] >= "2026-02-10" && m["date"][:10] <= "2026-02-16"
		}},
		{"startdate=2026-01-01&date_filter_on=appointment_made_date", func(m map[string]string) bool {
			return m["appointment_made_date"] >= "2026-01-01"
		}},
		{"status=Scheduled&provider_id=" + some["provider_id"], func(m map[string]string) bool {
			return m["status"] == "Scheduled" && m["provider_id"] == some["provider_id"]
		}},
		{"colour=red", func(map[string]string) bool { return true }}, // unknown parameters are ignored
	} {
		t.Run(tc.query, func(t *testing.T) {
			want := count(tc.keep)
			require.Positive(t, want)
			l := e.get("appointments?limit=5000&fields=get_all&" + tc.query).list(t)
			assert.Equal(t, strconv.Itoa(want), l.TotalCount)
			for _, it := range l.Items {
				assert.True(t, tc.keep(it), "%v", it)
			}
		})
	}

	patients := e.get("patients?limit=5000").list(t)
	p := patients.Items[7]
	l := e.get("patients?search=" + url.QueryEscape(strings.ToUpper(p["lastname"]))).list(t)
	assert.NotEmpty(t, l.Items)
	for _, it := range l.Items {
		assert.Contains(t, strings.ToLower(it["firstname"]+it["lastname"]+it["email"]+it["preferred_name"]), strings.ToLower(p["lastname"]))
	}
	var visited map[string]string
	for _, it := range patients.Items {
		if it["last_visit"] != "" {
			visited = it
			break
		}
	}
	require.NotNil(t, visited)
	for _, it := range e.get("patients?limit=5000&last_visit=" + visited["last_visit"][:10]).list(t).Items {
		assert.Equal(t, visited["last_visit"], it["last_visit"], "a date matches that day's timestamp")
	}
	l = e.get("patients?email=" + url.QueryEscape(p["email"])).list(t)
	require.Len(t, l.Items, 1)
	assert.Equal(t, p, l.Items[0])

	e.mock.ClearJournal()
	r := e.get("patients?patient_id=999999999")
	assert.Equal(t, http.StatusNoContent, r.status)
	assert.Empty(t, r.body)
	assert.Equal(t, "API2005", e.mock.Journal()[0].ErrorCode)

	for _, bad := range []string{"appointments?startdate=10/02/2026", "appointments?date_filter_on=birthdate", "transactions?enddate=yesterday"} {
		m := e.get(bad).envelope(t, http.StatusBadRequest)
		assert.Equal(t, "API1026", m["error_code"], bad)
	}
	descriptions := func(path string) []string {
		var out []string
		for _, it := range e.get(path).list(t).Items {
			out = append(out, it["description"])
		}
		return out
	}
	assert.ElementsMatch(t, []string{"Courtesy Adjustment", "Insurance Write-off Adjustment"}, descriptions("payment_types?is_adjustment_type=true"))
	assert.ElementsMatch(t, []string{"Insurance Check Payment", "ERA Payment by EFT", "Insurance Write-off Adjustment"}, descriptions("payment_types?is_insurance_type=true"))
	assert.Equal(t, []string{"Credit Card Payment"}, descriptions("payment_types?are_credit_card_details_required=true"))
	assert.Equal(t, http.StatusNoContent, e.get("payment_types?is_debit_adjustment_type=true").status)
	assert.Equal(t, "API1026", e.get("payment_types?is_insurance_type=false").envelope(t, http.StatusBadRequest)["error_code"])

	m := e.get("operatories").envelope(t, http.StatusBadRequest)
	assert.Equal(t, "API1020", m["error_code"])
	assert.Contains(t, m["long_message"], "cust_id")
	m = e.get("patients?find="+url.QueryEscape("patient_id=eq_79")).envelope(t, http.StatusNotImplemented)
	assert.Equal(t, "MOCK5001", m["error_code"])
}

// Ids agree across endpoints: an appointment's patient, guarantor, provider and operatory
// exist; a transaction's claim exists; every patient has a balance.
func TestDataIDsConsistent(t *testing.T) {
	e := newDataEnv(t)
	idsOf := func(path, field string) map[string]bool {
		out := map[string]bool{}
		for _, it := range e.get(path).list(t).Items {
			out[it[field]] = true
		}
		return out
	}
	patients := idsOf("patients?limit=5000", "patient_id")
	providers := idsOf("providers?limit=5000", "provider_id")
	operatories := idsOf("operatories?limit=5000&cust_id=36225", "operatory")
	claims := idsOf("claims?limit=5000", "claim_sr_no")
	appts := idsOf("appointments?limit=5000", "appointment_sr_no")
	assert.Len(t, patients, mocksikka.DefaultDataPatients)
	assert.Equal(t, patients, idsOf("patient_balance?limit=5000", "patient_id"))
	inactive := idsOf("providers?status=inactive", "provider_id")
	assert.Len(t, inactive, 1, "one provider has left the practice")
	for _, a := range e.get("appointments?limit=5000&fields=operatory").list(t).Items {
		assert.False(t, inactive[a["provider_id"]], "an appointment with an inactive provider")
		assert.True(t, patients[a["patient_id"]], a["patient_id"])
		assert.True(t, patients[a["guarantor_id"]], a["guarantor_id"])
		assert.True(t, providers[a["provider_id"]], a["provider_id"])
		assert.True(t, operatories[a["operatory"]], a["operatory"])
		assert.Equal(t, e.srv.URL+"/v4/patients?patient_id="+a["patient_id"]+"&practice_id=1", a["patient_href"])
	}
	for _, tx := range e.get("transactions?limit=5000&fields=appointment_sr_no").list(t).Items {
		assert.True(t, patients[tx["patient_id"]])
		assert.True(t, providers[tx["provider_id"]])
		if tx["claim_sr_no"] != "" {
			assert.True(t, claims[tx["claim_sr_no"]], tx["claim_sr_no"])
		}
		if tx["appointment_sr_no"] != "" {
			assert.True(t, appts[tx["appointment_sr_no"]])
		}
	}
	for _, path := range []string{"claims", "treatment_plans", "medical_notes"} {
		for _, it := range e.get(path + "?limit=5000").list(t).Items {
			assert.True(t, patients[it["patient_id"]], path)
		}
	}
	// an appointment's patient_href finds that patient
	a := e.get("appointments?limit=1").list(t).Items[0]
	u, err := url.Parse(a["patient_href"])
	require.NoError(t, err)
	p := e.get("patients?" + u.RawQuery).list(t)
	require.Len(t, p.Items, 1)
	assert.Equal(t, a["patient_name"], p.Items[0]["firstname"]+" "+p.Items[0]["lastname"])
}

// No available slot overlaps an appointment of its provider or one in its operatory.
func TestDataAvailableSlots(t *testing.T) {
	e := newDataEnv(t)
	appts := e.get("appointments?limit=5000&fields=operatory&startdate=2026-02-10&enddate=2026-02-16").list(t)
	slots := e.get("appointments_available_slots?limit=5000&fields=operatory,end_time").list(t)
	require.NotEmpty(t, slots.Items)
	minute := func(hm string) int { h, _ := strconv.Atoi(hm[:2]); m, _ := strconv.Atoi(hm[3:]); return h*60 + m }
	for _, s := range slots.Items {
		assert.GreaterOrEqual(t, s["date"], "2026-02-10")
		assert.LessOrEqual(t, s["date"][:10], "2026-02-16")
		for _, a := range appts.Items {
			if a["date"] != s["date"] || a["status"] == "Cancelled" || a["status"] == "Broken" {
				continue
			}
			n, _ := strconv.Atoi(a["length"])
			overlap := minute(s["time"]) < minute(a["time"])+n && minute(a["time"]) < minute(s["end_time"])
			if overlap {
				assert.NotEqual(t, a["provider_id"], s["provider_id"], "slot %v overlaps %v", s, a)
				assert.NotEqual(t, a["operatory"], s["operatory"], "slot %v overlaps %v", s, a)
			}
		}
	}
	one := e.get("appointments_available_slots?limit=5000&provider_id=" + slots.Items[0]["provider_id"]).list(t)
	for _, s := range one.Items {
		assert.Equal(t, slots.Items[0]["provider_id"], s["provider_id"])
	}
}

// Data-Insert: completed is on the endpoints Sikka documents it for, and only those.
func TestDataInsertHeader(t *testing.T) {
	e := newDataEnv(t)
	for name, need := range dataEndpointNames {
		r := e.get(withQuery(name, need, "limit=1"))
		want := ""
		if slices.Contains([]string{"patients", "appointments", "transactions", "treatment_plans"}, name) {
			want = "completed"
		}
		assert.Equal(t, want, r.header.Get("Data-Insert"), name)
	}
}

// A key sees its own office's data only: another office's key reads another data set, and
// cannot name a practice its office does not have.
func TestDataKeysOfficeOnly(t *testing.T) {
	e := newDataEnv(t)
	other := e.grant("request_key", "office_id", mocksikka.MapleLeafOfficeID, "secret_key", "q2Vd8mB1xN0rT5yU7iO9pA3sD6fG4hJ2kL8zX1cV5bM=").strings(t)["request_key"]
	mine := e.get("patients?limit=5000").list(t)
	theirs := e.do("GET", "/v4/patients?limit=5000", nil, "Request-Key", other).list(t)
	assert.NotEqual(t, mine.Items, theirs.Items)
	assert.Equal(t, strconv.Itoa(2*mocksikka.DefaultDataPatients), theirs.TotalCount, "both practices of the office")
	for _, it := range theirs.Items[:mocksikka.DefaultDataPatients] {
		assert.Equal(t, "1", it["practice_id"])
	}
	for _, it := range theirs.Items[mocksikka.DefaultDataPatients:] {
		assert.Equal(t, "2", it["practice_id"])
	}
	two := e.do("GET", "/v4/patients?limit=5000&practice_id=2", nil, "Request-Key", other).list(t)
	assert.Equal(t, theirs.Items[mocksikka.DefaultDataPatients:], two.Items)
	m := e.get("patients?practice_id=2").envelope(t, http.StatusUnauthorized)
	assert.Equal(t, "API2007", m["error_code"])
	m = e.do("GET", "/v4/patients", nil).envelope(t, http.StatusBadRequest)
	assert.Equal(t, "API1004", m["error_code"])
}

// Documented endpoints the mock does not serve answer 501 MOCK5001; a path Sikka does not have
// answers 404 API2009.
func TestDataNotImplemented(t *testing.T) {
	e := newDataEnv(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "/v4/guarantors"}, {"GET", "/v4/procedure_codes"}, {"GET", "/v4/finance/accounts"},
		{"GET", "/v4/payment/transactions"}, {"POST", "/v4/practice_query"}, {"GET", "/v4/data_sync_status"},
	} {
		m := e.do(c.method, c.path, "{}", "Request-Key", e.key).envelope(t, http.StatusNotImplemented)
		assert.Equal(t, "MOCK5001", m["error_code"], c.path)
		assert.Contains(t, m["long_message"], "does not implement")
	}
	m := e.get("patientz").envelope(t, http.StatusNotFound)
	assert.Equal(t, "API2009", m["error_code"])
}

// The same seed and clock give the same bytes on every endpoint; another seed other data.
func TestDataDeterministic(t *testing.T) {
	answer := func(names []string, opts ...mocksikka.Option) [32]byte {
		mock := mocksikka.New(append([]mocksikka.Option{mocksikka.WithClock(t0)}, opts...)...)
		var all []byte
		for _, name := range names {
			req := httptest.NewRequest("GET", "/v4/"+withQuery(name, dataEndpointNames[name], "limit=5000", "fields=get_all"), nil)
			req.Header.Set("Request-Key", keyOf(t, mock))
			w := httptest.NewRecorder()
			mock.ServeHTTP(w, req)
			require.Equal(t, http.StatusOK, w.Code)
			body := regexp.MustCompile(`"execution_time":"\d+"`).ReplaceAll(w.Body.Bytes(), nil)
			all = append(append(all, name...), body...)
		}
		return sha256.Sum256(all)
	}
	every := slices.Sorted(maps.Keys(dataEndpointNames))
	a := answer(every, mocksikka.WithDataSeed(7))
	assert.Equal(t, a, answer(every, mocksikka.WithDataSeed(7)))
	some := []string{"patients", "appointments"}
	assert.NotEqual(t, answer(some, mocksikka.WithDataSeed(7)), answer(some, mocksikka.WithDataSeed(8)))
	assert.Equal(t, answer(some), answer(some, mocksikka.WithDataSeed(mocksikka.DefaultDataSeed)))
}

// keyOf returns a request key of the default office, issued in-process.
func keyOf(t *testing.T, mock *mocksikka.Server) string {
	t.Helper()
	req := httptest.NewRequest("POST", "/v4/request_key", strings.NewReader(`{"grant_type":"request_key","office_id":"`+
		mocksikka.DefaultOfficeID+`","secret_key":"`+mocksikka.DefaultSecretKey+`","app_id":"`+mocksikka.DefaultAppID+
		`","app_key":"`+mocksikka.DefaultAppKey+`"}`))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	mock.ServeHTTP(w, req)
	var out struct {
		RequestKey string `json:"request_key"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
	return out.RequestKey
}

// WithDataSize sets the sizes; the data is made at first use from the clock's date, kept when
// the clock moves, and made again after Reset.
func TestDataSizeAndReset(t *testing.T) {
	e := newDataEnv(t, mocksikka.WithDataSize(30, 40))
	assert.Equal(t, "30", e.get("patients").list(t).TotalCount)
	assert.Equal(t, "40", e.get("appointments").list(t).TotalCount)
	today := func() string { return e.get("patient_balance?limit=1").list(t).Items[0]["current_date"] }
	assert.Equal(t, "2026-02-10T00:00:00", today())
	e.mock.Advance(30 * 24 * time.Hour)
	e.key = e.officeKey()["request_key"]
	assert.Equal(t, "2026-02-10T00:00:00", today(), "kept when the clock moves")
	e.mock.Reset()
	e.mock.SetTime(t0.AddDate(0, 1, 0))
	e.key = e.officeKey()["request_key"]
	assert.Equal(t, "2026-03-10T00:00:00", today(), "made again after Reset")
	assert.Panics(t, func() { mocksikka.New(mocksikka.WithDataSize(-1, 0)) })
}
