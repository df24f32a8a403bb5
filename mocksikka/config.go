package mocksikka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Config is the mock's configuration as a JSON file holds it. Absent fields keep the defaults:
// with no apps, DefaultApp; with no practices, DefaultPractices.
type Config struct {
	// Apps replace DefaultApp when not empty.
	Apps []App `json:"apps,omitempty"`
	// Practices replace DefaultPractices when not empty.
	Practices []Practice `json:"practices,omitempty"`
	// KeyTTL is the lifetime of keys ("24h"); zero keeps DefaultKeyTTL.
	KeyTTL Duration `json:"key_ttl,omitempty"`
	// CodeTTL is the lifetime of codes ("10m"); zero keeps DefaultCodeTTL.
	CodeTTL Duration `json:"code_ttl,omitempty"`
	// AutoApprove, when set, is the office the consent page approves at once.
	AutoApprove string `json:"auto_approve,omitempty"`
	// RefreshInvalidatesOld, when set, says whether a refresh invalidates the old keys (default true).
	RefreshInvalidatesOld *bool `json:"refresh_invalidates_old,omitempty"`
	// AdminHosts are Host values ("mocksikka:8089", or "mocksikka" for any port) the admin API
	// answers besides the loopback ones; see WithAdminHosts.
	AdminHosts []string `json:"admin_hosts,omitempty"`
	// RateLimit is the calls per app per 60 s (0: off); see WithRateLimit.
	RateLimit int `json:"rate_limit,omitempty"`
	// DailyRequestLimit and DailyDataLimit are the per-practice daily caps (0: off); see
	// WithDailyLimits.
	DailyRequestLimit int   `json:"daily_request_limit,omitempty"`
	DailyDataLimit    int64 `json:"daily_data_limit,omitempty"`
	// OnboardedApps, when present, are the apps every configured practice has onboarded for
	// ([] for none); absent means DefaultAppID. See WithOnboardedApps.
	OnboardedApps *[]string `json:"onboarded_apps,omitempty"`
	// EmptyListOK, when true, answers an empty list 200 with items [] instead of 204; see
	// WithEmptyListOK.
	EmptyListOK bool `json:"empty_list_ok,omitempty"`
	// Webhooks are webhook targets; see WithWebhooks.
	Webhooks []Webhook `json:"webhooks,omitempty"`
	// DataRefreshInterval, when present, is the Data_Refresh schedule's period ("25m"; "0s"
	// off); see WithDataRefreshInterval.
	DataRefreshInterval *Duration `json:"data_refresh_interval,omitempty"`
	// WebhookRetryIntervals are the waits before retries 1 to 5; see WithWebhookRetryIntervals.
	WebhookRetryIntervals []Duration `json:"webhook_retry_intervals,omitempty"`
	// WebhookTimeout bounds each delivery attempt ("10s"); see WithWebhookTimeout.
	WebhookTimeout Duration `json:"webhook_timeout,omitempty"`
	// WritebackDelay is how long writebacks stay pending ("30s"); absent keeps
	// DefaultWritebackDelay, "0s" processes them at once. See WithWritebackDelay.
	WritebackDelay *Duration `json:"writeback_delay,omitempty"`
	// DataSeed, when set, is the seed of the synthetic practice data; see WithDataSeed.
	DataSeed *int64 `json:"data_seed,omitempty"`
	// DataPatients and DataAppointments are each practice's sizes (0: the defaults); see
	// WithDataSize.
	DataPatients     int `json:"data_patients,omitempty"`
	DataAppointments int `json:"data_appointments,omitempty"`
	// DataFixtures are applied to the generated data; see DataFixture and WithDataFixture.
	DataFixtures []DataFixture `json:"data_fixtures,omitempty"`
}

// LoadConfig reads and checks a JSON configuration file. Unknown fields, invalid or duplicate
// apps and practices, and negative TTLs are errors, so that New(cfg.Options()...) cannot panic.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("load mocksikka config: %w", err)
	}
	var c Config
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("load mocksikka config %s: %w", path, err)
	}
	if d.Decode(new(json.RawMessage)) != io.EOF {
		return Config{}, fmt.Errorf("load mocksikka config %s: trailing data after the JSON object: %w", path, ErrInvalid)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("load mocksikka config %s: %w", path, err)
	}
	return c, nil
}

// Validate reports what would make New panic with c.Options(): wraps ErrInvalid or ErrExists
// (a malformed admin host is ErrInvalid).
func (c Config) Validate() error {
	if c.KeyTTL < 0 || c.CodeTTL < 0 {
		return fmt.Errorf("key_ttl and code_ttl must not be negative: %w", ErrInvalid)
	}
	if c.WritebackDelay != nil && *c.WritebackDelay < 0 {
		return fmt.Errorf("writeback_delay must not be negative: %w", ErrInvalid)
	}
	cfg := defaultConfig()
	for _, o := range c.Options() {
		o(&cfg)
	}
	return cfg.validate()
}

// Options turns c into options for New.
func (c Config) Options() []Option {
	var opts []Option
	if len(c.Apps) > 0 {
		opts = append(opts, WithApps(c.Apps...))
	}
	if len(c.Practices) > 0 {
		opts = append(opts, WithPractices(c.Practices...))
	}
	if c.KeyTTL != 0 {
		opts = append(opts, WithKeyTTL(time.Duration(c.KeyTTL)))
	}
	if c.CodeTTL != 0 {
		opts = append(opts, WithCodeTTL(time.Duration(c.CodeTTL)))
	}
	if c.AutoApprove != "" {
		opts = append(opts, WithAutoApprove(c.AutoApprove))
	}
	if c.RefreshInvalidatesOld != nil {
		opts = append(opts, WithRefreshInvalidatesOld(*c.RefreshInvalidatesOld))
	}
	if len(c.AdminHosts) > 0 {
		opts = append(opts, WithAdminHosts(c.AdminHosts...))
	}
	if c.RateLimit != 0 {
		opts = append(opts, WithRateLimit(c.RateLimit))
	}
	if c.DailyRequestLimit != 0 || c.DailyDataLimit != 0 {
		opts = append(opts, WithDailyLimits(c.DailyRequestLimit, c.DailyDataLimit))
	}
	if c.OnboardedApps != nil {
		opts = append(opts, WithOnboardedApps(*c.OnboardedApps...))
	}
	if c.EmptyListOK {
		opts = append(opts, WithEmptyListOK(true))
	}
	opts = append(opts, c.webhookOptions()...)
	if c.WritebackDelay != nil {
		opts = append(opts, WithWritebackDelay(time.Duration(*c.WritebackDelay)))
	}
	if c.DataSeed != nil {
		opts = append(opts, WithDataSeed(*c.DataSeed))
	}
	if c.DataPatients != 0 || c.DataAppointments != 0 {
		opts = append(opts, WithDataSize(c.DataPatients, c.DataAppointments))
	}
	if len(c.DataFixtures) > 0 {
		opts = append(opts, WithDataFixture(c.DataFixtures...))
	}
	return opts
}
