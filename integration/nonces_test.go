package integration_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

// The service's nonce store is Config.Nonces, and the repository when that
// is unset: one storage value serves the service and its routes.
func TestServiceNoncesDefaultToTheRepository(t *testing.T) {
	repo, other := memory.New(), memory.New()
	cfg := integration.Config{Sikka: sikka.New("app", "key"), Secrets: secretmemory.New(), Records: repo}
	svc, err := integration.NewService(cfg)
	require.NoError(t, err)
	assert.Same(t, repo, svc.Nonces(), "unset: the repository")

	cfg.Nonces = other
	svc, err = integration.NewService(cfg)
	require.NoError(t, err)
	assert.Same(t, other, svc.Nonces(), "set: the given store")
}
