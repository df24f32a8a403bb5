package mocksikka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// webhookTime is how webhook payloads write times: "2019-12-09 14:37:56" (no zone).
const webhookTime = time.DateTime

// webhookTask is the webhooks' clock task (schedule.go): Data_Refresh when the schedule is
// due, then every delivery due. It returns when it next has something due.
func (s *Server) webhookTask(now time.Time) time.Time {
	h := &s.hooks
	if s.sched.closed {
		return time.Time{}
	}
	if d := h.settings.DataRefreshInterval; d > 0 && !h.nextRefresh.IsZero() && !now.Before(h.nextRefresh) {
		h.nextRefresh = h.nextRefresh.Add((now.Sub(h.nextRefresh)/d + 1) * d) // one refresh for the ticks missed
		for _, p := range s.practices {
			if s.spuOnlineLocked(p.OfficeID) { // no refresh runs while the SPU is offline
				s.raiseLocked(EventDataRefresh, p, now, now)
			}
		}
	}
	next := s.dispatchLocked(now)
	if len(h.targets) > 0 && !h.nextRefresh.IsZero() && (next.IsZero() || h.nextRefresh.Before(next)) {
		next = h.nextRefresh // no target, no timer: a mock without webhooks keeps no timer armed
	}
	return next
}

// webhookChange is the webhooks' change listener (change.go): it raises the change's event
// for its practice ("" is practice "1").
func (s *Server) webhookChange(ch DataChange) {
	if ch.Event == EventDataRefresh || !slices.Contains(webhookEvents, ch.Event) {
		return
	}
	pid := ch.PracticeID
	if pid == "" {
		pid = "1"
	}
	i := slices.IndexFunc(s.practices, func(p practiceRec) bool { return p.OfficeID == ch.OfficeID && p.PracticeID == pid })
	if i < 0 {
		return
	}
	now := s.clock.now()
	at := ch.Time
	if at.IsZero() {
		at = now
	}
	s.raiseLocked(ch.Event, s.practices[i], at, now)
	s.dispatchLocked(now)
}

// raiseLocked records that event was generated at at for p and queues a delivery, due at
// now, to every active target that takes the event and whose app sees p's office. The
// caller holds s.mu and dispatches at now.
func (s *Server) raiseLocked(event string, p practiceRec, at, now time.Time) []*delivery {
	h := &s.hooks
	k := genKey{p.OfficeID, p.PracticeID, event}
	prev, ok := h.last[k]
	if !ok {
		prev = h.anchor
	}
	h.last[k] = at
	var body []byte
	var made []*delivery
	for _, t := range h.targets {
		if !t.active || !slices.Contains(t.Events, event) || !s.appSeesOfficeLocked(t.AppID, p.OfficeID) {
			continue
		}
		if body == nil {
			body = s.payloadLocked(event, p, prev, at)
		}
		h.seq++
		d := &delivery{target: t, due: now, rec: WebhookDelivery{
			ID: h.seq, WebhookID: t.id, Event: event, OfficeID: p.OfficeID, PracticeID: p.PracticeID,
			Raised: at, Payload: body,
		}}
		if len(h.pending) >= MaxWebhookQueue {
			d.done, d.rec.State = true, "dropped"
			d.rec.Reason = fmt.Sprintf("queue full: %d deliveries were waiting", MaxWebhookQueue)
		} else {
			h.pending = append(h.pending, d)
		}
		s.logDeliveryLocked(d)
		made = append(made, d)
	}
	return made
}

// logDeliveryLocked appends d to the deliveries' log, forgetting the oldest finished ones
// once it holds MaxWebhookQueue+2*MaxWebhookLog (so that trimming costs O(1) per delivery,
// amortized).
func (s *Server) logDeliveryLocked(d *delivery) {
	h := &s.hooks
	h.log = append(h.log, d)
	if len(h.log) <= MaxWebhookQueue+2*MaxWebhookLog {
		return
	}
	drop := -MaxWebhookLog
	for _, x := range h.log {
		if x.done {
			drop++
		}
	}
	kept := h.log[:0]
	for _, x := range h.log {
		if x.done && drop > 0 {
			drop--
			continue
		}
		kept = append(kept, x)
	}
	clear(h.log[len(kept):])
	h.log = kept
}

// dispatchLocked starts every delivery due at now whose office's SPU is online, up to
// MaxWebhookSends in flight, and returns when the next waiting one is due. Nothing is sent
// after Close. The caller holds s.mu.
func (s *Server) dispatchLocked(now time.Time) time.Time {
	h := &s.hooks
	var next time.Time
	if s.sched.closed {
		return next
	}
	for _, d := range h.pending {
		switch {
		case d.flying, !s.spuOnlineLocked(d.rec.OfficeID): // held: SetSPUOnline runs the clock again
		case now.Before(d.due):
			if next.IsZero() || d.due.Before(next) {
				next = d.due
			}
		case h.inflight < MaxWebhookSends: // else the end of a send runs the clock again
			s.startSendLocked(d, now)
		}
	}
	return next
}

