package mocksikka

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The mock sends Sikka's webhooks (SIKKA_API.md section 10); the package doc's "Webhooks"
// section states what a user sees. How: targets, the Data_Refresh schedule and the waiting
// deliveries live in Server.hooks under s.mu. One clock task (webhookTask, schedule.go)
// raises the scheduled Data_Refresh and starts the deliveries due; the change listener
// (webhookChange, change.go) raises the data events. Each attempt is a goroutine that POSTs
// without the lock, then records its outcome and runs the clock again (retries, deliveries
// that waited for a free slot). Reset bumps an epoch so that a send of before the Reset
// changes nothing; Close cancels the sends in flight and waits for them.

// Webhook events, as Sikka names them.
const (
	EventDataRefresh  = "Data_Refresh"
	EventPatient      = "patient"
	EventTransaction  = "transaction"
	EventAppointments = "appointments"
)

// webhookEvents are the events a target can receive, in the order of Sikka's documentation.
var webhookEvents = []string{EventDataRefresh, EventPatient, EventTransaction, EventAppointments}

// Webhook settings and bounds.
const (
	// DefaultDataRefreshInterval is how often, on the mock clock, the SPU refreshes each
	// practice's data and Data_Refresh is sent: Sikka's example's "25 Minutes".
	DefaultDataRefreshInterval = 25 * time.Minute
	// DefaultWebhookTimeout is how long (real time) the mock waits for a target's answer to
	// one attempt before counting it as failed.
	DefaultWebhookTimeout = 10 * time.Second
	// WebhookRetries is how many times a failed delivery is retried after its first attempt,
	// as Sikka documents; when the last retry fails the target becomes inactive.
	WebhookRetries = 5
	// MaxWebhookSends is how many deliveries may be in flight at once.
	MaxWebhookSends = 4
	// MaxWebhookQueue is how many deliveries may wait (pending or held) at once; an event
	// beyond it is recorded as dropped.
	MaxWebhookQueue = 1000
	// MaxWebhookLog is how many finished deliveries WebhookDeliveries keeps at least.
	MaxWebhookLog = 1000
)

// DefaultWebhookRetryIntervals returns the waits before retries 1 to 5 (Sikka does not state
// them): 1m, 5m, 15m, 30m and 1h on the mock clock.
func DefaultWebhookRetryIntervals() []time.Duration {
	return []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}
}

// Webhook is one webhook target of an app, as set in Sikka's developer portal.
type Webhook struct {
	// AppID is the app the target belongs to; empty means the first configured app (the
	// default app when none is configured). The target receives the events of the offices
	// this app sees in authorized_practices.
	AppID string `json:"app_id,omitempty"`
	// URL is where deliveries are POSTed: an absolute http or https URL.
	URL string `json:"url"`
	// Key is sent as the callback-key header. It is a secret: formatting a Webhook or
	// logging it with slog shows "***", and it never appears in the log, the journal, the
	// deliveries or the admin API's answers (only a config file's JSON holds it).
	Key string `json:"callback_key"`
	// Events are the events sent to the target (Data_Refresh, patient, transaction,
	// appointments); empty means all four.
	Events []string `json:"events,omitempty"`
}

// Format writes w with its Key masked, for every verb.
func (w Webhook) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "{AppID:%s URL:%s Key:*** Events:%v}", w.AppID, maskURL(w.URL), w.Events)
}

// LogValue logs w with its Key masked.
func (w Webhook) LogValue() slog.Value {
	return slog.GroupValue(slog.String("app_id", w.AppID), slog.String("url", maskURL(w.URL)),
		slog.String("callback_key", "***"), slog.Any("events", w.Events))
}

