package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
)

// connectDemo connects demo-account to the in-process mock's default office
// (the mock approves it without a page) and returns a reader of the
// account's status JSON.
func connectDemo(t *testing.T, d *demo) (status func() map[string]any) {
	t.Helper()
	mockAdmin(t, d, http.MethodPut, "/_mock/auto-approve", `{"office_id":"`+mocksikka.DefaultOfficeID+`"}`)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar}
	res, err := browser.Get(d.url + middleware.DefaultPrefix + "/start")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, "success", res.Request.URL.Query().Get("status"), res.Request.URL.String())
	return func() map[string]any {
		t.Helper()
		res, err := browser.Get(d.url + middleware.DefaultPrefix + "/status")
		require.NoError(t, err)
		defer res.Body.Close()
		var s map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&s))
		return s
	}
}

// mockAdmin calls the in-process mock's admin API and returns the answer's
// body; it fails the test unless the status is 2xx.
func mockAdmin(t *testing.T, d *demo, method, path, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, d.app.sikkaURL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Less(t, res.StatusCode, 300, "%s %s: %s", method, path, out)
	return string(out)
}

// The in-process mock sends its webhooks to the demo's own receiver with
// the first -webhook-keys key: a Data_Refresh triggered on the mock reaches
// the status JSON the setup page reads (its times read in the practice's
// zone, so nextDataSync is the mock's schedule), a data event is accepted,
// and the key shows in no log.
func TestInProcessMockSendsWebhooksToTheDemo(t *testing.T) {
	const key = "demo-test-callback-key-4f1c"
	d := startDemo(t, []string{"-webhook-keys", key + ",an-older-key"}, nil, nil)
	status := connectDemo(t, d)
	require.NotContains(t, status(), "lastDataRefresh")

	var targets []mocksikka.WebhookStatus
	require.NoError(t, json.Unmarshal([]byte(mockAdmin(t, d, http.MethodGet, "/_mock/webhooks", "")), &targets))
	require.Len(t, targets, 1)
	assert.Equal(t, d.url+webhookPath, targets[0].URL, "the demo's own receiver")
	assert.Equal(t, mocksikka.DefaultAppID, targets[0].AppID)

	before := time.Now()
	mockAdmin(t, d, http.MethodPost, "/_mock/webhooks/trigger",
		`{"event":"Data_Refresh","office_id":"`+mocksikka.DefaultOfficeID+`"}`)
	var s map[string]any
	require.Eventually(t, func() bool { s = status(); return s["lastDataRefresh"] != nil },
		10*time.Second, 20*time.Millisecond, "the Data_Refresh never reached the status JSON; log:\n%s", d.logs)
	last, err := time.Parse(time.RFC3339Nano, s["lastDataRefresh"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, before, last, time.Minute)
	next, err := time.Parse(time.RFC3339Nano, s["nextDataSync"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(mocksikka.DefaultDataRefreshInterval), next, time.Minute,
		"the mock's next scheduled refresh")
	assert.Equal(t, mocksikka.DefaultPractices()[0].PMSVersion, s["pmsVersion"])

	// A data event reaches the receiver too, and is accepted.
	mockAdmin(t, d, http.MethodPost, "/_mock/webhooks/trigger",
		`{"event":"patient","office_id":"`+mocksikka.DefaultOfficeID+`"}`)
	require.Eventually(t, func() bool {
		var ds []mocksikka.WebhookDelivery
		require.NoError(t, json.Unmarshal([]byte(mockAdmin(t, d, http.MethodGet, "/_mock/webhooks/deliveries", "")), &ds))
		delivered := 0
		for _, dl := range ds {
			if dl.State == "delivered" && dl.Attempts[len(dl.Attempts)-1].Status == http.StatusNoContent {
				delivered++
			}
		}
		return len(ds) == 2 && delivered == 2
	}, 10*time.Second, 20*time.Millisecond)

	assert.Contains(t, d.logs.String(), "sikka-demo: the in-process mock sends its webhooks to the demo")
	assert.NotContains(t, d.logs.String(), key, "the callback key is never logged")
}

// Pointed at an external Sikka, the demo leaves its webhooks alone.
func TestExternalSikkaGetsNoWebhookTarget(t *testing.T) {
	mock := mocksikka.New()
	t.Cleanup(mock.Close)
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	d := startDemo(t, []string{"-sikka-url", srv.URL}, nil, nil)
	assert.Nil(t, d.app.sikkaMock)
	assert.Empty(t, mock.Webhooks())
	assert.NotContains(t, d.logs.String(), "webhooks to the demo")
	assert.Contains(t, d.logs.String(), "accepts the demo's default key, which is public",
		"with a real Sikka, the public demo key is called out")

	keyed := startDemo(t, []string{"-sikka-url", srv.URL, "-webhook-keys", "k-set-at-sikka"}, nil, nil)
	assert.NotContains(t, keyed.logs.String(), "default key")
}

// The listener's local URL (serve.LocalURL, tested there) and the
// receiver's path.
func TestMockWebhookURL(t *testing.T) {
	a, err := net.ResolveTCPAddr("tcp", "0.0.0.0:8080")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080/sikka/webhook", mockWebhookURL(a))
}
