package vault_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerIsAFullEnoughVault checks, through Vault's plain HTTP API, the
// server features this project relies on, so that a trimmed Vault build
// (tools/vault) missing one fails here by name rather than somewhere deep in
// a store test: secret/ is KV v2, versions and their metadata (max_versions,
// custom_metadata, soft delete, undelete, destroy), check-and-set on write,
// policies, token create/lookup/revoke, and AppRole enable, role, login and a
// login token that is held to its policy. A sealed restart of a persistent
// server is covered by e2e TestFaultVaultRestart/persistent.
func TestServerIsAFullEnoughVault(t *testing.T) {
	rc := root(t)
	c := ctx(t)

	t.Run("health and version", func(t *testing.T) {
		h, err := rc.Sys().HealthWithContext(c)
		require.NoError(t, err)
		assert.True(t, h.Initialized)
		assert.False(t, h.Sealed)
		assert.NotEmpty(t, h.Version)
	})

	t.Run("secret/ is KV v2", func(t *testing.T) {
		mounts, err := rc.Sys().ListMountsWithContext(c)
		require.NoError(t, err)
		m, ok := mounts["secret/"]
		require.True(t, ok, "no secret/ mount")
		assert.Equal(t, "kv", m.Type)
		assert.Equal(t, "2", m.Options["version"])
	})

	t.Run("KV v2 versions, metadata and check-and-set", func(t *testing.T) {
		path := "parlae/server-check/" + randHex(4)
		kv := rc.KVv2("secret")
		t.Cleanup(func() { _ = kv.DeleteMetadata(c, path) })

		_, err := kv.Put(c, path, map[string]any{"v": "1"}, api.WithCheckAndSet(0))
		require.NoError(t, err, "create with cas=0")
		_, err = kv.Put(c, path, map[string]any{"v": "x"}, api.WithCheckAndSet(0))
		require.Error(t, err, "cas=0 on an existing secret must fail")
		assert.Contains(t, err.Error(), "check-and-set")
		_, err = kv.Put(c, path, map[string]any{"v": "2"}, api.WithCheckAndSet(1))
		require.NoError(t, err, "cas=1 on version 1")
		_, err = kv.Put(c, path, map[string]any{"v": "x"}, api.WithCheckAndSet(1))
		require.Error(t, err, "a stale cas must fail")

		s, err := kv.Get(c, path)
		require.NoError(t, err)
		assert.Equal(t, "2", s.Data["v"])
		assert.Equal(t, 2, s.VersionMetadata.Version)
		old, err := kv.GetVersion(c, path, 1)
		require.NoError(t, err)
		assert.Equal(t, "1", old.Data["v"])

		require.NoError(t, kv.PutMetadata(c, path, api.KVMetadataPutInput{
			MaxVersions: 5, CASRequired: true, CustomMetadata: map[string]any{"owner": "tests"},
		}))
		md, err := kv.GetMetadata(c, path)
		require.NoError(t, err)
		assert.Equal(t, 2, md.CurrentVersion)
		assert.Equal(t, 5, md.MaxVersions)
		assert.True(t, md.CASRequired)
		assert.Equal(t, "tests", md.CustomMetadata["owner"])
		assert.Len(t, md.Versions, 2)
		_, err = kv.Put(c, path, map[string]any{"v": "x"})
		require.Error(t, err, "cas_required: a write without cas must fail")

		require.NoError(t, kv.Delete(c, path))
		s, err = kv.Get(c, path)
		if err == nil {
			assert.Nil(t, s.Data, "a soft-deleted latest version reads without data")
		}
		md, err = kv.GetMetadata(c, path)
		require.NoError(t, err)
		assert.False(t, md.Versions["2"].DeletionTime.IsZero(), "deletion_time set on the soft-deleted version")
		require.NoError(t, kv.Undelete(c, path, []int{2}))
		s, err = kv.Get(c, path)
		require.NoError(t, err)
		assert.Equal(t, "2", s.Data["v"])
		require.NoError(t, kv.Destroy(c, path, []int{1}))
		md, err = kv.GetMetadata(c, path)
		require.NoError(t, err)
		assert.True(t, md.Versions["1"].Destroyed)

		require.NoError(t, kv.DeleteMetadata(c, path))
		_, err = kv.GetMetadata(c, path)
		require.Error(t, err, "metadata gone after delete-metadata")
	})

	t.Run("tokens and policies", func(t *testing.T) {
		policy := "server-check-" + randHex(4)
		require.NoError(t, rc.Sys().PutPolicyWithContext(c, policy,
			`path "secret/data/parlae/server-check-tok/*" { capabilities = ["read"] }`))
		t.Cleanup(func() { _ = rc.Sys().DeletePolicy(policy) })
		sec, err := rc.Auth().Token().CreateWithContext(c, &api.TokenCreateRequest{
			Policies: []string{policy}, TTL: "1m",
		})
		require.NoError(t, err)
		tc, err := rc.Clone()
		require.NoError(t, err)
		tc.SetToken(sec.Auth.ClientToken)
		self, err := tc.Auth().Token().LookupSelfWithContext(c)
		require.NoError(t, err)
		assert.Contains(t, self.Data["policies"], policy)
		_, err = tc.KVv2("secret").Put(c, "parlae/server-check-tok/x", map[string]any{"v": "1"})
		requireStatus(t, err, 403)
		require.NoError(t, rc.Auth().Token().RevokeTreeWithContext(c, sec.Auth.ClientToken))
		_, err = tc.Auth().Token().LookupSelfWithContext(c)
		requireStatus(t, err, 403)
	})

	t.Run("AppRole login", func(t *testing.T) {
		prefix := "parlae/server-check-ar-" + randHex(3)
		mount, roleID, secretID := appRole(t, prefix, time.Minute)
		ac, err := rc.Clone()
		require.NoError(t, err)
		ac.ClearToken()
		login, err := ac.Logical().WriteWithContext(c, "auth/"+mount+"/login",
			map[string]any{"role_id": roleID, "secret_id": secretID})
		require.NoError(t, err)
		require.NotNil(t, login.Auth)
		assert.Equal(t, 60, login.Auth.LeaseDuration)
		ac.SetToken(login.Auth.ClientToken)
		_, err = ac.KVv2("secret").Put(c, prefix+"/a", map[string]any{"v": "1"})
		require.NoError(t, err, "the role's policy allows its prefix")
		t.Cleanup(func() { _ = rc.KVv2("secret").DeleteMetadata(c, prefix+"/a") })
		_, err = ac.KVv2("secret").Put(c, "parlae/elsewhere-"+randHex(3), map[string]any{"v": "1"})
		requireStatus(t, err, 403)
		_, err = ac.Logical().WriteWithContext(c, "auth/"+mount+"/login",
			map[string]any{"role_id": roleID, "secret_id": "wrong"})
		require.Error(t, err, "a wrong secret_id must not log in")
	})
}

func requireStatus(t *testing.T, err error, code int) {
	t.Helper()
	require.Error(t, err)
	var re *api.ResponseError
	require.True(t, errors.As(err, &re), "want an HTTP %d from Vault, got %v", code, err)
	assert.Equal(t, code, re.StatusCode, strings.Join(re.Errors, "; "))
}
