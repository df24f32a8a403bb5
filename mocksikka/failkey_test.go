package mocksikka

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The handlers that read a request key answer a key that is no good as checkRequestKey does
// (400 API1004 unknown or revoked, 400 API1025 expired), also when the key turned bad after
// checkRequestKey passed it: called here directly, without checkRequestKey.
func TestHandlersRejectKeysAsDocumented(t *testing.T) {
	s := New()
	s.mu.Lock()
	now := s.clock.now()
	expired := s.store.newKey(DefaultAppID, DefaultOfficeID, now, time.Hour)
	s.mu.Unlock()
	s.Advance(2 * time.Hour)

	handlers := map[string]func(*call){
		"/v4/practices":                   s.practicesList,
		"/v4/request_key_info":            s.requestKeyInfo,
		"/v4/authorized_practices":        s.authorizedPractices,
		"/v4/authorized_practices/D36225": s.authorizedPractice,
	}
	for path, h := range handlers {
		for key, want := range map[string]string{expired.requestKey: codeKeyExpired, "nope": codeKeyMissing} {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r.Header.Set("Request-Key", key)
			h(&call{w: rec, r: r, e: &Entry{}})
			var env errorEnvelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatalf("%s: %v: %s", path, err, rec.Body)
			}
			if rec.Code != http.StatusBadRequest || env.ErrorCode != want {
				t.Errorf("%s with key %q: %d %s, want 400 %s", path, key, rec.Code, env.ErrorCode, want)
			}
		}
	}
}
