package vault_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/syncbuf"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/secretstore/storetest"
	"github.com/parlae/sikka-connect/secretstore/vault"
)

// TestNoSecretLeaks drives every operation, failures included (bad token,
// unreachable server, cancelled context, check-and-set conflict, missing
// versions), with Debug logging in JSON and text, and scans every error
// rendering and log line for the secret values and the tokens.
func TestNoSecretLeaks(t *testing.T) {
	addr, token := server(t)
	var logs syncbuf.Buffer
	badToken := "hvs.bad-" + randHex(8)
	good, err := vault.New(vault.Config{Address: addr, Token: token, Logger: debugLogger(&logs, true)})
	require.NoError(t, err)
	badAuth, err := vault.New(vault.Config{Address: addr, Token: badToken, Logger: debugLogger(&logs, false)})
	require.NoError(t, err)
	down, err := vault.New(vault.Config{Address: "http://127.0.0.1:1", Token: token, Timeout: 300 * time.Millisecond, Logger: debugLogger(&logs, false)})
	require.NoError(t, err)

	storetest.RunLeaks(t, storetest.Leaks{
		Good:           good,
		Failing:        []secretstore.Store{badAuth, down},
		MissingVersion: "4242",
		Logs:           logs.String,
		Secrets:        []string{token, badToken},
	})
}
