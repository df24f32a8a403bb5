package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/integrationtest"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/pgtest"
)

func TestConnectBeginnerContract(t *testing.T) {
	integrationtest.RunConnectBeginner(t, func(t *testing.T) integration.Repository {
		repo, db, err := postgres.Open(context.Background(), pgtest.URL(t))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return repo
	})
}