// startSendLocked sends one attempt of d in a goroutine; its end records the outcome and runs
// the clock (retries, waiting deliveries). The caller holds s.mu.
func (s *Server) startSendLocked(d *delivery, now time.Time) {
	h := &s.hooks
	d.flying = true
	h.inflight++
	h.wg.Add(1) // before Close's Wait: Close sets sched.closed under s.mu first
	target, key, body, timeout, epoch := d.target.URL, d.target.Key, d.rec.Payload, h.settings.Timeout, h.epoch
	go func() {
		defer h.wg.Done()
		status, why := s.post(target, key, body, timeout)
		s.mu.Lock()
		defer s.mu.Unlock()
		h.inflight--
		if epoch == h.epoch { // else Reset forgot d
			s.attemptedLocked(d, WebhookAttempt{Time: now, Status: status, Error: why})
		}
		s.runClockLocked()
	}()
}

// webhookSuccess reports whether Sikka counts status as a successful delivery.
func webhookSuccess(status int) bool {
	return status == http.StatusOK || status == http.StatusCreated || status == http.StatusAccepted || status == http.StatusNoContent
}

// attemptedLocked records an attempt of d and decides what follows: done, a retry after the
// next interval, or, after the last retry, failed and the target inactive.
func (s *Server) attemptedLocked(d *delivery, a WebhookAttempt) {
	h := &s.hooks
	d.flying = false
	d.rec.Attempts = append(d.rec.Attempts, a)
	n := len(d.rec.Attempts)
	t := d.target
	switch {
	case webhookSuccess(a.Status):
		s.finishLocked(d, "delivered", "")
	case t.removed:
		s.finishLocked(d, "dropped", "webhook removed")
	case !t.active:
		s.finishLocked(d, "dropped", "webhook inactive")
	case n > WebhookRetries:
		s.finishLocked(d, "failed", fmt.Sprintf("the first attempt and %d retries failed: webhook %s made inactive", WebhookRetries, t.id))
		t.active = false
		s.dropPendingLocked(t, "webhook inactive")
	default:
		d.due = s.clock.now().Add(h.settings.retryWait(n))
	}
	s.logAttempt(d, a)
}

// finishLocked ends d with state and reason; the caller holds s.mu.
func (s *Server) finishLocked(d *delivery, state, reason string) {
	d.done, d.rec.State, d.rec.Reason = true, state, reason
	s.hooks.pending = slices.DeleteFunc(s.hooks.pending, func(x *delivery) bool { return x == d })
}

// dropPendingLocked drops t's waiting deliveries (those in flight end on their own).
func (s *Server) dropPendingLocked(t *webhookTarget, reason string) {
	for _, d := range slices.Clone(s.hooks.pending) {
		if d.target == t && !d.flying {
			s.finishLocked(d, "dropped", reason)
		}
	}
}

// logAttempt logs one attempt; the callback key never reaches the log, the URL is masked.
func (s *Server) logAttempt(d *delivery, a WebhookAttempt) {
	ctx := context.Background()
	if !s.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	state := d.rec.State
	if !d.done {
		state = "retry"
	}
	attrs := []slog.Attr{
		slog.String("webhook_id", d.rec.WebhookID), slog.Int("delivery", d.rec.ID), slog.String("event", d.rec.Event),
		slog.String("office_id", d.rec.OfficeID), slog.String("practice_id", d.rec.PracticeID),
		slog.String("url", maskURL(d.target.URL)), slog.Int("attempt", len(d.rec.Attempts)),
		slog.Int("status", a.Status), slog.String("outcome", state),
	}
	if a.Error != "" {
		attrs = append(attrs, slog.String("error", a.Error))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "mocksikka webhook", attrs...)
}

// post sends one attempt and returns the status, or 0 and why there was none. It runs
// without s.mu.
func (s *Server) post(target, key string, body []byte, timeout time.Duration) (int, string) {
	h := &s.hooks
	ctx, cancel := context.WithTimeout(h.ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, "the URL cannot be requested"
	}
	req.Header["callback-key"] = []string{key} // spelled as Sikka documents it
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		switch {
		case h.ctx.Err() != nil:
			return 0, "cancelled: the mock was closed"
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return 0, "timeout after " + timeout.String()
		}
		var ue *url.Error
		if errors.As(err, &ue) { // its text repeats the URL, query and all
			err = ue.Err
		}
		return 0, clip(err.Error())
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, ""
}

