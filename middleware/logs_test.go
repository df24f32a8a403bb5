package middleware_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
)

// A whole life (refusals, a cancel, a connect, status, disconnect), on each
// backend, logs the outcome of every request and none of the secrets the
// test saw: codes, states, nonces, cookie values, keys, the practice's
// secret key and the app key.
func TestNoSecretsInLogs(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			w := newWorld(t, backend)
			b := w.browser(acct1)

			cb := b.toCallback()
			b.finish(with(cb, "error", "access_denied")) // ambiguous
			w.assertLanded(b.connect(), middleware.StatusSuccess, "")
			w.assertLanded(b.finish(cb), middleware.StatusSuccess, "") // the first tab, reconnecting
			cancel := b.toCallback()
			w.assertLanded(b.finish(with(with(cancel, "code", ""), "error", "access_denied")), middleware.StatusCancelled, "")
			creds, ok := w.secret(acct1)
			require.True(t, ok)
			b.statusJSON(http.StatusOK)
			resp := b.post(prefix+"/disconnect", map[string]string{"Sec-Fetch-Site": "same-origin"}, "")
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)

			secrets := []string{creds.SecretKey, creds.RequestKey, creds.RefreshKey,
				mocksikka.DefaultSecretKey, mocksikka.DefaultAppKey}
			w.mu.Lock()
			secrets = append(secrets, w.codes...)
			w.mu.Unlock()
			for _, c := range b.cookies {
				secrets = append(secrets, c.Value)
			}
			for _, v := range b.visited {
				u, err := url.Parse(v)
				require.NoError(t, err)
				if s := u.Query().Get("state"); s != "" {
					payload, mac, _ := strings.Cut(s, ".")
					secrets = append(secrets, s, payload, mac, nonceOf(t, payload))
				}
			}
			require.Greater(t, len(secrets), 10)

			logs := w.logs.String()
			for _, s := range secrets {
				require.NotEmpty(t, s)
				assert.NotContains(t, logs, s)
				assert.NotContains(t, logs, url.QueryEscape(s))
			}

			// Each request logged one line with what it did.
			var lines []map[string]any
			for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(l), &m), l)
				if strings.HasPrefix(m["msg"].(string), "sikka connect: ") {
					lines = append(lines, m)
				}
			}
			var summary []string
			for _, m := range lines {
				s := m["route"].(string)
				for _, k := range []string{"outcome", "reason"} {
					if v, ok := m[k]; ok {
						s += " " + v.(string)
					}
				}
				assert.Equal(t, acct1, m["account_id"], s)
				assert.NotEmpty(t, m["request_id"], s)
				assert.Contains(t, m, "duration_ms", s)
				summary = append(summary, s)
			}
			assert.Equal(t, []string{
				"start", "callback error invalid_state",
				"start", "callback success",
				"callback success",
				"start", "callback cancelled",
				"status", "disconnect disconnected",
			}, summary)
		})
	}
}

// nonceOf returns the nonce of a state payload in the two forms it could
// leak in (see the layout in state.go: version, time, nonce…).
func nonceOf(t *testing.T, payload string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	require.NoError(t, err)
	require.Greater(t, len(raw), 25)
	return base64.RawURLEncoding.EncodeToString(raw[9:25])
}
