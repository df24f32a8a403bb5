package memory_test

import (
	"testing"

	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/secretstore/storetest"
)

func TestContract(t *testing.T) {
	shared := memory.New()
	storetest.Run(t, func(*testing.T) secretstore.Store { return shared })
}
