package e2e

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/testservers"
)

// Servers of a test's own, which the test may stop and start again: the
// fault tests count a real restart as a fault. Each keeps its port across
// restarts, so the demo's URL stays right. internal/testservers starts
// them, as it starts the shared ones for scripts/lib/servers.sh.

// startPostgres makes and starts a cluster with a database sikka_test, and
// removes it when the test ends. It skips without SIKKA_TEST_PGBIN.
func startPostgres(t *testing.T) *testservers.Postgres {
	t.Helper()
	bin := os.Getenv("SIKKA_TEST_PGBIN")
	if bin == "" {
		t.Skip("SIKKA_TEST_PGBIN not set: run scripts/test.sh, which exports the PostgreSQL binaries")
	}
	c, err := testservers.StartPostgres(bin, 0)
	require.NoError(t, err)
	t.Cleanup(c.Remove)
	return c
}

// A Vault dev server (startVault) forgets every secret on a restart, so a
// restart test on it can assert what the flow does while Vault is down and
// that it succeeds once Vault is back, but not that secrets survive the
// restart: that takes startVaultPersistent.

// startVault starts a dev server and stops it when the test ends. It skips
// without SIKKA_TEST_VAULT_BIN.
func startVault(t *testing.T) *testservers.Vault {
	t.Helper()
	token := "fault-" + randomHex(t)
	return runVault(t, func(bin, home string) (*testservers.Vault, error) {
		return testservers.StartVaultDev(bin, token, home)
	})
}

// startVaultPersistent starts a server with file storage under a folder of
// the test's own, initialised, KV v2 mounted at secret/: its data survives
// a restart. Stopped when the test ends.
func startVaultPersistent(t *testing.T) *testservers.Vault {
	t.Helper()
	dir := t.TempDir()
	return runVault(t, func(bin, home string) (*testservers.Vault, error) {
		return testservers.StartVaultPersistent(bin, dir, home)
	})
}

// runVault starts a server with the binary of SIKKA_TEST_VAULT_BIN,
// skipping without it, and stops it when the test ends, showing its log if
// the test failed.
func runVault(t *testing.T, start func(bin, home string) (*testservers.Vault, error)) *testservers.Vault {
	t.Helper()
	bin := os.Getenv("SIKKA_TEST_VAULT_BIN")
	if bin == "" {
		t.Skip("SIKKA_TEST_VAULT_BIN not set: run scripts/test.sh, which builds the Vault server")
	}
	v, err := start(bin, t.TempDir())
	if v != nil {
		t.Cleanup(func() {
			if err := v.Stop(); err != nil {
				t.Error(err)
			}
			if t.Failed() {
				t.Logf("vault log:\n%s", v.Logs)
			}
		})
	}
	require.NoError(t, err)
	return v
}
