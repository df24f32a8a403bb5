package mocksikka_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureJSON is a user's fixture: one new patient with an appointment, and a change to an
// existing patient.
const fixtureJSON = `{"office_id":"D36225","practice_id":"1","replace":%s,
 "patients":[{"patient_id":"900001","firstname":"Test","lastname":"Patient","email":"test.patient@example.com"},
             {"patient_id":"1001","firstname":"Renamed"}],
 "appointments":[{"patient_id":"900001","date":"2026-02-11T00:00:00","time":"10:30","length":"60","operatory":"OP-1","provider_id":"DR1","status":"Scheduled"}]}`

func fixture(t *testing.T, replace string) mocksikka.DataFixture {
	t.Helper()
	var f mocksikka.DataFixture
	require.NoError(t, json.Unmarshal([]byte(fmt.Sprintf(fixtureJSON, replace)), &f))
	return f
}

// A fixture given as an option extends the generated data (adding rows, changing the fields
// it gives of rows whose id exists) or, with replace, is the whole data.
func TestDataFixtureOption(t *testing.T) {
	e := newDataEnv(t, mocksikka.WithDataFixture(fixture(t, "false")))
	l := e.get("patients?limit=5000").list(t)
	assert.Len(t, l.Items, mocksikka.DefaultDataPatients+1)
	p := e.get("patients?patient_id=900001").list(t).Items[0]
	assert.Equal(t, "Test", p["firstname"])
	assert.Equal(t, "900001", p["guarantor_id"], "a new patient is its own guarantor")
	assert.Equal(t, "1", p["practice_id"])
	renamed := e.get("patients?patient_id=1001").list(t).Items[0]
	assert.Equal(t, "Renamed", renamed["firstname"])
	assert.NotEmpty(t, renamed["lastname"], "fields not given are kept")
	a := e.get("appointments?patient_id=900001").list(t).Items
	require.Len(t, a, 1)
	assert.Equal(t, "Test Patient", a[0]["patient_name"])
	assert.Equal(t, "50601", a[0]["appointment_sr_no"], "the next number")

	r := newDataEnv(t, mocksikka.WithDataFixture(fixture(t, "true")))
	assert.Equal(t, "2", r.get("patients").list(t).TotalCount)
	assert.Equal(t, "1", r.get("appointments").list(t).TotalCount)
	assert.Equal(t, http.StatusNoContent, r.get("transactions").status)
}

// LoadDataFixtures reads a file of one fixture or an array; unknown tables or fields are
// errors naming them, and New refuses a fixture for a practice that is not configured.
func TestDataFixtureFile(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.json")
	require.NoError(t, os.WriteFile(one, []byte(fmt.Sprintf(fixtureJSON, "false")), 0o600))
	fs, err := mocksikka.LoadDataFixtures(one)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Len(t, fs[0].Tables["patients"], 2)

	arr := filepath.Join(dir, "arr.json")
	require.NoError(t, os.WriteFile(arr, []byte("["+fmt.Sprintf(fixtureJSON, "false")+`,{"office_id":"D48213","practice_id":"2","providers":[{"provider_id":"ZZZ"}]}]`), 0o600))
	fs, err = mocksikka.LoadDataFixtures(arr)
	require.NoError(t, err)
	require.Len(t, fs, 2)

	for body, want := range map[string]string{
		`{"office_id":"D36225","patients":[{"patient_id":"1","shoe_size":"9","hat":"x"}]}`: "hat, shoe_size",
		`{"office_id":"D36225","pets":[{}]}`:                                               "pets",
		`{"office_id":"D36225","patients":[{"patient_id":1}]}`:                             "string",
		`{"practice_id":"1"}`: "office_id",
	} {
		bad := filepath.Join(dir, "bad.json")
		require.NoError(t, os.WriteFile(bad, []byte(body), 0o600))
		_, err := mocksikka.LoadDataFixtures(bad)
		assert.ErrorContains(t, err, want, body)
	}
	f := fixture(t, "false")
	f.OfficeID = "X00000"
	assert.Panics(t, func() { mocksikka.New(mocksikka.WithDataFixture(f)) })
}

