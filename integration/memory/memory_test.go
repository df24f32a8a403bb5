package memory_test

import (
	"testing"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/integrationtest"
	"github.com/parlae/sikka-connect/integration/memory"
)

func TestRepositoryContract(t *testing.T) {
	integrationtest.RunRepository(t, func(*testing.T) integration.Repository { return memory.New() })
}
