package integration

import (
	"context"
	"time"
)

// Repository is everything the integration stores, as one value: the
// records, the account locks, the markers of connects in progress, the
// nonces of connect-flow states, what Sikka's Data_Refresh reported and the
// counts of ownership proofs. Each role is an interface of its own
// (RecordStore, AccountLocker, PendingFlowStore, NonceStore,
// DataRefreshStore, AttemptStore) with a contract suite of its own in
// integration/integrationtest, so a new implementation
// can be written and tested one role at a time; a host still passes one
// value. The implementations live in packages named after what they talk to,
// integration/postgres and integration/memory, which hold every role; both
// pass the whole suite (integrationtest.Run) and are safe for concurrent use.
type Repository interface {
	RecordStore
	AccountLocker
	PendingFlowStore
	NonceStore
	DataRefreshStore
	AttemptStore
}

// RecordStore keeps the integration records, one per account and provider.
type RecordStore interface {
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

	// ActiveOffices returns the office ids of every ACTIVE record of
	// provider, each once, in no particular order.
	ActiveOffices(ctx context.Context, provider Provider) ([]string, error)

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
}

// AccountLocker holds the per-account locks that serialize a connect,
// refresh or disconnect of one account.
type AccountLocker interface {
	// LockAccount takes the account's refresh lock, which excludes every
	// other holder in this process and, for shared repositories, in every
	// other process. It waits until the lock is held or ctx is done. The
	// returned unlock must be called exactly once.
	LockAccount(ctx context.Context, accountID string) (unlock func(), err error)

	// TryLockAccount is LockAccount without waiting: ok is false when
	// someone else holds the lock.
	TryLockAccount(ctx context.Context, accountID string) (unlock func(), ok bool, err error)
}

// PendingFlowStore keeps the markers of connects in progress (see
// PendingFlow). An account has at most one; the service writes them only
// while holding the account's lock. CompletePending writes a record, so an
// implementation shares its storage with the RecordStore it comes with.
type PendingFlowStore interface {
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

// NonceStore remembers the nonces of the connect-flow states minted and not
// yet used, so that each state is accepted once, by whichever replica serves
// its callback. The service does not use it itself: it hands it to the HTTP
// layer (Service.Nonces, which middleware.Config.Nonces defaults to).
// Implementations are safe for concurrent use: the repositories of
// integration/memory (one process) and integration/postgres (shared by
// replicas).
//
// The HTTP layer checks a state's age itself; a store only has to keep a
// nonce until its expiry and may forget it any time after (that is how
// expired nonces are cleaned up). Errors are for system failures only, and
// ErrTooManyFlows: an unknown or used nonce is not an error.
//
// A store bounds what it keeps: it refuses a Save with an error wrapping
// ErrTooManyFlows when the account already holds its limit of unexpired
// nonces (DefaultMaxFlowsPerAccount unless configured otherwise), so a
// client that calls start in a loop cannot grow the store without end.
type NonceStore interface {
	// Save records nonce, freshly minted for accountID, as usable until
	// expires; ErrTooManyFlows when accountID is at its limit.
	Save(ctx context.Context, accountID, nonce string, expires time.Time) error

	// Consume removes nonce and reports whether it was there. It is atomic:
	// of any number of concurrent calls for one nonce, in any number of
	// processes sharing the store, at most one returns true.
	Consume(ctx context.Context, nonce string) (bool, error)
}

// Bounds of the nonce stores of this module.
const (
	// DefaultMaxFlowsPerAccount is how many unexpired, unused states an
	// account may hold at once: a person with a few tabs never meets it.
	DefaultMaxFlowsPerAccount = 10
	// DefaultMaxNonces is how many nonces the memory repository holds at
	// most, all accounts together (about 10 MB).
	DefaultMaxNonces = 100_000
	// DefaultCleanupInterval is how often the nonce stores of this module
	// remove expired nonces, at most. The sweep runs inside a Save once the
	// interval has passed, so no goroutine needs stopping; a nonce is
	// removed once the store's clock is past its expiry by more than this
	// interval.
	DefaultCleanupInterval = time.Minute
)
