package middleware

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// NonceStore remembers the nonces of the states minted and not yet used, so
// that each state is accepted once, by whichever replica serves its callback.
// Implementations are safe for concurrent use: MemoryNonceStore in this
// package, and a PostgreSQL one in middleware/pgnonce.
//
// The handler checks a state's age itself; a store only has to keep a nonce
// until its expiry and may forget it any time after (that is how expired
// nonces are cleaned up). Errors are for system failures only, and
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

// ErrTooManyFlows: the account (or, for MemoryNonceStore, the process)
// already has as many unfinished connect flows as the nonce store keeps. The
// start route answers 429; the flows free up as they finish or expire.
var ErrTooManyFlows = errors.New("middleware: too many connect flows in progress")

// Bounds of the nonce stores of this module.
const (
	// DefaultMaxFlowsPerAccount is how many unexpired, unused states an
	// account may hold at once: a person with a few tabs never meets it.
	DefaultMaxFlowsPerAccount = 10
	// DefaultMaxNonces is how many nonces a MemoryNonceStore holds at most,
	// all accounts together (about 10 MB).
	DefaultMaxNonces = 100_000
)

// DefaultCleanupInterval is how often the nonce stores of this module remove
// expired nonces, at most. The sweep runs inside a Save once the interval has
// passed, so no goroutine needs stopping; a nonce is removed once the store's
// clock is past its expiry by more than this interval.
const DefaultCleanupInterval = time.Minute

// MemoryNonceStore is a NonceStore in this process's memory: the default of
// Config.Nonces. It suits a single process; replicas need a shared store
// (middleware/pgnonce). A restart forgets every nonce, so flows in progress
// end with invalid_state, never with a replay. It holds at most
// MaxPerAccount unexpired nonces per account and MaxTotal in all.
type MemoryNonceStore struct {
	// MaxPerAccount and MaxTotal bound the store; set them before first
	// use. NewMemoryNonceStore sets DefaultMaxFlowsPerAccount and
	// DefaultMaxNonces.
	MaxPerAccount, MaxTotal int

	mu        sync.Mutex
	nonces    map[string]memNonce
	accounts  map[string]map[string]struct{} // account → its nonces
	lastSweep time.Time
	now       func() time.Time // the sweep's clock; tests change it
}

type memNonce struct {
	account string
	expires time.Time
}

var _ NonceStore = (*MemoryNonceStore)(nil)

// NewMemoryNonceStore returns an empty MemoryNonceStore with the default bounds.
func NewMemoryNonceStore() *MemoryNonceStore {
	return &MemoryNonceStore{
		MaxPerAccount: DefaultMaxFlowsPerAccount,
		MaxTotal:      DefaultMaxNonces,
		nonces:        map[string]memNonce{},
		accounts:      map[string]map[string]struct{}{},
		now:           time.Now,
	}
}

// Save implements NonceStore. Every DefaultCleanupInterval at most (and
// whenever the store is full), it first removes the nonces that expired (on
// the wall clock) more than DefaultCleanupInterval ago.
func (m *MemoryNonceStore) Save(_ context.Context, accountID, nonce string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.Sub(m.lastSweep) >= DefaultCleanupInterval || len(m.nonces) >= m.MaxTotal {
		m.lastSweep = now
		for n, v := range m.nonces {
			if now.Sub(v.expires) > DefaultCleanupInterval {
				m.removeLocked(n, v.account)
			}
		}
	}
	if len(m.nonces) >= m.MaxTotal {
		return fmt.Errorf("%w: the process holds %d unfinished flows", ErrTooManyFlows, len(m.nonces))
	}
	live := 0
	for n := range m.accounts[accountID] {
		if now.Before(m.nonces[n].expires) {
			live++
		}
	}
	if live >= m.MaxPerAccount {
		return fmt.Errorf("%w: the account has %d unfinished flows (at most %d)", ErrTooManyFlows, live, m.MaxPerAccount)
	}
	set := m.accounts[accountID]
	if set == nil {
		set = map[string]struct{}{}
		m.accounts[accountID] = set
	}
	set[nonce] = struct{}{}
	m.nonces[nonce] = memNonce{account: accountID, expires: expires}
	return nil
}

// Consume implements NonceStore.
func (m *MemoryNonceStore) Consume(_ context.Context, nonce string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.nonces[nonce]
	if ok {
		m.removeLocked(nonce, v.account)
	}
	return ok, nil
}

func (m *MemoryNonceStore) removeLocked(nonce, account string) {
	delete(m.nonces, nonce)
	if set := m.accounts[account]; set != nil {
		delete(set, nonce)
		if len(set) == 0 {
			delete(m.accounts, account)
		}
	}
}

// Len returns how many nonces the store holds, expired ones not yet removed
// included. It is for tests and monitoring.
func (m *MemoryNonceStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.nonces)
}
