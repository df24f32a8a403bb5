package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/internal/serve"
	"github.com/parlae/sikka-connect/mocksikka"
)

// options are the demo's settings: each flag also reads an environment
// variable, named in its usage text; a flag given on the command line wins.
type options struct {
	addr            string
	publicURL       string
	sikkaURL        string
	oauthURL        string
	mockAddr        string
	appID           string
	appKey          string
	databaseURL     string
	dbMaxConns      int
	secrets         string
	stateKeys       string
	webhookKeys     []string
	refreshInterval time.Duration
	logFormat       string
	// writebackDelay is the in-process mock's writeback delay.
	writebackDelay time.Duration
	// crash safety
	pendingTimeout    time.Duration
	reconcileInterval time.Duration
	pauseAt           string
	// healthcheck: probe the server at addr instead of serving.
	healthcheck bool
	// timeouts of the servers; zero means serve.DefaultTimeouts (tests
	// set small ones).
	timeouts serve.Timeouts
	// now is the demo's clock for the practice data panel; nil means
	// time.Now (tests fix it).
	now func() time.Time
}

// envVars lists, flag by flag, the environment variable each one reads. The
// docker-compose test checks the compose file against it.
var envVars = map[string]string{
	"addr":               "SIKKA_DEMO_ADDR",
	"public-url":         "SIKKA_DEMO_PUBLIC_URL",
	"sikka-url":          "SIKKA_API_URL",
	"oauth-url":          "SIKKA_OAUTH_URL",
	"mock-addr":          "SIKKA_DEMO_MOCK_ADDR",
	"app-id":             "SIKKA_APP_ID",
	"app-key":            "SIKKA_APP_KEY",
	"database-url":       "DATABASE_URL",
	"db-max-conns":       "SIKKA_DB_MAX_CONNS",
	"secrets":            "SIKKA_SECRETS",
	"state-keys":         "SIKKA_STATE_KEYS",
	"webhook-keys":       "SIKKA_WEBHOOK_KEYS",
	"refresh-interval":   "SIKKA_REFRESH_INTERVAL",
	"log-format":         "SIKKA_LOG_FORMAT",
	"pending-timeout":    "SIKKA_PENDING_TIMEOUT",
	"reconcile-interval": "SIKKA_RECONCILE_INTERVAL",
	"pause-at":           "SIKKA_DEMO_PAUSE_AT",
	"writeback-delay":    "SIKKA_DEMO_WRITEBACK_DELAY",
}

