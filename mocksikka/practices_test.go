package mocksikka_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthorizedPracticesByRequestKey(t *testing.T) {
	e := newEnv(t)
	k := e.officeKey()
	r := e.do("GET", "/v4/authorized_practices", nil, "Request-Key", k["request_key"])
	assert.Contains(t, string(r.body), "?limit=50&offset=0", "links are not HTML-escaped")
	l := r.list(t)
	assert.Equal(t, "0", l.Offset)
	assert.Equal(t, "50", l.Limit)
	assert.Equal(t, "1", l.TotalCount)
	assert.NotEmpty(t, l.ExecutionTime)
	require.Len(t, l.Items, 1)
	it := l.Items[0]
	assert.Equal(t, mocksikka.DefaultOfficeID, it["office_id"])
	assert.Equal(t, "1", it["practice_id"])
	assert.Equal(t, mocksikka.DefaultSecretKey, it["secret_key"])
	assert.Equal(t, "Happy Dental Clinic", it["practice_name"])
	assert.Equal(t, "Dentrix", it["practice_management_system"])
	assert.Equal(t, "G7", it["practice_management_system_version"])
	assert.Equal(t, "Dental", it["domain"])
	for _, f := range []string{"address", "city", "state", "zip", "email", "href", "data_insert_date", "data_synchronization_date", "practice_management_system_refresh_date"} {
		assert.NotEmpty(t, it[f], f)
	}
	base := e.srv.URL + "/v4/authorized_practices?limit=50&offset=0"
	assert.Equal(t, map[string]string{"first": base, "previous": "", "current": base, "next": "", "last": base}, l.Pagination)

	info := e.do("GET", "/v4/request_key_info", nil, "Request-Key", k["request_key"]).strings(t)
	assert.Equal(t, "1", info["request_count"], "authorized_practices counts on the key")
}

func TestAuthorizedPracticesByAppCredentials(t *testing.T) {
	e := newEnv(t)
	app := func(id, key string) response {
		return e.do("GET", "/v4/authorized_practices?show=all", nil, "App-Id", id, "App-Key", key)
	}
	l := app(mocksikka.DefaultAppID, mocksikka.DefaultAppKey).list(t)
	assert.Equal(t, "0", l.TotalCount, "no office authorized the app yet")
	assert.NotNil(t, l.Items)
	assert.Empty(t, l.Items)

	_, err := e.mock.IssueCode(mocksikka.DefaultAppID, "O77104")
	require.NoError(t, err)
	e.officeKey()
	require.Equal(t, 200, e.grant("request_key", "office_id", "E48213", "secret_key", mocksikka.DefaultPractices()[1].SecretKey).status)
	l = app(mocksikka.DefaultAppID, mocksikka.DefaultAppKey).list(t)
	var got []string
	for _, it := range l.Items {
		got = append(got, it["office_id"]+"/"+it["practice_id"])
	}
	assert.Equal(t, []string{"D36225/1", "E48213/1", "E48213/2", "O77104/1"}, got, "configuration order")
	assert.Equal(t, "Opendental", l.Items[3]["practice_management_system"], "the raw spelling")

	assert.Equal(t, "API2002", app(mocksikka.DefaultAppID, "wrong").envelope(t, 401)["error_code"])
	assert.Equal(t, "API2002", app("nobody", mocksikka.DefaultAppKey).envelope(t, 401)["error_code"])
	assert.Equal(t, "API2002", app(mocksikka.DefaultAppID, "").envelope(t, 401)["error_code"])
}

func TestAuthorizedPracticesRejects(t *testing.T) {
	e := newEnv(t)
	k := e.officeKey()
	cases := []struct {
		name, query string
		header      []string
		status      int
		code        string
	}{
		{"no credentials", "", nil, 401, "API2001"},
		{"unknown key", "", []string{"Request-Key", "nope"}, 401, "API2001"},
		{"limit not a number", "?limit=x", []string{"Request-Key", k["request_key"]}, 400, "API1005"},
		{"limit zero", "?limit=0", []string{"Request-Key", k["request_key"]}, 400, "API1005"},
		{"negative offset", "?offset=-1", []string{"Request-Key", k["request_key"]}, 400, "API1005"},
		{"offset overflow", "?offset=99999999999999999999", []string{"Request-Key", k["request_key"]}, 400, "API1005"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("GET", "/v4/authorized_practices"+c.query, nil, c.header...)
			assert.Equal(t, c.code, r.envelope(t, c.status)["error_code"])
		})
	}
}

