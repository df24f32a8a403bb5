package mocksikka

import (
	"fmt"
	"log/slog"
	"time"
)

// Default settings.
const (
	// DefaultKeyTTL is how long a request key lives (a refresh key lives until deleted).
	DefaultKeyTTL = 24 * time.Hour
	// DefaultCodeTTL is how long an authorization code can be exchanged.
	DefaultCodeTTL = 10 * time.Minute
	// DefaultLimit is the page size of list endpoints when the query has no limit.
	DefaultLimit = 50
	// MaxLimit is the largest page size; a larger limit is lowered to it.
	MaxLimit = 5000
	// MaxBodyBytes is the largest request body accepted (413 above it).
	MaxBodyBytes = 64 << 10
	// MaxLiveCodes is how many unredeemed authorization codes the mock holds. Issuing one more
	// (consent page, auto-approve, IssueCode) forgets the oldest code issued, which then
	// fails like an unknown one (API1026).
	MaxLiveCodes = 10000
	// MaxLiveKeys is how many request keys, and how many refresh keys, the mock holds. Issuing
	// one more forgets the oldest issued, which then fails like an unknown one (API1004 for a
	// request key, API2003 for a refresh key).
	MaxLiveKeys = 10000
	// ExpiredKeyMemory is how long the mock remembers an expired request key, answering
	// API1025 (expired) for it; after that it is forgotten and answers API1004 (unknown).
	ExpiredKeyMemory = 7 * 24 * time.Hour
	// RateWindow is the window of the per-app rate limit (X-Rate-Limit-*), as Sikka's.
	RateWindow = 60 * time.Second
	// UnlimitedRate is the per-app limit announced when no rate limit is set: high enough
	// never to be reached.
	UnlimitedRate = 1<<31 - 1
	// SweepInterval is how often, at most, in mock-clock time, issuing a code or a key also
	// forgets every expired code and key.
	SweepInterval = time.Minute
)

// config is the initial state a Server is built from and returns to on Reset.
type config struct {
	apps                  []App
	practices             []Practice
	keyTTL                time.Duration
	codeTTL               time.Duration
	autoApprove           string
	refreshInvalidatesOld bool
	clockStart            time.Time // zero: real time
	logger                *slog.Logger
	adminHosts            []string // Host values, besides loopback ones, the admin API answers
	limits                Limits
	listing               listing       // the practice lists' settings (authorized.go)
	webhooks              webhookConfig // webhook targets and settings (webhook.go)

	data dataConfig // the practice data's seed, sizes and fixtures (datagen.go)

	writebackDelay time.Duration // how long writebacks stay pending (writeback.go)
}

// Limits are the mock's rate limits; a zero field is off.
type Limits struct {
	// PerApp is how many calls an app may make per RateWindow (60 s); 0 is UnlimitedRate.
	PerApp int `json:"rate_limit,omitempty"`
	// DailyRequests is how many request-key calls a practice (office) may make per day
	// (UTC, mock clock); over it, 429 API2012.
	DailyRequests int `json:"daily_request_limit,omitempty"`
	// DailyBytes is how many bytes of answers (uncompressed) a practice (office) may receive
	// per day (UTC, mock clock) through request-key calls; once reached, 429 API2011.
	DailyBytes int64 `json:"daily_data_limit,omitempty"`
}

// check reports a negative limit.
func (l Limits) check() error {
	if l.PerApp < 0 || l.DailyRequests < 0 || l.DailyBytes < 0 {
		return fmt.Errorf("rate limits must not be negative: %w", ErrInvalid)
	}
	return nil
}

// Option changes one setting of New.
type Option func(*config)

func defaultConfig() config {
	return config{
		apps:                  []App{DefaultApp()},
		practices:             DefaultPractices(),
		keyTTL:                DefaultKeyTTL,
		codeTTL:               DefaultCodeTTL,
		refreshInvalidatesOld: true,
		logger:                slog.New(slog.DiscardHandler),
		writebackDelay:        DefaultWritebackDelay,
	}
}

// WithApps registers apps instead of DefaultApp.
func WithApps(apps ...App) Option {
	return func(c *config) { c.apps = append([]App(nil), apps...) }
}

// WithPractices configures practices instead of DefaultPractices; their order is the order of
// every listing and of the consent page.
func WithPractices(ps ...Practice) Option {
	return func(c *config) { c.practices = append([]Practice(nil), ps...) }
}

// WithKeyTTL sets how long request and refresh keys live (default DefaultKeyTTL, 24h).
func WithKeyTTL(d time.Duration) Option { return func(c *config) { c.keyTTL = d } }

