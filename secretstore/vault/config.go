package vault

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/parlae/sikka-connect/secretstore"
)

// Defaults of Config.
const (
	DefaultMount        = "secret"
	DefaultAppRoleMount = "approle"
	DefaultTimeout      = 5 * time.Second
)

// Config says how to reach Vault and where the secrets live. Set exactly one
// way to authenticate: Token, or RoleID with SecretID.
type Config struct {
	// Address of the Vault server, e.g. "https://vault.internal:8200".
	// Required.
	Address string

	// Token authenticates with a Vault token. It is not renewed.
	Token string

	// RoleID and SecretID authenticate with AppRole: the store logs in at
	// auth/<AppRoleMount>/login, logs in again shortly before the token's
	// TTL runs out, and once more (retrying the call) when Vault answers 403.
	RoleID   string
	SecretID string
	// AppRoleMount is the AppRole auth mount; default "approle".
	AppRoleMount string

	// Mount is the KV v2 mount; default "secret".
	Mount string
	// Prefix, when set, is put before every name inside the mount, e.g.
	// "prod" stores "parlae/pms/sikka/a1" at secret/data/prod/parlae/pms/sikka/a1.
	Prefix string

	// TLS, when set, configures the client's TLS on top of the VAULT_CACERT,
	// VAULT_CLIENT_CERT... environment variables the Vault client reads.
	TLS *api.TLSConfig

	// Timeout bounds every Store call (all its round trips, retries and a
	// re-login included); default 5s.
	Timeout time.Duration

	// Logger receives logins (Info), re-logins after 403 (Warn) and writes
	// (Debug); names and versions only, never values. Default: discard.
	Logger *slog.Logger
}

// Environment variables read by NewFromEnv.
const (
	EnvAddress      = "VAULT_ADDR"
	EnvToken        = "VAULT_TOKEN"
	EnvRoleID       = "VAULT_ROLE_ID"
	EnvSecretID     = "VAULT_SECRET_ID"
	EnvAppRoleMount = "SIKKA_VAULT_APPROLE_MOUNT"
	EnvMount        = "SIKKA_VAULT_MOUNT"
	EnvPrefix       = "SIKKA_VAULT_PREFIX"
	EnvTimeout      = "SIKKA_VAULT_TIMEOUT"
)

// ConfigFromEnv reads a Config from VAULT_ADDR, VAULT_TOKEN or
// VAULT_ROLE_ID + VAULT_SECRET_ID, SIKKA_VAULT_APPROLE_MOUNT,
// SIKKA_VAULT_MOUNT, SIKKA_VAULT_PREFIX and SIKKA_VAULT_TIMEOUT (a Go
// duration such as "5s"). TLS comes from the Vault client's own variables
// (VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY,
// VAULT_TLS_SERVER_NAME, VAULT_SKIP_VERIFY).
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		Address:      os.Getenv(EnvAddress),
		Token:        os.Getenv(EnvToken),
		RoleID:       os.Getenv(EnvRoleID),
		SecretID:     os.Getenv(EnvSecretID),
		AppRoleMount: os.Getenv(EnvAppRoleMount),
		Mount:        os.Getenv(EnvMount),
		Prefix:       os.Getenv(EnvPrefix),
	}
	if v := os.Getenv(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("secretstore/vault: %s=%q is not a positive duration", EnvTimeout, v)
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

// NewFromEnv is New(ConfigFromEnv()).
func NewFromEnv() (*Store, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// withDefaults validates cfg and fills in the defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Address == "" {
		return cfg, errors.New("secretstore/vault: Config.Address is required")
	}
	hasToken, hasRole := cfg.Token != "", cfg.RoleID != "" || cfg.SecretID != ""
	switch {
	case hasToken && hasRole:
		return cfg, errors.New("secretstore/vault: set either Token or RoleID/SecretID, not both")
	case !hasToken && !hasRole:
		return cfg, errors.New("secretstore/vault: no credentials: set Token, or RoleID and SecretID")
	case hasRole && (cfg.RoleID == "" || cfg.SecretID == ""):
		return cfg, errors.New("secretstore/vault: AppRole needs both RoleID and SecretID")
	}
	if cfg.AppRoleMount == "" {
		cfg.AppRoleMount = DefaultAppRoleMount
	}
	if cfg.Mount == "" {
		cfg.Mount = DefaultMount
	}
	cfg.Mount = strings.Trim(cfg.Mount, "/")
	cfg.AppRoleMount = strings.Trim(cfg.AppRoleMount, "/")
	if err := secretstore.ValidateName(cfg.Mount); err != nil {
		return cfg, fmt.Errorf("secretstore/vault: Config.Mount: %w", err)
	}
	if err := secretstore.ValidateName(cfg.AppRoleMount); err != nil {
		return cfg, fmt.Errorf("secretstore/vault: Config.AppRoleMount: %w", err)
	}
	if cfg.Prefix = strings.Trim(cfg.Prefix, "/"); cfg.Prefix != "" {
		if err := secretstore.ValidateName(cfg.Prefix); err != nil {
			return cfg, fmt.Errorf("secretstore/vault: Config.Prefix: %w", err)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}
