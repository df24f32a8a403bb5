package integration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/sikka"
)

// Credentials returns usable credentials of the account for a downstream
// Sikka call. When less than RefreshMargin is left on the request key it
// renews it first, and the new credentials are stored before they are
// returned.
//
// At most one refresh per account runs at a time: callers in this process
// share one (single-flight), and processes sharing the repository take the
// account's lock and re-read the secret once they hold it, so a key renewed
// meanwhile is used rather than renewed again. A refresh key Sikka refuses
// (any 400, such as API1004 or API1025, or 401/403: see refused) falls back
// once to the office id + secret key (the request_key grant); if that is
// refused too, the record becomes NEEDS_REAUTH and the error is
// ErrNeedsReauth. If Sikka is unavailable while the current key is still
// valid, the current credentials are returned (and the failure logged).
//
// Errors: ErrNotConnected, ErrNeedsReauth, ErrProviderUnavailable, or an
// internal failure.
func (s *Service) Credentials(ctx context.Context, accountID string) (secretstore.Credentials, error) {
	rec, err := s.cfg.Records.Get(ctx, accountID)
	if errors.Is(err, ErrNotFound) {
		return secretstore.Credentials{}, ErrNotConnected
	}
	if err != nil {
		return secretstore.Credentials{}, err
	}
	switch rec.Status {
	case StatusActive:
	case StatusNeedsReauth:
		return secretstore.Credentials{}, ErrNeedsReauth
	default:
		return secretstore.Credentials{}, ErrNotConnected
	}
	if err := s.recoverDeadConnect(ctx, accountID); err != nil {
		return secretstore.Credentials{}, err
	}
	sec, err := s.cfg.Secrets.Get(ctx, rec.SecretRef)
	if err != nil {
		return secretstore.Credentials{}, fmt.Errorf("integration: read credentials: %w", err)
	}
	if !s.due(sec.TokenExpiry) {
		return sec.Credentials, nil
	}

	// Share one refresh among this process's callers. It runs detached from
	// any one caller's context, since the others wait on it too.
	ch := s.flights.DoChan(accountID, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		unlock, err := s.cfg.Records.LockAccount(fctx, accountID)
		if err != nil {
			return nil, err
		}
		defer unlock()
		creds, _, err := s.refreshLocked(fctx, accountID)
		return creds, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return secretstore.Credentials{}, res.Err
		}
		return res.Val.(secretstore.Credentials), nil
	case <-ctx.Done():
		return secretstore.Credentials{}, ctx.Err()
	}
}

// recoverDeadConnect puts back the secret of an account whose reconnect died
// after overwriting it, before the secret is read. A marker whose account
// lock is free belongs to a dead connect (a live one holds the lock); one
// whose lock is held is a reconnect in progress, left alone.
func (s *Service) recoverDeadConnect(ctx context.Context, accountID string) error {
	if _, err := s.cfg.Records.GetPending(ctx, accountID); errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("integration: read pending connect: %w", err)
	}
	unlock, ok, err := s.cfg.Records.TryLockAccount(ctx, accountID)
	if err != nil || !ok {
		return err
	}
	defer unlock()
	return s.recoverPendingLocked(ctx, accountID)
}

func (s *Service) due(expiry time.Time) bool {
	return expiry.Sub(s.cfg.Now()) < s.cfg.RefreshMargin
}

// refreshLocked renews the account's key if it is still due. The caller holds
// the account's lock. refreshed is false when nothing needed doing (another
// holder of the lock renewed it, or the record is no longer ACTIVE).
func (s *Service) refreshLocked(ctx context.Context, accountID string) (creds secretstore.Credentials, refreshed bool, err error) {
	// A connect of this account that died half-way may have overwritten
	// the secret: put it back before reading it.
	if err := s.recoverPendingLocked(ctx, accountID); err != nil {
		return creds, false, err
	}
	rec, err := s.cfg.Records.Get(ctx, accountID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			err = ErrNotConnected
		}
		return creds, false, err
	}
	switch rec.Status {
	case StatusActive:
	case StatusNeedsReauth:
		return creds, false, ErrNeedsReauth
	default:
		return creds, false, ErrNotConnected
	}
	sec, err := s.cfg.Secrets.Get(ctx, rec.SecretRef)
	if err != nil {
		return creds, false, fmt.Errorf("integration: read credentials: %w", err)
	}
	if !s.due(sec.TokenExpiry) {
		return sec.Credentials, false, nil // renewed meanwhile
	}

	key, err := s.cfg.Sikka.RefreshKey(ctx, sec.RefreshKey)
	if refused(err) {
		s.log.Warn("integration: refresh key refused; requesting a key with the office credentials",
			"account_id", accountID, "office_id", sec.OfficeID)
		key, err = s.cfg.Sikka.RequestKey(ctx, sec.OfficeID, sec.SecretKey)
		if refused(err) {
			return creds, false, s.markNeedsReauth(ctx, rec, err)
		}
	}
	if err != nil {
		err = providerError(err)
		s.refreshFailed(ctx, rec, err)
		if sec.TokenExpiry.After(s.cfg.Now()) {
			s.log.Warn("integration: refresh failed; the current key is still valid and stays in use",
				"account_id", accountID, "expires", sec.TokenExpiry, "error", err)
			return sec.Credentials, false, nil
		}
		return creds, false, err
	}

	next := sec.Credentials
	next.RequestKey = key.RequestKey
	if key.RefreshKey != "" {
		next.RefreshKey = key.RefreshKey
	}
	next.TokenExpiry = key.Expiry
	// Check-and-set against the version read above: a write by anyone who
	// bypassed the lock fails here instead of being lost.
	name, err := s.cfg.SecretNames.Name(accountID)
	if err != nil {
		return creds, false, err
	}
	if _, err := s.cfg.Secrets.Put(ctx, name, next, secretstore.IfVersion(sec.Version)); err != nil {
		err = fmt.Errorf("integration: store refreshed credentials: %w", err)
		s.refreshFailed(ctx, rec, err)
		return creds, false, err
	}
	if err := s.cfg.Records.SetKeyExpiry(ctx, accountID, key.Expiry); err != nil {
		// The secret holds the truth; the record's expiry only schedules
		// sweeps, and a stale one makes a sweep look again harmlessly.
		s.log.Warn("integration: could not record the new key expiry", "account_id", accountID, "error", err)
	}
	rec.KeyExpiry = key.Expiry
	s.log.Info("integration: key refreshed", "account_id", accountID, "office_id", next.OfficeID, "expires", key.Expiry)
	if h := s.cfg.Hooks.Refreshed; h != nil {
		s.runHook(ctx, "Refreshed", accountID, func(ctx context.Context) { h(ctx, rec) })
	}
	return next, true, nil
}