// normalize checks w and fills its defaults; firstApp is the app an empty AppID means.
func (w Webhook) normalize(firstApp string) (Webhook, error) {
	if w.AppID == "" {
		w.AppID = firstApp
	}
	if w.AppID == "" {
		return w, fmt.Errorf("webhook: no app is configured to own it; give app_id: %w", ErrInvalid)
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return w, fmt.Errorf("webhook url %q must be an absolute http(s) URL without fragment: %w", maskURL(w.URL), ErrInvalid)
	}
	if w.Key == "" {
		return w, fmt.Errorf("webhook %s: give the callback_key it sends as the callback-key header: %w", maskURL(w.URL), ErrInvalid)
	}
	w.Events = slices.Clone(w.Events)
	if len(w.Events) == 0 {
		w.Events = slices.Clone(webhookEvents)
	}
	for _, e := range w.Events {
		if !slices.Contains(webhookEvents, e) {
			return w, fmt.Errorf("webhook event %q: give Data_Refresh, patient, transaction or appointments: %w", clip(e), ErrInvalid)
		}
	}
	return w, nil
}

// WebhookStatus is a webhook target as the admin API lists it; the callback key is not shown.
type WebhookStatus struct {
	// ID names the target in RemoveWebhook and ReactivateWebhook ("1", "2"…; Reset numbers
	// the configured ones again from "1").
	ID    string `json:"id"`
	AppID string `json:"app_id"`
	// URL is the target URL with query values and password masked.
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Active is false once a delivery failed its last retry, until ReactivateWebhook.
	Active bool `json:"active"`
}

// WebhookDelivery is one event sent (or to be sent) to one target.
type WebhookDelivery struct {
	// ID numbers deliveries from 1 in the order the events were raised (again from 1 after Reset).
	ID         int    `json:"id"`
	WebhookID  string `json:"webhook_id"`
	Event      string `json:"event"`
	OfficeID   string `json:"office_id"`
	PracticeID string `json:"practice_id"`
	// Raised is when the event was raised, on the mock clock.
	Raised time.Time `json:"raised"`
	// State is "pending" (waiting for its next attempt), "held" (pending while the office's SPU
	// is offline), "sending", "delivered", "failed" (the last retry failed) or "dropped"
	// (never sent, or not retried: Reason says why).
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// NextAttempt is when a pending delivery is due, on the mock clock.
	NextAttempt *time.Time       `json:"next_attempt,omitempty"`
	Attempts    []WebhookAttempt `json:"attempts"`
	// Payload is the JSON body sent.
	Payload json.RawMessage `json:"payload"`
}

// WebhookAttempt is one POST of a delivery.
type WebhookAttempt struct {
	// Time is when it was sent, on the mock clock.
	Time time.Time `json:"time"`
	// Status is the target's HTTP status; 0 when there was no answer.
	Status int `json:"status,omitempty"`
	// Error says why there was no answer ("timeout after 10s", a connection error).
	Error string `json:"error,omitempty"`
}

// WebhookSettings are the webhook settings that can change while the mock runs.
type WebhookSettings struct {
	// DataRefreshInterval is the Data_Refresh schedule's period on the mock clock; 0 is off.
	DataRefreshInterval time.Duration
	// RetryIntervals are the waits before retries 1 to 5; fewer than 5 repeat the last.
	RetryIntervals []time.Duration
	// Timeout bounds each attempt, in real time.
	Timeout time.Duration
}

// webhookConfig is the webhook part of config; zero fields mean the defaults.
type webhookConfig struct {
	targets    []Webhook
	refresh    time.Duration
	refreshSet bool
	retry      []time.Duration
	timeout    time.Duration
}

func (wc webhookConfig) settings() WebhookSettings {
	ws := WebhookSettings{DataRefreshInterval: DefaultDataRefreshInterval,
		RetryIntervals: DefaultWebhookRetryIntervals(), Timeout: DefaultWebhookTimeout}
	if wc.refreshSet {
		ws.DataRefreshInterval = wc.refresh
	}
	if wc.retry != nil {
		ws.RetryIntervals = slices.Clone(wc.retry)
	}
	if wc.timeout != 0 {
		ws.Timeout = wc.timeout
	}
	return ws
}

