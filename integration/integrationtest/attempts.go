package integrationtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
)

// RunAttempts runs the contract of integration.AttemptStore: an account and
// an office each count at most limit attempts within a window, an attempt is
// counted against both or neither, a released attempt no longer counts,
// attempts at or before the window's start no longer count, and the limit
// holds under concurrent reservations across store instances that share
// storage (as replicas do). newStore prepares fresh, empty storage for the
// test t and returns a function that opens an instance on it.
func RunAttempts(t *testing.T, newStore func(t *testing.T) func() integration.AttemptStore) {
	ctx := context.Background()
	const limit = 5
	base := time.Now().UTC().Truncate(time.Microsecond)
	var seq atomic.Int64
	attempt := func(acct, office string, at time.Time) integration.Attempt {
		return integration.Attempt{ID: fmt.Sprint("a-", seq.Add(1)), AccountID: acct, OfficeID: office, At: at}
	}
	reserve := func(t *testing.T, s integration.AttemptStore, a integration.Attempt) bool {
		t.Helper()
		ok, err := s.ReserveAttempt(ctx, a, a.At.Add(-15*time.Minute), limit)
		require.NoError(t, err)
		return ok
	}

	t.Run("limit per account", func(t *testing.T) {
		s := newStore(t)()
		for i := range limit {
			assert.True(t, reserve(t, s, attempt("acct-1", fmt.Sprint("O", i), base)), i)
		}
		assert.False(t, reserve(t, s, attempt("acct-1", "O-new", base)), "the account is at its limit")
		assert.True(t, reserve(t, s, attempt("acct-2", "O-new", base)), "another account, and the office, are not")
	})

	t.Run("limit per office", func(t *testing.T) {
		s := newStore(t)()
		for i := range limit {
			assert.True(t, reserve(t, s, attempt(fmt.Sprint("acct-", i), "D1", base)), i)
		}
		assert.False(t, reserve(t, s, attempt("acct-new", "D1", base)), "the office is at its limit")
		assert.True(t, reserve(t, s, attempt("acct-new", "D2", base)), "another office, and the account, are not")
	})

	t.Run("both or neither", func(t *testing.T) {
		s := newStore(t)()
		for i := range limit {
			require.True(t, reserve(t, s, attempt("acct-full", fmt.Sprint("O", i), base)))
		}
		// Refused for the account: the office counts nothing of it.
		for range 3 {
			require.False(t, reserve(t, s, attempt("acct-full", "D1", base)))
		}
		for i := range limit {
			assert.True(t, reserve(t, s, attempt(fmt.Sprint("other-", i), "D1", base)), i)
		}
		assert.False(t, reserve(t, s, attempt("other-new", "D1", base)))
	})

	t.Run("released attempts do not count", func(t *testing.T) {
		s := newStore(t)()
		for i := range 20 {
			a := attempt("acct-1", "D1", base.Add(time.Duration(i)*time.Second))
			require.True(t, reserve(t, s, a), i)
			require.NoError(t, s.ReleaseAttempt(ctx, a))
		}
		kept := attempt("acct-1", "D1", base)
		require.True(t, reserve(t, s, kept))
		require.NoError(t, s.ReleaseAttempt(ctx, attempt("acct-1", "D1", base)), "releasing one not counted")
		require.NoError(t, s.ReleaseAttempt(ctx, kept))
		require.NoError(t, s.ReleaseAttempt(ctx, kept), "twice")
		for i := range limit {
			assert.True(t, reserve(t, s, attempt("acct-1", "D1", base)), i)
		}
		assert.False(t, reserve(t, s, attempt("acct-1", "D1", base)))
	})

	t.Run("the window slides", func(t *testing.T) {
		s := newStore(t)()
		for i := range limit {
			require.True(t, reserve(t, s, attempt("acct-1", "D1", base.Add(time.Duration(i)*time.Minute))))
		}
		// 15 minutes after the first attempt, only it has aged out.
		at := base.Add(15 * time.Minute)
		assert.True(t, reserve(t, s, attempt("acct-1", "D1", at)), "the first attempt no longer counts")
		assert.False(t, reserve(t, s, attempt("acct-1", "D1", at.Add(time.Second/2))), "the others still do")
		assert.True(t, reserve(t, s, attempt("acct-1", "D1", base.Add(16*time.Minute+time.Second))))
	})

	t.Run("concurrent reservations across instances", func(t *testing.T) {
		open := newStore(t)
		stores := []integration.AttemptStore{open(), open()}
		// Each case on accounts and offices of its own (the storage is shared).
		for name, who := range map[string]func(i int) (string, string){
			"one account": func(i int) (string, string) { return "one-acct", fmt.Sprint("one-acct-O", i) },
			"one office":  func(i int) (string, string) { return fmt.Sprint("one-office-", i), "one-office-D" },
			"both":        func(int) (string, string) { return "both-acct", "both-D" },
		} {
			t.Run(name, func(t *testing.T) {
				const n = 50
				var granted atomic.Int32
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						acct, office := who(i)
						a := attempt(acct, office, base)
						ok, err := stores[i%2].ReserveAttempt(ctx, a, base.Add(-15*time.Minute), limit)
						if assert.NoError(t, err) && ok {
							granted.Add(1)
						}
					}()
				}
				close(start)
				wg.Wait()
				assert.Equal(t, int32(limit), granted.Load())
			})
		}
	})
}
