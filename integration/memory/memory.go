// Package memory is an in-process integration.Repository for the demo and for
// tests: records, account locks, markers of connects in progress,
// connect-flow nonces (nonces.go) and counts of ownership proofs
// (attempts.go). It has the same semantics as
// integration/postgres (both pass integration/integrationtest); its locks
// only exclude holders in this process, and a restart forgets everything
// (flows in progress then end with invalid_state, never with a replay).
package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// Repository keeps records, markers and nonces in maps. The zero value is
// not usable; call New.
type Repository struct {
	// MaxFlowsPerAccount and MaxNonces bound the nonces kept (see Save): at
	// most MaxFlowsPerAccount unexpired ones per account and MaxNonces in
	// all. Set them before first use; New sets
	// integration.DefaultMaxFlowsPerAccount and integration.DefaultMaxNonces.
	MaxFlowsPerAccount, MaxNonces int

	mu      sync.Mutex
	records map[string]integration.Record      // by account id
	pending map[string]integration.PendingFlow // by account id
	locks   map[string]chan struct{}           // held account locks
	now     func() time.Time

	nonces   nonces   // under a lock of its own
	attempts attempts // under a lock of its own (attempts.go)
}

var _ integration.Repository = (*Repository)(nil)

// New returns an empty repository.
func New() *Repository {
	return &Repository{
		MaxFlowsPerAccount: integration.DefaultMaxFlowsPerAccount,
		MaxNonces:          integration.DefaultMaxNonces,
		records:            map[string]integration.Record{},
		pending:            map[string]integration.PendingFlow{},
		locks:              map[string]chan struct{}{},
		now:                time.Now,
		nonces: nonces{
			byNonce:   map[string]memNonce{},
			byAccount: map[string]map[string]struct{}{},
			now:       time.Now,
		},
	}
}

// Get implements integration.Repository.
func (m *Repository) Get(ctx context.Context, accountID string) (integration.Record, error) {
	return lookup(ctx, m, m.records, accountID)
}

// Upsert implements integration.Repository.
func (m *Repository) Upsert(ctx context.Context, r integration.Record) (integration.Record, error) {
	if err := checkWrite(ctx, r); err != nil {
		return integration.Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.upsertLocked(r)
}

// checkWrite returns ctx's error if it has ended, else r's validation
// error: what Upsert and CompletePending check before taking m.mu.
func checkWrite(ctx context.Context, r integration.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.Validate()
}

func (m *Repository) upsertLocked(r integration.Record) (integration.Record, error) {
	if r.Status == integration.StatusActive {
		if holder, ok := m.activeByOfficeLocked(r.Provider, r.OfficeID); ok && holder.AccountID != r.AccountID {
			return integration.Record{}, integration.ErrAlreadyConnected
		}
	}
	now := m.now().UTC().Truncate(time.Microsecond)
	old, had := m.records[r.AccountID]
	if had {
		r.CreatedAt = old.CreatedAt
	} else {
		r.CreatedAt = now
	}
	keepDataRefresh(&r, old, had)
	r.UpdatedAt = now
	r.KeyExpiry = r.KeyExpiry.UTC().Truncate(time.Microsecond)
	r.ConnectedAt = r.ConnectedAt.UTC().Truncate(time.Microsecond)
	m.records[r.AccountID] = r
	return r, nil
}

// ActiveByOffice implements integration.Repository.
func (m *Repository) ActiveByOffice(ctx context.Context, provider integration.Provider, officeID string) (integration.Record, error) {
	if err := ctx.Err(); err != nil {
		return integration.Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.activeByOfficeLocked(provider, officeID); ok {
		return r, nil
	}
	return integration.Record{}, integration.ErrNotFound
}

// activeByOfficeLocked returns, under m.mu, the office's ACTIVE record. An
// office has one at most: upsertLocked and SetStatus refuse a second with
// ErrAlreadyConnected, as PostgreSQL's unique index does.
func (m *Repository) activeByOfficeLocked(provider integration.Provider, officeID string) (integration.Record, bool) {
	for _, r := range m.records {
		if r.Status == integration.StatusActive && r.Provider == provider && r.OfficeID == officeID {
			return r, true
		}
	}
	return integration.Record{}, false
}

// ActiveOffices implements integration.Repository.
func (m *Repository) ActiveOffices(ctx context.Context, provider integration.Provider) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, r := range m.records {
		if r.Status == integration.StatusActive && r.Provider == provider {
			out = append(out, r.OfficeID)
		}
	}
	return out, nil
}

// SetStatus implements integration.Repository.
func (m *Repository) SetStatus(ctx context.Context, accountID string, status integration.Status) error {
	return m.update(ctx, accountID, func(r *integration.Record) error {
		if !status.Valid() {
			return integration.ErrInvalidRecord
		}
		if status == integration.StatusActive && r.Status != integration.StatusActive {
			if _, held := m.activeByOfficeLocked(r.Provider, r.OfficeID); held {
				return integration.ErrAlreadyConnected
			}
		}
		r.Status = status
		return nil
	})
}

// SetKeyExpiry implements integration.Repository.
func (m *Repository) SetKeyExpiry(ctx context.Context, accountID string, expiry time.Time) error {
	return m.update(ctx, accountID, func(r *integration.Record) error {
		r.KeyExpiry = expiry.UTC().Truncate(time.Microsecond)
		return nil
	})
}

func (m *Repository) update(ctx context.Context, accountID string, change func(*integration.Record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[accountID]
	if !ok {
		return integration.ErrNotFound
	}
	if err := change(&r); err != nil {
		return err
	}
	r.UpdatedAt = m.now().UTC().Truncate(time.Microsecond)
	m.records[accountID] = r
	return nil
}

// Due implements integration.Repository.
func (m *Repository) Due(ctx context.Context, before time.Time, after string, limit int) ([]integration.Record, error) {
	return page(ctx, m, m.records, after, limit, func(r integration.Record) bool {
		return r.Status == integration.StatusActive && r.KeyExpiry.Before(before)
	})
}

// ListRevoked implements integration.Repository.
func (m *Repository) ListRevoked(ctx context.Context, after string, limit int) ([]integration.Record, error) {
	return page(ctx, m, m.records, after, limit, func(r integration.Record) bool {
		return r.Status == integration.StatusRevoked && r.SecretRef != ""
	})
}

// ClearSecretRef implements integration.Repository.
func (m *Repository) ClearSecretRef(ctx context.Context, accountID string) error {
	return m.update(ctx, accountID, func(r *integration.Record) error {
		if r.Status != integration.StatusRevoked {
			return integration.ErrNotFound
		}
		r.SecretRef = ""
		return nil
	})
}

// LockAccount implements integration.Repository.
func (m *Repository) LockAccount(ctx context.Context, accountID string) (func(), error) {
	for {
		unlock, ok, wait := m.tryLock(accountID)
		if ok {
			return unlock, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// TryLockAccount implements integration.Repository.
func (m *Repository) TryLockAccount(ctx context.Context, accountID string) (func(), bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	unlock, ok, _ := m.tryLock(accountID)
	return unlock, ok, nil
}

// tryLock takes the lock if it is free; otherwise it returns a channel that
// is closed when the current holder lets go.
func (m *Repository) tryLock(accountID string) (unlock func(), ok bool, wait <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if held, busy := m.locks[accountID]; busy {
		return nil, false, held
	}
	done := make(chan struct{})
	m.locks[accountID] = done
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.locks, accountID)
			m.mu.Unlock()
			close(done)
		})
	}, true, nil
}

// InsertPending implements integration.Repository.
func (m *Repository) InsertPending(ctx context.Context, f integration.PendingFlow) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.pending[f.AccountID]; ok {
		return fmt.Errorf("memory: account %q already has a pending connect (flow %s)", f.AccountID, old.FlowID)
	}
	for _, other := range m.pending {
		if other.FlowID == f.FlowID {
			return fmt.Errorf("memory: flow %s already exists", f.FlowID)
		}
	}
	f.StartedAt = f.StartedAt.UTC().Truncate(time.Microsecond)
	f.ClaimedAt = time.Time{}
	m.pending[f.AccountID] = f
	return nil
}

