package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
)

const wrongSecretKey = "not-the-secret-key-Hq8Zr3Wy5Kp1"

func connectForm(officeID, secretKey string) string {
	return url.Values{"office_id": {officeID}, "secret_key": {secretKey}}.Encode()
}

var formPost = map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded"}

// connectJSON posts a fetch with office_id and secret_key and reads the
// ConnectBody.
func (b *browser) connectJSON(officeID, secretKey string) (int, middleware.ConnectBody) {
	b.t.Helper()
	body, err := json.Marshal(map[string]string{"office_id": officeID, "secret_key": secretKey})
	require.NoError(b.t, err)
	resp := b.post(prefix+"/connect", map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}, string(body))
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	assert.NotContains(b.t, string(raw), secretKey, "the secret key is never echoed")
	var out middleware.ConnectBody
	require.NoError(b.t, json.Unmarshal(raw, &out), string(raw))
	return resp.StatusCode, out
}

// A form post with the office id and secret key connects the account and
// lands on the frontend with status=success; the status route then shows
// the practice.
func TestConnectByOfficeForm(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			w := newWorld(t, backend)
			b := w.browser(acct1)
			resp := b.post(prefix+"/connect", formPost, connectForm(office, mocksikka.DefaultSecretKey))
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			loc, err := resp.Location()
			require.NoError(t, err)
			w.assertLanded(loc, middleware.StatusSuccess, "")
			assert.Equal(t, integration.StatusActive, w.status(acct1).Status)
			got, _ := b.statusJSON(http.StatusOK)
			assert.Equal(t, "Connected to Happy Dental Clinic (Dentrix)", got.Message)

			// Refusals land with their reason.
			b2 := w.browser("acct-2")
			for _, tc := range []struct{ officeID, secretKey, reason string }{
				{office, mocksikka.DefaultSecretKey, middleware.ReasonAlreadyConnected},
				{"D00000", mocksikka.DefaultSecretKey, middleware.ReasonNotAuthorized},
				{mocksikka.MapleLeafOfficeID, wrongSecretKey, middleware.ReasonInvalidCredentials},
			} {
				resp := b2.post(prefix+"/connect", formPost, connectForm(tc.officeID, tc.secretKey))
				resp.Body.Close()
				loc, err := resp.Location()
				require.NoError(t, err)
				w.assertLanded(loc, middleware.StatusError, tc.reason)
			}
			assert.NotContains(t, w.logs.String(), wrongSecretKey)
			assert.NotContains(t, w.logs.String(), mocksikka.DefaultSecretKey)
		})
	}
}

// A fetch gets a ConnectBody with the outcome, a status code per reason, and
// never the secret key back; more than 5 refused proofs are too many.
func TestConnectByOfficeJSON(t *testing.T) {
	w := newWorld(t, "memory")
	b := w.browser(acct1)
	for i := range integration.DefaultMaxProofFailures {
		code, body := b.connectJSON(office, fmt.Sprint(wrongSecretKey, i))
		assert.Equal(t, http.StatusForbidden, code)
		assert.Equal(t, middleware.ConnectBody{Status: middleware.StatusError, Reason: middleware.ReasonInvalidCredentials,
			Message: "The office ID or secret key is not correct."}, body)
	}
	code, body := b.connectJSON(office, mocksikka.DefaultSecretKey)
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Equal(t, middleware.ReasonTooManyAttempts, body.Reason)
	assert.Equal(t, "Too many attempts. Please try again later.", body.Message)

	b2 := w.browser("acct-2")
	code, body = b2.connectJSON("D00000", "x")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, middleware.ReasonNotAuthorized, body.Reason)
	assert.Equal(t, "This practice has not authorized this app on Sikka yet.", body.Message)

	code, body = b2.connectJSON(mocksikka.MapleLeafOfficeID, mocksikka.DefaultPractices()[1].SecretKey)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, middleware.StatusSuccess, body.Status)
	assert.Equal(t, "Successfully connected to Maple Leaf Family Dentistry (Eaglesoft)", body.Message)
	require.NotNil(t, body.Connection)
	assert.True(t, body.Connection.Connected)
	assert.Equal(t, mocksikka.MapleLeafOfficeID, body.Connection.OfficeID)

	logs := w.logs.String()
	for i := range integration.DefaultMaxProofFailures {
		assert.NotContains(t, logs, fmt.Sprint(wrongSecretKey, i))
	}
	assert.NotContains(t, logs, mocksikka.DefaultSecretKey)
	assert.NotContains(t, logs, mocksikka.DefaultPractices()[1].SecretKey)
	assert.Contains(t, logs, `"reason":"invalid_credentials"`)
}

// Like disconnect, connect is same-origin only, POST only, for a
// signed-in account, and reads a form or JSON only.
func TestConnectByOfficeRefusesRequests(t *testing.T) {
	w := newWorld(t, "memory")
	b := w.browser(acct1)
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
		{"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
		{"Referer": "https://evil.example/page", "Content-Type": "application/x-www-form-urlencoded"},
	} {
		resp := b.post(prefix+"/connect", hdr, connectForm(office, mocksikka.DefaultSecretKey))
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.JSONEq(t, `{"error":"cross_origin"}`, string(raw))
	}
	resp := b.get(w.appURL + prefix + "/connect?office_id=" + office + "&secret_key=x")
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))

	for name, req := range map[string]struct{ contentType, body string }{
		"text":          {"text/plain", connectForm(office, mocksikka.DefaultSecretKey)},
		"broken JSON":   {"application/json", `{"office_id":`},
		"too large":     {"application/x-www-form-urlencoded", "office_id=" + strings.Repeat("D", 64<<10)},
		"JSON, too big": {"application/json", `{"office_id":"` + strings.Repeat("D", 64<<10) + `"}`},
	} {
		resp := b.post(prefix+"/connect", map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": req.contentType}, req.body)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		assert.JSONEq(t, `{"error":"bad_request"}`, string(raw), name)
	}
	assert.Zero(t, w.mock.Count("", ""), "Sikka never called")

	signedOut := w.browser("")
	resp = signedOut.post(prefix+"/connect", formPost, connectForm(office, mocksikka.DefaultSecretKey))
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, integration.Record{}, w.status(acct1), "nothing connected")
}
