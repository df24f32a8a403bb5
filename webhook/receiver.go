package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/internal/hookrun"
)

// Defaults of Config.
const (
	// DefaultMaxBody bounds a delivery's body: Sikka's payloads are under
	// 1 KiB.
	DefaultMaxBody = 64 << 10
	// DefaultMaxHooks bounds the OnEvent calls running at once.
	DefaultMaxHooks = 64
	// DefaultRecent is how many deliveries are remembered to answer
	// duplicates (about 1 MB).
	DefaultRecent = 10_000
	// DefaultStoreTimeout bounds a delivery's storage work (finding the
	// account, recording a Data_Refresh).
	DefaultStoreTimeout = 5 * time.Second
)

// HeaderCallbackKey is the header in which Sikka sends the webhook's
// callback key.
const HeaderCallbackKey = "callback-key"

// Config configures a Receiver. Service and Keys are required.
type Config struct {
	// Service finds the account of each event's office and records
	// Data_Refresh.
	Service *integration.Service
	// Keys are the callback keys accepted in the callback-key header: the
	// one set for the webhook in Sikka's portal. Several let it rotate:
	// configure the old and the new key, change it at Sikka, then drop the
	// old one. None may be empty. They are secrets: never logged.
	Keys []string
	// OnEvent receives each accepted event of a connected office (any
	// Type; a Data_Refresh after it is recorded), with the account that
	// holds the office. It runs in a goroutine of its own with a context
	// bounded by HookTimeout, at most MaxHooks at once; an event that finds
	// MaxHooks running is dropped and logged (the delivery is still
	// answered 2xx), a panic is recovered and logged. Optional.
	OnEvent func(ctx context.Context, e Event)
	// HookTimeout bounds each OnEvent call. Default
	// integration.DefaultHookTimeout (10s).
	HookTimeout time.Duration
	// MaxHooks bounds the OnEvent calls running at once. Default
	// DefaultMaxHooks (64).
	MaxHooks int
	// MaxBody bounds a delivery's body in bytes; a larger one is answered
	// 413. Default DefaultMaxBody (64 KiB).
	MaxBody int64
	// Recent is how many deliveries are remembered to recognize
	// duplicates. Default DefaultRecent (10,000).
	Recent int
	// StoreTimeout bounds a delivery's storage work. Default
	// DefaultStoreTimeout (5s).
	StoreTimeout time.Duration
	// Logger receives the receiver's logs; never a key. Default: discard.
	Logger *slog.Logger
	// Now is the clock of Event.ReceivedAt; default time.Now.
	Now func() time.Time
}

// Receiver is the http.Handler of Sikka's webhooks: mount it at the URL
// registered with Sikka (the demo mounts it at /sikka/webhook). Safe for
// concurrent use.
//
// It answers:
//   - 405 to anything but POST; 401 when the callback-key header matches
//     none of Config.Keys (compared in constant time, with every key);
//     415 to a body that is not application/json; 413 to one over
//     Config.MaxBody; 400 to one that is not a JSON object with "event"
//     and "office_id". Nothing is recorded or handed on then.
//   - 204 once the delivery is handled: a Data_Refresh recorded, the hook
//     started. Also 204, without handling it again, to a duplicate (see
//     Config.Recent) and to an office no account holds ACTIVE, so that
//     Sikka keeps the webhook on (it turns a webhook off after 5 failed
//     retries); both are logged.
//   - 500 when the storage fails, so that Sikka retries.
//
// It answers without waiting for the hook: within the storage work of one
// delivery (bounded by Config.StoreTimeout).
type Receiver struct {
	cfg    Config
	keys   [][32]byte // SHA-256 of each key: equal lengths, so the comparison leaks no length
	hooks  *hookrun.Runner
	recent *recent
	log    *slog.Logger
	refuse *refusalLog // the refusals' log lines, throttled
}