// GetPending implements integration.Repository.
func (m *Repository) GetPending(ctx context.Context, accountID string) (integration.PendingFlow, error) {
	return lookup(ctx, m, m.pending, accountID)
}

// ListPending implements integration.Repository.
func (m *Repository) ListPending(ctx context.Context, before time.Time, after string, limit int) ([]integration.PendingFlow, error) {
	return page(ctx, m, m.pending, after, limit, func(f integration.PendingFlow) bool {
		return f.StartedAt.Before(before)
	})
}

// lookup returns values[key] (values is one of m's maps, by account id),
// or integration.ErrNotFound, under m.mu; ctx's error if it has ended.
func lookup[V any](ctx context.Context, m *Repository, values map[string]V, key string) (V, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := values[key]
	if !ok {
		return zero, integration.ErrNotFound
	}
	return v, nil
}

// page returns, under m.mu, the values (of one of m's maps, by account id)
// that keep accepts and whose account id sorts after after, in account id
// order: at most limit of them when limit > 0, nil when none. It returns
// ctx's error if ctx has ended.
func page[V any](ctx context.Context, m *Repository, values map[string]V, after string, limit int, keep func(V) bool) ([]V, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, v := range values {
		if id > after && keep(v) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	var out []V
	for _, id := range ids {
		out = append(out, values[id])
	}
	return out, nil
}

// flowLocked finds the account holding flowID's marker.
func (m *Repository) flowLocked(flowID string) (string, bool) {
	for id, f := range m.pending {
		if f.FlowID == flowID {
			return id, true
		}
	}
	return "", false
}

// ClaimPending implements integration.Repository.
func (m *Repository) ClaimPending(ctx context.Context, flowID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.flowLocked(flowID)
	if !ok {
		return integration.ErrNotFound
	}
	f := m.pending[id]
	if f.ClaimedAt.IsZero() {
		f.ClaimedAt = m.now().UTC().Truncate(time.Microsecond)
		m.pending[id] = f
	}
	return nil
}

// DeletePending implements integration.Repository.
func (m *Repository) DeletePending(ctx context.Context, flowID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.flowLocked(flowID); ok {
		delete(m.pending, id)
	}
	return nil
}

// CompletePending implements integration.Repository.
func (m *Repository) CompletePending(ctx context.Context, flowID string, r integration.Record) (integration.Record, error) {
	if err := checkWrite(ctx, r); err != nil {
		return integration.Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.flowLocked(flowID)
	if !ok || !m.pending[id].ClaimedAt.IsZero() {
		return integration.Record{}, integration.ErrFlowLost
	}
	out, err := m.upsertLocked(r)
	if err != nil {
		return integration.Record{}, err
	}
	delete(m.pending, id)
	return out, nil
}
