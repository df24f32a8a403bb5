package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
)

func TestWebhookFlagsPairByPosition(t *testing.T) {
	s, err := parse([]string{"-webhook-url", "http://127.0.0.1:9/a", "-webhook-key", "ka",
		"-webhook-url", "http://127.0.0.1:9/b", "-webhook-key", "kb",
		"-data-refresh-interval", "0s", "-webhook-retry", "10ms,20ms", "-webhook-timeout", "2s"}, env(nil), io.Discard)
	require.NoError(t, err)
	m := mocksikka.New(s.opts...)
	t.Cleanup(m.Close)
	hooks := m.Webhooks()
	require.Len(t, hooks, 2)
	assert.Equal(t, []string{"http://127.0.0.1:9/a", "http://127.0.0.1:9/b"}, []string{hooks[0].URL, hooks[1].URL})
	assert.Equal(t, mocksikka.DefaultAppID, hooks[0].AppID)
	assert.Equal(t, mocksikka.WebhookSettings{RetryIntervals: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, Timeout: 2 * time.Second}, m.WebhookSettings())

	s, err = parse(nil, env(map[string]string{"MOCKSIKKA_WEBHOOK_URL": "http://127.0.0.1:9/a http://127.0.0.1:9/b",
		"MOCKSIKKA_WEBHOOK_KEY": "ka kb", "MOCKSIKKA_DATA_REFRESH_INTERVAL": "5m"}), io.Discard)
	require.NoError(t, err)
	m = mocksikka.New(s.opts...)
	t.Cleanup(m.Close)
	assert.Len(t, m.Webhooks(), 2, "the variables hold several values separated by spaces")
	assert.Equal(t, 5*time.Minute, m.WebhookSettings().DataRefreshInterval)
}

func TestWebhookFlagErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"url without key":  {"-webhook-url", "http://127.0.0.1:9/a"},
		"key without url":  {"-webhook-key", "secret-key-1"},
		"more urls":        {"-webhook-url", "http://127.0.0.1:9/a", "-webhook-url", "http://127.0.0.1:9/b", "-webhook-key", "secret-key-1"},
		"relative url":     {"-webhook-url", "/hook", "-webhook-key", "secret-key-1"},
		"negative refresh": {"-data-refresh-interval", "-1m"},
		"six retries":      {"-webhook-retry", "1s,1s,1s,1s,1s,1s"},
		"bad retry":        {"-webhook-retry", "soon"},
		"zero timeout":     {"-webhook-timeout", "0s"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, env(nil), &stdout, &stderr)
			require.Error(t, err)
			assert.True(t, isUsage(err), "%v", err)
			assert.NotContains(t, err.Error(), "secret-key-1")
		})
	}
	code, stdout, stderr := runMain(t, []string{"-webhook-url", "http://127.0.0.1:9/a"})
	assertOneLineExit1(t, code, stdout, stderr)
	assert.Contains(t, stderr, "1 -webhook-url but 0 -webhook-key")
}

func TestWebhookFromTheBinary(t *testing.T) {
	got := make(chan http.Header, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		got <- r.Header.Clone()
	}))
	t.Cleanup(recv.Close)
	st := start(t, []string{"-addr", "127.0.0.1:0", "-webhook-url", recv.URL, "-webhook-key", "bin-key-42"}, nil)
	req, err := http.NewRequest("POST", st.url+"/_mock/webhooks/trigger", strings.NewReader(`{"event":"Data_Refresh","office_id":"D36225"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := st.hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	select {
	case h := <-got:
		assert.Equal(t, "bin-key-42", h.Get("callback-key"))
	case <-time.After(5 * time.Second):
		t.Fatal("the webhook never arrived")
	}
	require.Eventually(t, func() bool { return strings.Contains(st.stderr.String(), "mocksikka webhook") }, 5*time.Second, 5*time.Millisecond)
	assert.NotContains(t, st.stderr.String(), "bin-key-42", "the key is never logged")
}
