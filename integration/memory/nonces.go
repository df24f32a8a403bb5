package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// nonces is the Repository's integration.NonceStore: each nonce with its
// account and expiry, and each account's nonces.
type nonces struct {
	mu        sync.Mutex
	byNonce   map[string]memNonce
	byAccount map[string]map[string]struct{} // account → its nonces
	lastSweep time.Time
	now       func() time.Time // the sweep's clock; tests change it
}

type memNonce struct {
	account string
	expires time.Time
}

// Save implements integration.NonceStore. Every
// integration.DefaultCleanupInterval at most (and whenever the store is
// full), it first removes the nonces that expired (on the wall clock) more
// than integration.DefaultCleanupInterval ago. It refuses a nonce, with
// integration.ErrTooManyFlows, when the account holds MaxFlowsPerAccount
// unexpired nonces or the repository MaxNonces in all.
func (m *Repository) Save(_ context.Context, accountID, nonce string, expires time.Time) error {
	n := &m.nonces
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.now()
	if now.Sub(n.lastSweep) >= integration.DefaultCleanupInterval || len(n.byNonce) >= m.MaxNonces {
		n.lastSweep = now
		for id, v := range n.byNonce {
			if now.Sub(v.expires) > integration.DefaultCleanupInterval {
				n.removeLocked(id, v.account)
			}
		}
	}
	if len(n.byNonce) >= m.MaxNonces {
		return fmt.Errorf("%w: the process holds %d unfinished flows", integration.ErrTooManyFlows, len(n.byNonce))
	}
	live := 0
	for id := range n.byAccount[accountID] {
		if now.Before(n.byNonce[id].expires) {
			live++
		}
	}
	if live >= m.MaxFlowsPerAccount {
		return fmt.Errorf("%w: the account has %d unfinished flows (at most %d)", integration.ErrTooManyFlows, live, m.MaxFlowsPerAccount)
	}
	set := n.byAccount[accountID]
	if set == nil {
		set = map[string]struct{}{}
		n.byAccount[accountID] = set
	}
	set[nonce] = struct{}{}
	n.byNonce[nonce] = memNonce{account: accountID, expires: expires}
	return nil
}

// Consume implements integration.NonceStore.
func (m *Repository) Consume(_ context.Context, nonce string) (bool, error) {
	n := &m.nonces
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.byNonce[nonce]
	if ok {
		n.removeLocked(nonce, v.account)
	}
	return ok, nil
}

// NonceCount returns how many nonces the repository holds, expired ones not
// yet removed included. It is for tests and monitoring.
func (m *Repository) NonceCount() int {
	m.nonces.mu.Lock()
	defer m.nonces.mu.Unlock()
	return len(m.nonces.byNonce)
}

func (n *nonces) removeLocked(nonce, account string) {
	delete(n.byNonce, nonce)
	if set := n.byAccount[account]; set != nil {
		delete(set, nonce)
		if len(set) == 0 {
			delete(n.byAccount, account)
		}
	}
}
