package middleware

// Benchmarks of the state token. Its usual peer, gorilla/csrf, is measured
// under the same name, BenchmarkState, in the benchmarks module
// (benchmarks/state_test.go), so that gorilla/csrf stays out of this
// module's graph; scripts/bench.sh runs both in one invocation and compares
// them (docs/BENCHMARKS.md):
//
//	go test -run '^$' -bench '^BenchmarkState$' ./middleware ./benchmarks
//	benchstat -col /impl state.txt
//
// They only run with -bench.

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"testing"
	"time"

	"crypto/hmac"
	"crypto/sha256"
)

var benchKey = Key{ID: "2025-06", Secret: bytes.Repeat([]byte{0x5A}, 32)}

// benchSinkStr keeps results alive so the compiler cannot drop the work (a
// string, not an any: boxing it would allocate).
var benchSinkStr string

// BenchmarkState: one mint + one verify per op.
//
//   - impl=ours: the start route's state work (128-bit nonce, encodeState)
//     and the callback's (parseState, checkAge): the signed, expiring
//     state token itself.
//   - impl=ours_with_binding: the same plus the browser-binding cookie value
//     (bindingValue in handler.go) made at start and checked at callback,
//     which is what gorilla/csrf's signed cookie does for it.
//
// impl=gorilla_csrf and impl=gorilla_csrf_middleware, the peer, are in
// benchmarks/state_test.go.
func BenchmarkState(b *testing.B) {
	b.Run("impl=ours", func(b *testing.B) {
		keys := []Key{benchKey.withMACs()}
		now := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			n, err := newNonce()
			if err != nil {
				b.Fatal(err)
			}
			token := encodeState(keys[0], state{accountID: "acct-0123456789", issued: now.Truncate(time.Second), nonce: n})
			s, err := parseState(keys, token)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.checkAge(now, DefaultStateTTL); err != nil {
				b.Fatal(err)
			}
			benchSinkStr = s.accountID
		}
	})
	b.Run("impl=ours_with_binding", func(b *testing.B) {
		keys := []Key{benchKey.withMACs()}
		now := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			n, err := newNonce()
			if err != nil {
				b.Fatal(err)
			}
			st := state{accountID: "acct-0123456789", issued: now.Truncate(time.Second), nonce: n}
			token := encodeState(keys[0], st)
			cookie := bindingValue(keys[0], st)
			s, err := parseState(keys, token)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.checkAge(now, DefaultStateTTL); err != nil {
				b.Fatal(err)
			}
			if subtle.ConstantTimeCompare([]byte(cookie), []byte(bindingValue(keys[0], s))) != 1 {
				b.Fatal("binding mismatch")
			}
			benchSinkStr = s.accountID
		}
	})
}

// BenchmarkStateVerify: parseState alone (the callback's share).
func BenchmarkStateVerify(b *testing.B) {
	keys := []Key{benchKey.withMACs()}
	n, _ := newNonce()
	token := encodeState(keys[0], state{accountID: "acct-0123456789", issued: time.Now().Truncate(time.Second), nonce: n})
	b.ReportAllocs()
	for b.Loop() {
		s, err := parseState(keys, token)
		if err != nil {
			b.Fatal(err)
		}
		benchSinkStr = s.accountID
	}
}

// TestStateMACIsHMACSHA256: the state MAC (pooled or not) is exactly
// crypto/hmac's HMAC-SHA256 of the label and the payload, for secrets
// shorter than, as long as and longer than a SHA-256 block, and payloads up
// to the longest token.
func TestStateMACIsHMACSHA256(t *testing.T) {
	for _, secretLen := range []int{32, 63, 64, 65, 200} {
		secret := make([]byte, secretLen)
		rand.Read(secret)
		for _, payloadLen := range []int{0, 1, 55, 56, 64, 300, maxStateLen, maxStateLen + 100} {
			payload := make([]byte, payloadLen)
			rand.Read(payload)
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(stateMACLabel))
			m.Write(payload)
			want := m.Sum(nil)
			for _, k := range []Key{{Secret: secret}, Key{Secret: secret}.withMACs()} {
				got := k.sum(stateMACLabel, payload)
				if !bytes.Equal(got[:], want) {
					t.Fatalf("secret %d bytes, payload %d bytes, pooled %v: the state MAC differs from crypto/hmac", secretLen, payloadLen, k.macs != nil)
				}
			}
		}
	}
}

// The binding cookie's value is the first 16 bytes of HMAC-SHA256(secret,
// bindingMACLabel || nonce), unpadded base64url, whatever computes it.
func TestBindingValueIsHMACSHA256(t *testing.T) {
	for _, secretLen := range []int{32, 64, 100} {
		k := Key{ID: "k", Secret: bytes.Repeat([]byte{byte(secretLen)}, secretLen)}
		s := state{nonce: [nonceLen]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}
		m := hmac.New(sha256.New, k.Secret)
		m.Write([]byte(bindingMACLabel))
		m.Write(s.nonce[:])
		want := base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:nonceLen])
		if got := bindingValue(k, s); got != want {
			t.Fatalf("secret %d bytes: bindingValue %q, crypto/hmac %q", secretLen, got, want)
		}
	}
}