// New checks cfg, fills in its defaults and returns the receiver.
func New(cfg Config) (*Receiver, error) {
	if cfg.Service == nil {
		return nil, errors.New("webhook: Config.Service is missing")
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("webhook: Config.Keys is empty: set the callback key configured for the webhook in Sikka's portal")
	}
	r := &Receiver{}
	for i, k := range cfg.Keys {
		if k == "" {
			return nil, fmt.Errorf("webhook: Config.Keys[%d] is empty: every callback key must be set", i)
		}
		r.keys = append(r.keys, sha256.Sum256([]byte(k)))
	}
	if cfg.HookTimeout <= 0 {
		cfg.HookTimeout = integration.DefaultHookTimeout
	}
	if cfg.MaxHooks <= 0 {
		cfg.MaxHooks = DefaultMaxHooks
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Recent <= 0 {
		cfg.Recent = DefaultRecent
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Keys = nil // only the digests are kept
	r.cfg = cfg
	r.log = cfg.Logger
	r.hooks = hookrun.NewRunner(cfg.Logger, "webhook", cfg.HookTimeout, cfg.MaxHooks)
	r.recent = newRecent(cfg.Recent)
	r.refuse = &refusalLog{log: cfg.Logger, now: time.Now}
	return r, nil
}

// ServeHTTP implements http.Handler.
func (h *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "only POST")
		return
	}
	if !h.authorized(r.Header.Get(HeaderCallbackKey)) {
		h.refuse.warn("webhook: refused a delivery: its callback-key matches no configured key", "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, "wrong or missing callback-key")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		h.refuse.warn("webhook: refused a delivery: not JSON", "content_type", r.Header.Get("Content-Type"))
		reply(w, http.StatusUnsupportedMediaType, "want Content-Type: application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse.warn("webhook: refused a delivery: body too large", "limit", h.cfg.MaxBody)
			reply(w, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		h.refuse.warn("webhook: could not read a delivery", "error", err)
		reply(w, http.StatusBadRequest, "could not read the body")
		return
	}
	d, err := parse(body, h.cfg.Now())
	if err != nil {
		h.refuse.warn("webhook: refused a delivery", "error", err)
		reply(w, http.StatusBadRequest, "want a JSON object with \"event\" and \"office_id\"")
		return
	}
	h.handle(r.Context(), w, d)
}

// authorized reports whether key is one of the configured keys, comparing
// it with every one of them in constant time.
func (h *Receiver) authorized(key string) bool {
	if key == "" {
		return false
	}
	got := sha256.Sum256([]byte(key))
	match := 0
	for i := range h.keys {
		match |= subtle.ConstantTimeCompare(got[:], h.keys[i][:])
	}
	return match == 1
}

// handle records or hands on an accepted delivery and answers it.
func (h *Receiver) handle(ctx context.Context, w http.ResponseWriter, d delivery) {
	e, n, named := d.Event, d.name, d.named
	attrs := []any{"event", e.Type, "office_id", e.OfficeID, "practice_id", e.PracticeID}
	if named && !h.recent.claim(n) {
		h.log.Info("webhook: duplicate delivery ignored", attrs...)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.StoreTimeout)
	defer cancel()
	var rec integration.Record
	var err error
	if e.Type == EventDataRefresh {
		rec, err = h.cfg.Service.RecordDataRefresh(ctx, e.OfficeID, integration.DataRefresh{
			NextSync: e.NextDataSync, PMSVersion: e.PMSVersion})
	} else {
		rec, err = h.cfg.Service.ActiveByOffice(ctx, e.OfficeID)
	}
	switch {
	case errors.Is(err, integration.ErrNotFound):
		if named {
			h.recent.forget(n) // not handled: handle it should the office connect
		}
		h.log.Warn("webhook: delivery for an office no account holds ACTIVE, ignored", attrs...)
		w.WriteHeader(http.StatusNoContent)
		return
	case err != nil:
		if named {
			h.recent.forget(n) // so that Sikka's retry is handled
		}
		h.log.Error("webhook: could not handle a delivery; Sikka will retry", append(attrs, "error", err)...)
		reply(w, http.StatusInternalServerError, "internal error")
		return
	}
	e.AccountID = rec.AccountID
	attrs = append(attrs, "account_id", rec.AccountID)
	h.log.Info("webhook: delivery accepted", attrs...)
	if h.cfg.OnEvent != nil {
		h.hooks.Go(ctx, "OnEvent", func(ctx context.Context) { h.cfg.OnEvent(ctx, e) }, attrs...)
	}
	w.WriteHeader(http.StatusNoContent)
}

// reply answers code with a short plain-text reason (never an echo of the
// request).
func reply(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, reason+"\n") //nolint:errcheck // Sikka went away
}
