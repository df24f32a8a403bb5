// The suite's cases of concurrent writers.

package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/parlae/sikka-connect/secretstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (s *suite) concurrentSameName(t *testing.T) {
	st := s.newStore(t)
	name := s.name(t, "conc")
	written, _, errs := putConcurrently(t, st, slices.Repeat([]string{name}, Concurrency))
	for i, err := range errs {
		require.NoError(t, err, "writer %d", i)
	}
	got, err := st.Get(ctx(t), name)
	require.NoError(t, err)
	matches := 0
	for _, w := range written {
		if same(w, got.Credentials) {
			matches++
		}
	}
	assert.Equal(t, 1, matches, "Get returns exactly one of the written values, intact")
}

func (s *suite) concurrentCAS(t *testing.T) {
	st := s.newStore(t)
	name := s.name(t, "conccas")
	r0, err := st.Put(ctx(t), name, NewCredentials("base"))
	require.NoError(t, err)
	s.casRace(t, st, name, r0.Version)
}

func (s *suite) concurrentCASCreate(t *testing.T) {
	st := s.newStore(t)
	s.casRace(t, st, s.name(t, "conccreate"), "")
}

// casRace starts Concurrency writers with IfVersion(version): exactly one
// must win, the others get ErrVersionConflict, and the winner's value is
// current.
func (s *suite) casRace(t *testing.T, st secretstore.Store, name, version string) {
	written, receipts, errs := putConcurrently(t, st, slices.Repeat([]string{name}, Concurrency), secretstore.IfVersion(version))
	winner := -1
	for i, err := range errs {
		if err == nil {
			assert.Equal(t, -1, winner, "more than one check-and-set writer won (%d and %d)", winner, i)
			winner = i
			continue
		}
		assert.ErrorIs(t, err, secretstore.ErrVersionConflict, "writer %d", i)
		AssertNoSecretIn(t, err, written...)
	}
	require.NotEqual(t, -1, winner, "no check-and-set writer won")
	assert.Equal(t, version, receipts[winner].Previous)
	got, err := st.Get(ctx(t), name)
	require.NoError(t, err)
	assert.Equal(t, receipts[winner].Version, got.Version)
	AssertSameCredentials(t, written[winner], got.Credentials)
}

func (s *suite) concurrentDifferentNames(t *testing.T) {
	st := s.newStore(t)
	names := make([]string, Concurrency)
	for i := range names {
		names[i] = s.name(t, fmt.Sprint("many", i))
	}
	written, _, errs := putConcurrently(t, st, names)
	for i := range Concurrency {
		require.NoError(t, errs[i], "writer %d", i)
		got, err := st.Get(ctx(t), names[i])
		require.NoError(t, err)
		AssertSameCredentials(t, written[i], got.Credentials)
	}
}

// putConcurrently starts one writer per name, released at once: writer i
// puts fresh credentials written[i] under names[i] with opts. It returns,
// once all are done, what each wrote, its receipt and its error.
func putConcurrently(t *testing.T, st secretstore.Store, names []string, opts ...secretstore.PutOption) (
	written []secretstore.Credentials, receipts []secretstore.Receipt, errs []error,
) {
	written = make([]secretstore.Credentials, len(names))
	receipts = make([]secretstore.Receipt, len(names))
	errs = make([]error, len(names))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, name := range names {
		written[i] = NewCredentials(fmt.Sprint(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			receipts[i], errs[i] = st.Put(ctx(t), name, written[i], opts...)
		}()
	}
	close(start)
	wg.Wait()
	return written, receipts, errs
}