// WithCodeTTL sets how long an authorization code can be exchanged (default DefaultCodeTTL, 10m).
func WithCodeTTL(d time.Duration) Option { return func(c *config) { c.codeTTL = d } }

// WithLogger logs one line per request to l (default: no logging). Codes, keys, secret keys,
// app keys and state values never reach the log.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithAutoApprove makes GET /portal/authapp.aspx skip the consent page and redirect at once
// with a code for officeID, after the usual app and redirect URI checks (default: off).
func WithAutoApprove(officeID string) Option { return func(c *config) { c.autoApprove = officeID } }

// WithRefreshInvalidatesOld sets whether a refresh_key grant revokes the request key issued
// last with that refresh key (default true; Sikka's documentation does not say). When false,
// the old request key stays usable until it expires. Either way the refresh key itself stays
// usable until it is deleted.
func WithRefreshInvalidatesOld(b bool) Option {
	return func(c *config) { c.refreshInvalidatesOld = b }
}

// WithClock freezes the mock's clock at start: it then moves only through Advance and SetTime,
// and Reset puts it back at start. Without it the clock is real time plus the offsets that
// Advance and SetTime add.
func WithClock(start time.Time) Option { return func(c *config) { c.clockStart = start } }

// WithAdminHosts lets the admin API under /_mock/ answer requests whose Host header is one of
// hosts, besides the loopback ones it always answers (127.0.0.1 and other 127.x.x.x, [::1],
// localhost, any port). A host given with a port ("mocksikka:8089") matches only that port; a
// bare host ("mocksikka") matches any port or none. Names match case-insensitively. Every other
// Host gets 403 on /_mock/ (the API routes answer any Host), which keeps a web page that
// rebinds its own name to the mock's address (DNS rebinding) away from the admin API. Each
// call replaces the hosts of an earlier one. New panics on a host that is empty or carries a
// scheme, path, user info, comma or space.
func WithAdminHosts(hosts ...string) Option {
	return func(c *config) { c.adminHosts = append([]string(nil), hosts...) }
}

// WithRateLimit lets each app make n calls per RateWindow (60 s); one more answers 429 with
// X-Rate-Limit-Remaining 0 until the window ends. 0 (the default) is off: UnlimitedRate.
func WithRateLimit(n int) Option { return func(c *config) { c.limits.PerApp = n } }

// WithDailyLimits caps, per practice (office) and UTC day of the mock clock, the request-key
// calls (requests; over it 429 API2012) and the bytes of their answers (bytes; once reached
// 429 API2011). 0 is off (the default).
func WithDailyLimits(requests int, bytes int64) Option {
	return func(c *config) { c.limits.DailyRequests, c.limits.DailyBytes = requests, bytes }
}

// validate checks c and returns the normalised apps and practices.
func (c *config) validate() error {
	if err := c.limits.check(); err != nil {
		return err
	}
	if c.keyTTL <= 0 || c.codeTTL <= 0 {
		return fmt.Errorf("key and code TTL must be positive: %w", ErrInvalid)
	}
	if c.writebackDelay < 0 {
		return fmt.Errorf("the writeback delay must not be negative: %w", ErrInvalid)
	}
	for _, h := range c.adminHosts {
		if err := checkAdminHost(h); err != nil {
			return err
		}
	}
	seenApp := map[string]bool{}
	for i, a := range c.apps {
		n, err := a.normalize()
		if err != nil {
			return err
		}
		if seenApp[n.ID] {
			return fmt.Errorf("app %s: %w", n.ID, ErrExists)
		}
		seenApp[n.ID] = true
		c.apps[i] = n
	}
	var ps []Practice
	for _, p := range c.practices {
		n, err := checkPractice(ps, p)
		if err != nil {
			return err
		}
		ps = append(ps, n)
	}
	c.practices = ps
	if err := c.webhooks.check(c.apps); err != nil {
		return err
	}
	return c.data.check(ps)
}

// checkPractice normalises p and checks it against the practices already configured: an
// (office_id, practice_id) pair is unique and an office has a single secret key.
func checkPractice(existing []Practice, p Practice) (Practice, error) {
	n, err := p.normalize()
	if err != nil {
		return n, err
	}
	for _, e := range existing {
		if e.OfficeID != n.OfficeID {
			continue
		}
		if e.PracticeID == n.PracticeID {
			return n, fmt.Errorf("practice %s/%s: %w", n.OfficeID, n.PracticeID, ErrExists)
		}
		if e.SecretKey != n.SecretKey {
			return n, fmt.Errorf("office %s has another secret key; an office has one: %w", n.OfficeID, ErrInvalid)
		}
	}
	return n, nil
}
