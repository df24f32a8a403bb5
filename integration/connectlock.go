package integration

import (
	"context"
	"errors"
	"fmt"
)

// ConnectLock is the account lock of a connect in progress, taken by
// BeginConnect with the flow's marker saved.
type ConnectLock interface {
	// Complete ends the connect as Repository.CompletePending does and, when
	// it succeeds, releases the lock in the same step. When it fails
	// (ErrFlowLost, ErrAlreadyConnected, a failure), the lock is still held:
	// undo, then call Unlock.
	Complete(ctx context.Context, flowID string, r Record) (Record, error)
	// Unlock releases the lock. After a successful Complete, or a second
	// time, it does nothing.
	Unlock()
}

// ConnectBeginner is implemented by repositories that start a connect in one
// step (integration/postgres: one statement). Other repositories get
// BeginConnect's effect from their Repository methods, step by step.
type ConnectBeginner interface {
	// BeginConnect takes the account's lock (waiting as LockAccount does)
	// and, in the same step:
	//   - when another account holds f.OfficeID ACTIVE, releases it and
	//     returns ErrAlreadyConnected (nothing saved);
	//   - when the account has a marker left (a connect that died), keeps
	//     the lock and returns started=false without saving f: the caller
	//     recovers that marker, then saves f with InsertPending;
	//   - else saves f's marker and returns started=true.
	// On any other error nothing is held.
	BeginConnect(ctx context.Context, f PendingFlow) (lock ConnectLock, started bool, err error)
}

// beginConnect is BeginConnect of the configured repository, or the same
// made of its Repository methods.
func (s *Service) beginConnect(ctx context.Context, f PendingFlow) (ConnectLock, bool, error) {
	if b, ok := s.cfg.Records.(ConnectBeginner); ok {
		return b.BeginConnect(ctx, f)
	}
	return beginConnectInSteps(ctx, s.cfg.Records, f)
}

// InSteps returns repo with BeginConnect made of its Repository methods
// (LockAccount, ActiveByOffice, GetPending, InsertPending): what Service
// uses for a repository that is no ConnectBeginner. For tests of that path.
func InSteps(repo Repository) interface {
	Repository
	ConnectBeginner
} {
	return stepsRepository{repo}
}

type stepsRepository struct{ Repository }

func (r stepsRepository) BeginConnect(ctx context.Context, f PendingFlow) (ConnectLock, bool, error) {
	return beginConnectInSteps(ctx, r.Repository, f)
}

// beginConnectInSteps is BeginConnect made of LockAccount, ActiveByOffice,
// GetPending and InsertPending.
func beginConnectInSteps(ctx context.Context, repo Repository, f PendingFlow) (ConnectLock, bool, error) {
	unlock, err := repo.LockAccount(ctx, f.AccountID)
	if err != nil {
		return nil, false, err
	}
	fail := func(err error) (ConnectLock, bool, error) {
		unlock()
		return nil, false, err
	}
	switch holder, err := repo.ActiveByOffice(ctx, f.Provider, f.OfficeID); {
	case err == nil && holder.AccountID != f.AccountID:
		return fail(ErrAlreadyConnected)
	case err != nil && !errors.Is(err, ErrNotFound):
		return fail(err)
	}
	lock := &stepLock{repo: repo, unlock: unlock}
	switch _, err := repo.GetPending(ctx, f.AccountID); {
	case err == nil:
		return lock, false, nil
	case !errors.Is(err, ErrNotFound):
		return fail(fmt.Errorf("integration: read pending connect: %w", err))
	}
	if err := repo.InsertPending(ctx, f); err != nil {
		return fail(fmt.Errorf("integration: save pending connect: %w", err))
	}
	return lock, true, nil
}

// stepLock is the ConnectLock of beginConnectInSteps.
type stepLock struct {
	repo   Repository
	unlock func() // idempotent
}

func (l *stepLock) Complete(ctx context.Context, flowID string, r Record) (Record, error) {
	rec, err := l.repo.CompletePending(ctx, flowID, r)
	if err == nil {
		l.unlock()
	}
	return rec, err
}

func (l *stepLock) Unlock() { l.unlock() }
