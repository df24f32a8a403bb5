package middleware

import (
	"context"
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
// nonces are cleaned up). Errors are for system failures only: an unknown or
// used nonce is not an error.
type NonceStore interface {
	// Save records nonce, freshly minted, as usable until expires.
	Save(ctx context.Context, nonce string, expires time.Time) error

	// Consume removes nonce and reports whether it was there. It is atomic:
	// of any number of concurrent calls for one nonce, in any number of
	// processes sharing the store, at most one returns true.
	Consume(ctx context.Context, nonce string) (bool, error)
}

// DefaultCleanupInterval is how often the nonce stores of this module remove
// expired nonces, at most. The sweep runs inside a Save once the interval has
// passed, so no goroutine needs stopping; a nonce is removed once the store's
// clock is past its expiry by more than this interval.
const DefaultCleanupInterval = time.Minute

// MemoryNonceStore is a NonceStore in this process's memory: the default of
// Config.Nonces. It suits a single process; replicas need a shared store
// (middleware/pgnonce). A restart forgets every nonce, so flows in progress
// end with invalid_state, never with a replay.
type MemoryNonceStore struct {
	mu        sync.Mutex
	nonces    map[string]time.Time
	lastSweep time.Time
	now       func() time.Time // the sweep's clock; tests change it
}

var _ NonceStore = (*MemoryNonceStore)(nil)

// NewMemoryNonceStore returns an empty MemoryNonceStore.
func NewMemoryNonceStore() *MemoryNonceStore {
	return &MemoryNonceStore{nonces: map[string]time.Time{}, now: time.Now}
}

// Save implements NonceStore. Every DefaultCleanupInterval at most, it first
// removes the nonces that expired (on the wall clock) more than
// DefaultCleanupInterval ago.
func (m *MemoryNonceStore) Save(_ context.Context, nonce string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.Sub(m.lastSweep) >= DefaultCleanupInterval {
		m.lastSweep = now
		for n, exp := range m.nonces {
			if now.Sub(exp) > DefaultCleanupInterval {
				delete(m.nonces, n)
			}
		}
	}
	m.nonces[nonce] = expires
	return nil
}

// Consume implements NonceStore.
func (m *MemoryNonceStore) Consume(_ context.Context, nonce string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.nonces[nonce]
	delete(m.nonces, nonce)
	return ok, nil
}

// Len returns how many nonces the store holds, expired ones not yet removed
// included. It is for tests and monitoring.
func (m *MemoryNonceStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.nonces)
}
