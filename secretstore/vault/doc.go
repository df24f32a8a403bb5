// Package vault is a secretstore.Store on a HashiCorp Vault KV v2 mount,
// through github.com/hashicorp/vault/api.
//
//	store, err := vault.New(vault.Config{
//		Address: "https://vault.internal:8200",
//		RoleID:  roleID, SecretID: secretID, // or Token: token
//		Mount:   "secret",                   // the default
//	})
//
// or vault.NewFromEnv() with VAULT_ADDR and VAULT_TOKEN (or VAULT_ROLE_ID and
// VAULT_SECRET_ID), SIKKA_VAULT_MOUNT, SIKKA_VAULT_PREFIX.
//
// The secret called name lives at <mount>/data/[<prefix>/]<name>; that KV v2
// API path is its reference, and Get, Delete and Restore accept it as well as
// the name (so names may not start with "<mount>/data/"). The KV data holds
// the fields of secretstore.EncodeCredentials (officeId, secretKey, ...), so
// `vault kv get secret/parlae/pms/sikka/<accountId>` shows them. Versions
// are KV v2 version numbers.
//
// Every write is a check-and-set (Vault's cas option) against the version
// read just before it, so Receipt.Previous is exact and IfVersion holds
// across processes. A soft-deleted current version (`vault kv delete`) reads
// as ErrNotFound. Delete removes the metadata and every version. Restore
// reads the old version and writes it again as the new current version.
//
// With AppRole, the token's policy needs:
//
//	path "secret/data/<prefix>/*"     { capabilities = ["create", "read", "update"] }
//	path "secret/metadata/<prefix>/*" { capabilities = ["read", "delete"] }
package vault
