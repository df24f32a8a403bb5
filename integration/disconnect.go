package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/sikka"
)

const (
	// disconnectTimeout bounds the end of a disconnect (mark the record
	// REVOKED, revoke the key, delete the secret), which runs detached from
	// the caller's context: a browser that goes away must not leave the key
	// live at Sikka and the secret stored.
	disconnectTimeout = time.Minute
	// revokeTimeout bounds one best-effort key revocation at Sikka.
	revokeTimeout = 15 * time.Second
)

// Disconnect ends the account's integration: the record becomes REVOKED, the
// request key and then the refresh key are revoked at Sikka (best effort: a
// key Sikka already rejects counts as revoked, another failure is logged and
// the disconnect goes on), the secret is deleted and the record's secret
// reference cleared. It is
// idempotent: disconnecting an account that is not connected, or again,
// succeeds, and retries a secret deletion that failed before.
//
// Once the account's lock is held, the rest runs detached from ctx's
// cancellation (bounded by a minute of its own), so a caller that goes away
// does not cut it short. The record is marked before the secret is deleted,
// so no ACTIVE record ever points at a missing secret; a deletion that fails
// (or a process that dies) leaves a REVOKED record with its secret
// reference, which the next Disconnect or Reconcile finishes. The error of a
// failed deletion says so.
func (s *Service) Disconnect(ctx context.Context, accountID string) error {
	rec, err := s.cfg.Records.Get(ctx, accountID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	unlock, err := s.cfg.Records.LockAccount(ctx, accountID)
	if err != nil {
		return err
	}
	defer unlock()
	// A reconnect that died after overwriting the secret: put the secret
	// back first, so the key revoked below is the one the record describes.
	if err := s.recoverPendingLocked(ctx, accountID); err != nil {
		return err
	}
	if rec, err = s.cfg.Records.Get(ctx, accountID); err != nil { // re-read under the lock
		return err
	}

	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), disconnectTimeout)
	defer cancel()
	wasRevoked := rec.Status == StatusRevoked
	if !wasRevoked {
		if err := s.cfg.Records.SetStatus(dctx, accountID, StatusRevoked); err != nil {
			return fmt.Errorf("integration: mark revoked: %w", err)
		}
		s.cache.drop(accountID) // its credentials are served no more
		rec.Status = StatusRevoked
	}
	_, err = s.finishDisconnectLocked(dctx, rec)
	if !wasRevoked {
		// The record is REVOKED for good: tell the host once, even if the
		// secret is left for a retry.
		s.log.Info("integration: disconnected", "account_id", accountID, "office_id", rec.OfficeID)
		if h := s.cfg.Hooks.Disconnected; h != nil {
			s.runHook(ctx, "Disconnected", accountID, func(ctx context.Context) { h(ctx, rec) })
		}
	}
	if err != nil {
		return fmt.Errorf("integration: %w (disconnect again to retry, or let Reconcile finish it)", err)
	}
	return nil
}

// finishDisconnectLocked ends what a REVOKED record still holds: the keys in
// its secret are revoked at Sikka (best effort), the secret deleted, and the
// record's secret reference cleared. The caller holds the account's lock.
// deleted reports whether a secret was there to delete. It is idempotent.
func (s *Service) finishDisconnectLocked(ctx context.Context, rec Record) (deleted bool, err error) {
	if rec.Status != StatusRevoked || rec.SecretRef == "" {
		return false, nil
	}
	sec, err := s.cfg.Secrets.Get(ctx, rec.SecretRef)
	switch {
	case errors.Is(err, secretstore.ErrNotFound):
		// Deleted already; only the reference is left.
	case err != nil:
		return false, fmt.Errorf("read credentials: %w", err)
	default:
		s.revokeKey(ctx, rec.AccountID, sec.RequestKey, sec.TokenExpiry, "disconnect")
		s.revokeRefreshKey(ctx, rec.AccountID, sec.RefreshKey, "disconnect")
		if err := s.cfg.Secrets.Delete(ctx, rec.SecretRef); err != nil && !errors.Is(err, secretstore.ErrNotFound) {
			return false, fmt.Errorf("delete credentials: %w", err)
		}
		deleted = true
	}
	if err := s.cfg.Records.ClearSecretRef(ctx, rec.AccountID); err != nil && !errors.Is(err, ErrNotFound) {
		// Harmless: the record is listed again, and its secret found gone.
		s.log.Warn("integration: could not clear the secret reference of a revoked record",
			"account_id", rec.AccountID, "error", err)
	}
	return deleted, nil
}

// revokeKey revokes requestKey at Sikka, best effort: detached from ctx's
// cancellation and bounded by revokeTimeout. A failure is logged (never the
// key) and the key expires on its own; a key Sikka no longer accepts
// (sikka.ErrKeyRejected: 400 API1004 or API1025, or 401/403) is already as
// good as revoked.
func (s *Service) revokeKey(ctx context.Context, accountID, requestKey string, expires time.Time, why string) {
	if requestKey == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	err := s.cfg.Sikka.RevokeKey(ctx, requestKey)
	switch {
	case err == nil:
		s.log.Debug("integration: key revoked at Sikka", "account_id", accountID, "why", why)
	case errors.Is(err, sikka.ErrKeyRejected):
		s.log.Debug("integration: key already unusable at Sikka", "account_id", accountID, "why", why)
	default:
		s.log.Warn("integration: could not revoke a key at Sikka; it expires on its own",
			"account_id", accountID, "why", why, "expires", expires, "error", err)
	}
}

// revokeRefreshKey deletes refreshKey at Sikka (DELETE /v4/refresh_key),
// best effort like revokeKey. A refresh key lives until deleted, so a
// failure is logged as one that leaves it live (never the key); a refresh
// key Sikka refuses (refreshKeyRefused) is logged at Debug as unusable.
func (s *Service) revokeRefreshKey(ctx context.Context, accountID, refreshKey, why string) {
	if refreshKey == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	err := s.cfg.Sikka.RevokeRefreshKey(ctx, refreshKey)
	switch {
	case err == nil:
		s.log.Debug("integration: refresh key deleted at Sikka", "account_id", accountID, "why", why)
	case refreshKeyRefused(err):
		s.log.Debug("integration: refresh key already unusable at Sikka", "account_id", accountID, "why", why,
			"error", err)
	default:
		s.log.Warn("integration: could not delete a refresh key at Sikka; it stays live until deleted",
			"account_id", accountID, "why", why, "error", err)
	}
}

// refreshKeyRefused tells whether Sikka refused the refresh key itself: a
// 400 or a 401/403, except for the documented codes of missing or wrong app
// credentials (API1001, API1002, API2003), which say nothing of the key.
// Sikka does not document its answer to an unknown refresh key.
func refreshKeyRefused(err error) bool {
	var se *sikka.Error
	if !errors.As(err, &se) {
		return false
	}
	switch strings.ToUpper(strings.TrimSpace(se.Envelope.ErrorCode)) {
	case "API1001", "API1002", "API2003":
		return false
	}
	return se.StatusCode == http.StatusBadRequest || errors.Is(err, sikka.ErrUnauthorized)
}
