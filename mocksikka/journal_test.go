package mocksikka_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/url"
	"sync"
	"testing"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Every secret the test handles is absent from the journal (Go and HTTP) and from the log.
func TestNoSecretsInJournalOrLog(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, mocksikka.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	const state = "state-secret-3f9a1c"
	secrets := []string{mocksikka.DefaultAppKey, mocksikka.DefaultSecretKey, state, url.QueryEscape(mocksikka.DefaultSecretKey)}

	page := e.do("GET", authQuery("http://127.0.0.1:9/cb", state), nil)
	require.Equal(t, 200, page.status)
	allow := e.postForm(url.Values{"app_id": {mocksikka.DefaultAppID}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"state": {state}, "office_id": {mocksikka.DefaultOfficeID}, "decision": {"allow"}})
	loc, err := url.Parse(allow.header.Get("Location"))
	require.NoError(t, err)
	code := loc.Query().Get("code")
	// The code travels in a query string too, where a careless client might put it.
	e.do("GET", "/v4/practices?code="+code+"&secret_key="+url.QueryEscape(mocksikka.DefaultSecretKey)+"&app_key="+mocksikka.DefaultAppKey, nil)
	r := e.grant("authorization_code", "code", code)
	require.Equal(t, 200, r.status)
	k := r.strings(t)
	e.do("GET", "/v4/authorized_practices", nil, "Request-Key", k["request_key"])
	e.do("GET", "/v4/request_key_info?request_key="+k["request_key"], nil)
	e.do("GET", "/v4/authorized_practices", nil, "App-Id", mocksikka.DefaultAppID, "App-Key", mocksikka.DefaultAppKey)
	r = e.grant("refresh_key", "refresh_key", k["refresh_key"])
	require.Equal(t, 200, r.status)
	k2 := r.strings(t)
	e.grant("request_key", "office_id", mocksikka.DefaultOfficeID, "secret_key", mocksikka.DefaultSecretKey)
	e.grant(k2["refresh_key"]) // a key pasted as grant_type
	e.do("GET", "/?"+k2["request_key"], nil)
	e.do("DELETE", "/v4/request_key", nil, "Request-Key", k2["request_key"])
	c2 := e.do("POST", "/_mock/codes", map[string]string{"app_id": mocksikka.DefaultAppID, "office_id": mocksikka.DefaultOfficeID}).strings(t)["code"]
	secrets = append(secrets, code, c2, k["request_key"], k["refresh_key"], k2["request_key"], k2["refresh_key"])

	journal, err := json.Marshal(e.mock.Journal())
	require.NoError(t, err)
	overHTTP := e.do("GET", "/_mock/journal", nil).body
	for _, s := range secrets {
		require.NotEmpty(t, s)
		assert.NotContains(t, string(journal), s)
		assert.NotContains(t, string(overHTTP), s)
		assert.NotContains(t, logs.String(), s)
	}
	assert.Contains(t, logs.String(), `"path":"/v4/request_key"`, "the log has the requests")
	assert.Contains(t, string(journal), `"grant":"other"`)
	assert.Contains(t, string(journal), "***")
}
