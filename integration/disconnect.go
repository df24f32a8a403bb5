package integration

import (
	"context"
	"errors"
	"fmt"

	"github.com/parlae/sikka-connect/secretstore"
)

// Disconnect ends the account's integration: the record becomes REVOKED, the
// request key is revoked at Sikka (best effort: a failure is logged), and the
// secret is deleted. It is idempotent: disconnecting an account that is not
// connected, or again, succeeds, and retries a secret deletion that failed
// before.
//
// The record is marked before the secret is deleted, so no ACTIVE record ever
// points at a missing secret; a deletion that fails is returned as an error
// and done by the next Disconnect.
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

	sec, err := s.cfg.Secrets.Get(ctx, rec.SecretRef)
	switch {
	case errors.Is(err, secretstore.ErrNotFound):
		sec = secretstore.Secret{}
	case err != nil:
		return fmt.Errorf("integration: read credentials: %w", err)
	}

	wasRevoked := rec.Status == StatusRevoked
	if !wasRevoked {
		if err := s.cfg.Records.SetStatus(ctx, accountID, StatusRevoked); err != nil {
			return fmt.Errorf("integration: mark revoked: %w", err)
		}
		rec.Status = StatusRevoked
	}
	if sec.RequestKey != "" {
		if err := s.cfg.Sikka.RevokeKey(ctx, sec.RequestKey); err != nil {
			s.log.Warn("integration: could not revoke the key at Sikka; it expires on its own",
				"account_id", accountID, "expires", sec.TokenExpiry, "error", err)
		}
	}
	if sec.Ref != "" {
		if err := s.cfg.Secrets.Delete(ctx, rec.SecretRef); err != nil && !errors.Is(err, secretstore.ErrNotFound) {
			return fmt.Errorf("integration: delete credentials (disconnect again to retry): %w", err)
		}
	}
	if wasRevoked {
		return nil
	}
	s.log.Info("integration: disconnected", "account_id", accountID, "office_id", rec.OfficeID)
	if h := s.cfg.Hooks.Disconnected; h != nil {
		s.runHook(ctx, "Disconnected", accountID, func(ctx context.Context) { h(ctx, rec) })
	}
	return nil
}
