package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/internal/serve"
	"github.com/parlae/sikka-connect/mocksikka"
)

// errUsage marks errors in the command line or the environment.
var errUsage = errors.New("usage")

// shutdownTimeout bounds how long requests in flight may finish after a signal.
const shutdownTimeout = 5 * time.Second

// settings is the parsed command line and environment.
type settings struct {
	addr      string
	logFormat string
	opts      []mocksikka.Option
	// healthcheck: probe the mock at addr instead of serving.
	healthcheck bool
	// timeouts of the server; parse sets serve.DefaultTimeouts (tests set
	// small ones).
	timeouts serve.Timeouts
}

// envNames maps each flag to the environment variable that supplies it when it is not given.
var envNames = map[string]string{
	"addr":                    "MOCKSIKKA_ADDR",
	"config":                  "MOCKSIKKA_CONFIG",
	"auto-approve":            "MOCKSIKKA_AUTO_APPROVE",
	"key-ttl":                 "MOCKSIKKA_KEY_TTL",
	"code-ttl":                "MOCKSIKKA_CODE_TTL",
	"refresh-invalidates-old": "MOCKSIKKA_REFRESH_INVALIDATES_OLD",
	"log-format":              "MOCKSIKKA_LOG_FORMAT",
	"admin-host":              "MOCKSIKKA_ADMIN_HOST",
	"rate-limit":              "MOCKSIKKA_RATE_LIMIT",
	"webhook-url":             "MOCKSIKKA_WEBHOOK_URL", // the webhook flags: webhooks.go
	"webhook-key":             "MOCKSIKKA_WEBHOOK_KEY",
	"data-refresh-interval":   "MOCKSIKKA_DATA_REFRESH_INTERVAL",
	"webhook-retry":           "MOCKSIKKA_WEBHOOK_RETRY",
	"webhook-timeout":         "MOCKSIKKA_WEBHOOK_TIMEOUT",
	"writeback-delay":         "MOCKSIKKA_WRITEBACK_DELAY",
	"data-seed":               "MOCKSIKKA_DATA_SEED",
	"data-patients":           "MOCKSIKKA_DATA_PATIENTS",
	"data-appointments":       "MOCKSIKKA_DATA_APPOINTMENTS",
	"data-fixture":            "MOCKSIKKA_DATA_FIXTURE",
}

// hostList is a repeatable flag of comma-separated hosts.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	for _, host := range strings.Split(v, ",") {
		if host = strings.TrimSpace(host); host != "" {
			*h = append(*h, host)
		}
	}
	return nil
}

