package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// The schema is applied by a small runner rather than a migration library:
// the project owns two tables, its migrations only ever go forward, and a
// library users import should not bring a migration framework (and its
// drivers) into their module graph. What the runner promises:
//   - files migrations/NNNN_name.sql, applied in version order, each in its
//     own transaction together with its row in sikka_connect_migrations;
//   - safe from several replicas at once: runners serialize on a PostgreSQL
//     advisory lock, and a migration applied by another replica is skipped;
//   - its bookkeeping table has a name of its own, so it never collides with
//     the host application's own schema_migrations.

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema's migrations, exactly the files Migrate
// applies: NNNN_name.sql at the root, plain forward-only SQL, to be applied
// once each in version (NNNN) order, each in one transaction. They are for
// hosts that run migrations with their own tool (see the package doc): copy
// them into its migration set (goose wants a "-- +goose Up" line on top,
// golang-migrate the name NNNN_name.up.sql), and call New, not Open.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // unreachable: "migrations" is a valid path
	}
	return sub
}

// Advisory locks of this project use the two-int4 form (a namespace and an
// id inside it), so they cannot collide with the host application's own
// single-bigint advisory locks. The namespaces spell "sikk" and "sikl".
const (
	migrationLockNamespace = 0x73696b6b // id: migrationLockID
	accountLockNamespace   = 0x73696b6c // id: hashtext(schema + "/" + account id): the records of one schema
	migrationLockID        = 1
)

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads Migrations, so what Migrate applies and what hosts
// are given are the same files.
func loadMigrations() ([]migration, error) {
	files := Migrations()
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(files, e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate brings the database schema (in the connection's search_path) up to
// date: it applies the files of Migrations not yet applied, recording each in
// sikka_connect_migrations. It is safe to call on every start of every
// replica. Open calls it; New does not.
func Migrate(ctx context.Context, db *sqlx.DB) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, $2)", migrationLockNamespace, migrationLockID); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, $2)", migrationLockNamespace, migrationLockID) //nolint:errcheck // the lock also ends with the session

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sikka_connect_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrate: bookkeeping table: %w", err)
	}
	applied := map[int]bool{}
	var versions []int
	if err := conn.SelectContext(ctx, &versions, "SELECT version FROM sikka_connect_migrations"); err != nil {
		return fmt.Errorf("postgres: migrate: read applied versions: %w", err)
	}
	for _, v := range versions {
		applied[v] = true
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		tx, err := conn.BeginTxx(ctx, nil)
		if err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback() //nolint:errcheck // the exec error is the one to report
			return fmt.Errorf("postgres: migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO sikka_connect_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			tx.Rollback() //nolint:errcheck // the insert error is the one to report
			return fmt.Errorf("postgres: migrate %s: record: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("postgres: migrate %s: commit: %w", m.name, err)
		}
	}
	return nil
}
