package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// attempts is the Repository's integration.AttemptStore: the attempts
// counted for each account and each office (never a proof).
type attempts struct {
	mu        sync.Mutex
	byAccount map[string][]integration.Attempt
	byOffice  map[string][]integration.Attempt
	lastSweep time.Time
}

// ReserveAttempt implements integration.AttemptStore under one lock. It
// forgets the account's and the office's attempts at or before since, and,
// every integration.DefaultCleanupInterval at most (by the attempts' clock),
// every other account's and office's too, so the map holds only the
// attempts of the last window.
func (m *Repository) ReserveAttempt(ctx context.Context, a integration.Attempt, since time.Time, limit int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	at := &m.attempts
	at.mu.Lock()
	defer at.mu.Unlock()
	if at.byAccount == nil {
		at.byAccount = map[string][]integration.Attempt{}
		at.byOffice = map[string][]integration.Attempt{}
	}
	if a.At.Sub(at.lastSweep) >= integration.DefaultCleanupInterval {
		at.lastSweep = a.At
		for key := range at.byAccount {
			prune(at.byAccount, key, since)
		}
		for key := range at.byOffice {
			prune(at.byOffice, key, since)
		}
	}
	acct := prune(at.byAccount, a.AccountID, since)
	office := prune(at.byOffice, a.OfficeID, since)
	if len(acct) >= limit || len(office) >= limit {
		return false, nil
	}
	at.byAccount[a.AccountID] = append(acct, a)
	at.byOffice[a.OfficeID] = append(office, a)
	return true, nil
}

// ReleaseAttempt implements integration.AttemptStore.
func (m *Repository) ReleaseAttempt(ctx context.Context, a integration.Attempt) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	at := &m.attempts
	at.mu.Lock()
	defer at.mu.Unlock()
	drop := func(byKey map[string][]integration.Attempt, key string) {
		kept := slices.DeleteFunc(byKey[key], func(b integration.Attempt) bool { return b.ID == a.ID })
		if len(kept) == 0 {
			delete(byKey, key)
		} else {
			byKey[key] = kept
		}
	}
	drop(at.byAccount, a.AccountID)
	drop(at.byOffice, a.OfficeID)
	return nil
}

// prune drops key's attempts at or before since (the key itself when none is
// left) and returns those that remain.
func prune(byKey map[string][]integration.Attempt, key string, since time.Time) []integration.Attempt {
	kept := slices.DeleteFunc(byKey[key], func(b integration.Attempt) bool { return !b.At.After(since) })
	if len(kept) == 0 {
		delete(byKey, key)
		return nil
	}
	byKey[key] = kept
	return kept
}
