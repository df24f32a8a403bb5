package mocksikka_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		method, path string
		body         any
		status       int
		code, allow  string
	}{
		{"GET", "/v4/nope", nil, 404, "API2009", ""},
		{"GET", "/", nil, 404, "API2009", ""},
		{"GET", "/_mock/nope", nil, 404, "API2009", ""},
		{"GET", "/v4/request_key", nil, 405, "API2014", "DELETE, POST"},
		{"PUT", "/v4/authorized_practices", nil, 405, "API2014", "GET"},
		{"DELETE", "/portal/authapp.aspx", nil, 405, "API2014", "GET, POST"},
		{"GET", "/_mock/reset", nil, 405, "API2014", "POST"},
		{"POST", "/v4/request_key", strings.Repeat("x", mocksikka.MaxBodyBytes+1), 413, "MOCK4013", ""},
		{"POST", "/_mock/apps", strings.Repeat(" ", mocksikka.MaxBodyBytes+1), 413, "MOCK4013", ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := e.do(c.method, c.path, c.body)
			assert.Equal(t, c.code, r.envelope(t, c.status)["error_code"])
			assert.Equal(t, c.allow, r.header.Get("Allow"))
			assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
		})
	}
}

func TestNewPanicsOnInvalidOptions(t *testing.T) {
	for name, opt := range map[string]mocksikka.Option{
		"app without key":      mocksikka.WithApps(mocksikka.App{ID: "a"}),
		"duplicate app":        mocksikka.WithApps(mocksikka.DefaultApp(), mocksikka.DefaultApp()),
		"practice without key": mocksikka.WithPractices(mocksikka.Practice{OfficeID: "O", Name: "n"}),
		"zero key TTL":         mocksikka.WithKeyTTL(0),
		"negative code TTL":    mocksikka.WithCodeTTL(-time.Second),
	} {
		t.Run(name, func(t *testing.T) {
			assert.Panics(t, func() { mocksikka.New(opt) })
		})
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	good := write("good.json", `{
		"apps":[{"app_id":"a1","app_key":"k1","name":"Acme","redirect_uris":["https://acme.example/cb"]}],
		"practices":[{"office_id":"Z1","practice_id":"1","secret_key":"s1","practice_name":"Zed Dental","practice_management_system":"OpenDental"}],
		"key_ttl":"2h","code_ttl":"30s","auto_approve":"Z1","refresh_invalidates_old":false}`)
	c, err := mocksikka.LoadConfig(good)
	require.NoError(t, err)
	assert.Equal(t, mocksikka.Duration(2*time.Hour), c.KeyTTL)
	require.NotNil(t, c.RefreshInvalidatesOld)
	assert.False(t, *c.RefreshInvalidatesOld)

	mock := mocksikka.New(append(c.Options(), mocksikka.WithClock(t0))...)
	srv := httptest.NewServer(mock)
	defer srv.Close()
	hc := srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(srv.URL + "/portal/authapp.aspx?app_id=a1&redirect_uri=https://acme.example/cb")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "auto-approve from the file")
	assert.Contains(t, resp.Header.Get("Location"), "https://acme.example/cb?code=")

	for name, body := range map[string]string{
		"unknown field":   `{"apps":[],"typo":1}`,
		"not json":        `apps: []`,
		"trailing":        `{} {}`,
		"bad app":         `{"apps":[{"app_id":"a"}]}`,
		"dup practice":    `{"practices":[{"office_id":"Z","secret_key":"s","practice_name":"n"},{"office_id":"Z","secret_key":"s","practice_name":"n"}]}`,
		"negative ttl":    `{"key_ttl":"-1h"}`,
		"number duration": `{"key_ttl":3600}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := mocksikka.LoadConfig(write(name+".json", body))
			assert.Error(t, err)
		})
	}
	_, err = mocksikka.LoadConfig(filepath.Join(dir, "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = mocksikka.LoadConfig(write("bad.json", `{"apps":[{"app_id":"a"}]}`))
	assert.ErrorIs(t, err, mocksikka.ErrInvalid)
}

func TestDefaults(t *testing.T) {
	a := mocksikka.DefaultApp()
	assert.Equal(t, mocksikka.DefaultAppID, a.ID)
	assert.True(t, a.AllowLoopback)
	ps := mocksikka.DefaultPractices()
	pms := map[string]bool{}
	for _, p := range ps {
		pms[p.PMS] = true
	}
	assert.Equal(t, map[string]bool{"Dentrix": true, "Eaglesoft": true, "Opendental": true}, pms)
	assert.Equal(t, mocksikka.Practice{
		OfficeID: "D36225", PracticeID: "1", SecretKey: mocksikka.DefaultSecretKey, Name: "Happy Dental Clinic",
		PMS: "Dentrix", PMSVersion: "G7", Address: "123 Main Street", City: "Toronto", State: "ON", Zip: "M5V 2T6",
		Email: "frontdesk@happydental.example", Phone: "416-555-0134", TimeZone: "Eastern Standard Time",
		DifferenceInMinutes: "300", PartnerID: "1", CustomerID: "36225",
	}, ps[0])
}
