package pgnonce_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/middleware/noncetest"
	"github.com/parlae/sikka-connect/middleware/pgnonce"
)

// Each store of a test has its own pool on the test's schema, as replicas
// would.
func TestContract(t *testing.T) {
	noncetest.Run(t, func(t *testing.T) func() middleware.NonceStore {
		url := pgtest.URL(t)
		return func() middleware.NonceStore {
			db, err := sqlx.Open("postgres", url)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s, err := pgnonce.New(context.Background(), db)
			require.NoError(t, err)
			return s
		}
	})
}

func TestCleanup(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	s, err := pgnonce.New(ctx, db)
	require.NoError(t, err)

	now := time.Now()
	require.NoError(t, s.Save(ctx, "acct", "long-gone", now.Add(-time.Hour)))
	require.NoError(t, s.Save(ctx, "acct", "just-expired", now.Add(-time.Second))) // within the grace interval
	require.NoError(t, s.Save(ctx, "acct", "live", now.Add(time.Hour)))

	n, err := s.Cleanup(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	var left int
	require.NoError(t, db.Get(&left, "SELECT count(*) FROM sikka_state_nonces"))
	assert.Equal(t, 2, left)

	ok, err := s.Consume(ctx, "live")
	require.NoError(t, err)
	assert.True(t, ok)
}

// Save sweeps by itself: the first Save of a Store cleans up.
func TestSaveSweeps(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	open := func() (*pgnonce.Store, *sqlx.DB) {
		db, err := sqlx.Open("postgres", url)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		s, err := pgnonce.New(ctx, db)
		require.NoError(t, err)
		return s, db
	}
	a, db := open()
	require.NoError(t, a.Save(ctx, "acct", "stale", time.Now().Add(-time.Hour)))
	b, _ := open()
	require.NoError(t, b.Save(ctx, "acct", "fresh", time.Now().Add(time.Hour)))
	var hashes int
	require.NoError(t, db.Get(&hashes, "SELECT count(*) FROM sikka_state_nonces"))
	assert.Equal(t, 1, hashes, "the stale nonce was swept by the other store's first Save")
}

// Only a hash of each nonce reaches the database.
func TestStoresHashOnly(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	s, err := pgnonce.New(ctx, db)
	require.NoError(t, err)
	require.NoError(t, s.Save(ctx, "acct", "visible-nonce", time.Now().Add(time.Hour)))
	var raw []byte
	require.NoError(t, db.Get(&raw, "SELECT nonce_hash FROM sikka_state_nonces"))
	assert.Len(t, raw, 32)
	assert.NotContains(t, string(raw), "visible-nonce")
}
