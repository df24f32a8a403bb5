package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore/vault"
	"github.com/parlae/sikka-connect/sikka"
)

// BenchmarkCredentials: one Credentials call of a connected account per op,
// on PostgreSQL and Vault (skipped without them), served from the cache
// (cache=on: no round trip) or read anew each time (cache=off: the record,
// the pending marker and the secret, as before the cache; CacheStaleness
// of a nanosecond). docs/BENCHMARKS.md reports:
//
//	go test -run '^$' -bench '^BenchmarkCredentials$' -count 6 ./integration > creds.txt
//	benchstat -col /cache creds.txt
func BenchmarkCredentials(b *testing.B) {
	addr, token := os.Getenv("SIKKA_TEST_VAULT_ADDR"), os.Getenv("SIKKA_TEST_VAULT_TOKEN")
	if addr == "" {
		b.Skip("SIKKA_TEST_VAULT_ADDR not set: run scripts/bench.sh, which starts PostgreSQL and Vault")
	}
	ctx := context.Background()
	repo, db, err := postgres.Open(ctx, pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var p [6]byte
	_, _ = rand.Read(p[:])
	vs, err := vault.New(vault.Config{Address: addr, Token: token, Prefix: "bench-" + hex.EncodeToString(p[:])})
	if err != nil {
		b.Fatal(err)
	}
	mock := mocksikka.New()
	srv := httptest.NewServer(mock)
	defer srv.Close()
	defer mock.Close()
	client := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL))
	for _, c := range []struct {
		name, office string
		staleness    time.Duration
	}{{"on", mocksikka.DefaultOfficeID, 0}, {"off", mocksikka.MapleLeafOfficeID, time.Nanosecond}} {
		svc, err := integration.NewService(integration.Config{Sikka: client, Secrets: vs, Records: repo, CacheStaleness: c.staleness})
		if err != nil {
			b.Fatal(err)
		}
		code, err := mock.IssueCode(mocksikka.DefaultAppID, c.office)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Connect(ctx, "acct-"+c.name, code); err != nil {
			b.Fatal(err)
		}
		b.Run("cache="+c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Credentials(ctx, "acct-"+c.name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