// POST /_mock/data loads a fixture until the next Reset; errors name the unknown fields.
func TestDataFixtureAdmin(t *testing.T) {
	e := newDataEnv(t)
	r := e.do("POST", "/_mock/data", fmt.Sprintf(fixtureJSON, "false"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var counts map[string]int
	require.NoError(t, json.Unmarshal(r.body, &counts))
	assert.Equal(t, mocksikka.DefaultDataPatients+1, counts["patients"])
	assert.Equal(t, "Test", e.get("patients?patient_id=900001").list(t).Items[0]["firstname"])

	// values that need escaping come back as given, in JSON and in links
	odd := map[string]string{"patient_id": "a b&c/\"d\"", "firstname": "Zoë \"Z\"", "lastname": "O'Brien\\\n<b>"}
	body, _ := json.Marshal(map[string]any{"office_id": "D36225", "patients": []map[string]string{odd}})
	require.Equal(t, http.StatusOK, e.do("POST", "/_mock/data", body).status)
	got := e.get("patients?limit=5000").list(t).Items
	last := got[len(got)-1]
	for k, v := range odd {
		assert.Equal(t, v, last[k], k)
	}
	assert.Equal(t, e.srv.URL+"/v4/patients?patient_id="+url.QueryEscape(odd["patient_id"])+"&practice_id=1", last["href"])

	m := e.do("POST", "/_mock/data", `{"office_id":"D36225","patients":[{"shoe_size":"9"}]}`).envelope(t, http.StatusBadRequest)
	assert.Equal(t, "API1026", m["error_code"])
	assert.Contains(t, m["long_message"], "shoe_size")
	m = e.do("POST", "/_mock/data", `{"office_id":"D36225","practice_id":"9","patients":[]}`).envelope(t, http.StatusNotFound)
	assert.Equal(t, "API2009", m["error_code"])

	e.mock.Reset()
	e.key = e.officeKey()["request_key"]
	assert.Equal(t, http.StatusNoContent, e.get("patients?patient_id=900001").status, "Reset drops it")

	err := e.mock.LoadData(mocksikka.DataFixture{OfficeID: "D36225", Tables: map[string][]map[string]string{"claims": {{"claim_sr_no": "1", "x": "y"}}}})
	assert.True(t, errors.Is(err, mocksikka.ErrInvalid))
}

// The config file's data_seed, data_patients, data_appointments and data_fixtures set the data
// as the options do; a fixture naming an unknown field fails LoadConfig.
func TestDataConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mock.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"data_seed":5,"data_patients":20,"data_appointments":30,
		"data_fixtures":[{"office_id":"D36225","patients":[{"patient_id":"77","firstname":"Conf"}]}]}`), 0o600))
	c, err := mocksikka.LoadConfig(path)
	require.NoError(t, err)
	e := newDataEnv(t, c.Options()...)
	assert.Equal(t, "21", e.get("patients").list(t).TotalCount)
	assert.Equal(t, "30", e.get("appointments").list(t).TotalCount)
	assert.Equal(t, "Conf", e.get("patients?patient_id=77").list(t).Items[0]["firstname"])
	seeded := newDataEnv(t, mocksikka.WithDataSeed(5), mocksikka.WithDataSize(20, 30))
	noHrefs := func(m map[string]string) map[string]string {
		for k := range m {
			if strings.HasSuffix(k, "href") {
				delete(m, k)
			}
		}
		return m
	}
	assert.Equal(t, noHrefs(seeded.get("patients?patient_id=1001").list(t).Items[0]),
		noHrefs(e.get("patients?patient_id=1001").list(t).Items[0]), "data_seed 5 is WithDataSeed(5)")

	require.NoError(t, os.WriteFile(path, []byte(`{"data_fixtures":[{"office_id":"D36225","patients":[{"wings":"2"}]}]}`), 0o600))
	_, err = mocksikka.LoadConfig(path)
	assert.ErrorContains(t, err, "wings")
}

// Reads of a page and changes to the data at the same time (run with -race): every answer is
// whole and valid, the changes land.
func TestDataConcurrentReadsAndChanges(t *testing.T) {
	e := newDataEnv(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				req, _ := http.NewRequest("GET", e.srv.URL+"/v4/patients?limit=5000&fields=get_all", nil)
				req.Header.Set("Request-Key", e.key)
				resp, err := e.hc.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				var env struct{ Items []map[string]string }
				err = json.NewDecoder(resp.Body).Decode(&env)
				resp.Body.Close()
				assert.NoError(t, err, "reader %d", g)
				assert.GreaterOrEqual(t, len(env.Items), mocksikka.DefaultDataPatients)
			}
		}()
	}
	for i := range 20 {
		err := e.mock.LoadData(mocksikka.DataFixture{OfficeID: mocksikka.DefaultOfficeID, Tables: map[string][]map[string]string{
			"patients": {{"patient_id": "1001", "firstname": "Changed" + strconv.Itoa(i)}, {"firstname": "New"}},
		}})
		require.NoError(t, err)
	}
	wg.Wait()
	assert.Equal(t, "Changed19", e.get("patients?patient_id=1001").list(t).Items[0]["firstname"])
	assert.Equal(t, strconv.Itoa(mocksikka.DefaultDataPatients+20), e.get("patients").list(t).TotalCount)
}
