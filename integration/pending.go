package integration

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parlae/sikka-connect/secretstore"
)

// PendingFlow marks a connect between its first write and its last: it is
// saved before the secret is written and removed in the same atomic step
// that writes the ACTIVE record (Repository.CompletePending). A marker that
// outlives its flow (the process died, or its writes failed and could not be
// undone) says exactly what to undo: the secret the flow wrote and the
// version that was current before. The account's record is never touched by
// the marker, so an account that was ACTIVE stays ACTIVE while it reconnects.
type PendingFlow struct {
	// FlowID identifies the connect (random, unique).
	FlowID    string   `db:"flow_id" json:"flowId"`
	AccountID string   `db:"account_id" json:"accountId"`
	Provider  Provider `db:"provider" json:"provider"`
	// OfficeID is the practice the flow was connecting (for the logs).
	OfficeID string `db:"office_id" json:"officeId"`
	// SecretName is the name of the secret the flow writes.
	SecretName string `db:"secret_name" json:"secretName"`
	// PrevVersion is the secret's version before the flow wrote it; ""
	// when there was no secret (the flow creates it).
	PrevVersion string `db:"prev_version" json:"prevVersion"`
	// KeyHash is the SHA-256 (hex) of the request key the flow writes, so
	// that a recovery undoes the secret only when its current value is this
	// flow's write. "" on markers of older versions, recovered by comparing
	// PrevVersion with the current version instead.
	KeyHash string `db:"key_hash" json:"keyHash"`
	// StartedAt is when the marker was saved (UTC).
	StartedAt time.Time `db:"started_at" json:"startedAt"`
	// ClaimedAt is when a recovery took the flow over (zero if none did);
	// a claimed flow can no longer complete.
	ClaimedAt time.Time `db:"claimed_at" json:"claimedAt"`
}

// keyHash is PendingFlow.KeyHash of a flow writing requestKey.
func keyHash(requestKey string) string {
	sum := sha256.Sum256([]byte(requestKey))
	return hex.EncodeToString(sum[:])
}

// Stage names a point of Connect or ConnectOffice, reported to
// Config.StageHook after the step.
type Stage string

// The stages of Connect and ConnectOffice, in order. A process that dies after any of them
// leaves a state that Reconcile (or the account's next connect or refresh)
// recovers.
const (
	// StageExchanged: the key was issued (Connect: the code exchanged;
	// ConnectOffice: the request_key grant) and the practice read; nothing
	// is written yet.
	StageExchanged Stage = "exchanged"
	// StagePending: the account's lock is held and the PendingFlow marker
	// saved; the secret is not written yet.
	StagePending Stage = "pending"
	// StageSecretWritten: the secret holds the new credentials; the record
	// does not point at them yet.
	StageSecretWritten Stage = "secret-written"
	// StageRecordWritten: the ACTIVE record is written and the marker
	// removed (one atomic step); the connect is durable.
	StageRecordWritten Stage = "record-written"
)

// Stages lists every Stage in the order Connect and ConnectOffice reach them.
func Stages() []Stage {
	return []Stage{StageExchanged, StagePending, StageSecretWritten, StageRecordWritten}
}

// DefaultPendingTimeout is Config.PendingTimeout's default: twice the
// middleware's one-minute connect timeout.
const DefaultPendingTimeout = 2 * time.Minute

func newFlowID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("integration: flow id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func (s *Service) stage(ctx context.Context, accountID string, st Stage) {
	if h := s.cfg.StageHook; h != nil {
		h(ctx, accountID, st)
	}
}

// ReconcileResult counts what one Reconcile did.
type ReconcileResult struct {
	// Stale is how many markers older than PendingTimeout it looked at.
	Stale int
	// Undone is how many secret writes of unfinished connects it reversed
	// (a created secret deleted, an overwritten one restored).
	Undone int
	// Cleared is how many markers it removed with nothing to undo (the
	// flow died before writing its secret).
	Cleared int
	// Skipped is how many were locked by a live holder or already resolved.
	Skipped int
	// Failed is how many could not be recovered (retried next time).
	Failed int
	// Revoked is how many REVOKED records still holding a secret it looked
	// at (disconnects that had not deleted their secret).
	Revoked int
	// Finished is how many of those disconnects it finished: the key
	// revoked at Sikka (best effort), the secret deleted, the record's
	// secret reference cleared (only the reference, for a secret already
	// gone). Those it skipped or failed count in Skipped and Failed.
	Finished int
}

