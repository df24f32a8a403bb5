package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/middleware"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

// Without Config.Nonces, the start route saves its nonce in the service's
// store (Service.Nonces): the middleware picks no storage of its own.
func TestNoncesDefaultToTheService(t *testing.T) {
	records, nonces := memory.New(), memory.New()
	svc, err := integration.NewService(integration.Config{
		Sikka: sikka.New("app", "key"), Secrets: secretmemory.New(), Records: records, Nonces: nonces,
	})
	require.NoError(t, err)
	h, err := middleware.New(middleware.Config{
		Service:     svc,
		RedirectURI: "https://app.parlae.ca" + prefix + "/callback",
		FrontendURL: "https://app.parlae.ca/agent/setup/pms",
		StateKeys:   []middleware.Key{keyOld},
		Account:     func(*http.Request) (string, error) { return acct1, nil },
	})
	require.NoError(t, err)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.parlae.ca"+prefix+"/start", nil))
	require.Equal(t, http.StatusFound, rec.Code, rec.Body.String())
	assert.Equal(t, 1, nonces.NonceCount(), "the nonce is in the service's store")
	assert.Equal(t, 0, records.NonceCount(), "and nowhere else")
}
