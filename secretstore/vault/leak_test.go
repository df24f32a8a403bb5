package vault_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/syncbuf"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/secretstore/storetest"
	"github.com/parlae/sikka-connect/secretstore/vault"
)

// TestNoSecretLeaks drives every operation, failures included (bad token,
// unreachable server, cancelled context, check-and-set conflict, missing
// versions), with Debug logging in JSON and text, and scans every error
// rendering and log line for the secret values and the tokens.
func TestNoSecretLeaks(t *testing.T) {
	addr, token := server(t)
	var logs syncbuf.Buffer
	badToken := "hvs.bad-" + randHex(8)
	good, err := vault.New(vault.Config{Address: addr, Token: token, Logger: debugLogger(&logs, true)})
	require.NoError(t, err)
	badAuth, err := vault.New(vault.Config{Address: addr, Token: badToken, Logger: debugLogger(&logs, false)})
	require.NoError(t, err)
	down, err := vault.New(vault.Config{Address: "http://127.0.0.1:1", Token: token, Timeout: 300 * time.Millisecond, Logger: debugLogger(&logs, false)})
	require.NoError(t, err)

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
	keep(good.Restore(ctx(t), name, "4242"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = good.Put(cancelled, name, b)
	keep(err)
	for _, st := range []*vault.Store{badAuth, down} {
		_, err = st.Put(ctx(t), name, a)
		require.Error(t, err)
		keep(err)
		_, err = st.Get(ctx(t), name)
		require.Error(t, err)
		keep(err)
		keep(st.Restore(ctx(t), name, r1.Version))
		keep(st.Delete(ctx(t), name))
	}
	require.NoError(t, good.Delete(ctx(t), name))
	_, err = good.Get(ctx(t), name)
	keep(err)

	secrets := []string{a.SecretKey, a.RequestKey, a.RefreshKey, b.SecretKey, b.RequestKey, b.RefreshKey, token, badToken}
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
	// The secret as returned renders redacted too.
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
