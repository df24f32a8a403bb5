// Package pgtest gives tests a database of their own on the real PostgreSQL
// that scripts/test.sh starts (SIKKA_TEST_DATABASE_URL): each call creates a
// fresh schema, points a connection pool at it through search_path, and drops
// it when the test ends, so tests and packages can run in parallel.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the driver the project uses
)

// EnvVar names the variable that holds the PostgreSQL URL for tests.
const EnvVar = "SIKKA_TEST_DATABASE_URL"

// URL returns a URL for a new, empty schema of its own, dropped at the end of
// the test. It skips the test, naming EnvVar, when no PostgreSQL is configured.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skipf("%s not set: run scripts/test.sh, which starts a throwaway PostgreSQL", EnvVar)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])

	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", EnvVar, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("pgtest: drop schema %s: %v", schema, err)
		}
		admin.Close()
	})

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // lib/pq passes unknown parameters to the server as settings
	u.RawQuery = q.Encode()
	return u.String()
}

// DB returns a connection pool on a new, empty schema of its own (see URL),
// closed at the end of the test.
func DB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", URL(t))
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
