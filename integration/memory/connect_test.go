package memory_test

import (
	"testing"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/integrationtest"
	"github.com/parlae/sikka-connect/integration/memory"
)

// The memory repository starts connects step by step (integration.InSteps).
func TestConnectInStepsContract(t *testing.T) {
	integrationtest.RunConnectBeginner(t, func(*testing.T) integration.Repository {
		return integration.InSteps(memory.New())
	})
}
