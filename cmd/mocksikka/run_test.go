package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/syncbuf"
	"github.com/parlae/sikka-connect/mocksikka"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

// started is a running run() call.
type started struct {
	url    string
	stderr *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	err    error         // what run returned, once done is closed
	hc     *http.Client
}

// start runs the command and waits for the URL on the first line of stdout.
func start(t *testing.T, args []string, environ map[string]string) *started {
	t.Helper()
	return startWith(t, args, environ, nil)
}

// startWith is start with the parsed settings changed by tweak, if not nil.
func startWith(t *testing.T, args []string, environ map[string]string, tweak func(*settings)) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	st := &started{stderr: &syncbuf.Buffer{}, cancel: cancel, done: make(chan struct{}),
		hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	var s settings
	if tweak != nil {
		var err error
		s, err = parse(args, env(environ), io.Discard)
		require.NoError(t, err)
		tweak(&s)
	}
	go func() {
		if tweak != nil {
			st.err = serveMock(ctx, s, pw, st.stderr)
		} else {
			st.err = run(ctx, args, env(environ), pw, st.stderr)
		}
		pw.CloseWithError(io.EOF)
		close(st.done)
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err, "stderr: %s", st.stderr.String())
	st.url = strings.TrimSpace(line)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-st.done:
		case <-time.After(10 * time.Second):
			t.Error("run did not stop")
		}
	})
	return st
}

func (st *started) get(t *testing.T, path string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", st.url+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := st.hc.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (st *started) post(t *testing.T, path string, body map[string]string) map[string]string {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := st.hc.Post(st.url+path, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", m)
	return m
}

func TestRunServesAndStops(t *testing.T) {
	st := start(t, []string{"-addr", "127.0.0.1:0"}, nil)
	assert.Regexp(t, `^http://127\.0\.0\.1:[0-9]+$`, st.url)

	resp := st.get(t, "/v4/authorized_practices")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	var env map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
	assert.Equal(t, "400", env["http_code"])
	assert.Equal(t, "API1004", env["error_code"], "no credential: request key missing")

	// The whole flow by hand: consent page, Allow, exchange, practices.
	q := url.Values{"app_id": {mocksikka.DefaultAppID}, "redirect_uri": {"http://localhost:3000/cb"}, "state": {"st"}}
	page := st.get(t, "/portal/authapp.aspx?"+q.Encode())
	body, _ := io.ReadAll(page.Body)
	assert.Contains(t, string(body), "Happy Dental Clinic")
	q.Set("office_id", mocksikka.DefaultOfficeID)
	q.Set("decision", "allow")
	allow, err := st.hc.PostForm(st.url+"/portal/authapp.aspx", q)
	require.NoError(t, err)
	allow.Body.Close()
	require.Equal(t, http.StatusFound, allow.StatusCode)
	loc, err := url.Parse(allow.Header.Get("Location"))
	require.NoError(t, err)
	code := loc.Query().Get("code")
	key := st.post(t, "/v4/request_key", map[string]string{"grant_type": "authorization_code", "code": code,
		"app_id": mocksikka.DefaultAppID, "app_key": mocksikka.DefaultAppKey})
	assert.Equal(t, http.StatusOK, st.get(t, "/v4/authorized_practices", "Request-Key", key["request_key"]).StatusCode)

	st.cancel()
	select {
	case <-st.done:
		require.NoError(t, st.err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on cancel")
	}
	_, err = http.Get(st.url + "/v4/practices")
	assert.Error(t, err, "no longer serving")

	logs := st.stderr.String()
	assert.Contains(t, logs, "path=/v4/request_key")
	for _, secret := range []string{mocksikka.DefaultAppKey, mocksikka.DefaultSecretKey, code, key["request_key"], key["refresh_key"]} {
		assert.NotContains(t, logs, secret)
	}
}

func TestRunSettingsFromFlagsEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mock.json")
	require.NoError(t, os.WriteFile(cfg, []byte(`{"key_ttl":"3h","auto_approve":"D48213"}`), 0o600))

	cases := []struct {
		name      string
		args      []string
		env       map[string]string
		office    string // auto-approved office; "" = consent page shown
		expiresIn string
	}{
		{"defaults", nil, nil, "", "86400 second(s)"},
		{"config file", []string{"-config", cfg}, nil, mocksikka.MapleLeafOfficeID, "10800 second(s)"},
		{"config from env", nil, map[string]string{"MOCKSIKKA_CONFIG": cfg}, mocksikka.MapleLeafOfficeID, "10800 second(s)"},
		{"env over file", []string{"-config", cfg}, map[string]string{"MOCKSIKKA_KEY_TTL": "1h", "MOCKSIKKA_AUTO_APPROVE": mocksikka.BrightSmilesOfficeID}, mocksikka.BrightSmilesOfficeID, "3600 second(s)"},
		{"flag over env", []string{"-key-ttl", "2h", "-auto-approve", mocksikka.DefaultOfficeID}, map[string]string{"MOCKSIKKA_KEY_TTL": "1h", "MOCKSIKKA_AUTO_APPROVE": mocksikka.BrightSmilesOfficeID}, mocksikka.DefaultOfficeID, "7200 second(s)"},
		{"flag disables auto-approve of file", []string{"-config", cfg, "-auto-approve", ""}, nil, "", "10800 second(s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := start(t, append([]string{"-addr", "127.0.0.1:0"}, c.args...), c.env)
			q := url.Values{"app_id": {mocksikka.DefaultAppID}, "redirect_uri": {"http://127.0.0.1:3000/cb"}}
			resp := st.get(t, "/portal/authapp.aspx?"+q.Encode())
			code := ""
			if c.office == "" {
				require.Equal(t, http.StatusOK, resp.StatusCode)
				var err error
				code, err = postCode(st)
				require.NoError(t, err)
			} else {
				require.Equal(t, http.StatusFound, resp.StatusCode)
				loc, err := url.Parse(resp.Header.Get("Location"))
				require.NoError(t, err)
				code = loc.Query().Get("code")
			}
			key := st.post(t, "/v4/request_key", map[string]string{"grant_type": "authorization_code", "code": code,
				"app_id": mocksikka.DefaultAppID, "app_key": mocksikka.DefaultAppKey})
			want := c.office
			if want == "" {
				want = mocksikka.DefaultOfficeID
			}
			assert.Equal(t, want, key["issued_to"])
			assert.Equal(t, c.expiresIn, key["expires_in"])
		})
	}
}

