package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
)

// An oversized code on a genuine state and cookie is refused before Sikka
// is called (middleware.ErrCodeMalformed): no call to the Sikka API, nothing
// stored. Sikka's codes are 32 hex characters; the callback takes at most
// middleware.MaxCodeLen.
func TestHostileOversizedCode(t *testing.T) {
	h := newHostileEnv(t)
	b := h.browser("bigcode")
	for _, n := range []int{100 << 10, 1000 << 10} {
		cb := b.toCallback(mocksikka.DefaultOfficeID)
		before := h.snapshot()
		r := b.get(hostileWith(cb, "code", strings.Repeat("a", n)))
		assert.Equal(t, http.StatusFound, r.code)
		assert.Equal(t, middleware.DefaultPrefix+"?status=error&reason=invalid_code", r.location,
			"%d-byte code: refused as an invalid code", n)
		after := h.snapshot()
		assert.Equal(t, before.SikkaAPI, after.SikkaAPI, "%d-byte code: sent to Sikka", n)
		assert.Equal(t, before.Records, after.Records)
		assert.Equal(t, before.Secrets, after.Secrets)
	}
}
