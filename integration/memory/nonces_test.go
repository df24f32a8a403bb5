package memory

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
)

// Expired nonces are swept during Save, at most once per interval.
func TestNoncesSweep(t *testing.T) {
	ctx := context.Background()
	clock := time.Now()
	m := New()
	m.nonces.now = func() time.Time { return clock }

	require.NoError(t, m.Save(ctx, "acct", "old", clock.Add(time.Minute)))
	require.NoError(t, m.Save(ctx, "acct", "young", clock.Add(time.Hour)))
	assert.Equal(t, 2, m.NonceCount())

	clock = clock.Add(3 * time.Minute) // "old" expired 2 minutes ago
	require.NoError(t, m.Save(ctx, "acct", "new", clock.Add(time.Hour)))
	assert.Equal(t, 2, m.NonceCount(), "old swept")
	ok, err := m.Consume(ctx, "old")
	require.NoError(t, err)
	assert.False(t, ok)

	// Within the interval no sweep runs; after it, the next Save sweeps.
	require.NoError(t, m.Save(ctx, "acct", "soon", clock.Add(-2*time.Minute))) // already long expired
	clock = clock.Add(integration.DefaultCleanupInterval / 2)
	require.NoError(t, m.Save(ctx, "acct", "x", clock.Add(time.Hour)))
	assert.Equal(t, 4, m.NonceCount(), "no sweep within the interval")
	clock = clock.Add(integration.DefaultCleanupInterval / 2)
	require.NoError(t, m.Save(ctx, "acct", "y", clock.Add(time.Hour)))
	assert.Equal(t, 4, m.NonceCount(), "soon swept, y added")
	for _, n := range []string{"young", "new", "x", "y"} {
		ok, err := m.Consume(ctx, n)
		require.NoError(t, err)
		assert.True(t, ok, n)
	}
}

// The repository holds at most MaxNonces nonces, expired ones swept first.
func TestNoncesTotalBound(t *testing.T) {
	ctx := context.Background()
	clock := time.Now()
	m := New()
	m.MaxNonces = 3
	m.nonces.now = func() time.Time { return clock }
	require.NoError(t, m.Save(ctx, "a", "n1", clock.Add(time.Minute)))
	require.NoError(t, m.Save(ctx, "b", "n2", clock.Add(time.Hour)))
	require.NoError(t, m.Save(ctx, "c", "n3", clock.Add(time.Hour)))
	require.ErrorIs(t, m.Save(ctx, "d", "n4", clock.Add(time.Hour)), integration.ErrTooManyFlows)
	assert.Equal(t, 3, m.NonceCount())

	clock = clock.Add(3 * time.Minute) // n1 expired more than a sweep interval ago
	require.NoError(t, m.Save(ctx, "d", "n4", clock.Add(time.Hour)), "a full store sweeps before refusing")
	assert.Equal(t, 3, m.NonceCount())
}
