package middleware_test

import (
	"testing"

	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/middleware/noncetest"
)

func TestMemoryNonceStoreContract(t *testing.T) {
	noncetest.Run(t, func(t *testing.T) func() middleware.NonceStore {
		s := middleware.NewMemoryNonceStore()
		return func() middleware.NonceStore { return s }
	})
}
