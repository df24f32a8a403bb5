// Command testservers starts the shared test servers for scripts/lib/servers.sh,
// through package testservers (the one place that knows how): with -pgbin a
// PostgreSQL cluster, with -vault-bin a Vault dev server. Once they answer
// it prints, one a line, the variables the tests read (NAME=value:
// SIKKA_TEST_DATABASE_URL and SIKKA_TEST_PGBIN; SIKKA_TEST_VAULT_ADDR,
// SIKKA_TEST_VAULT_TOKEN and SIKKA_TEST_VAULT_BIN) and a line "ready", then
// runs until SIGTERM or SIGINT, when it stops what it started and removes
// its files. On a failure to start it prints the cause and exits 1.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/parlae/sikka-connect/internal/testservers"
)

func main() {
	pgbin := flag.String("pgbin", "", "start PostgreSQL with the binaries of this folder")
	maxConns := flag.Int("max-connections", 300, "PostgreSQL's max_connections")
	vaultBin := flag.String("vault-bin", "", "start a Vault dev server with this binary")
	flag.Parse()
	if err := run(*pgbin, *maxConns, *vaultBin); err != nil {
		fmt.Fprintln(os.Stderr, "testservers:", err)
		os.Exit(1)
	}
}

func run(pgbin string, maxConns int, vaultBin string) error {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	if pgbin != "" {
		pg, err := testservers.StartPostgres(pgbin, maxConns)
		if err != nil {
			return err
		}
		cleanups = append(cleanups, pg.Remove)
		fmt.Printf("SIKKA_TEST_DATABASE_URL=%s\nSIKKA_TEST_PGBIN=%s\n", pg.URL, pgbin)
	}
	if vaultBin != "" {
		var token [16]byte
		if _, err := rand.Read(token[:]); err != nil {
			return err
		}
		home, err := os.MkdirTemp("", "sikka-vault-home-")
		if err != nil {
			return err
		}
		cleanups = append(cleanups, func() { os.RemoveAll(home) })
		v, err := testservers.StartVaultDev(vaultBin, "test-"+hex.EncodeToString(token[:]), home)
		if err != nil {
			return err
		}
		cleanups = append(cleanups, func() { _ = v.Stop() })
		fmt.Printf("SIKKA_TEST_VAULT_ADDR=%s\nSIKKA_TEST_VAULT_TOKEN=%s\nSIKKA_TEST_VAULT_BIN=%s\n", v.Addr, v.Token, vaultBin)
	}
	fmt.Println("ready")
	<-stop
	return nil
}
