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
// It serves from the service's in-process cache when it can: a cached call
// makes no database and no secret-store round trip. The cache never returns
// a key with less than RefreshMargin left (that call renews, as above), and
// an entry older than Config.CacheStaleness is read again; see the package
// doc for what a replica's change costs to be seen.
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
	sec, err := s.secret(ctx, accountID)
	return sec.Credentials, err
}

// secret is Credentials with the secret's reference and version.
func (s *Service) secret(ctx context.Context, accountID string) (secretstore.Secret, error) {
	now := s.cfg.Now()
	if sec, ok := s.cache.get(accountID, now); ok {
		if !s.dueAt(sec.TokenExpiry, now) {
			return sec, nil
		}
		s.cache.drop(accountID) // no expired or nearly expired key stays cached
	}
	epoch := s.cache.begin()
	rec, err := s.cfg.Records.Get(ctx, accountID)
	if errors.Is(err, ErrNotFound) {
		return secretstore.Secret{}, ErrNotConnected
	}
	if err != nil {
		return secretstore.Secret{}, err
	}
	if err := usable(rec); err != nil {
		return secretstore.Secret{}, err
	}
	if err := s.recoverDeadConnect(ctx, accountID); err != nil {
		return secretstore.Secret{}, err
	}
	sec, err := s.cfg.Secrets.Get(ctx, rec.SecretRef)
	if err != nil {
		return secretstore.Secret{}, fmt.Errorf("integration: read credentials: %w", err)
	}
	if !s.dueAt(sec.TokenExpiry, now) {
		s.fillCache(epoch, accountID, sec, now)
		return sec, nil
	}
	return s.renew(ctx, accountID, "")
}

// usable is nil for an ACTIVE record, else the error of a call for it.
func usable(rec Record) error {
	switch rec.Status {
	case StatusActive:
		return nil
	case StatusNeedsReauth:
		return ErrNeedsReauth
	default:
		return ErrNotConnected
	}
}

// fillCache caches sec as the account's credentials read at read, unless
// the cache changed since epoch (see credCache.fill).
func (s *Service) fillCache(epoch uint64, accountID string, sec secretstore.Secret, read time.Time) {
	name, err := s.cfg.SecretNames.Name(accountID)
	if err != nil {
		return // such an account has no secret to cache
	}
	s.cache.fill(epoch, accountID, name, sec, read, sec.TokenExpiry.Add(-s.cfg.RefreshMargin))
}

// renew renews the account's key under its lock, shared by this process's
// callers: when rejected is "", if it is still due; else if the secret still
// holds rejected (a key Sikka refused), whatever its expiry. A key another
// replica renewed meanwhile is read and returned instead. The result is
// cached.
func (s *Service) renew(ctx context.Context, accountID, rejected string) (secretstore.Secret, error) {
	flight := accountID
	if rejected != "" {
		// Callers refused the same key share one renewal; a renewal of
		// a due key is another flight (it may keep a key Sikka refused).
		flight = accountID + "\x00" + rejected
	}
	// Share one refresh among this process's callers. It runs detached from
	// any one caller's context, since the others wait on it too.
	ch := s.flights.DoChan(flight, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		unlock, err := s.cfg.Records.LockAccount(fctx, accountID)
		if err != nil {
			return nil, err
		}
		defer unlock()
		sec, _, err := s.refreshLocked(fctx, accountID, rejected)
		if errors.Is(err, ErrNotConnected) || errors.Is(err, ErrNeedsReauth) {
			// Another replica disconnected the account or marked it: the
			// entry must not keep sending the dead key until it is stale.
			s.cache.drop(accountID)
		}
		if err != nil {
			return nil, err
		}
		// Under the lock, after any write: no writer of this process
		// comes between (they take the lock too).
		now := s.cfg.Now()
		if !s.dueAt(sec.TokenExpiry, now) {
			s.fillCache(s.cache.begin(), accountID, sec, now)
		}
		return sec, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return secretstore.Secret{}, res.Err
		}
		return res.Val.(secretstore.Secret), nil
	case <-ctx.Done():
		return secretstore.Secret{}, ctx.Err()
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

func (s *Service) due(expiry time.Time) bool { return s.dueAt(expiry, s.cfg.Now()) }

// dueAt tells whether a key expiring at expiry has less than RefreshMargin
// left at now.
func (s *Service) dueAt(expiry, now time.Time) bool {
	return expiry.Sub(now) < s.cfg.RefreshMargin
}

// refreshLocked renews the account's key if it is still due, or, when
// rejected is not "", if the secret still holds that key (Sikka refused it).
// The caller holds the account's lock. refreshed is false when nothing
// needed doing (another holder of the lock renewed it, or the record is no
// longer ACTIVE); sec is then the secret as read.
func (s *Service) refreshLocked(ctx context.Context, accountID, rejected string) (sec secretstore.Secret, refreshed bool, err error) {
	// A connect of this account that died half-way may have overwritten
	// the secret: put it back before reading it.
	var none secretstore.Secret
	if err := s.recoverPendingLocked(ctx, accountID); err != nil {
		return none, false, err
	}
	rec, err := s.cfg.Records.Get(ctx, accountID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			err = ErrNotConnected
		}
		return none, false, err
	}
	if err := usable(rec); err != nil {
		return none, false, err
	}
	cur, err := s.cfg.Secrets.Get(ctx, rec.SecretRef)
	if err != nil {
		return none, false, fmt.Errorf("integration: read credentials: %w", err)
	}
	refusedKey := rejected != "" && cur.RequestKey == rejected
	if !s.due(cur.TokenExpiry) && !refusedKey {
		return cur, false, nil // renewed meanwhile (by another replica, say)
	}
	sec = cur

	key, err := s.cfg.Sikka.RefreshKey(ctx, sec.RefreshKey)
	if refused(err) {
		s.log.Warn("integration: refresh key refused; requesting a key with the office credentials",
			"account_id", accountID, "office_id", sec.OfficeID)
		key, err = s.cfg.Sikka.RequestKey(ctx, sec.OfficeID, sec.SecretKey)
		if refused(err) {
			return none, false, s.markNeedsReauth(ctx, rec, err)
		}
	}
	if err != nil {
		err = providerError(err)
		s.refreshFailed(ctx, rec, err)
		if sec.TokenExpiry.After(s.cfg.Now()) && !refusedKey {
			s.log.Warn("integration: refresh failed; the current key is still valid and stays in use",
				"account_id", accountID, "expires", sec.TokenExpiry, "error", err)
			return sec, false, nil
		}
		return none, false, err
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
		return none, false, err
	}
	receipt, err := s.cfg.Secrets.Put(ctx, name, next, secretstore.IfVersion(sec.Version))
	if err != nil {
		err = fmt.Errorf("integration: store refreshed credentials: %w", err)
		s.refreshFailed(ctx, rec, err)
		return none, false, err
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
	return secretstore.Secret{Ref: receipt.Ref, Version: receipt.Version, Credentials: next}, true, nil
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
	s.cache.drop(rec.AccountID)
	if err := s.cfg.Records.SetStatus(ctx, rec.AccountID, StatusNeedsReauth); err != nil {
		return fmt.Errorf("integration: mark needs re-auth: %w", err)
	}
	s.cache.drop(rec.AccountID)
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
	_, refreshed, err := s.refreshLocked(ctx, accountID, "")
	return refreshed, err
}