// postCode issues a code through the admin API.
func postCode(st *started) (string, error) {
	b, _ := json.Marshal(map[string]string{"app_id": mocksikka.DefaultAppID, "office_id": mocksikka.DefaultOfficeID})
	resp, err := st.hc.Post(st.url+"/_mock/codes", "application/json", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var m map[string]string
	err = json.NewDecoder(resp.Body).Decode(&m)
	return m["code"], err
}

func TestRunRefreshFlag(t *testing.T) {
	st := start(t, []string{"-addr", "127.0.0.1:0", "-refresh-invalidates-old=false", "-log-format", "json"}, nil)
	creds := map[string]string{"grant_type": "request_key", "office_id": mocksikka.DefaultOfficeID,
		"secret_key": mocksikka.DefaultSecretKey, "app_id": mocksikka.DefaultAppID, "app_key": mocksikka.DefaultAppKey}
	old := st.post(t, "/v4/request_key", creds)
	st.post(t, "/v4/request_key", map[string]string{"grant_type": "refresh_key", "refresh_key": old["refresh_key"],
		"app_id": mocksikka.DefaultAppID, "app_key": mocksikka.DefaultAppKey})
	assert.Equal(t, http.StatusOK, st.get(t, "/v4/practices", "Request-Key", old["request_key"]).StatusCode)
	require.Eventually(t, func() bool { return strings.Contains(st.stderr.String(), `"path":"/v4/practices"`) },
		5*time.Second, 10*time.Millisecond, "JSON log")
}

// -rate-limit (or MOCKSIKKA_RATE_LIMIT) limits each app's calls per 60 s; a config file can
// set it and the daily caps.
func TestRunRateLimit(t *testing.T) {
	limit := func(st *started) (string, int) {
		resp := st.get(t, "/v4/practices")
		return resp.Header.Get("X-Rate-Limit-Limit"), resp.StatusCode
	}
	st := start(t, []string{"-addr", "127.0.0.1:0", "-rate-limit", "2"}, nil)
	for _, want := range []int{400, 400, 429} { // no key: 400 until the limit, then 429
		l, status := limit(st)
		assert.Equal(t, "2", l)
		assert.Equal(t, want, status)
	}
	fromEnv := start(t, []string{"-addr", "127.0.0.1:0"}, map[string]string{"MOCKSIKKA_RATE_LIMIT": "5"})
	l, _ := limit(fromEnv)
	assert.Equal(t, "5", l)

	file := filepath.Join(t.TempDir(), "mock.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"rate_limit":9,"daily_request_limit":1}`), 0o600))
	fromFile := start(t, []string{"-addr", "127.0.0.1:0", "-config", file}, nil)
	l, _ = limit(fromFile)
	assert.Equal(t, "9", l)
	creds := map[string]string{"grant_type": "request_key", "office_id": mocksikka.DefaultOfficeID,
		"secret_key": mocksikka.DefaultSecretKey, "app_id": mocksikka.DefaultAppID, "app_key": mocksikka.DefaultAppKey}
	k := fromFile.post(t, "/v4/request_key", creds)["request_key"]
	assert.Equal(t, 200, fromFile.get(t, "/v4/practices", "Request-Key", k).StatusCode)
	assert.Equal(t, 429, fromFile.get(t, "/v4/practices", "Request-Key", k).StatusCode, "daily_request_limit 1")
}

// -writeback-delay (or MOCKSIKKA_WRITEBACK_DELAY, or writeback_delay in a config file) sets how
// long writebacks stay pending; /_mock/settings shows it.
func TestRunWritebackDelay(t *testing.T) {
	delay := func(st *started) string {
		resp := st.get(t, "/_mock/settings")
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		s, _ := m["writeback_delay"].(string)
		return s
	}
	assert.Equal(t, "30s", delay(start(t, []string{"-addr", "127.0.0.1:0"}, nil)), "default")
	assert.Equal(t, "2s", delay(start(t, []string{"-addr", "127.0.0.1:0", "-writeback-delay", "2s"}, nil)))
	assert.Equal(t, "0s", delay(start(t, []string{"-addr", "127.0.0.1:0"}, map[string]string{"MOCKSIKKA_WRITEBACK_DELAY": "0s"})))
	file := filepath.Join(t.TempDir(), "mock.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"writeback_delay":"1m"}`), 0o600))
	assert.Equal(t, "1m0s", delay(start(t, []string{"-addr", "127.0.0.1:0", "-config", file}, nil)))
}

// With no configuration the mock serves practice data; -data-seed, -data-patients,
// -data-appointments (or their variables) and -data-fixture change it.
func TestRunData(t *testing.T) {
	creds := map[string]string{"grant_type": "request_key", "office_id": mocksikka.DefaultOfficeID,
		"secret_key": mocksikka.DefaultSecretKey, "app_id": mocksikka.DefaultAppID, "app_key": mocksikka.DefaultAppKey}
	list := func(st *started, path string) (total string, items []map[string]string) {
		t.Helper()
		k := st.post(t, "/v4/request_key", creds)["request_key"]
		resp := st.get(t, path, "Request-Key", k)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var env struct {
			TotalCount string              `json:"total_count"`
			Items      []map[string]string `json:"items"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
		return env.TotalCount, env.Items
	}
	plain := start(t, []string{"-addr", "127.0.0.1:0"}, nil)
	total, items := list(plain, "/v4/patients?limit=1")
	assert.Equal(t, strconv.Itoa(mocksikka.DefaultDataPatients), total)
	first := items[0]

	sized := start(t, []string{"-addr", "127.0.0.1:0", "-data-patients", "12", "-data-seed", "99"},
		map[string]string{"MOCKSIKKA_DATA_APPOINTMENTS": "34"})
	total, items = list(sized, "/v4/patients?limit=1")
	assert.Equal(t, "12", total)
	assert.NotEqual(t, first, items[0], "another seed")
	total, _ = list(sized, "/v4/appointments?limit=1")
	assert.Equal(t, "34", total)

	file := filepath.Join(t.TempDir(), "data.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"office_id":"D36225","replace":true,
		"patients":[{"patient_id":"42","firstname":"Fixture","lastname":"Person"}]}`), 0o600))
	fixed := start(t, []string{"-addr", "127.0.0.1:0", "-data-fixture", file}, nil)
	total, items = list(fixed, "/v4/patients")
	assert.Equal(t, "1", total)
	assert.Equal(t, "Fixture", items[0]["firstname"])

	require.NoError(t, os.WriteFile(file, []byte(`{"office_id":"D36225","patients":[{"shoe_size":"9"}]}`), 0o600))
	err := run(context.Background(), []string{"-data-fixture", file}, env(nil), io.Discard, io.Discard)
	assert.ErrorContains(t, err, "shoe_size")
	require.NoError(t, os.WriteFile(file, []byte(`{"office_id":"X99999","patients":[]}`), 0o600))
	err = run(context.Background(), []string{"-data-fixture", file}, env(nil), io.Discard, io.Discard)
	assert.ErrorContains(t, err, "X99999")
}

// The admin API answers the hosts of -admin-host (repeatable, comma separated, or from
// MOCKSIKKA_ADMIN_HOST) besides loopback ones, refuses others, and wants JSON for changes.
func TestRunAdminHost(t *testing.T) {
	do := func(st *started, method, path, host, contentType string) int {
		t.Helper()
		req, err := http.NewRequest(method, st.url+path, nil)
		require.NoError(t, err)
		if host != "" {
			req.Host = host
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := st.hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	flags := start(t, []string{"-addr", "127.0.0.1:0", "-admin-host", "mocksikka:8089,admin.internal", "-admin-host", "third"},
		map[string]string{"MOCKSIKKA_ADMIN_HOST": "from-env"})
	fromEnv := start(t, []string{"-addr", "127.0.0.1:0"}, map[string]string{"MOCKSIKKA_ADMIN_HOST": "mocksikka:8089, from-env"})
	plain := start(t, []string{"-addr", "127.0.0.1:0"}, nil)
	for _, c := range []struct {
		st     *started
		host   string
		status int
	}{
		{flags, "", 200}, {flags, "localhost:8089", 200}, {flags, "mocksikka:8089", 200}, {flags, "admin.internal:1", 200},
		{flags, "third", 200}, {flags, "from-env", 403}, {flags, "evil.example", 403}, {flags, "mocksikka:9999", 403},
		{fromEnv, "mocksikka:8089", 200}, {fromEnv, "from-env:1", 200}, {fromEnv, "evil.example", 403},
		{plain, "mocksikka:8089", 403}, {plain, "[::1]:8089", 200},
	} {
		assert.Equal(t, c.status, do(c.st, "GET", "/_mock/clock", c.host, ""), "Host %q", c.host)
	}
	assert.Equal(t, 200, do(flags, "GET", "/portal/authapp.aspx?app_id="+mocksikka.DefaultAppID+
		"&redirect_uri=http://127.0.0.1:9/cb", "evil.example", ""), "the API answers any Host")
	assert.Equal(t, 415, do(flags, "POST", "/_mock/reset", "", "text/plain"))
	assert.Equal(t, 200, do(flags, "POST", "/_mock/reset", "mocksikka:8089", "application/json"))
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-h"}, env(nil), &stdout, &stderr))
	assert.Empty(t, stdout.String())
	for flagName, envName := range envNames {
		assert.Regexp(t, `(?m)^  -`+flagName+`( |$)`, stderr.String())
		assert.Contains(t, stderr.String(), envName)
	}
	// Flags without a variable, and the probes.
	assert.Regexp(t, `(?m)^  -healthcheck$`, stderr.String())
	assert.NotContains(t, stderr.String(), "(env ;", "no empty variable name")
	assert.Contains(t, stderr.String(), "/healthz")
	assert.Contains(t, stderr.String(), "/readyz")
}

func TestRunErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cases := map[string]struct {
		args  []string
		env   map[string]string
		usage bool
	}{
		"unknown flag":     {[]string{"-nope"}, nil, true},
		"positional":       {[]string{"serve"}, nil, true},
		"bad duration":     {[]string{"-key-ttl", "soon"}, nil, true},
		"zero ttl":         {[]string{"-code-ttl", "0s"}, nil, true},
		"bad env duration": {nil, map[string]string{"MOCKSIKKA_KEY_TTL": "soon"}, true},
		"bad env bool":     {nil, map[string]string{"MOCKSIKKA_REFRESH_INVALIDATES_OLD": "maybe"}, true},
		"bad log format":   {[]string{"-log-format", "xml"}, nil, true},
		"negative rate":    {[]string{"-rate-limit", "-1"}, nil, true},
		"zero patients":    {[]string{"-data-patients", "0"}, nil, true},
		"bad env seed":     {nil, map[string]string{"MOCKSIKKA_DATA_SEED": "x"}, true},
		"bad env rate":     {nil, map[string]string{"MOCKSIKKA_RATE_LIMIT": "lots"}, true},
		"negative delay":   {[]string{"-writeback-delay", "-1s"}, nil, true},
		"bad env delay":    {nil, map[string]string{"MOCKSIKKA_WRITEBACK_DELAY": "soon"}, true},
		"bad admin host":   {[]string{"-admin-host", "http://mocksikka:8089"}, nil, true},
		"bad env host":     {nil, map[string]string{"MOCKSIKKA_ADMIN_HOST": "mocksikka/_mock"}, true},
		"missing config":   {[]string{"-config", filepath.Join(t.TempDir(), "none.json")}, nil, false},
		"address in use":   {[]string{"-addr", busy.Addr().String()}, nil, false},
		"address from env": {nil, map[string]string{"MOCKSIKKA_ADDR": busy.Addr().String()}, false},
		"unparseable addr": {[]string{"-addr", "nowhere"}, nil, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), c.args, env(c.env), &stdout, &stderr)
			require.Error(t, err)
			assert.Equal(t, c.usage, isUsage(err), "%v", err)
			assert.Empty(t, stdout.String())
		})
	}
}

func isUsage(err error) bool { return errors.Is(err, errUsage) }
