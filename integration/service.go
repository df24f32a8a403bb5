package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/parlae/sikka-connect/internal/hookrun"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/sikka"
)

// Defaults of Config.
const (
	DefaultRefreshMargin    = time.Hour
	DefaultSweepConcurrency = 4
	DefaultSweepPageSize    = 500
	DefaultHookTimeout      = 10 * time.Second
	// refreshTimeout bounds one refresh, which runs detached from the
	// context of the caller that started it (others may be waiting on it).
	refreshTimeout = time.Minute
)

// Hooks tell the host application about state changes. Each is optional, is
// called only after the change is durable (secret and record written), runs
// in its own goroutine with a context bounded by Config.HookTimeout, and may
// be slow or panic without affecting the flow (a panic is logged).
type Hooks struct {
	// Connected: an account completed a connect (r is ACTIVE).
	Connected func(ctx context.Context, r Record)
	// Refreshed: the account's key was renewed and the new credentials
	// are stored; r is the record with the new KeyExpiry (unlike x/oauth2,
	// a host can learn of every refresh). Hooks hand records, never
	// secrets: a host that needs the credentials asks Service.Credentials.
	Refreshed func(ctx context.Context, r Record)
	// NeedsReauth: the keys could not be renewed by refresh nor by the
	// office credentials; r is now NEEDS_REAUTH. cause says why.
	NeedsReauth func(ctx context.Context, r Record, cause error)
	// RefreshFailed: a refresh that was due did not happen (Sikka
	// unavailable, or the new credentials could not be stored); r is
	// unchanged and a later call or sweep tries again. err says why. A
	// refusal of the keys is NeedsReauth instead.
	RefreshFailed func(ctx context.Context, r Record, err error)
	// Disconnected: the account disconnected (r is REVOKED). Called once,
	// by the Disconnect that marked the record, after its attempt to delete
	// the secret (a secret it could not delete is left to a retry or to
	// Reconcile, without a second call).
	Disconnected func(ctx context.Context, r Record)
}

// Config configures a Service. Sikka, Secrets and Records are required.
type Config struct {
	Sikka   *sikka.Client
	Secrets secretstore.Store
	Records Repository
	// Nonces keeps the nonces of connect-flow states for the HTTP layer
	// (Service.Nonces; middleware.Config.Nonces defaults to it). Default:
	// Records, which holds every role, so one storage value serves the
	// service and its routes; set it only to keep the nonces elsewhere.
	Nonces NonceStore
	// SecretNames names each account's secret; default
	// secretstore.DefaultNameTemplate ("parlae/pms/sikka/{accountId}").
	SecretNames secretstore.NameTemplate
	// RefreshMargin: keys with less than this left are renewed before use
	// and by sweeps. Default DefaultRefreshMargin (1h).
	RefreshMargin time.Duration
	// SweepConcurrency bounds parallel refreshes in RefreshDue. Default 4.
	SweepConcurrency int
	// SweepPageSize is how many due records RefreshDue reads at a time.
	// Default 500.
	SweepPageSize int
	// Hooks are called after durable state changes.
	Hooks Hooks
	// HookTimeout bounds each hook call. Default 10s.
	HookTimeout time.Duration
	// Logger receives the service's logs; never a secret. Default: discard.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Connecting a practice that onboarded through the Sikka Marketplace
	// (ConnectOffice).
	//
	// VerifyOffice decides whether accountID owns p, a practice Sikka lists
	// as having authorized the app, given the proof the account supplied:
	// nil accepts, an error wrapping ErrInvalidProof refuses (the refusal
	// counts against MaxProofFailures), any other error is a failure (not
	// counted; ConnectOffice returns it). It must neither log nor keep the
	// proof, nor put it in its error. Default DefaultVerifyOffice (the
	// proof is the practice's secret key); a host may match the practice's
	// e-mail or phone against the account's profile instead, or ask an
	// operator.
	VerifyOffice func(ctx context.Context, accountID string, p sikka.Practice, proof string) error
	// MaxProofFailures is how many refused attempts (a refused proof, or an
	// office Sikka does not list for the app) one account, and one office,
	// may make within ProofFailureWindow; further attempts get
	// ErrTooManyAttempts with their proof unchecked. Counted in Records (an
	// AttemptStore), so the limit holds across replicas. Default
	// DefaultMaxProofFailures (5).
	MaxProofFailures int
	// ProofFailureWindow: see MaxProofFailures. Default
	// DefaultProofFailureWindow (15m).
	ProofFailureWindow time.Duration

	// PendingTimeout is how old a connect's PendingFlow marker must be
	// before Reconcile treats the connect as dead and undoes it. Default
	// DefaultPendingTimeout (2m, twice the middleware's connect timeout).
	PendingTimeout time.Duration
	// StageHook, when set, is called synchronously by Connect (and
	// ConnectOffice) after each
	// step (see Stage): for tracing, and for tests that stop a connect at a
	// given point (a crash test kills the process while the hook blocks).
	// It must not call the Service for the same account (Connect holds the
	// account's lock from StagePending on).
	StageHook func(ctx context.Context, accountID string, stage Stage)

	// The connection in use: the credentials cache, HTTPClient and Run.

	// CacheStaleness is how long Credentials and HTTPClient serve an
	// account's credentials from the in-process cache before reading the
	// record and the secret again: the longest a disconnect, reconnect or
	// refresh made by another process goes unseen here (see the package
	// doc). Default DefaultCacheStaleness (5m).
	CacheStaleness time.Duration
	// CacheSize is how many accounts the cache holds at most, the least
	// recently used dropped first. Default DefaultCacheSize (10000).
	CacheSize int
	// RefreshInterval is how often Run calls RefreshDue. Keep it well
	// under RefreshMargin. Default (0) DefaultRefreshInterval (5m); a
	// negative value keeps Run from sweeping.
	RefreshInterval time.Duration
	// ReconcileInterval is how often Run calls Reconcile. Default (0)
	// DefaultReconcileInterval (1m); a negative value keeps Run from
	// reconciling.
	ReconcileInterval time.Duration
	// MaxRateLimitWait bounds how long an HTTPClient request waits for
	// Sikka's rate window (X-Rate-Limit-Reset, Retry-After) to end, before
	// sending when Remaining was 0, and after a 429 before its one retry
	// of a GET; the request's context bounds it too. Default
	// DefaultMaxRateLimitWait (1m).
	MaxRateLimitWait time.Duration
}