// refused reports whether Sikka rejected the credentials themselves (as
// opposed to being unavailable): a grant answered 400 (ErrInvalidGrant:
// Sikka's documented 400 API1004 or API1025 for a dead key among them) or
// 401/403 (ErrUnauthorized, the mock's answer), or a request key rejected
// (ErrKeyRejected).
func refused(err error) bool {
	return err != nil && (errors.Is(err, sikka.ErrInvalidGrant) || errors.Is(err, sikka.ErrUnauthorized) ||
		errors.Is(err, sikka.ErrKeyRejected))
}

// refreshFailed tells the host (Hooks.RefreshFailed) that a due refresh did
// not happen.
func (s *Service) refreshFailed(ctx context.Context, rec Record, err error) {
	if h := s.cfg.Hooks.RefreshFailed; h != nil {
		s.runHook(ctx, "RefreshFailed", rec.AccountID, func(ctx context.Context) { h(ctx, rec, err) })
	}
}

func (s *Service) markNeedsReauth(ctx context.Context, rec Record, cause error) error {
	if err := s.cfg.Records.SetStatus(ctx, rec.AccountID, StatusNeedsReauth); err != nil {
		return fmt.Errorf("integration: mark needs re-auth: %w", err)
	}
	rec.Status = StatusNeedsReauth
	s.log.Warn("integration: keys can no longer be renewed; the practice must authorize again",
		"account_id", rec.AccountID, "office_id", rec.OfficeID, "error", cause)
	if h := s.cfg.Hooks.NeedsReauth; h != nil {
		s.runHook(ctx, "NeedsReauth", rec.AccountID, func(ctx context.Context) { h(ctx, rec, cause) })
	}
	return fmt.Errorf("%w: %w", ErrNeedsReauth, cause)
}

// SweepResult counts what one RefreshDue did.
type SweepResult struct {
	// Due is how many due records the sweep looked at.
	Due int
	// Refreshed is how many keys this sweep renewed.
	Refreshed int
	// Skipped is how many were locked by another refresher or no longer due.
	Skipped int
	// Failed is how many could not be renewed (NEEDS_REAUTH included).
	Failed int
}

// RefreshDue renews every ACTIVE key that expires within RefreshMargin, with
// at most SweepConcurrency refreshes at once, reading due records a page at a
// time. It is safe to run on every replica at once: a record another
// refresher holds is skipped, and one renewed meanwhile is not renewed again,
// so each due key is renewed once. Failures of single records are counted and
// logged, not returned; the error is for failures to list records or a done
// ctx.
func (s *Service) RefreshDue(ctx context.Context) (SweepResult, error) {
	var (
		mu     sync.Mutex
		result SweepResult
	)
	count := func(f func(*SweepResult)) { mu.Lock(); f(&result); mu.Unlock() }
	before := s.cfg.Now().Add(s.cfg.RefreshMargin)
	due, err := forEachPaged(ctx, "due records", s.cfg.SweepConcurrency,
		func(ctx context.Context, after string) ([]Record, error) {
			return s.cfg.Records.Due(ctx, before, after, s.cfg.SweepPageSize)
		},
		func(r Record) string { return r.AccountID },
		func(rec Record) {
			refreshed, err := s.sweepOne(ctx, rec.AccountID)
			switch {
			case err != nil:
				s.log.Warn("integration: sweep could not refresh", "account_id", rec.AccountID, "error", err)
				count(func(r *SweepResult) { r.Failed++ })
			case refreshed:
				count(func(r *SweepResult) { r.Refreshed++ })
			default:
				count(func(r *SweepResult) { r.Skipped++ })
			}
		})
	result.Due = due
	return result, err
}

func (s *Service) sweepOne(ctx context.Context, accountID string) (bool, error) {
	unlock, ok, err := s.cfg.Records.TryLockAccount(ctx, accountID)
	if err != nil || !ok {
		return false, err
	}
	defer unlock()
	_, refreshed, err := s.refreshLocked(ctx, accountID)
	return refreshed, err
}
