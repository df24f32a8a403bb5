package sikka_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/sikka"
)

// dataKey is the request key of these tests: 32 hex characters, as Sikka's.
const dataKey = "d7ab733c766917fa5ef8ae3a54100620"

// seen is one request a fake Sikka received.
type seen struct {
	Method, Path string
	Query        url.Values
	Key          string
	Body         map[string]string
}

// fakeSikka is an httptest server answering with handle and recording every
// request.
type fakeSikka struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []seen
}

func newFakeSikka(t *testing.T, handle http.HandlerFunc) *fakeSikka {
	t.Helper()
	f := &fakeSikka{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Key: r.Header.Get("Request-Key")}
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			if err := json.Unmarshal(b, &s.Body); err != nil {
				t.Errorf("body is not a JSON object of strings: %s", b)
			}
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, s)
		f.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSikka) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// offsets returns the offset parameter of each request, in order.
func (f *fakeSikka) offsets() []string {
	var out []string
	for _, r := range f.requests() {
		out = append(out, r.Query.Get("offset"))
	}
	return out
}

// client returns a data client of f with the static test key; its waits
// between retries and polls are recorded in waits, not slept.
func (f *fakeSikka) client(t *testing.T, waits *[]time.Duration, opts ...sikka.Option) *sikka.DataClient {
	t.Helper()
	c := sikka.New(appID, "app-key-of-the-tests", append([]sikka.Option{sikka.WithBaseURL(f.srv.URL)}, opts...)...)
	var mu sync.Mutex
	sikka.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if waits != nil {
			*waits = append(*waits, d)
		}
		return ctx.Err()
	})
	return c.Data(sikka.StaticKey(dataKey))
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// listShape says what a fake list endpoint puts in its envelope.
type listShape struct {
	total, pagination, wrapped bool
}

// listHandler serves items (JSON objects) as Sikka's list envelope, offset
// being a page index, with the links of Sikka's pagination, and 204 past
// the end.
func listHandler(t *testing.T, items []string, shape listShape) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, err1 := strconv.Atoi(r.URL.Query().Get("offset"))
		limit, err2 := strconv.Atoi(r.URL.Query().Get("limit"))
		if err1 != nil || err2 != nil || page < 0 || limit < 1 {
			t.Errorf("bad offset or limit: %s", r.URL.RawQuery)
			writeJSON(w, 400, `{"http_code":"400","error_code":"API1027"}`)
			return
		}
		from := min(page*limit, len(items))
		to := min(from+limit, len(items))
		if from == to {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		link := func(p int) string {
			return fmt.Sprintf(`"https://api.sikkasoft.com/v4/patients?offset=%d&limit=%d"`, p, limit)
		}
		var b strings.Builder
		fmt.Fprintf(&b, `{"offset":"%d","limit":"%d","execution_time":"18"`, page, limit)
		if shape.total {
			fmt.Fprintf(&b, `,"total_count":"%d"`, len(items))
		}
		if shape.pagination {
			last := (len(items)+limit-1)/limit - 1
			prev, next := `""`, `""`
			if page > 0 {
				prev = link(page - 1)
			}
			if page < last {
				next = link(page + 1)
			}
			fmt.Fprintf(&b, `,"pagination":{"first":%s,"previous":%s,"current":%s,"next":%s,"last":%s}`,
				link(0), prev, link(page), next, link(last))
		}
		fmt.Fprintf(&b, `,"items":[%s]}`, strings.Join(items[from:to], ","))
		body := b.String()
		if shape.wrapped {
			body = "[" + body + "]"
		}
		writeJSON(w, 200, body)
	}
}

