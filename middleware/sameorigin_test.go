package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// SameOrigin is the disconnect route's rule, for a host's own POSTs: a
// browser's cross-site request is refused, a same-origin one and a
// non-browser one pass.
func TestSameOrigin(t *testing.T) {
	w := newWorld(t, "memory")
	for _, c := range []struct {
		name   string
		header map[string]string
		ok     bool
	}{
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"no browser headers", nil, true},
		{"cross site", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"other origin", map[string]string{"Origin": "https://evil.example"}, false},
		{"other referer", map[string]string{"Referer": "https://evil.example/page"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, w.appURL+"/demo/book", nil)
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			err := w.front.SameOrigin(r)
			assert.Equal(t, c.ok, err == nil, "%v", err)
		})
	}
}
