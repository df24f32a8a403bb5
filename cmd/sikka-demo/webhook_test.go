package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
)

// Sikka's Data_Refresh webhook for the connected office, posted to the
// demo's /sikka/webhook with the demo's key, shows in the status JSON the
// setup page reads; a wrong key is refused.
func TestDemoReceivesWebhooks(t *testing.T) {
	d := startDemo(t, nil, nil, nil)
	status := connectDemo(t, d)
	require.Equal(t, true, status()["connected"])
	assert.NotContains(t, status(), "lastDataRefresh")

	post := func(key string) int {
		body := `{"event":"Data_Refresh","office_id":"` + mocksikka.DefaultOfficeID + `","practice_id":1,"prev_generated_time":"2019-12-09 14:37:56","next_data_synchronization_date":"2019-12-10 17:15:00","practice_management_system":"Dentrix","practice_management_system_version":"V16.6","utc_difference_in_minutes":"240"}`
		req, err := http.NewRequest(http.MethodPost, d.url+webhookPath, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("callback-key", key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, res.Body) //nolint:errcheck
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, post("not-the-key"))
	assert.NotContains(t, status(), "lastDataRefresh", "a refused delivery changes nothing")

	assert.Equal(t, http.StatusNoContent, post(defaultWebhookKey))
	s := status()
	require.Contains(t, s, "lastDataRefresh")
	last, err := time.Parse(time.RFC3339Nano, s["lastDataRefresh"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), last, time.Minute)
	assert.Equal(t, "2019-12-10T21:15:00Z", s["nextDataSync"])
	assert.Equal(t, "V16.6", s["pmsVersion"])
	assert.NotContains(t, d.logs.String(), defaultWebhookKey, "the key is never logged")

	// The setup page has the line its script fills in.
	_, page := d.get(t, middleware.DefaultPrefix)
	assert.Contains(t, page, `id="last-refresh"`)
}

func TestWebhookKeysOption(t *testing.T) {
	o, err := parseOptions([]string{"-webhook-keys", "old, new"}, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"old", "new"}, o.webhookKeys)
	o, err = parseOptions(nil, func(k string) string {
		if k == "SIKKA_WEBHOOK_KEYS" {
			return "from-env"
		}
		return ""
	}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"from-env"}, o.webhookKeys)
	o, err = parseOptions(nil, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{defaultWebhookKey}, o.webhookKeys)
	_, err = parseOptions([]string{"-webhook-keys", "a,,b"}, noEnv, io.Discard)
	assert.ErrorContains(t, err, "-webhook-keys")
}