// check reports an invalid setting.
func (ws WebhookSettings) check() error {
	if ws.DataRefreshInterval < 0 {
		return fmt.Errorf("data refresh interval must be positive, or 0 to turn the schedule off: %w", ErrInvalid)
	}
	if n := len(ws.RetryIntervals); n < 1 || n > WebhookRetries || slices.ContainsFunc(ws.RetryIntervals, func(d time.Duration) bool { return d <= 0 }) {
		return fmt.Errorf("webhook retry intervals: give 1 to 5 positive durations (the waits before retries 1-5; the last repeats): %w", ErrInvalid)
	}
	if ws.Timeout <= 0 {
		return fmt.Errorf("webhook timeout must be positive: %w", ErrInvalid)
	}
	return nil
}

// retryWait is the wait before retry n (1-based).
func (ws WebhookSettings) retryWait(n int) time.Duration {
	return ws.RetryIntervals[min(n, len(ws.RetryIntervals))-1]
}

// check reports what makes the webhook configuration invalid; apps are the normalised apps.
func (wc *webhookConfig) check(apps []App) error {
	if err := wc.settings().check(); err != nil {
		return err
	}
	first := ""
	if len(apps) > 0 {
		first = apps[0].ID
	}
	for i, w := range wc.targets {
		n, err := w.normalize(first)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(apps, func(a App) bool { return a.ID == n.AppID }) {
			return fmt.Errorf("webhook %s: app %q is not configured: %w", maskURL(n.URL), n.AppID, ErrInvalid)
		}
		wc.targets[i] = n
	}
	return nil
}

// WithWebhooks adds webhook targets (each call adds to the earlier ones). New panics on a
// target without URL or key, with an unknown event, or of an app that is not configured.
func WithWebhooks(ws ...Webhook) Option {
	return func(c *config) { c.webhooks.targets = append(slices.Clone(c.webhooks.targets), ws...) }
}

// WithDataRefreshInterval sets the Data_Refresh schedule's period on the mock clock (default
// DefaultDataRefreshInterval, 25m); 0 turns the schedule off (TriggerWebhook still sends).
func WithDataRefreshInterval(d time.Duration) Option {
	return func(c *config) { c.webhooks.refresh, c.webhooks.refreshSet = d, true }
}

// WithWebhookRetryIntervals sets the waits before retries 1 to 5 on the mock clock (default
// DefaultWebhookRetryIntervals); fewer than five repeat the last, so
// WithWebhookRetryIntervals(10*time.Millisecond) suits a test on a real clock.
func WithWebhookRetryIntervals(ds ...time.Duration) Option {
	return func(c *config) { c.webhooks.retry = append([]time.Duration{}, ds...) }
}

// WithWebhookTimeout bounds each delivery attempt in real time (default DefaultWebhookTimeout, 10s).
func WithWebhookTimeout(d time.Duration) Option {
	return func(c *config) { c.webhooks.timeout = d }
}

// webhookTarget is a configured target and its state.
type webhookTarget struct {
	Webhook
	id      string
	active  bool
	removed bool
}

func (t *webhookTarget) status() WebhookStatus {
	return WebhookStatus{ID: t.id, AppID: t.AppID, URL: maskURL(t.URL), Events: slices.Clone(t.Events), Active: t.active}
}

// delivery is a WebhookDelivery with what sending it needs.
type delivery struct {
	rec    WebhookDelivery
	target *webhookTarget
	due    time.Time // next attempt, on the mock clock
	done   bool      // delivered, failed or dropped
	flying bool      // an attempt is in flight
}

// genKey names the practice and event whose last generation time prev_generated_time gives.
type genKey struct{ office, practice, event string }

