package vault_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/syncbuf"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/secretstore/storetest"
	"github.com/parlae/sikka-connect/secretstore/vault"
)

// server returns the address and root token of the Vault dev server the
// test script started, or skips.
func server(t *testing.T) (addr, token string) {
	t.Helper()
	addr, token = os.Getenv("SIKKA_TEST_VAULT_ADDR"), os.Getenv("SIKKA_TEST_VAULT_TOKEN")
	if addr == "" {
		t.Skip("SIKKA_TEST_VAULT_ADDR not set: run scripts/test.sh, which starts a real Vault dev server")
	}
	require.NotEmpty(t, token, "SIKKA_TEST_VAULT_TOKEN must be set with SIKKA_TEST_VAULT_ADDR")
	return addr, token
}

// root returns a client with the root token, for setting the server up.
func root(t *testing.T) *api.Client {
	t.Helper()
	addr, token := server(t)
	cfg := api.DefaultConfig()
	cfg.Address = addr
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken(token)
	return c
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// debugLogger returns a Debug-level logger writing JSON or text into buf.
func debugLogger(buf *syncbuf.Buffer, json bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	if json {
		return slog.New(slog.NewJSONHandler(buf, opts))
	}
	return slog.New(slog.NewTextHandler(buf, opts))
}

func TestContract(t *testing.T) {
	addr, token := server(t)
	var logs syncbuf.Buffer
	st, err := vault.New(vault.Config{Address: addr, Token: token, Logger: debugLogger(&logs, true)})
	require.NoError(t, err)
	storetest.Run(t, func(*testing.T) secretstore.Store { return st })
	assert.Contains(t, logs.String(), "secretstore/vault: put")
}

// TestContractMountAndPrefix runs the suite on a KV v2 mount of its own,
// with a path prefix.
func TestContractMountAndPrefix(t *testing.T) {
	addr, token := server(t)
	mount := "sikka-kv-" + randHex(4)
	require.NoError(t, root(t).Sys().MountWithContext(ctx(t), mount, &api.MountInput{
		Type: "kv", Options: map[string]string{"version": "2"},
	}))
	t.Cleanup(func() { _ = root(t).Sys().Unmount(mount) })
	var logs syncbuf.Buffer
	st, err := vault.New(vault.Config{Address: addr, Token: token, Mount: mount, Prefix: "/tenant-a/", Logger: debugLogger(&logs, false)})
	require.NoError(t, err)
	storetest.Run(t, func(*testing.T) secretstore.Store { return st })

	// The value sits where an operator looks for it.
	c := storetest.NewCredentials("where")
	name := "parlae/pms/sikka/where-" + randHex(3)
	r, err := st.Put(ctx(t), name, c)
	require.NoError(t, err)
	assert.Equal(t, mount+"/data/tenant-a/"+name, r.Ref)
	kvs, err := root(t).KVv2(mount).Get(ctx(t), "tenant-a/"+name)
	require.NoError(t, err)
	assert.Equal(t, c.SecretKey, kvs.Data["secretKey"])
	assert.Equal(t, c.OfficeID, kvs.Data["officeId"])
	assert.Equal(t, c.TokenExpiry.UTC().Format(time.RFC3339Nano), kvs.Data["tokenExpiry"])

	// A reference of another prefix is refused, not read as a name.
	_, err = st.Get(ctx(t), mount+"/data/tenant-b/"+name)
	require.ErrorIs(t, err, secretstore.ErrInvalidName)
	_, err = st.Put(ctx(t), mount+"/data/x", c)
	require.ErrorIs(t, err, secretstore.ErrInvalidName)
}

// TestCrossStoreCAS checks that IfVersion holds between two stores (two
// processes, as far as Vault can tell).
func TestCrossStoreCAS(t *testing.T) {
	addr, token := server(t)
	name := "parlae/pms/sikka/xcas-" + randHex(3)
	stores := make([]*vault.Store, storetest.Concurrency)
	for i := range stores {
		var err error
		stores[i], err = vault.New(vault.Config{Address: addr, Token: token})
		require.NoError(t, err)
	}
	r0, err := stores[0].Put(ctx(t), name, storetest.NewCredentials("base"))
	require.NoError(t, err)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, st := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.Put(ctx(t), name, storetest.NewCredentials("x"), secretstore.IfVersion(r0.Version))
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			assert.ErrorIs(t, err, secretstore.ErrVersionConflict)
		}
	}
	assert.Equal(t, 1, wins)
}

// TestSoftDeletedCountsAsMissing: a current version deleted with
// "vault kv delete" reads as ErrNotFound, and the next Put has no Previous.
func TestSoftDeletedCountsAsMissing(t *testing.T) {
	addr, token := server(t)
	st, err := vault.New(vault.Config{Address: addr, Token: token})
	require.NoError(t, err)
	name := "parlae/pms/sikka/soft-" + randHex(3)
	r1, err := st.Put(ctx(t), name, storetest.NewCredentials("a"))
	require.NoError(t, err)
	require.NoError(t, root(t).KVv2("secret").Delete(ctx(t), name))
	_, err = st.Get(ctx(t), name)
	require.ErrorIs(t, err, secretstore.ErrNotFound)
	require.ErrorIs(t, st.Restore(ctx(t), name, r1.Version), secretstore.ErrNotFound)
	r2, err := st.Put(ctx(t), name, storetest.NewCredentials("b"), secretstore.IfVersion(""))
	require.NoError(t, err)
	assert.Empty(t, r2.Previous)
	assert.NotEqual(t, r1.Version, r2.Version)
}