func patientItems(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"patient_id":"%d","firstname":"P%d","birthdate":"1984-12-10T00:00:00","status":"Active"}`, 799601+i, i)
	}
	return out
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) ([]T, error) {
	t.Helper()
	var out []T
	for item, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, item)
	}
	return out, nil
}

func TestListReadsPagesByPageIndex(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items int
		shape listShape
		// want is the offsets asked for.
		want []string
	}{
		{"total and pagination", 5, listShape{total: true, pagination: true}, []string{"0", "1", "2"}},
		{"total only", 5, listShape{total: true}, []string{"0", "1", "2"}},
		{"pagination only", 5, listShape{pagination: true}, []string{"0", "1", "2"}},
		{"neither: a short page ends", 5, listShape{}, []string{"0", "1", "2"}},
		{"array-wrapped envelope", 5, listShape{total: true, pagination: true, wrapped: true}, []string{"0", "1", "2"}},
		{"exact multiple, total", 4, listShape{total: true}, []string{"0", "1"}},
		{"exact multiple, pagination", 4, listShape{pagination: true}, []string{"0", "1"}},
		{"exact multiple, neither: 204 ends", 4, listShape{}, []string{"0", "1", "2"}},
		{"one page", 1, listShape{total: true, pagination: true}, []string{"0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSikka(t, listHandler(t, patientItems(tc.items), tc.shape))
			dc := f.client(t, nil)
			got, err := collect(t, dc.Patients(context.Background(), sikka.PageSize(2)))
			require.NoError(t, err)
			require.Len(t, got, tc.items)
			for i, p := range got {
				assert.Equal(t, strconv.Itoa(799601+i), p.PatientID, "order of item %d", i)
			}
			assert.Equal(t, tc.want, f.offsets())
			for _, r := range f.requests() {
				assert.Equal(t, "GET /v4/patients", r.Method+" "+r.Path)
				assert.Equal(t, "2", r.Query.Get("limit"))
				assert.Equal(t, dataKey, r.Key)
			}
		})
	}
}

func TestListNoContentIsEmpty(t *testing.T) {
	for name, answer := range map[string]func(w http.ResponseWriter){
		"204":            func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
		"empty 200 body": func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) },
		"API2005 envelope": func(w http.ResponseWriter) {
			writeJSON(w, 200, `{"http_code":"204","http_code_desc":"NoContent","error_code":"API2005","short_message":"No content found for given parameter","long_message":"Request is processed successfully, but no data/content returned.","more_information":""}`)
		},
		"items []": func(w http.ResponseWriter) {
			writeJSON(w, 200, `{"offset":"0","limit":"50","total_count":"0","items":[]}`)
		},
		"wrapped items []": func(w http.ResponseWriter) { writeJSON(w, 200, `[{"offset":"0","limit":"50","items":[]}]`) },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) { answer(w) })
			dc := f.client(t, nil)
			got, err := collect(t, dc.Appointments(context.Background()))
			require.NoError(t, err)
			assert.Empty(t, got)
			assert.Len(t, f.requests(), 1)
			n, err := dc.Count(context.Background(), "appointments")
			require.NoError(t, err)
			assert.Equal(t, 0, n)
		})
	}
}

func TestListStopsWhenTheLoopBreaks(t *testing.T) {
	f := newFakeSikka(t, listHandler(t, patientItems(10), listShape{total: true, pagination: true}))
	dc := f.client(t, nil)
	n := 0
	for _, err := range dc.Patients(context.Background(), sikka.PageSize(2)) {
		require.NoError(t, err)
		if n++; n == 3 {
			break
		}
	}
	assert.Equal(t, []string{"0", "1"}, f.offsets(), "only the pages the loop reached")
}

func TestListQuery(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return d
	}
	for _, tc := range []struct {
		name string
		opts []sikka.ListOption
		want url.Values
	}{
		{"defaults", nil, url.Values{"offset": {"0"}, "limit": {"50"}}},
		{"fields add", []sikka.ListOption{sikka.Fields("gender", "homephone")},
			url.Values{"offset": {"0"}, "limit": {"50"}, "fields": {"gender,homephone"}}},
		{"get_all", []sikka.ListOption{sikka.Fields("gender"), sikka.AllFields()},
			url.Values{"offset": {"0"}, "limit": {"50"}, "fields": {"get_all"}}},
		{"lightweight", []sikka.ListOption{sikka.Lightweight("patient_id", "firstname")},
			url.Values{"offset": {"0"}, "limit": {"50"}, "fields": {"patient_id,firstname"}, "lightweight": {"true"}}},
		{"filters", []sikka.ListOption{sikka.PracticeID("1-1"), sikka.Filter("status", "Active"),
			sikka.Filter("find", "patient_id=eq_79::OR::guarantor_id=eq_67"),
			sikka.Dates(day("2020-09-01"), day("2020-09-30")), sikka.DateFilterOn("appointment_made_date")},
			url.Values{"offset": {"0"}, "limit": {"50"}, "practice_id": {"1-1"}, "status": {"Active"},
				"find": {"patient_id=eq_79::OR::guarantor_id=eq_67"}, "startdate": {"2020-09-01"},
				"enddate": {"2020-09-30"}, "date_filter_on": {"appointment_made_date"}}},
		{"an empty filter removes it", []sikka.ListOption{sikka.PracticeID("1"), sikka.PracticeID(""), sikka.Filter("status", "")},
			url.Values{"offset": {"0"}, "limit": {"50"}}},
		{"open end date", []sikka.ListOption{sikka.Dates(day("2020-09-01"), time.Time{})},
			url.Values{"offset": {"0"}, "limit": {"50"}, "startdate": {"2020-09-01"}}},
		{"page size capped at 5000", []sikka.ListOption{sikka.PageSize(10000)},
			url.Values{"offset": {"0"}, "limit": {"5000"}}},
		{"page size below 1 is the default", []sikka.ListOption{sikka.PageSize(0)},
			url.Values{"offset": {"0"}, "limit": {"50"}}},
		{"the listing's own parameters win", []sikka.ListOption{sikka.Filter("offset", "7"), sikka.Filter("limit", "1"), sikka.Filter("lightweight", "true")},
			url.Values{"offset": {"0"}, "limit": {"50"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
			_, err := collect(t, f.client(t, nil).Patients(context.Background(), tc.opts...))
			require.NoError(t, err)
			require.Len(t, f.requests(), 1)
			assert.Equal(t, tc.want, f.requests()[0].Query)
		})
	}
	t.Run("client page size", func(t *testing.T) {
		f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
		_, err := collect(t, f.client(t, nil, sikka.WithPageSize(500)).Providers(context.Background()))
		require.NoError(t, err)
		assert.Equal(t, "500", f.requests()[0].Query.Get("limit"))
		assert.Equal(t, "/v4/providers", f.requests()[0].Path)
	})
}

func TestListErrorEndsTheList(t *testing.T) {
	items := patientItems(5)
	list := listHandler(t, items, listShape{total: true, pagination: true})
	f := newFakeSikka(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("offset") == "1" {
			// Sikka's answer to an expired key, echoing the key.
			writeJSON(w, 400, `{"http_code":"400","http_code_desc":"BadRequest","error_code":"API1025","short_message":"Request key expired","long_message":"Request key `+dataKey+` is not valid, it is expired.","more_information":"Please generate new request key and make new request."}`)
			return
		}
		list(w, r)
	})
	var got []sikka.Patient
	var errs []error
	for p, err := range f.client(t, nil).Patients(context.Background(), sikka.PageSize(2)) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, p)
	}
	assert.Len(t, got, 2, "the first page's items, then the error")
	require.Len(t, errs, 1, "one error, then the end")
	requireKeyRejected(t, errs[0], "List")
	assert.NotContains(t, errs[0].Error(), dataKey)
	assert.NotContains(t, errs[0].Error(), dataKey[:8])
	assert.Equal(t, []string{"0", "1"}, f.offsets(), "a rejected key is not retried")
}

func TestListThatNeverEnds(t *testing.T) {
	// No total_count, and a next link on every page: the client's page cap ends it.
	f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"offset":"0","limit":"1","pagination":{"next":"https://api.sikkasoft.com/v4/patients?offset=1&limit=1"},"items":[{"patient_id":"1"}]}`)
	})
	got, err := collect(t, f.client(t, nil, sikka.WithMaxPages(3)).Patients(context.Background(), sikka.PageSize(1)))
	requireSikkaError(t, err, "List", sikka.ErrUnavailable)
	assert.Len(t, got, 3)
	assert.Len(t, f.requests(), 3)
}

