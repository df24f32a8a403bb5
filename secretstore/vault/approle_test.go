package vault_test

import (
	"fmt"
	"strings"
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

// appRole enables AppRole on a mount of its own, with a role allowed to
// manage secrets under prefix in secret/, whose tokens live for ttl. It
// returns the AppRole mount, role id and a fresh secret id.
func appRole(t *testing.T, prefix string, ttl time.Duration) (mount, roleID, secretID string) {
	t.Helper()
	rc := root(t)
	mount = "approle-" + randHex(4)
	require.NoError(t, rc.Sys().EnableAuthWithOptionsWithContext(ctx(t), mount, &api.EnableAuthOptions{Type: "approle"}))
	t.Cleanup(func() { _ = rc.Sys().DisableAuth(mount) })
	policy := "sikka-" + randHex(4)
	require.NoError(t, rc.Sys().PutPolicyWithContext(ctx(t), policy, fmt.Sprintf(`
path "secret/data/%[1]s/*"     { capabilities = ["create", "read", "update"] }
path "secret/metadata/%[1]s/*" { capabilities = ["read", "delete"] }
`, prefix)))
	t.Cleanup(func() { _ = rc.Sys().DeletePolicy(policy) })
	_, err := rc.Logical().WriteWithContext(ctx(t), "auth/"+mount+"/role/sikka", map[string]any{
		"token_policies": policy,
		"token_ttl":      ttl.String(),
		"token_max_ttl":  ttl.String(),
	})
	require.NoError(t, err)
	r, err := rc.Logical().ReadWithContext(ctx(t), "auth/"+mount+"/role/sikka/role-id")
	require.NoError(t, err)
	s, err := rc.Logical().WriteWithContext(ctx(t), "auth/"+mount+"/role/sikka/secret-id", nil)
	require.NoError(t, err)
	return mount, r.Data["role_id"].(string), s.Data["secret_id"].(string)
}

func TestAppRoleContract(t *testing.T) {
	addr, _ := server(t)
	prefix := "approle-" + randHex(3)
	mount, roleID, secretID := appRole(t, prefix, time.Hour)
	var logs syncbuf.Buffer
	st, err := vault.New(vault.Config{Address: addr, RoleID: roleID, SecretID: secretID, AppRoleMount: mount,
		Prefix: prefix, Logger: debugLogger(&logs, true)})
	require.NoError(t, err)
	storetest.Run(t, func(*testing.T) secretstore.Store { return st })
	assert.Equal(t, 1, strings.Count(logs.String(), "approle login"), "one login serves the whole suite")
	assert.NotContains(t, logs.String(), secretID)
}

func TestAppRoleReloginWhenTTLRunsOut(t *testing.T) {
	addr, _ := server(t)
	prefix := "approle-" + randHex(3)
	mount, roleID, secretID := appRole(t, prefix, 2*time.Second)
	var logs syncbuf.Buffer
	st, err := vault.New(vault.Config{Address: addr, RoleID: roleID, SecretID: secretID, AppRoleMount: mount,
		Prefix: prefix, Logger: debugLogger(&logs, false)})
	require.NoError(t, err)
	name := "parlae/pms/sikka/ttl-" + randHex(3)
	c := storetest.NewCredentials("ttl")
	_, err = st.Put(ctx(t), name, c)
	require.NoError(t, err)
	time.Sleep(2100 * time.Millisecond) // the first token has expired
	got, err := st.Get(ctx(t), name)
	require.NoError(t, err)
	storetest.AssertSameCredentials(t, c, got.Credentials)
	assert.Contains(t, logs.String(), "token TTL nearly over")
	assert.NotContains(t, logs.String(), "answered 403", "renewed before Vault had to refuse")
}

func TestAppRoleReloginOn403(t *testing.T) {
	addr, _ := server(t)
	prefix := "approle-" + randHex(3)
	mount, roleID, secretID := appRole(t, prefix, time.Hour)
	var logs syncbuf.Buffer
	st, err := vault.New(vault.Config{Address: addr, RoleID: roleID, SecretID: secretID, AppRoleMount: mount,
		Prefix: prefix, Logger: debugLogger(&logs, true)})
	require.NoError(t, err)
	name := "parlae/pms/sikka/403-" + randHex(3)
	c := storetest.NewCredentials("403")
	_, err = st.Put(ctx(t), name, c)
	require.NoError(t, err)

	// Revoke every token this AppRole mount issued: the cached one is dead.
	require.NoError(t, root(t).Sys().RevokePrefixWithContext(ctx(t), "auth/"+mount+"/login"))
	got, err := st.Get(ctx(t), name)
	require.NoError(t, err, "one 403 leads to one new login and a retry")
	storetest.AssertSameCredentials(t, c, got.Credentials)
	assert.Contains(t, logs.String(), "vault answered 403")
	assert.Equal(t, 2, strings.Count(logs.String(), "approle login"))

	// Outside the policy: a 403 that a new login does not cure is returned
	// (after exactly one retry), wrapped, and carries no secret.
	other, err := vault.New(vault.Config{Address: addr, RoleID: roleID, SecretID: secretID, AppRoleMount: mount})
	require.NoError(t, err)
	_, err = other.Put(ctx(t), "parlae/pms/sikka/outside-"+randHex(3), c)
	require.Error(t, err)
	storetest.AssertNoSecretIn(t, err, c)
	assert.NotContains(t, err.Error(), secretID)
}

func TestAppRoleBadSecretID(t *testing.T) {
	addr, _ := server(t)
	mount, roleID, _ := appRole(t, "nothing", time.Hour)
	bad := "00000000-0000-0000-0000-" + randHex(6)
	st, err := vault.New(vault.Config{Address: addr, RoleID: roleID, SecretID: bad, AppRoleMount: mount})
	require.NoError(t, err)
	c := storetest.NewCredentials("bad")
	_, err = st.Put(ctx(t), "parlae/pms/sikka/bad", c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "approle login")
	assert.NotContains(t, err.Error(), bad)
	storetest.AssertNoSecretIn(t, err, c)
}