// Reconcile recovers connects that never finished: for every PendingFlow
// marker older than PendingTimeout it reverses the flow's secret write (a
// secret the flow created is deleted; one it overwrote is restored to the
// version before) and removes the marker. Records are not touched: the one
// step that would have made the flow's record ACTIVE also removes its
// marker, so a marker means the record was never written.
//
// Then it finishes disconnects that never deleted their secret (the process
// died, or the deletion failed): for every REVOKED record still holding a
// secret reference (Repository.ListRevoked), the key in the secret is
// revoked at Sikka (best effort), the secret deleted and the reference
// cleared, so no secret outlives its record.
//
// Run it at start and periodically. It is safe on several replicas at once:
// each marker is recovered under its account's lock (a marker whose account
// is locked is skipped: a live flow holds that lock from its marker to its
// record), re-read under the lock, and claimed before anything is undone, so
// a flow that is somehow still running cannot complete afterwards. A revoked
// record is finished under its account's lock too, re-read under it, and
// skipped while its account has a marker (a reconnect in progress). Failures
// of single markers or records are counted and logged; the error is for
// failures to list them or a done ctx.
func (s *Service) Reconcile(ctx context.Context) (ReconcileResult, error) {
	var (
		mu     sync.Mutex
		result ReconcileResult
	)
	count := func(f func(*ReconcileResult)) { mu.Lock(); f(&result); mu.Unlock() }
	err := s.reconcilePending(ctx, count)
	if ctx.Err() != nil {
		return result, err
	}
	err = errors.Join(err, s.reconcileRevoked(ctx, count))
	return result, err
}

// reconcilePending recovers the markers older than PendingTimeout.
func (s *Service) reconcilePending(ctx context.Context, count func(func(*ReconcileResult))) error {
	before := s.cfg.Now().Add(-s.cfg.PendingTimeout)
	stale, err := forEachPaged(ctx, "pending connects", s.cfg.SweepConcurrency,
		func(ctx context.Context, after string) ([]PendingFlow, error) {
			return s.cfg.Records.ListPending(ctx, before, after, s.cfg.SweepPageSize)
		},
		func(f PendingFlow) string { return f.AccountID },
		func(f PendingFlow) {
			outcome, err := s.reconcileOne(ctx, f, before)
			switch {
			case err != nil:
				s.log.Warn("integration: could not recover an unfinished connect; retried next time",
					"account_id", f.AccountID, "flow_id", f.FlowID, "error", err)
				count(func(r *ReconcileResult) { r.Failed++ })
			case outcome == recoverUndone:
				count(func(r *ReconcileResult) { r.Undone++ })
			case outcome == recoverCleared:
				count(func(r *ReconcileResult) { r.Cleared++ })
			default:
				count(func(r *ReconcileResult) { r.Skipped++ })
			}
		})
	count(func(r *ReconcileResult) { r.Stale = stale })
	return err
}

// reconcileRevoked finishes the disconnects that left their secret.
func (s *Service) reconcileRevoked(ctx context.Context, count func(func(*ReconcileResult))) error {
	revoked, err := forEachPaged(ctx, "revoked records", s.cfg.SweepConcurrency,
		func(ctx context.Context, after string) ([]Record, error) {
			return s.cfg.Records.ListRevoked(ctx, after, s.cfg.SweepPageSize)
		},
		func(r Record) string { return r.AccountID },
		func(r Record) {
			finished, err := s.reconcileRevokedOne(ctx, r.AccountID)
			switch {
			case err != nil:
				s.log.Warn("integration: could not finish a disconnect; retried next time",
					"account_id", r.AccountID, "error", err)
				count(func(r *ReconcileResult) { r.Failed++ })
			case finished:
				count(func(r *ReconcileResult) { r.Finished++ })
			default:
				count(func(r *ReconcileResult) { r.Skipped++ })
			}
		})
	count(func(r *ReconcileResult) { r.Revoked = revoked })
	return err
}

func (s *Service) reconcileRevokedOne(ctx context.Context, accountID string) (finished bool, err error) {
	unlock, ok, err := s.cfg.Records.TryLockAccount(ctx, accountID)
	if err != nil || !ok {
		return false, err
	}
	defer unlock()
	// A reconnect in progress (or one that died, recovered by a later
	// Reconcile once its marker is old) owns the secret now.
	switch _, err := s.cfg.Records.GetPending(ctx, accountID); {
	case err == nil:
		return false, nil
	case !errors.Is(err, ErrNotFound):
		return false, fmt.Errorf("integration: read pending connect: %w", err)
	}
	rec, err := s.cfg.Records.Get(ctx, accountID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if rec.Status != StatusRevoked || rec.SecretRef == "" {
		return false, nil // reconnected, or finished meanwhile
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), disconnectTimeout)
	defer cancel()
	deleted, err := s.finishDisconnectLocked(fctx, rec)
	if err != nil {
		return false, fmt.Errorf("integration: %w", err)
	}
	action := "cleared the reference of a secret already deleted"
	if deleted {
		action = "deleted the secret left behind"
	}
	s.log.Info("integration: finished a disconnect", "account_id", accountID, "office_id", rec.OfficeID,
		"by", "reconciler", "action", action)
	return true, nil
}