func TestListRetriesAPage(t *testing.T) {
	var calls sync.Map
	list := listHandler(t, patientItems(3), listShape{total: true})
	f := newFakeSikka(t, func(w http.ResponseWriter, r *http.Request) {
		if _, again := calls.LoadOrStore(r.URL.Query().Get("offset"), true); !again && r.URL.Query().Get("offset") == "1" {
			writeJSON(w, 503, `{"http_code":"503","http_code_desc":"ServiceUnavailable","error_code":"API2002"}`)
			return
		}
		list(w, r)
	})
	var waits []time.Duration
	got, err := collect(t, f.client(t, &waits).Patients(context.Background(), sikka.PageSize(2)))
	require.NoError(t, err)
	assert.Len(t, got, 3)
	assert.Equal(t, []string{"0", "1", "1"}, f.offsets())
	assert.Len(t, waits, 1)
}

func TestListContextEnds(t *testing.T) {
	f := newFakeSikka(t, listHandler(t, patientItems(6), listShape{total: true}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var last error
	for _, err := range f.client(t, nil).Patients(ctx, sikka.PageSize(2)) {
		if err != nil {
			last = err
			break
		}
		if n++; n == 2 {
			cancel()
		}
	}
	require.ErrorIs(t, last, context.Canceled)
	assert.Equal(t, 2, n)
	assert.Equal(t, []string{"0"}, f.offsets())
}

func TestListInvalidEndpoint(t *testing.T) {
	f := newFakeSikka(t, func(http.ResponseWriter, *http.Request) { t.Error("no request expected") })
	dc := f.client(t, nil)
	for _, name := range []string{"", "../request_key", "patients?x=1", "Patients"} {
		_, err := collect(t, sikka.List[sikka.Record](context.Background(), dc, name))
		assert.Error(t, err, name)
		_, err = dc.Count(context.Background(), name)
		assert.Error(t, err, name)
	}
}

func TestCount(t *testing.T) {
	f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"offset":"0","limit":"1","total_count":"9161","items":[{"patient_id":"799601"}]}`)
	})
	n, err := f.client(t, nil).Count(context.Background(), "patients", sikka.Filter("status", "Active"))
	require.NoError(t, err)
	assert.Equal(t, 9161, n)
	q := f.requests()[0].Query
	assert.Equal(t, "1", q.Get("limit"))
	assert.Equal(t, "0", q.Get("offset"))
	assert.Equal(t, "Active", q.Get("status"))

	g := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"items":[{"patient_id":"799601"}]}`)
	})
	_, err = g.client(t, nil).Count(context.Background(), "patients")
	requireSikkaError(t, err, "Count", sikka.ErrUnavailable)
}