// Service connects accounts to their practices, keeps their keys fresh and
// disconnects them. Safe for concurrent use, and for use from several
// processes sharing one database and secret store.
type Service struct {
	cfg     Config
	log     *slog.Logger
	flights singleflight.Group
	cache   *credCache
	rates   rateLimits
}

// NewService checks cfg, fills in its defaults and returns the service.
func NewService(cfg Config) (*Service, error) {
	var missing []string
	if cfg.Sikka == nil {
		missing = append(missing, "Sikka")
	}
	if cfg.Secrets == nil {
		missing = append(missing, "Secrets")
	}
	if cfg.Records == nil {
		missing = append(missing, "Records")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("integration: Config is missing %v", missing)
	}
	if cfg.Nonces == nil {
		cfg.Nonces = cfg.Records
	}
	if cfg.SecretNames == "" {
		cfg.SecretNames = secretstore.DefaultNameTemplate
	}
	if err := cfg.SecretNames.Validate(); err != nil {
		return nil, fmt.Errorf("integration: Config.SecretNames: %w", err)
	}
	if cfg.RefreshMargin <= 0 {
		cfg.RefreshMargin = DefaultRefreshMargin
	}
	if cfg.SweepConcurrency <= 0 {
		cfg.SweepConcurrency = DefaultSweepConcurrency
	}
	if cfg.SweepPageSize <= 0 {
		cfg.SweepPageSize = DefaultSweepPageSize
	}
	if cfg.HookTimeout <= 0 {
		cfg.HookTimeout = DefaultHookTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PendingTimeout <= 0 {
		cfg.PendingTimeout = DefaultPendingTimeout
	}
	if cfg.VerifyOffice == nil {
		cfg.VerifyOffice = DefaultVerifyOffice
	}
	if cfg.MaxProofFailures <= 0 {
		cfg.MaxProofFailures = DefaultMaxProofFailures
	}
	if cfg.ProofFailureWindow <= 0 {
		cfg.ProofFailureWindow = DefaultProofFailureWindow
	}
	if cfg.CacheStaleness <= 0 {
		cfg.CacheStaleness = DefaultCacheStaleness
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.ReconcileInterval == 0 {
		cfg.ReconcileInterval = DefaultReconcileInterval
	}
	if cfg.MaxRateLimitWait <= 0 {
		cfg.MaxRateLimitWait = DefaultMaxRateLimitWait
	}
	cache := newCredCache(cfg.CacheSize, cfg.CacheStaleness)
	cfg.Secrets = cachingStore{Store: cfg.Secrets, cache: cache}
	return &Service{cfg: cfg, log: cfg.Logger, cache: cache}, nil
}

// CheckAccount reports whether accountID can be connected: nil, or an error
// wrapping ErrInvalidAccountID and secretstore.ErrInvalidName whose text
// states the rule (secretstore.AccountIDRule: 1-128 characters among ASCII
// letters, digits and _-.@+=, without ".."; e-mail addresses pass) or, for a
// long SecretNames template, the secret name's limit. It touches nothing:
// call it before sending anyone to Sikka, since Connect refuses the same ids
// only after the practice has authorized.
func (s *Service) CheckAccount(accountID string) error {
	if _, err := s.cfg.SecretNames.Name(accountID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidAccountID, err)
	}
	return nil
}

// Nonces returns the store of connect-flow nonces: Config.Nonces, which
// defaults to Config.Records. The service never uses it itself; the HTTP
// layer (middleware) takes it as the default of its own Config.Nonces, so
// that replicas sharing a database share nonces without further wiring.
func (s *Service) Nonces() NonceStore { return s.cfg.Nonces }

// Status returns the account's record (any status), or ErrNotFound. It never
// touches the secret.
func (s *Service) Status(ctx context.Context, accountID string) (Record, error) {
	return s.cfg.Records.Get(ctx, accountID)
}

// runHook calls fn in its own goroutine, bounded by HookTimeout, recovering
// from panics.
func (s *Service) runHook(ctx context.Context, name, accountID string, fn func(ctx context.Context)) {
	hookrun.Go(ctx, s.log, "integration", s.cfg.HookTimeout, name, fn, "account_id", accountID)
}

// providerError marks Sikka's unavailability (5xx, timeouts, rate limits,
// connection failures) with ErrProviderUnavailable, keeping the cause (and any
// context error) in the chain.
func providerError(err error) error {
	if errors.Is(err, sikka.ErrUnavailable) || errors.Is(err, sikka.ErrRateLimited) {
		return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	return err
}
