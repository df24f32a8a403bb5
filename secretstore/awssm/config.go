package awssm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Defaults of Config.
const (
	DefaultRecoveryWindowDays = 30
	DefaultTimeout            = 5 * time.Second
)

// API is the part of *secretsmanager.Client the store uses.
type API interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	RestoreSecret(ctx context.Context, in *secretsmanager.RestoreSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.RestoreSecretOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Config tunes the store. The zero Config is usable.
type Config struct {
	// KMSKeyID encrypts secrets the store creates (key id, ARN or alias);
	// empty means the account's default key aws/secretsmanager. It applies
	// at creation only.
	KMSKeyID string

	// Tags are attached to secrets the store creates (at CreateSecret).
	Tags map[string]string

	// RecoveryWindowDays is how long a deleted secret can be recovered
	// (7 to 30); default 30. While it runs, the secret reads as ErrNotFound,
	// and a Put of the same name restores it and writes the new value.
	RecoveryWindowDays int64

	// ForceDeleteWithoutRecovery makes Delete immediate and final (tests).
	ForceDeleteWithoutRecovery bool

	// Timeout bounds every Store call, all its round trips included;
	// default 5s.
	Timeout time.Duration

	// Logger receives writes and deletes at Debug level (names, ARNs and
	// version ids, never values). Default: discard.
	Logger *slog.Logger
}

// Environment variables read by ConfigFromEnv, besides the AWS SDK's own.
const (
	EnvKMSKeyID     = "SIKKA_AWSSM_KMS_KEY_ID"
	EnvTags         = "SIKKA_AWSSM_TAGS" // "k1=v1,k2=v2"
	EnvRecoveryDays = "SIKKA_AWSSM_RECOVERY_WINDOW_DAYS"
	EnvForceDelete  = "SIKKA_AWSSM_FORCE_DELETE"
	EnvTimeout      = "SIKKA_AWSSM_TIMEOUT"
)

// ConfigFromEnv reads a Config from SIKKA_AWSSM_KMS_KEY_ID, SIKKA_AWSSM_TAGS
// ("k1=v1,k2=v2"), SIKKA_AWSSM_RECOVERY_WINDOW_DAYS, SIKKA_AWSSM_FORCE_DELETE
// (a bool) and SIKKA_AWSSM_TIMEOUT (a Go duration).
func ConfigFromEnv() (Config, error) {
	cfg := Config{KMSKeyID: os.Getenv(EnvKMSKeyID)}
	if v := os.Getenv(EnvTags); v != "" {
		cfg.Tags = map[string]string{}
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return Config{}, fmt.Errorf("secretstore/awssm: %s: %q is not key=value", EnvTags, kv)
			}
			cfg.Tags[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
	}
	if v := os.Getenv(EnvRecoveryDays); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Config{}, fmt.Errorf("secretstore/awssm: %s=%q is not a number", EnvRecoveryDays, v)
		}
		cfg.RecoveryWindowDays = n
	}
	if v := os.Getenv(EnvForceDelete); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("secretstore/awssm: %s=%q is not a bool", EnvForceDelete, v)
		}
		cfg.ForceDeleteWithoutRecovery = b
	}
	if v := os.Getenv(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("secretstore/awssm: %s=%q is not a positive duration", EnvTimeout, v)
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

// NewFromEnv builds the client from the AWS SDK's default chain
// (config.LoadDefaultConfig: AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID...,
// instance and container roles, and AWS_ENDPOINT_URL_SECRETS_MANAGER for a
// local endpoint) and the store from ConfigFromEnv.
func NewFromEnv(ctx context.Context) (*Store, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("secretstore/awssm: AWS config: %w", err)
	}
	return New(secretsmanager.NewFromConfig(awsCfg), cfg)
}

func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.RecoveryWindowDays == 0:
		cfg.RecoveryWindowDays = DefaultRecoveryWindowDays
	case cfg.RecoveryWindowDays < 7 || cfg.RecoveryWindowDays > 30:
		return cfg, fmt.Errorf("secretstore/awssm: RecoveryWindowDays %d is outside 7..30", cfg.RecoveryWindowDays)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

var errNilClient = errors.New("secretstore/awssm: nil client")