const usageHeader = `sikka-demo: a host app that mounts the sikka-connect middleware.

With no flags it needs no servers: the mock Sikka runs in-process, records
and secrets stay in memory. Open the printed URL and click "Connect PMS".

Demo sign-in: the page signs the browser in as "demo-account";
/demo/login?account=NAME switches account (try a second account to see
"This practice is already connected to another account.").
Demo only: that sign-in is a cookie anyone can set, switched by a plain
GET; run the demo on your own machine, never expose it to others.

Other endpoints: /healthz (200 "ok" while serving), /readyz (200 when
PostgreSQL, the secret store and Sikka's API answer, else 503 naming the
failing ones), /metrics (Prometheus). Once connected, the setup page's
"Practice data" panel reads /demo/practice-data (the patient count and the
next five appointments) and books a test appointment as a writeback (POST
/demo/book-test-appointment, then GET /demo/writeback?id=), all through the
account's HTTP client (integration.Service.HTTPClient).

Secret stores (-secrets) read their own environment:
  vault  VAULT_ADDR, VAULT_TOKEN (or VAULT_ROLE_ID + VAULT_SECRET_ID),
         SIKKA_VAULT_MOUNT (default secret), SIKKA_VAULT_PREFIX
  awssm  AWS_REGION, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (or any source
         of the AWS credential chain: AWS_PROFILE, instance roles…),
         AWS_ENDPOINT_URL_SECRETS_MANAGER for a local endpoint,
         SIKKA_AWSSM_KMS_KEY_ID, SIKKA_AWSSM_TAGS,
         SIKKA_AWSSM_RECOVERY_WINDOW_DAYS, SIKKA_AWSSM_FORCE_DELETE

Flags (each but -healthcheck also read from the environment variable in
brackets):
`

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sikka-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(envVars[name])); v != "" {
			return v
		}
		return def
	}
	usage := func(name, text string) string { return fmt.Sprintf("%s [%s]", text, envVars[name]) }

	fs.StringVar(&o.addr, "addr", env("addr", "127.0.0.1:8080"), usage("addr", "listen address of the host app; port 0 picks a free one"))
	fs.StringVar(&o.publicURL, "public-url", env("public-url", ""), usage("public-url", "base URL browsers use to reach the host app (default http://<addr>)"))
	fs.StringVar(&o.sikkaURL, "sikka-url", env("sikka-url", ""), usage("sikka-url", "Sikka API base URL (an external mock, or https://api.sikkasoft.com); empty runs the mock in-process"))
	fs.StringVar(&o.oauthURL, "oauth-url", env("oauth-url", ""), usage("oauth-url", "Sikka's authorization page (default <sikka-url>/portal/authapp.aspx)"))
	fs.StringVar(&o.mockAddr, "mock-addr", env("mock-addr", "127.0.0.1:0"), usage("mock-addr", "listen address of the in-process mock Sikka"))
	fs.StringVar(&o.appID, "app-id", env("app-id", mocksikka.DefaultAppID), usage("app-id", "Sikka app id (default: the mock's)"))
	fs.StringVar(&o.appKey, "app-key", env("app-key", mocksikka.DefaultAppKey), usage("app-key", "Sikka app key (default: the mock's)"))
	fs.StringVar(&o.databaseURL, "database-url", env("database-url", ""), usage("database-url", "PostgreSQL URL for the records and state nonces; empty keeps them in memory"))
	maxConns, err := intEnv(getenv, "db-max-conns", 40)
	if err != nil {
		return o, err
	}
	fs.IntVar(&o.dbMaxConns, "db-max-conns", maxConns, usage("db-max-conns", "most PostgreSQL connections the demo opens (and keeps idle); at most half of them hold account locks"))
	fs.StringVar(&o.secrets, "secrets", env("secrets", "memory"), usage("secrets", "secret store: memory, vault or awssm"))
	fs.StringVar(&o.stateKeys, "state-keys", env("state-keys", ""), usage("state-keys", "state signing keys id:base64secret[,…], the first signs; empty makes a random key per run (replicas must share one)"))
	webhookKeys := fs.String("webhook-keys", env("webhook-keys", defaultWebhookKey), usage("webhook-keys", "callback keys Sikka's webhooks must send (comma-separated, several while rotating) to "+webhookPath+"; default: the demo's key"))
	interval, err := durationEnv(getenv, "refresh-interval", 5*time.Minute)
	if err != nil {
		return o, err
	}
	fs.DurationVar(&o.refreshInterval, "refresh-interval", interval, usage("refresh-interval", "how often to sweep keys due for refresh; 0 disables"))
	wbDelay, err := durationEnv(getenv, "writeback-delay", 3*time.Second)
	if err != nil {
		return o, err
	}
	fs.DurationVar(&o.writebackDelay, "writeback-delay", wbDelay, usage("writeback-delay", "how long the in-process mock's writebacks (the page's test booking) stay pending before its SPU completes them (the mock's own default is 30s)"))
	fs.StringVar(&o.logFormat, "log-format", env("log-format", "text"), usage("log-format", "log format on stderr: text or json"))
	pending, err := durationEnv(getenv, "pending-timeout", integration.DefaultPendingTimeout)
	if err != nil {
		return o, err
	}
	fs.DurationVar(&o.pendingTimeout, "pending-timeout", pending, usage("pending-timeout", "age after which the reconciler undoes a connect that never finished (its process died)"))
	reconcile, err := durationEnv(getenv, "reconcile-interval", time.Minute)
	if err != nil {
		return o, err
	}
	fs.DurationVar(&o.reconcileInterval, "reconcile-interval", reconcile, usage("reconcile-interval", "how often to run the reconciler after the run at start; 0 runs it only at start"))
	fs.StringVar(&o.pauseAt, "pause-at", env("pause-at", ""), usage("pause-at", "for crash tests only: block every connect after this stage ("+stageNames()+"), logging \"paused at <stage>\", so the process can be killed there"))
	fs.BoolVar(&o.healthcheck, "healthcheck", false, "instead of serving, GET /healthz of the demo listening on -addr (on 127.0.0.1 when its host is 0.0.0.0 or empty) within 3s; exit 0 on 200 OK, else print why and exit 1. For container healthchecks: the image has no curl")
	// The flag package prints parse errors followed by the whole usage;
	// the demo prints one line instead, and the usage only for -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stderr, usageHeader)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return o, errHelp
		}
		return o, fmt.Errorf("%w (run sikka-demo -h for the flags)", err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q (run with -h for usage)", fs.Args())
	}
	if o.webhookKeys, err = splitKeys(*webhookKeys); err != nil {
		return o, err
	}
	if o.dbMaxConns < 1 {
		return o, fmt.Errorf("-db-max-conns %d: want 1 or more", o.dbMaxConns)
	}
	switch o.secrets {
	case "memory", "vault", "awssm":
	default:
		return o, fmt.Errorf("-secrets %q: want memory, vault or awssm", o.secrets)
	}
	if o.pauseAt != "" && !slices.Contains(integration.Stages(), integration.Stage(o.pauseAt)) {
		return o, fmt.Errorf("-pause-at %q: want one of %s", o.pauseAt, stageNames())
	}
	if o.writebackDelay < 0 {
		return o, fmt.Errorf("-writeback-delay %s: want 0 or more", o.writebackDelay)
	}
	switch o.logFormat {
	case "text", "json":
	default:
		return o, fmt.Errorf("-log-format %q: want text or json", o.logFormat)
	}
	return o, nil
}

func stageNames() string {
	names := make([]string, len(integration.Stages()))
	for i, st := range integration.Stages() {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

func intEnv(getenv func(string) string, name string, def int) (int, error) {
	v := strings.TrimSpace(getenv(envVars[name]))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive whole number", envVars[name], v)
	}
	return n, nil
}

func durationEnv(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(envVars[name]))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a duration such as 5m", envVars[name], v)
	}
	return d, nil
}
