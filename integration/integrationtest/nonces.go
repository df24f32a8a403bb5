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

// RunNonces runs the contract of integration.NonceStore: a saved nonce is
// consumed once, unknown nonces are not, of concurrent consumers exactly one
// wins, also across store instances that share storage (as replicas do), and
// an account holds at most integration.DefaultMaxFlowsPerAccount live nonces.
// newStore prepares fresh, empty storage for the test t and returns a
// function that opens an instance on it (for a memory store, the same
// instance each time).
func RunNonces(t *testing.T, newStore func(t *testing.T) func() integration.NonceStore) {
	ctx := context.Background()
	expires := time.Now().Add(10 * time.Minute)

	t.Run("consumed once", func(t *testing.T) {
		s := newStore(t)()
		require.NoError(t, s.Save(ctx, "acct", "n-1", expires))
		ok, err := s.Consume(ctx, "n-1")
		require.NoError(t, err)
		assert.True(t, ok, "first consume")
		ok, err = s.Consume(ctx, "n-1")
		require.NoError(t, err)
		assert.False(t, ok, "second consume")
	})

	t.Run("unknown", func(t *testing.T) {
		s := newStore(t)()
		require.NoError(t, s.Save(ctx, "acct", "n-1", expires))
		for _, n := range []string{"", "n-2", "N-1", "n-1 "} {
			ok, err := s.Consume(ctx, n)
			require.NoError(t, err)
			assert.False(t, ok, "%q", n)
		}
	})

	t.Run("independent nonces", func(t *testing.T) {
		s := newStore(t)()
		for i := range 5 {
			require.NoError(t, s.Save(ctx, "acct", fmt.Sprint("n-", i), expires))
		}
		for i := range 5 {
			ok, err := s.Consume(ctx, fmt.Sprint("n-", i))
			require.NoError(t, err)
			assert.True(t, ok, i)
		}
	})

	t.Run("one winner among concurrent consumers across instances", func(t *testing.T) {
		open := newStore(t)
		stores := []integration.NonceStore{open(), open(), open()}
		const nonces, consumers = 10, 8
		for i := range nonces {
			require.NoError(t, stores[0].Save(ctx, fmt.Sprint("acct-", i), fmt.Sprint("race-", i), expires))
		}
		wins := make([]atomic.Int32, nonces)
		var wg sync.WaitGroup
		for c := range consumers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := stores[c%len(stores)]
				for i := range nonces {
					ok, err := s.Consume(ctx, fmt.Sprint("race-", i))
					if assert.NoError(t, err) && ok {
						wins[i].Add(1)
					}
				}
			}()
		}
		wg.Wait()
		for i := range wins {
			assert.Equal(t, int32(1), wins[i].Load(), "nonce %d", i)
		}
	})

	t.Run("an account holds at most DefaultMaxFlowsPerAccount live nonces", func(t *testing.T) {
		open := newStore(t)
		s, other := open(), open()
		limit := integration.DefaultMaxFlowsPerAccount
		for i := range limit {
			require.NoError(t, s.Save(ctx, "busy", fmt.Sprint("busy-", i), expires))
		}
		err := other.Save(ctx, "busy", "busy-over", expires)
		require.ErrorIs(t, err, integration.ErrTooManyFlows, "across instances too")
		ok, err := s.Consume(ctx, "busy-over")
		require.NoError(t, err)
		assert.False(t, ok, "the refused nonce was not kept")

		require.NoError(t, s.Save(ctx, "calm", "calm-1", expires), "other accounts are not limited")
		// An expired nonce no longer counts.
		require.NoError(t, s.Save(ctx, "expired", "expired-0", time.Now().Add(-time.Second)))
		for i := range limit {
			require.NoError(t, s.Save(ctx, "expired", fmt.Sprint("expired-", i+1), expires), i)
		}
		// A consumed nonce frees its slot.
		ok, err = s.Consume(ctx, "busy-0")
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, other.Save(ctx, "busy", "busy-again", expires))
	})

	t.Run("canceled context is an error, not a verdict", func(t *testing.T) {
		s := newStore(t)()
		require.NoError(t, s.Save(ctx, "acct", "n-ctx", expires))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if ok, err := s.Consume(cctx, "n-ctx"); err == nil {
			// A store that ignores contexts must still answer correctly.
			assert.True(t, ok)
			return
		}
		ok, err := s.Consume(ctx, "n-ctx")
		require.NoError(t, err)
		assert.True(t, ok, "a failed consume leaves the nonce")
	})
}
