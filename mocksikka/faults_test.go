package mocksikka_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultCountAndStatus(t *testing.T) {
	cases := []struct {
		name  string
		fault mocksikka.Fault
		want  []int // statuses of successive request_key grants
	}{
		{"once", mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: 503}, []int{503, 200, 200}},
		{"twice", mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 2, Status: 500}, []int{500, 500, 200}},
		{"until cleared", mocksikka.Fault{Endpoint: "POST /v4/request_key", Status: 502}, []int{502, 502, 502}},
		{"any endpoint", mocksikka.Fault{Endpoint: "*", Count: 1, Status: 500}, []int{500, 200}},
		{"other endpoint", mocksikka.Fault{Endpoint: "GET /v4/practices", Status: 500}, []int{200, 200}},
		{"matching grant", mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: 500, Grant: "request_key"}, []int{500, 200}},
		{"other grant", mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: 500, Grant: "refresh_key"}, []int{200, 200}},
		{"lower-case method", mocksikka.Fault{Endpoint: " post  /v4/request_key ", Count: 1, Status: 500}, []int{500, 200}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.mock.InjectFault(c.fault)
			for i, want := range c.want {
				r := e.grant("request_key", "office_id", mocksikka.DefaultOfficeID, "secret_key", mocksikka.DefaultSecretKey)
				require.Equal(t, want, r.status, "call %d: %s", i, r.body)
				if want != 200 {
					assert.Equal(t, "MOCK9000", r.envelope(t, want)["error_code"])
				}
			}
			faulted := 0
			for _, en := range e.mock.Journal() {
				if en.Fault {
					faulted++
				}
			}
			n := 0
			for _, w := range c.want {
				if w != 200 {
					n++
				}
			}
			assert.Equal(t, n, faulted, "journal marks faulted calls")
		})
	}
}

func TestFaultRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/authorized_practices", Count: 1, Status: 429, RetryAfter: time.Second})
	r := e.do("GET", "/v4/authorized_practices", nil)
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	r.envelope(t, 429)
	assert.Empty(t, e.do("GET", "/v4/authorized_practices", nil).header.Get("Retry-After"))
}

func TestFaultDelay(t *testing.T) {
	e := newEnv(t)
	e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/request_key_info", Count: 1, Delay: 400 * time.Millisecond})
	began := time.Now()
	r := e.do("GET", "/v4/request_key_info", nil)
	assert.GreaterOrEqual(t, time.Since(began), 400*time.Millisecond)
	r.envelope(t, 400) // the endpoint itself answered, late
	began = time.Now()
	e.do("GET", "/v4/request_key_info", nil)
	assert.Less(t, time.Since(began), 400*time.Millisecond, "count used up")
}

func TestFaultDelayStopsWhenClientGoesAway(t *testing.T) {
	e := newEnv(t)
	e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /portal/authapp.aspx", Delay: time.Hour, Status: 500})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+authQuery(mocksikka.DefaultRedirectURI, "s"), nil)
	require.NoError(t, err)
	began := time.Now()
	_, err = e.hc.Do(req)
	require.Error(t, err)
	require.Eventually(t, func() bool { return len(e.mock.Journal()) == 1 }, 5*time.Second, 10*time.Millisecond,
		"the handler returns without waiting an hour")
	assert.Less(t, time.Since(began), 5*time.Second)
	en := e.mock.Journal()[0]
	assert.Equal(t, 0, en.Status)
	assert.True(t, en.Fault)
}

// In-process, without a network: the request's own context ends the wait.
func TestFaultDelayRespectsRequestContext(t *testing.T) {
	mock := mocksikka.New()
	mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/practices", Delay: time.Hour, RetryAfter: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	mock.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/v4/practices", nil))
	assert.Empty(t, rec.Body.String())
}

func TestFaultsDoNotApplyToAdmin(t *testing.T) {
	e := newEnv(t)
	e.mock.InjectFault(mocksikka.Fault{Endpoint: "*", Status: 503})
	assert.Equal(t, 200, e.do("GET", "/_mock/journal", nil).status)
	assert.Equal(t, 503, e.do("GET", "/v4/practices", nil).status)
	assert.Equal(t, 404, e.do("GET", "/v4/nope", nil).status, "faults apply to routes only")
	e.mock.ClearFaults()
	assert.Equal(t, 400, e.do("GET", "/v4/practices", nil).status)
}

func TestFaultJSON(t *testing.T) {
	f := mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: 429, Delay: 2 * time.Second, RetryAfter: time.Second, Grant: "refresh_key"}
	b, err := f.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"endpoint":"POST /v4/request_key","count":1,"status":429,"delay":"2s","retry_after":"1s","grant":"refresh_key"}`, string(b))
	var back mocksikka.Fault
	require.NoError(t, back.UnmarshalJSON(b))
	assert.Equal(t, f, back)
	assert.Error(t, back.UnmarshalJSON([]byte(`{"endpoint":"x","delay":5}`)))
	assert.True(t, strings.Contains(string(b), `"2s"`))
}
