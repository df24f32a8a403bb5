package middleware

import (
	"crypto/hmac"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// FuzzParseState: the parser never panics, and never accepts a token
// whose MAC does not verify under the key it names; what it accepts is
// exactly the token encodeState makes of the content (one spelling per
// state).
func FuzzParseState(f *testing.F) {
	keys := []Key{testKeyA, testKeyB}
	s := state{accountID: "account_abc123", issued: time.Unix(1738123456, 0), nonce: [nonceLen]byte{1, 2, 3}}
	good := encodeState(testKeyA, s)
	payload, mac, _ := strings.Cut(good, ".")
	for _, seed := range []string{
		good,
		encodeState(testKeyB, state{accountID: "a", issued: time.Unix(0, 0)}),
		encodeState(Key{ID: "unknown", Secret: testKeyA.Secret}, s),
		payload + "." + mac[:len(mac)-1] + "A",
		payload + ".",
		"." + mac,
		"",
		".",
		"..",
		"account_abc123_1738123456_x7y8z9",
		"eyJhY2NvdW50SWQiOiJhIn0",
		payload + "\n." + mac,
		strings.Repeat("A", 2000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		st, err := parseState(keys, token)
		if err != nil {
			return
		}
		p, m, ok := strings.Cut(token, ".")
		if !ok {
			t.Fatalf("accepted a token without a dot: %q", token)
		}
		var key *Key
		for i := range keys {
			if keys[i].ID == st.keyID {
				key = &keys[i]
			}
		}
		if key == nil {
			t.Fatalf("accepted a state of unknown key %q", st.keyID)
		}
		sum, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil || !hmac.Equal(sum, stateMAC(*key, p)) {
			t.Fatalf("accepted a token whose MAC does not verify: %q", token)
		}
		if again := encodeState(*key, st); again != token {
			t.Fatalf("accepted a second spelling %q of %q", token, again)
		}
	})
}