type recoverOutcome int

const (
	recoverSkipped recoverOutcome = iota
	recoverCleared
	recoverUndone
)

func (s *Service) reconcileOne(ctx context.Context, f PendingFlow, before time.Time) (recoverOutcome, error) {
	unlock, ok, err := s.cfg.Records.TryLockAccount(ctx, f.AccountID)
	if err != nil || !ok {
		return recoverSkipped, err
	}
	defer unlock()
	cur, err := s.cfg.Records.GetPending(ctx, f.AccountID)
	if errors.Is(err, ErrNotFound) {
		return recoverSkipped, nil // resolved meanwhile
	}
	if err != nil {
		return recoverSkipped, err
	}
	if cur.FlowID != f.FlowID || !cur.StartedAt.Before(before) {
		return recoverSkipped, nil // another, younger flow
	}
	return s.recoverLocked(ctx, cur, "reconciler")
}

// recoverPendingLocked recovers the account's marker, if it has one. The
// caller holds the account's lock, and every flow holds that lock from its
// marker to its record, so a marker found now belongs to a flow that died.
func (s *Service) recoverPendingLocked(ctx context.Context, accountID string) error {
	f, err := s.cfg.Records.GetPending(ctx, accountID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("integration: read pending connect: %w", err)
	}
	_, err = s.recoverLocked(ctx, f, "account")
	return err
}

// recoverLocked undoes what the flow of marker f wrote, then removes f. The
// caller holds the account's lock. It is idempotent: run twice, or after a
// partial run, it ends in the same state.
func (s *Service) recoverLocked(ctx context.Context, f PendingFlow, by string) (recoverOutcome, error) {
	ctx = context.WithoutCancel(ctx) // leaving a half-undone flow is worse than finishing late
	if err := s.cfg.Records.ClaimPending(ctx, f.FlowID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return recoverSkipped, nil
		}
		return recoverSkipped, fmt.Errorf("integration: claim pending connect: %w", err)
	}
	outcome := recoverCleared
	action := "nothing was written"
	sec, err := s.cfg.Secrets.Get(ctx, f.SecretName)
	switch {
	case errors.Is(err, secretstore.ErrNotFound):
		// Never written, or already deleted.
	case err != nil:
		return recoverSkipped, fmt.Errorf("integration: read secret of pending connect: %w", err)
	case f.KeyHash != "" && keyHash(sec.RequestKey) != f.KeyHash:
		// The current value is not this flow's write: it died before
		// writing, or its write failed or was undone already.
	case f.KeyHash == "" && sec.Version == f.PrevVersion:
		// (A marker of an older version, without a key hash.) The flow
		// died before its write.
	case f.PrevVersion == "":
		if err := s.cfg.Secrets.Delete(ctx, f.SecretName); err != nil && !errors.Is(err, secretstore.ErrNotFound) {
			return recoverSkipped, fmt.Errorf("integration: delete secret of unfinished connect: %w", err)
		}
		outcome, action = recoverUndone, "deleted the secret it created"
	default:
		if err := s.cfg.Secrets.Restore(ctx, f.SecretName, f.PrevVersion); err != nil {
			return recoverSkipped, fmt.Errorf("integration: restore secret of unfinished connect: %w", err)
		}
		outcome, action = recoverUndone, "restored the secret's previous version"
	}
	if err := s.cfg.Records.DeletePending(ctx, f.FlowID); err != nil {
		return recoverSkipped, fmt.Errorf("integration: remove pending connect: %w", err)
	}
	s.log.Info("integration: recovered an unfinished connect", "account_id", f.AccountID,
		"flow_id", f.FlowID, "office_id", f.OfficeID, "started", f.StartedAt, "by", by, "action", action)
	return outcome, nil
}

// undoIfCurrent reverses a Put of a flow that lost its marker to a recovery,
// but only while that Put is still the secret's current version: if the
// recovery already reversed it, or a later connect wrote since, it leaves
// the secret alone.
func (s *Service) undoIfCurrent(ctx context.Context, name string, r secretstore.Receipt) error {
	ctx = context.WithoutCancel(ctx)
	sec, err := s.cfg.Secrets.Get(ctx, name)
	if errors.Is(err, secretstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if sec.Version != r.Version {
		return nil
	}
	return s.undoPut(ctx, r)
}