// parse reads flags, then the environment for flags not given, then the config file;
// precedence: flag, environment, config file, defaults.
func parse(args []string, getenv func(string) string, stderr io.Writer) (settings, error) {
	fs := flag.NewFlagSet("mocksikka", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8089", "`host:port` to listen on; port 0 picks a free port")
	config := fs.String("config", "", "JSON configuration `file` (apps, practices, key_ttl, code_ttl, auto_approve, refresh_invalidates_old, admin_hosts,\n"+
		"rate_limit, daily_request_limit, daily_data_limit, webhooks, data_refresh_interval, webhook_retry_intervals, webhook_timeout,\n"+
		"writeback_delay)")
	auto := fs.String("auto-approve", "", "`office_id` that the consent page approves at once, without showing the page")
	keyTTL := fs.Duration("key-ttl", mocksikka.DefaultKeyTTL, "lifetime of request and refresh keys")
	codeTTL := fs.Duration("code-ttl", mocksikka.DefaultCodeTTL, "lifetime of authorization codes")
	invalidate := fs.Bool("refresh-invalidates-old", true, "a refresh revokes the request key issued last with that refresh key (Sikka's behaviour is\n"+
		"undocumented); the refresh key itself always stays usable until deleted")
	rateLimit := fs.Int("rate-limit", 0, "calls each app may make per 60 s window (X-Rate-Limit-*); one more answers 429. 0: no limit")
	wbDelay := fs.Duration("writeback-delay", mocksikka.DefaultWritebackDelay, "how long (mock clock) a writeback stays pending before the mock's SPU processes it; 0s: at once")
	dataSeed := fs.Int64("data-seed", mocksikka.DefaultDataSeed, "seed of each practice's synthetic data (patients, appointments, transactions…); the same seed\n"+
		"    \tand mock-clock date give the same data")
	dataPatients := fs.Int("data-patients", mocksikka.DefaultDataPatients, "patients per practice in the synthetic data")
	dataAppointments := fs.Int("data-appointments", mocksikka.DefaultDataAppointments, "appointments per practice in the synthetic data")
	dataFixture := fs.String("data-fixture", "", "JSON `file` of practice data that extends or replaces the synthetic data: one object or an array of\n"+
		"    \t{\"office_id\",\"practice_id\",\"replace\":bool,\"patients\":[{…}],\"appointments\":[…],…}")
	logFormat := fs.String("log-format", "text", "request log on stderr: `text` or json")
	var adminHosts hostList
	var hooks webhookFlags
	hooks.register(fs)
	fs.Var(&adminHosts, "admin-host", "`host[:port]` whose requests the admin API under /_mock/ answers besides loopback ones (e.g. mocksikka:8089); repeatable or comma separated")
	healthcheck := fs.Bool("healthcheck", false, "instead of serving, GET /healthz of the mock listening on -addr (on 127.0.0.1 when its host is\n"+
		"    \t0.0.0.0 or empty) within 3s; exit 0 on 200 OK, else print why and exit 1. For container healthchecks:\n"+
		"    \tthe image has no curl")
	usage := func() {
		fmt.Fprintf(stderr, "Usage: mocksikka [flags]\n\n"+
			"Serves the mock Sikka API until SIGINT or SIGTERM. Prints the base URL as the first line of\n"+
			"stdout; logs requests to stderr with secrets masked. Admin API under /_mock/.\n"+
			"Defaults: app %s, office %s (Happy Dental Clinic, Dentrix) and two more.\n"+
			"Also serves /healthz and /readyz (200 while serving), not logged.\n\n"+
			"Each flag but -healthcheck falls back to an environment variable; precedence: flag, environment,\n"+
			"config file.\n\n",
			mocksikka.DefaultAppID, mocksikka.DefaultOfficeID)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			if name != "" {
				name = " " + name
			}
			fmt.Fprintf(stderr, "  -%s%s\n    \t%s", f.Name, name, usage)
			var notes []string
			if env := envNames[f.Name]; env != "" {
				notes = append(notes, "env "+env)
			}
			if f.DefValue != "" && f.Name != "healthcheck" {
				notes = append(notes, "default "+f.DefValue)
			}
			if len(notes) > 0 {
				fmt.Fprintf(stderr, " (%s)", strings.Join(notes, "; "))
			}
			fmt.Fprintln(stderr)
		})
	}
	// The flag package prints parse errors followed by the whole usage;
	// mocksikka prints one line instead, and the usage only for -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return settings{}, err
		}
		return settings{}, fmt.Errorf("%w: %w (run mocksikka -h for the flags)", errUsage, err)
	}
	if fs.NArg() > 0 {
		return settings{}, fmt.Errorf("%w: unexpected arguments %q (mocksikka takes flags only; run mocksikka -h)", errUsage, fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, env := range envNames {
		if v := getenv(env); v != "" && !given[name] {
			if err := fs.Set(name, v); err != nil {
				return settings{}, fmt.Errorf("%w: %s=%q: %w", errUsage, env, v, err)
			}
			given[name] = true
		}
	}
	if *logFormat != "text" && *logFormat != "json" {
		return settings{}, fmt.Errorf("%w: -log-format must be text or json, not %q", errUsage, *logFormat)
	}
	if *keyTTL <= 0 || *codeTTL <= 0 {
		return settings{}, fmt.Errorf("%w: -key-ttl and -code-ttl must be positive", errUsage)
	}
	if *wbDelay < 0 {
		return settings{}, fmt.Errorf("%w: -writeback-delay must not be negative (0s processes writebacks at once)", errUsage)
	}
	if *rateLimit < 0 {
		return settings{}, fmt.Errorf("%w: -rate-limit must be 0 (no limit) or a positive number of calls per 60 s", errUsage)
	}

	var cfg mocksikka.Config // the config file's, for checking the fixtures against its practices
	s := settings{addr: *addr, logFormat: *logFormat, healthcheck: *healthcheck, timeouts: serve.DefaultTimeouts()}
	if *config != "" {
		c, err := mocksikka.LoadConfig(*config)
		if err != nil {
			return settings{}, err
		}
		cfg = c
		s.opts = c.Options()
	}
	if given["auto-approve"] {
		s.opts = append(s.opts, mocksikka.WithAutoApprove(*auto))
	}
	if given["key-ttl"] {
		s.opts = append(s.opts, mocksikka.WithKeyTTL(*keyTTL))
	}
	if given["code-ttl"] {
		s.opts = append(s.opts, mocksikka.WithCodeTTL(*codeTTL))
	}
	if given["refresh-invalidates-old"] {
		s.opts = append(s.opts, mocksikka.WithRefreshInvalidatesOld(*invalidate))
	}
	if given["rate-limit"] {
		s.opts = append(s.opts, mocksikka.WithRateLimit(*rateLimit))
	}
	if given["writeback-delay"] {
		s.opts = append(s.opts, mocksikka.WithWritebackDelay(*wbDelay))
	}
	if given["data-seed"] {
		s.opts = append(s.opts, mocksikka.WithDataSeed(*dataSeed))
	}
	if given["data-patients"] || given["data-appointments"] {
		if *dataPatients < 1 || *dataAppointments < 1 || *dataPatients > mocksikka.MaxDataRows || *dataAppointments > mocksikka.MaxDataRows {
			return settings{}, fmt.Errorf("%w: -data-patients and -data-appointments must be from 1 to %d", errUsage, mocksikka.MaxDataRows)
		}
		p, a := 0, 0
		if given["data-patients"] {
			p = *dataPatients
		}
		if given["data-appointments"] {
			a = *dataAppointments
		}
		s.opts = append(s.opts, mocksikka.WithDataSize(p, a))
	}
	if *dataFixture != "" {
		fixtures, err := mocksikka.LoadDataFixtures(*dataFixture)
		if err != nil {
			return settings{}, err
		}
		check := cfg
		check.DataFixtures = append(append([]mocksikka.DataFixture(nil), cfg.DataFixtures...), fixtures...)
		if err := check.Validate(); err != nil {
			return settings{}, fmt.Errorf("-data-fixture %s: %w", *dataFixture, err)
		}
		s.opts = append(s.opts, mocksikka.WithDataFixture(fixtures...))
	}
	if given["admin-host"] {
		if err := (mocksikka.Config{AdminHosts: adminHosts}).Validate(); err != nil {
			return settings{}, fmt.Errorf("%w: -admin-host %q: give host or host:port values such as mocksikka:8089", errUsage, adminHosts.String())
		}
		s.opts = append(s.opts, mocksikka.WithAdminHosts(adminHosts...))
	}
	hookOpts, err := hooks.options(given)
	if err != nil {
		return settings{}, err
	}
	s.opts = append(s.opts, hookOpts...)
	return s, nil
}

// run serves the mock until ctx ends, then shuts down, waiting up to shutdownTimeout for
// requests in flight (a fault's delay ends at once). -h prints the usage and returns nil;
// -healthcheck probes a running mock instead of serving. A start-up error says what failed
// and what to do.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s, err := parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.healthcheck {
		return serve.Healthcheck(ctx, s.addr, "mocksikka")
	}
	return serveMock(ctx, s, stdout, stderr)
}

// serveMock is run after the settings are parsed.
func serveMock(ctx context.Context, s settings, stdout, stderr io.Writer) error {
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if s.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)
	mock := mocksikka.New(append(s.opts, mocksikka.WithLogger(log))...)
	defer mock.Close() // stops its timers and webhooks

	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen on -addr %s: %w (%s)", s.addr, err, serve.ListenHint(err, "addr", envNames["addr"], "127.0.0.1:8089"))
	}
	url := serve.LocalURL(ln.Addr())
	if _, err := fmt.Fprintln(stdout, url); err != nil {
		ln.Close()
		return fmt.Errorf("print base URL: %w", err)
	}
	log.Info("mocksikka listening", "url", url, "app_id", mocksikka.DefaultAppID)

	base, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	srv := s.timeouts.Server(withHealth(mock))
	srv.BaseContext = func(net.Listener) context.Context { return base }
	srv.ErrorLog = slog.NewLogLogger(h, slog.LevelWarn)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("mocksikka shutting down")
	cancelRequests()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	<-served // http.ErrServerClosed
	return nil
}
