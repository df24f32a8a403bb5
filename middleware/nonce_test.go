package middleware

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Expired nonces are swept during Save, at most once per interval.
func TestMemoryNonceStoreSweeps(t *testing.T) {
	ctx := context.Background()
	clock := time.Now()
	m := NewMemoryNonceStore()
	m.now = func() time.Time { return clock }

	require.NoError(t, m.Save(ctx, "old", clock.Add(time.Minute)))
	require.NoError(t, m.Save(ctx, "young", clock.Add(time.Hour)))
	assert.Equal(t, 2, m.Len())

	clock = clock.Add(3 * time.Minute) // "old" expired 2 minutes ago
	require.NoError(t, m.Save(ctx, "new", clock.Add(time.Hour)))
	assert.Equal(t, 2, m.Len(), "old swept")
	ok, err := m.Consume(ctx, "old")
	require.NoError(t, err)
	assert.False(t, ok)

	// Within the interval no sweep runs; after it, the next Save sweeps.
	require.NoError(t, m.Save(ctx, "soon", clock.Add(-2*time.Minute))) // already long expired
	clock = clock.Add(DefaultCleanupInterval / 2)
	require.NoError(t, m.Save(ctx, "x", clock.Add(time.Hour)))
	assert.Equal(t, 4, m.Len(), "no sweep within the interval")
	clock = clock.Add(DefaultCleanupInterval / 2)
	require.NoError(t, m.Save(ctx, "y", clock.Add(time.Hour)))
	assert.Equal(t, 4, m.Len(), "soon swept, y added")
	for _, n := range []string{"young", "new", "x", "y"} {
		ok, err := m.Consume(ctx, n)
		require.NoError(t, err)
		assert.True(t, ok, n)
	}
}
