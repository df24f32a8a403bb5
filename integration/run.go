package integration

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Run's intervals (Config.RefreshInterval, ReconcileInterval).
const (
	// DefaultRefreshInterval: a sweep every 5 minutes renews each key
	// about 55 minutes before it expires with the default RefreshMargin
	// (1h), leaving time for retries when Sikka is down.
	DefaultRefreshInterval = 5 * time.Minute
	// DefaultReconcileInterval: a dead connect's marker waits
	// PendingTimeout (2m) plus at most a minute to be undone.
	DefaultReconcileInterval = time.Minute
)

// Run does the service's background work until ctx ends, so that a host
// starts one goroutine (go svc.Run(ctx)) instead of writing its own loops:
// RefreshDue at once and then every Config.RefreshInterval, and Reconcile at
// once and then every Config.ReconcileInterval, each on its own ticker (a
// slow sweep does not hold up reconciling). Rounds of one kind never
// overlap: ticks that come while a round runs are dropped but one.
//
// A negative interval turns that loop off (the host runs it, or not, as it
// likes). It is safe to run on every replica at once (both are). It never stops
// early: a round's failure is logged (Warn, with the round's counts) and the
// next tick tries again, and a panic in a round is recovered and logged as
// an Error. It returns ctx.Err() once ctx ends and the rounds in progress
// have returned (they see ctx too).
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if s.cfg.RefreshInterval > 0 {
		wg.Go(func() {
			s.every(ctx, "integration: refresh sweep", s.cfg.RefreshInterval, func(ctx context.Context) ([]any, bool, error) {
				r, err := s.RefreshDue(ctx)
				return []any{"due", r.Due, "refreshed", r.Refreshed, "skipped", r.Skipped, "failed", r.Failed},
					r.Refreshed+r.Failed > 0, err
			})
		})
	}
	if s.cfg.ReconcileInterval > 0 {
		wg.Go(func() {
			s.every(ctx, "integration: reconcile", s.cfg.ReconcileInterval, func(ctx context.Context) ([]any, bool, error) {
				r, err := s.Reconcile(ctx)
				return []any{"stale", r.Stale, "undone", r.Undone, "cleared", r.Cleared, "revoked", r.Revoked,
						"finished", r.Finished, "skipped", r.Skipped, "failed", r.Failed},
					r.Undone+r.Cleared+r.Finished+r.Failed > 0, err
			})
		})
	}
	wg.Wait()
	<-ctx.Done() // both loops turned off: wait all the same
	return ctx.Err()
}

// every runs round at once and then on each tick of interval until ctx
// ends. round returns its counts (slog key-value pairs), whether it did
// anything worth an Info line, and its error.
func (s *Service) every(ctx context.Context, msg string, interval time.Duration, round func(context.Context) ([]any, bool, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.runRound(ctx, msg, round)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runRound runs one round, logging its outcome under msg (Info when it did
// something, else Debug; Warn when it failed) and recovering its panic.
func (s *Service) runRound(ctx context.Context, msg string, round func(context.Context) ([]any, bool, error)) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error(msg+": panicked; the next tick tries again", "panic", fmt.Sprint(p))
		}
	}()
	counts, did, err := round(ctx)
	switch {
	case ctx.Err() != nil:
		// Ending: nothing to report.
	case err != nil:
		s.log.Warn(msg+": failed; the next tick tries again", append(counts, "error", err)...)
	default:
		level := slog.LevelDebug
		if did {
			level = slog.LevelInfo
		}
		s.log.Log(ctx, level, msg, counts...)
	}
}
