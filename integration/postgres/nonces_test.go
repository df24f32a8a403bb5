package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/pgtest"
)

// migrated returns a pool on a fresh schema with the migrations applied.
func migrated(t *testing.T) *sqlx.DB {
	t.Helper()
	db := pgtest.DB(t)
	require.NoError(t, postgres.Migrate(context.Background(), db))
	return db
}

func TestCleanupNonces(t *testing.T) {
	ctx := context.Background()
	db := migrated(t)
	s := postgres.New(db)

	now := time.Now()
	require.NoError(t, s.Save(ctx, "acct", "long-gone", now.Add(-time.Hour)))
	require.NoError(t, s.Save(ctx, "acct", "just-expired", now.Add(-time.Second))) // within the grace interval
	require.NoError(t, s.Save(ctx, "acct", "live", now.Add(time.Hour)))

	n, err := s.CleanupNonces(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	var left int
	require.NoError(t, db.Get(&left, "SELECT count(*) FROM sikka_state_nonces"))
	assert.Equal(t, 2, left)

	ok, err := s.Consume(ctx, "live")
	require.NoError(t, err)
	assert.True(t, ok)
}

// Save sweeps by itself: the first Save of a Repository cleans up.
func TestSaveSweepsNonces(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	open := func() (*postgres.Repository, *sqlx.DB) {
		s, db, err := postgres.Open(ctx, url)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return s, db
	}
	a, db := open()
	require.NoError(t, a.Save(ctx, "acct", "stale", time.Now().Add(-time.Hour)))
	b, _ := open()
	require.NoError(t, b.Save(ctx, "acct", "fresh", time.Now().Add(time.Hour)))
	var hashes int
	require.NoError(t, db.Get(&hashes, "SELECT count(*) FROM sikka_state_nonces"))
	assert.Equal(t, 1, hashes, "the stale nonce was swept by the other repository's first Save")
}

// Only a hash of each nonce reaches the database.
func TestNoncesStoredAsHashOnly(t *testing.T) {
	ctx := context.Background()
	db := migrated(t)
	s := postgres.New(db)
	require.NoError(t, s.Save(ctx, "acct", "visible-nonce", time.Now().Add(time.Hour)))
	var raw []byte
	require.NoError(t, db.Get(&raw, "SELECT nonce_hash FROM sikka_state_nonces"))
	assert.Len(t, raw, 32)
	assert.NotContains(t, string(raw), "visible-nonce")
}
