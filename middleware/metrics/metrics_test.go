package metrics_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/middleware/metrics"
	"github.com/parlae/sikka-connect/mocksikka"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

// Every series exists from the start, and the metrics pass the pedantic
// registry and the linter.
func TestRegister(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(metrics.New()))
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	assert.Equal(t, 1+7+3+3, n, "started, 7 outcomes, 3 latency series, 3 refresh results")
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// A success, a refusal and a refresh, counted through the hooks, which
// still call the host's own.
func TestHooks(t *testing.T) {
	m := metrics.New()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(m))
	mock := mocksikka.New(mocksikka.WithAutoApprove(mocksikka.DefaultOfficeID))
	srv := httptest.NewServer(mock)
	defer srv.Close()

	var mu sync.Mutex
	now := time.Now()
	var hostConnected, hostRefreshed, hostFailed, hostFinished atomic.Int32
	svc, err := integration.NewService(integration.Config{
		Sikka:   sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL)),
		Secrets: secretmemory.New(),
		Records: memory.New(),
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		},
		Hooks: m.IntegrationHooks(integration.Hooks{
			Connected:     func(context.Context, integration.Record) { hostConnected.Add(1) },
			Refreshed:     func(context.Context, integration.Record) { hostRefreshed.Add(1) },
			RefreshFailed: func(context.Context, integration.Record, error) { hostFailed.Add(1) },
		}),
	})
	require.NoError(t, err)
	h, err := middleware.New(middleware.Config{
		Service:     svc,
		RedirectURI: "http://127.0.0.1/agent/setup/pms/callback",
		FrontendURL: "/agent/setup/pms",
		StateKeys:   []middleware.Key{{ID: "k", Secret: bytes.Repeat([]byte("k"), 32)}},
		Account:     func(*http.Request) (string, error) { return "acct-1", nil },
		DevMode:     true,
		Logger:      slog.New(slog.DiscardHandler),
		Hooks:       m.Hooks(middleware.Hooks{Finished: func(*http.Request, middleware.Outcome) { hostFinished.Add(1) }}),
	})
	require.NoError(t, err)

	// Start, the mock's page (auto-approve redirects at once), the callback.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/agent/setup/pms/start", nil))
	require.Equal(t, http.StatusFound, rec.Code)
	cookie := rec.Result().Cookies()[0]
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(rec.Header().Get("Location"))
	require.NoError(t, err)
	resp.Body.Close()
	req := httptest.NewRequest(http.MethodGet, resp.Header.Get("Location"), nil)
	req.AddCookie(cookie)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, "/agent/setup/pms?status=success", rec.Header().Get("Location"))
	// A refused callback.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/agent/setup/pms/callback?state=x&code=y", nil))
	require.Equal(t, "/agent/setup/pms?status=error&reason=invalid_state", rec.Header().Get("Location"))
	// A refresh: with half an hour left, the key is renewed before use.
	mu.Lock()
	now = now.Add(23*time.Hour + 30*time.Minute)
	mu.Unlock()
	_, err = svc.Credentials(context.Background(), "acct-1")
	require.NoError(t, err)

	// A refresh that fails: Sikka answers 503 (the key, still valid, stays
	// in use). The new key is again within the margin of the moved clock.
	mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Grant: "refresh_key", Count: 1, Status: 503})
	_, err = svc.Credentials(context.Background(), "acct-1")
	require.NoError(t, err)

	assert.Equal(t, int32(2), hostFinished.Load())
	assert.Eventually(t, func() bool {
		return hostConnected.Load() == 1 && hostRefreshed.Load() == 1 && hostFailed.Load() == 1
	}, 5*time.Second, 10*time.Millisecond, "the host's hooks still run (after the count)")

	const want = `
# HELP sikka_connect_callbacks_total Callback outcomes, by status and reason (reason is empty unless status is error).
# TYPE sikka_connect_callbacks_total counter
sikka_connect_callbacks_total{reason="",status="cancelled"} 0
sikka_connect_callbacks_total{reason="",status="success"} 1
sikka_connect_callbacks_total{reason="already_connected",status="error"} 0
sikka_connect_callbacks_total{reason="internal",status="error"} 0
sikka_connect_callbacks_total{reason="invalid_code",status="error"} 0
sikka_connect_callbacks_total{reason="invalid_state",status="error"} 1
sikka_connect_callbacks_total{reason="provider_unavailable",status="error"} 0
# HELP sikka_connect_flows_started_total Connect flows the start route sent to Sikka.
# TYPE sikka_connect_flows_started_total counter
sikka_connect_flows_started_total 1
# HELP sikka_connect_refreshes_total Request-key refreshes, by result.
# TYPE sikka_connect_refreshes_total counter
sikka_connect_refreshes_total{result="failed"} 1
sikka_connect_refreshes_total{result="needs_reauth"} 0
sikka_connect_refreshes_total{result="refreshed"} 1
`
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "sikka_connect_callbacks_total", "sikka_connect_flows_started_total", "sikka_connect_refreshes_total"))

	// One latency sample per callback, under its status.
	families, err := reg.Gather()
	require.NoError(t, err)
	samples := map[string]uint64{}
	for _, f := range families {
		if f.GetName() == "sikka_connect_callback_duration_seconds" {
			for _, mt := range f.GetMetric() {
				samples[mt.GetLabel()[0].GetValue()] = mt.GetHistogram().GetSampleCount()
			}
		}
	}
	assert.Equal(t, map[string]uint64{"success": 1, "error": 1, "cancelled": 0}, samples)
}
