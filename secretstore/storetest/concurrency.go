// The suite's cases of concurrent writers.

package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parlae/sikka-connect/secretstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (s *suite) concurrentSameName(t *testing.T) {
	st := s.newStore(t)
	name := s.name(t, "conc")
	written := make([]secretstore.Credentials, Concurrency)
	errs := make([]error, Concurrency)
	var wg sync.WaitGroup
	for i := range Concurrency {
		written[i] = NewCredentials(fmt.Sprint(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.Put(ctx(t), name, written[i])
		}()
	}
	wg.Wait()
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
	written := make([]secretstore.Credentials, Concurrency)
	receipts := make([]secretstore.Receipt, Concurrency)
	errs := make([]error, Concurrency)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range Concurrency {
		written[i] = NewCredentials(fmt.Sprint(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			receipts[i], errs[i] = st.Put(ctx(t), name, written[i], secretstore.IfVersion(version))
		}()
	}
	close(start)
	wg.Wait()
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
	written := make([]secretstore.Credentials, Concurrency)
	errs := make([]error, Concurrency)
	var wg sync.WaitGroup
	for i := range Concurrency {
		names[i], written[i] = s.name(t, fmt.Sprint("many", i)), NewCredentials(fmt.Sprint(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.Put(ctx(t), names[i], written[i])
		}()
	}
	wg.Wait()
	for i := range Concurrency {
		require.NoError(t, errs[i], "writer %d", i)
		got, err := st.Get(ctx(t), names[i])
		require.NoError(t, err)
		AssertSameCredentials(t, written[i], got.Credentials)
	}
}