// dataRefreshPayload is the Data_Refresh body, its fields in the order of Sikka's example.
type dataRefreshPayload struct {
	Event                                       string `json:"event"`
	OfficeID                                    string `json:"office_id"`
	PracticeID                                  any    `json:"practice_id"` // a number, as in Sikka's example
	PrevGeneratedTime                           string `json:"prev_generated_time"`
	NextDataSynchronizationDate                 string `json:"next_data_synchronization_date"`
	SPCScheduleInterval                         string `json:"spc_schedule_interval"`
	CustomerID                                  string `json:"customer_id"`
	DataSynchronizationDate                     string `json:"data_synchronization_date"`
	PracticeManagementSystemRefreshDate         string `json:"practice_management_system_refresh_date"`
	FinancialSystemRefreshDate                  string `json:"financial_system_refresh_date"`
	WebUploadDate                               string `json:"web_upload_date"`
	DataInsertDate                              string `json:"data_insert_date"`
	PracticeManagementSystemRefreshDateTimeZone string `json:"practice_management_system_refresh_date_time_zone"`
	PracticeManagementSystem                    string `json:"practice_management_system"`
	PracticeManagementSystemVersion             string `json:"practice_management_system_version"`
	FinancialSystem                             string `json:"financial_system"`
	FinancialSystemVersion                      string `json:"financial_system_version"`
	UTCDifferenceInMinutes                      string `json:"utc_difference_in_minutes"`
	SPCScheduleTime                             string `json:"spc_schedule_time"`
	SPCScheduleType                             string `json:"spc_schedule_type"`
}

// changePayload is the body of patient, transaction and appointments, in the order of
// Sikka's patient example.
type changePayload struct {
	Event                       string `json:"event"`
	OfficeID                    string `json:"office_id"`
	PracticeID                  string `json:"practice_id"`
	CustomerID                  string `json:"customer_id"`
	PrevGeneratedTime           string `json:"prev_generated_time"`
	NextDataSynchronizationDate string `json:"next_data_synchronization_date"`
	GeneratedTime               string `json:"generated_time"`
}

// payloadLocked encodes event's body for p, generated at at, the previous one at prev.
func (s *Server) payloadLocked(event string, p practiceRec, prev, at time.Time) []byte {
	h := &s.hooks
	ts := func(t time.Time) string { return t.UTC().Format(webhookTime) }
	next := ""
	if !h.nextRefresh.IsZero() {
		next = ts(h.nextRefresh)
	}
	customer := p.CustomerID
	if customer == "" {
		customer = "1"
	}
	var v any = changePayload{event, p.OfficeID, p.PracticeID, customer, ts(prev), next, ts(at)}
	if event == EventDataRefresh {
		// The body states its offset (utc_difference_in_minutes), and Sikka's example pairs
		// 240 with Eastern time: its times are the practice's local time.
		local := practiceZone(p.DifferenceInMinutes)
		ts = func(t time.Time) string { return t.In(local).Format(webhookTime) }
		if !h.nextRefresh.IsZero() {
			next = ts(h.nextRefresh)
		}
		finRefresh := "1111-11-11" // Sikka's example's value with no financial system
		if p.FinancialSystem != "" {
			finRefresh = ts(at)
		}
		v = dataRefreshPayload{
			Event: event, OfficeID: p.OfficeID, PracticeID: practiceNumber(p.PracticeID),
			PrevGeneratedTime: ts(prev), NextDataSynchronizationDate: next,
			SPCScheduleInterval: scheduleInterval(h.settings.DataRefreshInterval), CustomerID: customer,
			DataSynchronizationDate: ts(at), PracticeManagementSystemRefreshDate: ts(at),
			FinancialSystemRefreshDate: finRefresh, WebUploadDate: ts(at), DataInsertDate: ts(at),
			PracticeManagementSystemRefreshDateTimeZone: p.TimeZone,
			PracticeManagementSystem:                    p.PMS, PracticeManagementSystemVersion: p.PMSVersion,
			FinancialSystem: p.FinancialSystem, FinancialSystemVersion: p.FinancialSystemVersion,
			UTCDifferenceInMinutes: p.DifferenceInMinutes,
			SPCScheduleTime:        h.anchor.In(local).Format("3:04 PM"), SPCScheduleType: "Daily",
		}
	}
	b, err := json.Marshal(v)
	if err != nil { // strings and a number checked by practiceNumber: cannot happen
		panic(fmt.Sprintf("mocksikka: encode %s payload: %v", event, err))
	}
	return b
}

// practiceZone is the zone difference_in_minutes minutes behind UTC ("300": UTC-5), or UTC
// when it is empty or not a plausible offset.
func practiceZone(minutes string) *time.Location {
	n, err := strconv.Atoi(minutes)
	if err != nil || n < -14*60 || n > 14*60 {
		return time.UTC
	}
	return time.FixedZone("", -n*60)
}

// practiceNumber is a practice id as Data_Refresh sends it: a JSON number when it is a
// whole number ("1" → 1), else the string ("1-0").
func practiceNumber(id string) any {
	n, err := strconv.ParseUint(id, 10, 63)
	if err != nil {
		return id
	}
	return json.Number(strconv.FormatUint(n, 10))
}

// scheduleInterval writes d as spc_schedule_interval: "25 Minutes", or "30 Seconds" for a
// period that is not whole minutes; "" when the schedule is off.
func scheduleInterval(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + " Minutes"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " Seconds"
	}
}