// webhookState is the Server's webhook state; s.mu guards it, except the fields fixed in New.
type webhookState struct {
	// fixed after New
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // sends in flight

	settings    WebhookSettings
	targets     []*webhookTarget
	lastID      int
	anchor      time.Time // when the schedule started (New, Reset)
	nextRefresh time.Time // zero: schedule off
	last        map[genKey]time.Time
	pending     []*delivery // unfinished, in the order raised
	log         []*delivery // every delivery, oldest first (trimmed)
	seq         int
	inflight    int
	epoch       int // bumped by Reset: sends of an older epoch change nothing when they end
}

// initWebhooks sets up the sender and registers its clock task and change listener; New calls it.
func (s *Server) initWebhooks() {
	h := &s.hooks
	h.ctx, h.cancel = context.WithCancel(context.Background())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = MaxWebhookSends
	h.client = &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	s.onClock(s.webhookTask)
	s.onChange(s.webhookChange)
}

// resetWebhooksLocked puts the webhook state back to the configuration; Reset calls it.
func (s *Server) resetWebhooksLocked() {
	h := &s.hooks
	c := s.initial.webhooks
	h.epoch++
	h.settings = c.settings()
	h.targets, h.lastID = nil, 0
	for _, w := range c.targets {
		s.addTargetLocked(w)
	}
	h.anchor = s.clock.now()
	h.nextRefresh = time.Time{}
	if d := h.settings.DataRefreshInterval; d > 0 {
		h.nextRefresh = h.anchor.Add(d)
	}
	h.last = map[genKey]time.Time{}
	h.pending, h.log, h.seq = nil, nil, 0
}

// stopWebhooks cancels the deliveries in flight and waits for them; Close calls it without s.mu.
func (s *Server) stopWebhooks() {
	s.hooks.cancel()
	s.hooks.wg.Wait()
	s.hooks.client.CloseIdleConnections()
}

func (s *Server) addTargetLocked(w Webhook) *webhookTarget {
	s.hooks.lastID++
	t := &webhookTarget{Webhook: w, id: strconv.Itoa(s.hooks.lastID), active: true}
	s.hooks.targets = append(s.hooks.targets, t)
	return t
}

// AddWebhook adds a webhook target until the next Reset and returns it. It fails with
// ErrInvalid for a target without URL or key or with an unknown event, and with ErrNotFound
// for an app that is not registered.
func (s *Server) AddWebhook(w Webhook) (WebhookStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := ""
	if len(s.apps) > 0 {
		first = s.apps[0].ID
	}
	n, err := w.normalize(first)
	if err != nil {
		return WebhookStatus{}, fmt.Errorf("add webhook: %w", err)
	}
	if _, ok := s.app(n.AppID); !ok {
		return WebhookStatus{}, fmt.Errorf("add webhook: app %q: %w", n.AppID, ErrNotFound)
	}
	t := s.addTargetLocked(n)
	s.runClockLocked() // the first target arms the Data_Refresh timer
	return t.status(), nil
}

// Webhooks lists the webhook targets in the order they were added.
func (s *Server) Webhooks() []WebhookStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []WebhookStatus{}
	for _, t := range s.hooks.targets {
		out = append(out, t.status())
	}
	return out
}

// targetsLocked returns the target with id, or every target for ""; the caller holds s.mu.
func (s *Server) targetsLocked(id string) ([]*webhookTarget, error) {
	if id == "" {
		return slices.Clone(s.hooks.targets), nil
	}
	for _, t := range s.hooks.targets {
		if t.id == id {
			return []*webhookTarget{t}, nil
		}
	}
	return nil, fmt.Errorf("webhook %q: %w", clip(id), ErrNotFound)
}

// RemoveWebhook removes the target with id ("" removes every target); its waiting
// deliveries are dropped. It fails with ErrNotFound for an unknown id.
func (s *Server) RemoveWebhook(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, err := s.targetsLocked(id)
	if err != nil {
		return fmt.Errorf("remove webhook: %w", err)
	}
	for _, t := range ts {
		t.removed = true
		s.dropPendingLocked(t, "webhook removed")
	}
	s.hooks.targets = slices.DeleteFunc(s.hooks.targets, func(t *webhookTarget) bool { return t.removed })
	return nil
}

