package awssm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

	a, b := storetest.NewCredentials("a"), storetest.NewCredentials("b")
	name := "parlae/pms/sikka/leak-" + randHex(3)
	var errs []error
	keep := func(err error) { errs = append(errs, err) }

	r1, err := good.Put(ctx(t), name, a)
	require.NoError(t, err)
	r2, err := good.Put(ctx(t), name, b)
	require.NoError(t, err)
	got, err := good.Get(ctx(t), r2.Ref)
	require.NoError(t, err)
	require.NoError(t, good.Restore(ctx(t), name, r1.Version))

	_, err = good.Put(ctx(t), name, a, secretstore.IfVersion(r1.Version))
	require.ErrorIs(t, err, secretstore.ErrVersionConflict)
	keep(err)
	keep(good.Restore(ctx(t), name, "00000000-0000-4000-8000-000000000000"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = good.Put(cancelled, name, b)
	keep(err)
	for _, st := range []*awssm.Store{denied, down} {
		_, err = st.Put(ctx(t), name, a)
		require.Error(t, err)
		keep(err)
		_, err = st.Get(ctx(t), name)
		require.Error(t, err)
		assert.NotErrorIs(t, err, secretstore.ErrNotFound, "a failure is not a missing secret")
		keep(err)
		keep(st.Restore(ctx(t), r2.Ref, r1.Version))
		keep(st.Delete(ctx(t), name))
	}
	require.NoError(t, good.Delete(ctx(t), name))
	_, err = good.Get(ctx(t), name)
	keep(err)

	secrets := []string{a.SecretKey, a.RequestKey, a.RefreshKey, b.SecretKey, b.RequestKey, b.RefreshKey, "test-secret"}
	for i, err := range errs {
		require.Error(t, err, "error %d", i)
		js, _ := json.Marshal(err)
		for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%q", err), string(js)} {
			for j, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("error %d (%T) leaks secret %d", i, err, j)
				}
			}
		}
	}
	for _, text := range []string{fmt.Sprint(got), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", got)} {
		assert.NotContains(t, text, b.SecretKey)
	}
	out := logs.String()
	assert.Contains(t, out, name, "the logs name the secret")
	for j, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("logs leak secret %d", j)
		}
	}
}
