package awssm_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/internal/syncbuf"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/secretstore/awssm"
	"github.com/parlae/sikka-connect/secretstore/storetest"
)

// deniedEndpoint answers every call like AWS does for bad credentials.
func deniedEndpoint(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestNoSecretLeaks drives every operation, failures included (rejected
// credentials, unreachable endpoint, cancelled context, version conflict,
// missing version), with Debug logging in JSON and text, and scans every
// error rendering and log line for the secret values.
func TestNoSecretLeaks(t *testing.T) {
	var logs syncbuf.Buffer
	jsonLog := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	textLog := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	good := newStore(t, emulator(t), awssm.Config{ForceDeleteWithoutRecovery: true, Logger: jsonLog})
	denied := newStore(t, deniedEndpoint(t), awssm.Config{Logger: textLog})
	down := newStore(t, "http://127.0.0.1:1", awssm.Config{Timeout: 2 * time.Second, Logger: textLog})

	storetest.RunLeaks(t, storetest.Leaks{
		Good:           good,
		Failing:        []secretstore.Store{denied, down},
		MissingVersion: "00000000-0000-4000-8000-000000000000",
		Logs:           logs.String,
		Secrets:        []string{"test-secret"},
	})
}