// ReactivateWebhook makes the target with id ("" every target) active again: it receives
// the events raised from now on. It fails with ErrNotFound for an unknown id.
func (s *Server) ReactivateWebhook(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, err := s.targetsLocked(id)
	if err != nil {
		return fmt.Errorf("reactivate webhook: %w", err)
	}
	for _, t := range ts {
		t.active = true
	}
	return nil
}

// WebhookSettings returns the current webhook settings.
func (s *Server) WebhookSettings() WebhookSettings {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.hooks.settings
	ws.RetryIntervals = slices.Clone(ws.RetryIntervals)
	return ws
}

// SetWebhookSettings changes the webhook settings until the next Reset. A new Data_Refresh
// interval restarts the schedule from now; new retry intervals apply to retries scheduled
// from now on. It fails with ErrInvalid for a negative interval, retry intervals that are
// not 1 to 5 positive durations, or a non-positive timeout.
func (s *Server) SetWebhookSettings(ws WebhookSettings) error {
	if err := ws.check(); err != nil {
		return fmt.Errorf("webhook settings: %w", err)
	}
	ws.RetryIntervals = slices.Clone(ws.RetryIntervals)
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &s.hooks
	if ws.DataRefreshInterval != h.settings.DataRefreshInterval {
		h.nextRefresh = time.Time{}
		if ws.DataRefreshInterval > 0 {
			h.nextRefresh = s.clock.now().Add(ws.DataRefreshInterval)
		}
	}
	h.settings = ws
	s.runClockLocked()
	return nil
}

// TriggerWebhook raises event for officeID now, as Sikka would: every active target whose
// app sees the office and that takes the event gets a delivery, one per practice of the
// office (practiceID "" means every practice, else that one). It returns the deliveries
// created (held ones too, while the office's SPU is offline). A data event raised this way
// does not change the data. It fails with ErrInvalid for an unknown event and ErrNotFound
// for an unknown office or practice.
func (s *Server) TriggerWebhook(event, officeID, practiceID string) ([]WebhookDelivery, error) {
	if !slices.Contains(webhookEvents, event) {
		return nil, fmt.Errorf("trigger webhook: event %q: give Data_Refresh, patient, transaction or appointments: %w", clip(event), ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps []practiceRec
	for _, p := range s.practices {
		if p.OfficeID == officeID && (practiceID == "" || p.PracticeID == practiceID) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("trigger webhook: office %q practice %q: %w", clip(officeID), clip(practiceID), ErrNotFound)
	}
	now := s.clock.now()
	var made []*delivery
	for _, p := range ps {
		made = append(made, s.raiseLocked(event, p, now, now)...)
	}
	s.dispatchLocked(now)
	out := make([]WebhookDelivery, len(made))
	for i, d := range made {
		out[i] = s.deliveryView(d)
	}
	return out, nil
}

// WebhookDeliveries returns the deliveries since the last Reset, oldest first: every
// unfinished one and at least the latest MaxWebhookLog finished ones.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WebhookDelivery, len(s.hooks.log))
	for i, d := range s.hooks.log {
		out[i] = s.deliveryView(d)
	}
	return out
}

// deliveryView copies d for a caller, with its state as of now; the caller holds s.mu.
func (s *Server) deliveryView(d *delivery) WebhookDelivery {
	v := d.rec
	v.Attempts = slices.Clone(d.rec.Attempts)
	if v.Attempts == nil {
		v.Attempts = []WebhookAttempt{}
	}
	switch {
	case d.done:
	case d.flying:
		v.State = "sending"
	default:
		v.State = "pending"
		if !s.spuOnlineLocked(d.rec.OfficeID) {
			v.State = "held"
		}
		due := d.due
		v.NextAttempt = &due
	}
	return v
}

// maskURL returns raw with its password and query values masked, for display.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = maskQuery(u.RawQuery)
	return u.String()
}
