package vault_test

import (
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/secretstore/vault"
)

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]vault.Config{
		"no address":       {Token: "t"},
		"no credentials":   {Address: "http://127.0.0.1:1"},
		"both":             {Address: "http://127.0.0.1:1", Token: "t", RoleID: "r", SecretID: "s"},
		"role without sid": {Address: "http://127.0.0.1:1", RoleID: "r"},
		"sid without role": {Address: "http://127.0.0.1:1", SecretID: "s"},
		"bad mount":        {Address: "http://127.0.0.1:1", Token: "t", Mount: "a b"},
		"bad prefix":       {Address: "http://127.0.0.1:1", Token: "t", Prefix: "../x"},
		"missing CA file":  {Address: "https://127.0.0.1:1", Token: "t", TLS: &api.TLSConfig{CACert: "/nonexistent/ca.pem"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := vault.New(cfg)
			assert.Error(t, err)
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:8200")
	t.Setenv("VAULT_TOKEN", "")
	t.Setenv("VAULT_ROLE_ID", "role")
	t.Setenv("VAULT_SECRET_ID", "sid")
	t.Setenv("SIKKA_VAULT_APPROLE_MOUNT", "ar")
	t.Setenv("SIKKA_VAULT_MOUNT", "kv")
	t.Setenv("SIKKA_VAULT_PREFIX", "prod")
	t.Setenv("SIKKA_VAULT_TIMEOUT", "7s")
	cfg, err := vault.ConfigFromEnv()
	require.NoError(t, err)
	assert.Equal(t, vault.Config{Address: "http://127.0.0.1:8200", RoleID: "role", SecretID: "sid", AppRoleMount: "ar",
		Mount: "kv", Prefix: "prod", Timeout: 7 * time.Second}, cfg)
	st, err := vault.NewFromEnv()
	require.NoError(t, err)
	assert.Equal(t, "kv/data/prod/parlae/pms/sikka/a1", st.Ref("parlae/pms/sikka/a1"))

	t.Setenv("SIKKA_VAULT_TIMEOUT", "soon")
	_, err = vault.NewFromEnv()
	assert.Error(t, err)
}

func TestDefaultRef(t *testing.T) {
	st, err := vault.New(vault.Config{Address: "http://127.0.0.1:1", Token: "t"})
	require.NoError(t, err)
	assert.Equal(t, "secret/data/parlae/pms/sikka/a1", st.Ref("parlae/pms/sikka/a1"))
}