func TestRecordsOfAnyEndpoint(t *testing.T) {
	f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"offset":"0","limit":"50","total_count":"1","items":[{"claim_sr_no":"63052","claim_status":"O","total_billed_amount":"228.00","practice_id":1,"changes":[{"field":"x"}],"codes":["a","b"],"note":null}]}`)
	})
	got, err := collect(t, sikka.List[sikka.Record](context.Background(), f.client(t, nil), "claims"))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, sikka.Record{"claim_sr_no": "63052", "claim_status": "O", "total_billed_amount": "228.00",
		"practice_id": "1", "changes": "", "codes": "a,b", "note": ""}, got[0])
	assert.Equal(t, "/v4/claims", f.requests()[0].Path)
}

// TestDataViaAuthenticatingHTTPClient: a DataClient whose HTTP client sets
// the key itself, as the integration's per-account client does.
func TestDataViaAuthenticatingHTTPClient(t *testing.T) {
	f := newFakeSikka(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("offset") == "1" {
			writeJSON(w, 400, `{"http_code":"400","error_code":"API1004","short_message":"Requestkey `+r.Header.Get("Request-Key")+` is missing/invalid","long_message":"Requestkey `+r.Header.Get("Request-Key")+` is missing/invalid","more_information":"key=`+url.QueryEscape(r.Header.Get("Request-Key"))+`"}`)
			return
		}
		listHandler(t, patientItems(3), listShape{total: true})(w, r)
	})
	hc := &http.Client{Transport: setKey{key: dataKey, base: http.DefaultTransport}}
	logs := &syncBuffer{}
	c := sikka.New(appID, "app-key-of-the-tests", sikka.WithBaseURL(f.srv.URL),
		sikka.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	dc := c.DataVia(hc)

	var got []sikka.Patient
	var last error
	for p, err := range dc.Patients(context.Background(), sikka.PageSize(2)) {
		if err != nil {
			last = err
			break
		}
		got = append(got, p)
	}
	assert.Len(t, got, 2)
	se := requireKeyRejected(t, last, "List")
	require.Contains(t, logs.String(), "API1004", "the failed attempt is logged")
	for _, text := range []string{last.Error(), fmt.Sprintf("%+v", se.Envelope), logs.String()} {
		assert.NotContains(t, text, dataKey[:8], "the key the HTTP client set never shows")
		assert.NotContains(t, text, dataKey[len(dataKey)-8:])
	}
	for _, r := range f.requests() {
		assert.Equal(t, dataKey, r.Key, "the HTTP client's key")
	}
}

// setKey is an authenticating transport: it sends each request with its
// key, as integration.Service.HTTPClient does.
type setKey struct {
	key  string
	base http.RoundTripper
}

func (s setKey) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Request-Key", s.key)
	return s.base.RoundTrip(r)
}

func TestDataViaRefusesRedirects(t *testing.T) {
	other := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f := newFakeSikka(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.srv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	hc := &http.Client{Transport: setKey{key: dataKey, base: http.DefaultTransport}}
	dc := sikka.New(appID, "", sikka.WithBaseURL(f.srv.URL), sikka.WithMaxAttempts(1)).DataVia(hc)
	_, err := dc.Count(context.Background(), "patients")
	requireSikkaError(t, err, "Count", sikka.ErrUnavailable)
	assert.Empty(t, other.requests(), "the key never goes to another host")
}

func TestKeySource(t *testing.T) {
	f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c := sikka.New(appID, "app-key-of-the-tests", sikka.WithBaseURL(f.srv.URL))

	t.Run("asked for each request", func(t *testing.T) {
		var n int
		var mu sync.Mutex
		dc := c.Data(func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("key-number-%d-of-the-source-xxxxxx", n), nil
		})
		_, err := dc.Count(context.Background(), "patients")
		require.NoError(t, err)
		_, err = dc.Count(context.Background(), "patients")
		require.NoError(t, err)
		reqs := f.requests()
		require.Len(t, reqs, 2)
		assert.Equal(t, "key-number-1-of-the-source-xxxxxx", reqs[0].Key)
		assert.Equal(t, "key-number-2-of-the-source-xxxxxx", reqs[1].Key)
	})
	t.Run("its error ends the call", func(t *testing.T) {
		before := len(f.requests())
		errNeedsReauth := errors.New("account needs re-authorization")
		_, err := c.Data(func(context.Context) (string, error) { return "", errNeedsReauth }).Count(context.Background(), "patients")
		require.ErrorIs(t, err, errNeedsReauth)
		var se *sikka.Error
		require.ErrorAs(t, err, &se)
		assert.Len(t, f.requests(), before, "nothing sent")
	})
	t.Run("an empty key is rejected unsent", func(t *testing.T) {
		before := len(f.requests())
		_, err := collect(t, c.Data(nil).Patients(context.Background()))
		requireKeyRejected(t, err, "List")
		assert.Len(t, f.requests(), before)
	})
}

// The documented example items (SIKKA_API.md, section 5), every value a
// string, with fields of the default and get_all lists.
func TestTypedItems(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04", s)
		require.NoError(t, err)
		return tm
	}
	t.Run("patient", func(t *testing.T) {
		var p sikka.Patient
		require.NoError(t, json.Unmarshal([]byte(`{"href":"https://api.sikkasoft.com/v4/patients/799601","patient_id":"799601","guarantor_id":"799600","firstname":"Carlene","middlename":"","lastname":"Smith","birthdate":"1984-12-10T00:00:00","status":"Active","gender":"F","address_line1":"1 Main St","city":"Hartford","state":"CT","zipcode":"06111","cell":"5551234567","email":"c@example.com","first_visit":"2015-03-02T00:00:00","last_visit":"","provider_id":"VLP","practice_id":"1","created_date":"2019-12-09 14:37:56","primary_insurance_company_id":"998","unknown_field":"ignored","rowhash":{"a":"b"}}`), &p))
		assert.Equal(t, "799601", p.PatientID)
		assert.Equal(t, "799600", p.GuarantorID)
		assert.Equal(t, "Carlene", p.FirstName)
		assert.Equal(t, "Smith", p.LastName)
		assert.Equal(t, "", p.MiddleName)
		assert.Equal(t, utc("1984-12-10 00:00"), p.Birthdate.Time)
		assert.Equal(t, "1984-12-10T00:00:00", p.Birthdate.Raw)
		assert.Equal(t, "Active", p.Status)
		assert.Equal(t, "F", p.Gender)
		assert.Equal(t, "06111", p.Zipcode, "a zip code keeps its leading zero")
		assert.Equal(t, utc("2015-03-02 00:00"), p.FirstVisit.Time)
		assert.True(t, p.LastVisit.IsZero(), "empty is zero")
		assert.Equal(t, time.Date(2019, 12, 9, 14, 37, 56, 0, time.UTC), p.CreatedDate.Time)
		assert.Equal(t, "VLP", p.ProviderID)
		assert.Equal(t, "998", p.PrimaryInsuranceCompanyID)
	})
	t.Run("appointment", func(t *testing.T) {
		var a sikka.Appointment
		require.NoError(t, json.Unmarshal([]byte(`{"appointment_sr_no":"70670","patient_id":"799601","provider_id":"VLP","practice_id":"1","date":"2020-09-29T00:00:00","time":"10:30","length":"60","amount":"125.5000","status":"Scheduled","procedure_code1":"D1110","procedure_code1_amount":"90.0000","procedure_code2":"","procedure_code3":"D0120","patient_name":"Carlene Smith","operatory":"OP1","is_confirmed":"True","appointment_made_date":"2020-09-01T09:12:00"}`), &a))
		assert.Equal(t, "70670", a.AppointmentSrNo)
		assert.Equal(t, utc("2020-09-29 00:00"), a.Date.Time)
		assert.Equal(t, "10:30", a.Time)
		assert.Equal(t, utc("2020-09-29 10:30"), a.Start)
		assert.Equal(t, 60, a.Length)
		assert.Equal(t, utc("2020-09-29 11:30"), a.End())
		cents, ok := a.Amount.Cents()
		assert.True(t, ok)
		assert.Equal(t, int64(12550), cents)
		assert.Equal(t, []string{"D1110", "D0120"}, a.ProcedureCodes)
		assert.Equal(t, "OP1", a.Operatory)
		assert.True(t, a.Confirmed)
		assert.Equal(t, "Carlene Smith", a.PatientName)
	})
	t.Run("appointment time forms", func(t *testing.T) {
		for clock, want := range map[string]string{"10:30": "10:30", "10:30:00": "10:30", "2:05 PM": "14:05", "": "00:00", "soon": "00:00"} {
			var a sikka.Appointment
			require.NoError(t, json.Unmarshal([]byte(`{"date":"2020-09-29T00:00:00","time":"`+clock+`"}`), &a))
			assert.Equal(t, utc("2020-09-29 "+want), a.Start, clock)
			assert.Equal(t, clock, a.Time, "kept as sent")
		}
	})
	t.Run("provider", func(t *testing.T) {
		for _, body := range []string{
			`{"provider_id":"VLP","firstname":"Vera","lastname":"Lopez","provider_type":"Provider","specialty":"General","status":"Inactive","practice_id":"1","national_provider_identifier":"1234567893","is_hidden":"T"}`,
			`{"provider_id":"VLP","firstname":"Vera","lastname":"Lopez","provider_type":"Provider","speciality":"General","status":"Inactive","practice_id":"1","national_provider_identifier":"1234567893","is_hidden":"1"}`,
		} {
			var p sikka.Provider
			require.NoError(t, json.Unmarshal([]byte(body), &p))
			assert.Equal(t, sikka.Provider{ProviderID: "VLP", PracticeID: "1", FirstName: "Vera", LastName: "Lopez",
				ProviderType: "Provider", Specialty: "General", Status: "Inactive", NPI: "1234567893", Hidden: true}, p)
		}
	})
	t.Run("transaction", func(t *testing.T) {
		var tr sikka.Transaction
		require.NoError(t, json.Unmarshal([]byte(`{"transaction_sr_no":"31008","transaction_type":"Procedure","transaction_date":"2020-09-29T00:00:00","procedure_code":"D1208","procedure_description":"Fluoride","amount":"24.0000","estimated_insurance_payment":"","quantity":"1","patient_id":"799601","tooth_from":"","claim_sr_no":"63052"}`), &tr))
		assert.Equal(t, "31008", tr.TransactionSrNo)
		assert.Equal(t, "D1208", tr.ProcedureCode)
		assert.Equal(t, sikka.Amount("24.0000"), tr.Amount)
		cents, ok := tr.Amount.Cents()
		assert.True(t, ok)
		assert.Equal(t, int64(2400), cents)
		f, ok := tr.Amount.Float64()
		assert.True(t, ok)
		assert.Equal(t, 24.0, f)
		cents, ok = tr.EstimatedInsurancePayment.Cents()
		assert.True(t, ok)
		assert.Equal(t, int64(0), cents, "empty is zero")
		assert.Equal(t, 1, tr.Quantity)
		assert.Equal(t, utc("2020-09-29 00:00"), tr.TransactionDate.Time)
	})
	t.Run("available slot", func(t *testing.T) {
		var s sikka.AvailableSlot
		require.NoError(t, json.Unmarshal([]byte(`{"href":"h","provider_id":"DR1","provider_href":"p","practice_id":"1","practice_href":"q","date":"2021-03-25T00:00:00","time":"08:00","template_code":"NP","template_unit":"6","template_color":"255","template_type":"Exam","old_color":"","old_code":"","scheduled_color":"","scheduled_code":"","end_time":"09:00","operatory":"CH1"}`), &s))
		assert.Equal(t, utc("2021-03-25 08:00"), s.Start)
		assert.Equal(t, "DR1", s.ProviderID)
		assert.Equal(t, "NP", s.TemplateCode)
		assert.Equal(t, "6", s.TemplateUnit)
		assert.Equal(t, "09:00", s.EndTime)
		assert.Equal(t, "CH1", s.Operatory)
	})
	t.Run("numbers and nulls where Sikka sends strings", func(t *testing.T) {
		var a sikka.Appointment
		require.NoError(t, json.Unmarshal([]byte(`{"appointment_sr_no":70670,"practice_id":1,"length":60,"amount":24.5,"date":null,"is_confirmed":true}`), &a))
		assert.Equal(t, "70670", a.AppointmentSrNo)
		assert.Equal(t, "1", a.PracticeID)
		assert.Equal(t, 60, a.Length)
		assert.Equal(t, sikka.Amount("24.5"), a.Amount)
		assert.True(t, a.Start.IsZero())
		assert.True(t, a.Confirmed)
	})
	t.Run("booleans", func(t *testing.T) {
		for v, want := range map[string]bool{`"True"`: true, `"False"`: false, `"T"`: true, `"F"`: false, `"1"`: true, `"0"`: false, `""`: false, `true`: true, `"yes"`: true, `"maybe"`: false} {
			var p sikka.Provider
			require.NoError(t, json.Unmarshal([]byte(`{"is_hidden":`+v+`}`), &p))
			assert.Equal(t, want, p.Hidden, v)
		}
	})
	t.Run("timestamps", func(t *testing.T) {
		for raw, want := range map[string]time.Time{
			"2020-09-23T04:00:28":  time.Date(2020, 9, 23, 4, 0, 28, 0, time.UTC),
			"2019-12-09 14:37:56":  time.Date(2019, 12, 9, 14, 37, 56, 0, time.UTC),
			"4/1/2016 12:00:00 AM": time.Date(2016, 4, 1, 0, 0, 0, 0, time.UTC),
			"2018-04-04":           time.Date(2018, 4, 4, 0, 0, 0, 0, time.UTC),
			"not a date":           {},
		} {
			var ts sikka.Timestamp
			require.NoError(t, json.Unmarshal([]byte(strconv.Quote(raw)), &ts))
			assert.Equal(t, want, ts.Time, raw)
			assert.Equal(t, raw, ts.Raw, "kept as sent")
			b, err := json.Marshal(ts)
			require.NoError(t, err)
			assert.Equal(t, strconv.Quote(raw), string(b))
		}
	})
	t.Run("through a list", func(t *testing.T) {
		f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, 200, `{"offset":"0","limit":"50","total_count":"1","items":[{"transaction_sr_no":"31008","procedure_code":"D1208","amount":"24.0000"}]}`)
		})
		got, err := collect(t, f.client(t, nil).Transactions(context.Background()))
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "D1208", got[0].ProcedureCode)
		assert.Equal(t, "/v4/transactions", f.requests()[0].Path)
	})
}

func TestAmountCents(t *testing.T) {
	for raw, want := range map[sikka.Amount]int64{
		"24.0000": 2400, "228.00": 22800, "-12.5": -1250, "0.125": 13, "0.124": 12, "-0.125": -13,
		"7": 700, ".5": 50, "1,234.56": 123456, "": 0, " 65.0000 ": 6500,
	} {
		got, ok := raw.Cents()
		assert.True(t, ok, raw)
		assert.Equal(t, want, got, raw)
	}
	for _, bad := range []sikka.Amount{"abc", "1.2.3", "-", ".", "1e3", "99999999999999999999"} {
		_, ok := bad.Cents()
		assert.False(t, ok, bad)
	}
}
