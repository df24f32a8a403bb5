// Package memory is an in-process secretstore.Store, for the demo and for
// tests. It keeps every version of every secret in memory, in the storage
// encoding, until the secret is deleted; nothing survives the process.
//
//	store := memory.New()
//	rcpt, err := store.Put(ctx, "parlae/pms/sikka/acct1", creds)
//
// References have the form "memory:" + name.
package memory

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/parlae/sikka-connect/secretstore"
)

// RefPrefix starts every reference this store hands out.
const RefPrefix = "memory:"

var _ secretstore.Store = (*Store)(nil)

// Store is an in-memory secretstore.Store. The zero value is not usable; call
// New. It is safe for concurrent use, and IfVersion is an exact
// check-and-set.
type Store struct {
	mu      sync.Mutex
	secrets map[string]*entry
	seq     uint64 // last version number handed out, store-wide
}

type entry struct {
	versions map[string][]byte // version -> EncodeCredentials output
	current  string
}

// New returns an empty store.
func New() *Store {
	return &Store{secrets: map[string]*entry{}}
}

// nameOf turns a name or reference into a validated name.
func nameOf(nameOrRef string) (string, error) {
	name := strings.TrimPrefix(nameOrRef, RefPrefix)
	if err := secretstore.ValidateName(name); err != nil {
		return "", err
	}
	return name, nil
}

// Put implements secretstore.Store.
func (s *Store) Put(ctx context.Context, name string, c secretstore.Credentials, opts ...secretstore.PutOption) (secretstore.Receipt, error) {
	if err := secretstore.ValidateName(name); err != nil {
		return secretstore.Receipt{}, fmt.Errorf("secretstore/memory: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return secretstore.Receipt{}, fmt.Errorf("secretstore/memory: put %q: %w", name, err)
	}
	data, err := secretstore.EncodeCredentials(c)
	if err != nil {
		return secretstore.Receipt{}, fmt.Errorf("secretstore/memory: put %q: encode: %w", name, err)
	}
	o := secretstore.NewPutOptions(opts...)

	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.secrets[name]
	previous := ""
	if e != nil {
		previous = e.current
	}
	if o.CheckVersion && o.IfVersion != previous {
		return secretstore.Receipt{}, fmt.Errorf("secretstore/memory: put %q: current version is not %q: %w", name, o.IfVersion, secretstore.ErrVersionConflict)
	}
	if e == nil {
		e = &entry{versions: map[string][]byte{}}
		s.secrets[name] = e
	}
	version := s.writeLocked(e, data)
	return secretstore.Receipt{Ref: RefPrefix + name, Version: version, Previous: previous}, nil
}

func (s *Store) writeLocked(e *entry, data []byte) string {
	s.seq++
	v := strconv.FormatUint(s.seq, 10)
	e.versions[v] = data
	e.current = v
	return v
}

// Get implements secretstore.Store.
func (s *Store) Get(ctx context.Context, nameOrRef string) (secretstore.Secret, error) {
	name, err := nameOf(nameOrRef)
	if err != nil {
		return secretstore.Secret{}, fmt.Errorf("secretstore/memory: get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return secretstore.Secret{}, fmt.Errorf("secretstore/memory: get %q: %w", name, err)
	}
	s.mu.Lock()
	e := s.secrets[name]
	var data []byte
	var version string
	if e != nil {
		version, data = e.current, e.versions[e.current]
	}
	s.mu.Unlock()
	if e == nil {
		return secretstore.Secret{}, fmt.Errorf("secretstore/memory: get %q: %w", name, secretstore.ErrNotFound)
	}
	c, err := secretstore.DecodeCredentials(data)
	if err != nil {
		return secretstore.Secret{}, fmt.Errorf("secretstore/memory: get %q: %w", name, err)
	}
	return secretstore.Secret{Ref: RefPrefix + name, Version: version, Credentials: c}, nil
}

// Delete implements secretstore.Store; the secret and its versions are gone
// at once.
func (s *Store) Delete(ctx context.Context, nameOrRef string) error {
	name, err := nameOf(nameOrRef)
	if err != nil {
		return fmt.Errorf("secretstore/memory: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("secretstore/memory: delete %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.secrets[name]; !ok {
		return fmt.Errorf("secretstore/memory: delete %q: %w", name, secretstore.ErrNotFound)
	}
	delete(s.secrets, name)
	return nil
}

// Restore implements secretstore.Store.
func (s *Store) Restore(ctx context.Context, nameOrRef string, version string) error {
	name, err := nameOf(nameOrRef)
	if err != nil {
		return fmt.Errorf("secretstore/memory: restore: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("secretstore/memory: restore %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.secrets[name]
	if e == nil {
		return fmt.Errorf("secretstore/memory: restore %q: %w", name, secretstore.ErrNotFound)
	}
	data, ok := e.versions[version]
	if !ok {
		return fmt.Errorf("secretstore/memory: restore %q version %q: %w", name, version, secretstore.ErrNotFound)
	}
	s.writeLocked(e, data)
	return nil
}
