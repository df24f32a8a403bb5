package integration

import (
	"context"
	"time"
)

// Repository stores integration records. Implementations live in packages
// named after what they talk to: integration/postgres and integration/memory.
// Both pass the same suite (integration/integrationtest) and are safe for
// concurrent use.
type Repository interface {
	// Get returns the account's record, or ErrNotFound.
	Get(ctx context.Context, accountID string) (Record, error)

	// Upsert saves r as the account's record for r.Provider, creating it or
	// overwriting it in place, and returns it as stored (timestamps set).
	// If r is ACTIVE while another account holds an ACTIVE record for the
	// same provider and office, nothing is written and the error is
	// ErrAlreadyConnected: whatever the timing of concurrent callers, at most
	// one account holds a practice.
	Upsert(ctx context.Context, r Record) (Record, error)

	// ActiveByOffice returns the ACTIVE record that holds officeID, or ErrNotFound.
	ActiveByOffice(ctx context.Context, provider Provider, officeID string) (Record, error)

	// SetStatus moves the account's record to status; ErrNotFound if there is none.
	SetStatus(ctx context.Context, accountID string, status Status) error

	// SetKeyExpiry records the expiry of a freshly issued key; ErrNotFound if
	// there is no record.
	SetKeyExpiry(ctx context.Context, accountID string, expiry time.Time) error

	// Due returns up to limit ACTIVE records whose key expires before
	// `before`, ordered by account id, starting after the account id
	// `after` ("" = from the start). Paging with the last account id seen
	// visits every due record once without loading them all.
	Due(ctx context.Context, before time.Time, after string, limit int) ([]Record, error)

	// ListRevoked returns up to limit REVOKED records that still hold a
	// secret reference (disconnects that have not deleted their secret yet:
	// one in progress, one whose deletion failed, or one whose process died),
	// ordered by account id, starting after the account id `after` ("" =
	// from the start). Paging with the last account id seen visits each once.
	ListRevoked(ctx context.Context, after string, limit int) ([]Record, error)

	// ClearSecretRef empties the secret reference of the account's REVOKED
	// record, once its secret is deleted, so ListRevoked no longer lists it.
	// A record in another status is left alone: the error is then
	// ErrNotFound, as it is when the account has no record.
	ClearSecretRef(ctx context.Context, accountID string) error

	// LockAccount takes the account's refresh lock, which excludes every
	// other holder in this process and, for shared repositories, in every
	// other process. It waits until the lock is held or ctx is done. The
	// returned unlock must be called exactly once.
	LockAccount(ctx context.Context, accountID string) (unlock func(), err error)

	// TryLockAccount is LockAccount without waiting: ok is false when
	// someone else holds the lock.
	TryLockAccount(ctx context.Context, accountID string) (unlock func(), ok bool, err error)

	// The markers of connects in progress (see PendingFlow). An account has
	// at most one; the service writes them only while holding the
	// account's lock.

	// InsertPending saves f (StartedAt set by the caller, ClaimedAt zero).
	// It fails if the account already has a marker.
	InsertPending(ctx context.Context, f PendingFlow) error

	// GetPending returns the account's marker, or ErrNotFound.
	GetPending(ctx context.Context, accountID string) (PendingFlow, error)

	// ListPending returns up to limit markers started before `before`,
	// ordered by account id, starting after the account id `after` ("" =
	// from the start).
	ListPending(ctx context.Context, before time.Time, after string, limit int) ([]PendingFlow, error)

	// ClaimPending marks the flow as taken over by a recovery, after which
	// CompletePending of that flow fails; ErrNotFound if the marker is gone.
	// Claiming a claimed flow succeeds.
	ClaimPending(ctx context.Context, flowID string) error

	// DeletePending removes the flow's marker; removing one that is gone
	// succeeds.
	DeletePending(ctx context.Context, flowID string) error

	// CompletePending ends a connect in one atomic step: it removes the
	// flow's marker and saves r as Upsert does. If the marker is gone or
	// claimed, nothing is written and the error is ErrFlowLost; if r
	// cannot be saved (ErrAlreadyConnected, ErrInvalidRecord, a failure),
	// the marker stays.
	CompletePending(ctx context.Context, flowID string, r Record) (Record, error)
}