func TestPaginationAndShowAll(t *testing.T) {
	var ps []mocksikka.Practice
	for i := 1; i <= 7; i++ {
		ps = append(ps, mocksikka.Practice{OfficeID: "D1", PracticeID: strconv.Itoa(i), SecretKey: "s", Name: fmt.Sprintf("P%d", i), PMS: "Dentrix"})
	}
	e := newEnv(t, mocksikka.WithPractices(ps...))
	r := e.grant("request_key", "office_id", "D1", "secret_key", "s")
	require.Equal(t, 200, r.status)
	key := r.strings(t)["request_key"]
	link := func(page int) string {
		return fmt.Sprintf("%s/v4/authorized_practices?limit=3&offset=%d&show=all", e.srv.URL, page)
	}
	cases := []struct {
		query    string
		names    []string
		total    string
		prev     string
		next     string
		current  string
		lastLink string
	}{
		{"?limit=3&show=all", []string{"P1", "P2", "P3"}, "7", "", link(1), link(0), link(2)},
		{"?limit=3&offset=1&show=all", []string{"P4", "P5", "P6"}, "7", link(0), link(2), link(1), link(2)},
		{"?limit=3&offset=2&show=all", []string{"P7"}, "7", link(1), "", link(2), link(2)},
		{"?limit=3&offset=9&show=all", []string{}, "7", link(2), "", link(9), link(2)},
		{"?limit=3", []string{"P1"}, "1", "", "", e.srv.URL + "/v4/authorized_practices?limit=3&offset=0", e.srv.URL + "/v4/authorized_practices?limit=3&offset=0"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			l := e.do("GET", "/v4/authorized_practices"+c.query, nil, "Request-Key", key).list(t)
			names := []string{}
			for _, it := range l.Items {
				names = append(names, it["practice_name"])
			}
			assert.Equal(t, c.names, names)
			assert.Equal(t, c.total, l.TotalCount)
			assert.Equal(t, "3", l.Limit)
			assert.Equal(t, c.prev, l.Pagination["previous"])
			assert.Equal(t, c.next, l.Pagination["next"])
			assert.Equal(t, c.current, l.Pagination["current"])
			assert.Equal(t, c.lastLink, l.Pagination["last"])
		})
	}
	l := e.do("GET", "/v4/authorized_practices?limit=999999", nil, "Request-Key", key).list(t)
	assert.Equal(t, strconv.Itoa(mocksikka.MaxLimit), l.Limit)
}

func TestPracticesEndpoint(t *testing.T) {
	e := newEnv(t)
	r := e.grant("request_key", "office_id", "E48213", "secret_key", mocksikka.DefaultPractices()[1].SecretKey)
	require.Equal(t, 200, r.status)
	key := r.strings(t)["request_key"]
	l := e.do("GET", "/v4/practices", nil, "Request-Key", key).list(t)
	require.Len(t, l.Items, 2, "every practice of the office")
	for _, it := range l.Items {
		assert.Equal(t, "E48213", it["office_id"])
		assert.NotContains(t, it, "secret_key")
	}
	e.do("GET", "/v4/practices?limit=1&offset=1", nil, "Request-Key", key).list(t)
	info := e.do("GET", "/v4/request_key_info", nil, "Request-Key", key).strings(t)
	assert.Equal(t, "2", info["request_count"])
	assert.Equal(t, "API2001", e.do("GET", "/v4/practices", nil).envelope(t, 401)["error_code"])
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
	assert.Equal(t, srv.URL+"/sikka/v4/authorized_practices?limit=50&offset=0", l.Pagination["first"])
}
