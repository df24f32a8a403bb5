package integration

import (
	"context"
	"time"
)

// AttemptStore counts the attempts to prove ownership of an office
// (Service.ConnectOffice), so that the limit on refused proofs holds across
// every process sharing the store. It stores counts only: never a proof.
//
// The service reserves an attempt before it checks a proof and releases it
// when the proof was accepted or never checked, so an attempt stays counted
// only when its proof was refused (or its process died while checking it,
// which errs on the safe side).
type AttemptStore interface {
	// ReserveAttempt counts a against its account and its office, unless
	// either already counts limit attempts made after since: then it counts
	// nothing and returns false. It is atomic: whatever the timing of
	// concurrent calls, in any number of processes sharing the store, no
	// call returns true while the account or the office counts limit
	// attempts after since. Attempts at or before since no longer count
	// and may be forgotten.
	ReserveAttempt(ctx context.Context, a Attempt, since time.Time, limit int) (bool, error)

	// ReleaseAttempt uncounts a, which ReserveAttempt counted; releasing an
	// attempt that is not counted does nothing.
	ReleaseAttempt(ctx context.Context, a Attempt) error
}

// Attempt is one attempt to prove ownership of an office.
type Attempt struct {
	// ID identifies the attempt (random, unique), so that it is released
	// exactly.
	ID string
	// AccountID is the account that made it; OfficeID the office it named.
	AccountID string
	OfficeID  string
	// At is when it was made.
	At time.Time
}

// Defaults of the limit on refused proofs (Config.MaxProofFailures,
// Config.ProofFailureWindow).
const (
	DefaultMaxProofFailures   = 5
	DefaultProofFailureWindow = 15 * time.Minute
)
