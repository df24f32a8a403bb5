package memory_test

import (
	"testing"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/integrationtest"
	"github.com/parlae/sikka-connect/integration/memory"
)

// Every role's contract; a memory repository is shared by being the same
// instance.
func TestRepositoryContract(t *testing.T) {
	integrationtest.Run(t, func(*testing.T) func() integration.Repository {
		repo := memory.New()
		return func() integration.Repository { return repo }
	})
}
