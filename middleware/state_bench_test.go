package middleware

// Benchmarks of the state token against its usual peer, gorilla/csrf, in one
// run (docs/BENCHMARKS.md, scripts/bench.sh). Compare with
//
//	benchstat -col /impl state.txt
//
// They only run with -bench.

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"crypto/hmac"
	"crypto/sha256"

	"github.com/gorilla/csrf"
	"github.com/gorilla/securecookie"
)

var benchKey = Key{ID: "2025-06", Secret: bytes.Repeat([]byte{0x5A}, 32)}

// benchSink and benchSinkStr keep results alive so the compiler cannot drop
// the work (a string goes to benchSinkStr: boxing it in an any would
// allocate).
var (
	benchSink    any
	benchSinkStr string
)

// BenchmarkState: one mint + one verify per op.
//
//   - impl=ours: the start route's state work (128-bit nonce, encodeState)
//     and the callback's (parseState, checkAge): the signed, expiring
//     state token itself.
//   - impl=ours_with_binding: the same plus the browser-binding cookie value
//     (bindingValue in handler.go) made at start and checked at callback,
//     which is what gorilla/csrf's signed cookie does for it.
//   - impl=gorilla_csrf: gorilla/csrf v1.7's token generation and validation,
//     step for step as its middleware does them: 32 random bytes, the
//     securecookie-signed cookie (JSON serializer, as csrf.Protect configures
//     it), the masked per-request token; then the cookie decoded and
//     verified, the token base64-decoded, unmasked and compared in constant
//     time. mask/unmask are gorilla's unexported helpers, copied verbatim below.
//   - impl=gorilla_csrf_middleware: the same through gorilla's public API
//     (csrf.Protect, a GET that mints, a POST that validates, in memory, no
//     network): an upper bound of the peer that includes its HTTP plumbing.
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
	b.Run("impl=gorilla_csrf", func(b *testing.B) {
		const name = "_gorilla_csrf" // csrf.Protect's default cookie name
		sc := securecookie.New(benchKey.Secret, nil)
		sc.SetSerializer(securecookie.JSONEncoder{})
		sc.MaxAge(12 * 3600)
		b.ReportAllocs()
		for b.Loop() {
			// generation (GET): real token, its signed cookie, the masked token
			real := make([]byte, gorillaTokenLength)
			if _, err := rand.Read(real); err != nil {
				b.Fatal(err)
			}
			cookie, err := sc.Encode(name, real)
			if err != nil {
				b.Fatal(err)
			}
			masked := gorillaMask(real)
			// validation (POST): cookie, request token, unmask, compare
			got := make([]byte, gorillaTokenLength)
			if err := sc.Decode(name, cookie, &got); err != nil {
				b.Fatal(err)
			}
			issued, err := base64.StdEncoding.DecodeString(masked)
			if err != nil {
				b.Fatal(err)
			}
			tok := gorillaUnmask(issued)
			if len(tok) != len(got) || subtle.ConstantTimeCompare(tok, got) != 1 {
				b.Fatal("gorilla token mismatch")
			}
			benchSink = tok // a slice header in an any allocates too: counted against gorilla, 1 alloc of 42
		}
	})
	b.Run("impl=gorilla_csrf_middleware", func(b *testing.B) {
		var token string
		protect := csrf.Protect(benchKey.Secret)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				token = csrf.Token(r)
			}
		}))
		b.ReportAllocs()
		for b.Loop() {
			get := httptest.NewRequest(http.MethodGet, "https://app.example/form", nil)
			rec := httptest.NewRecorder()
			protect.ServeHTTP(rec, get)
			cookies := rec.Result().Cookies()
			post := httptest.NewRequest(http.MethodPost, "https://app.example/form", nil)
			post.Header.Set("X-CSRF-Token", token)
			post.Header.Set("Referer", "https://app.example/form")
			for _, c := range cookies {
				post.AddCookie(c)
			}
			rec = httptest.NewRecorder()
			protect.ServeHTTP(rec, post)
			if rec.Code != http.StatusOK {
				b.Fatalf("gorilla refused: %d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
			}
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

// gorilla/csrf v1.7.3 helpers.go: tokenLength, mask, unmask, xorToken
// (unexported there), so that impl=gorilla_csrf does exactly its work.
const gorillaTokenLength = 32

func gorillaMask(realToken []byte) string {
	otp := make([]byte, gorillaTokenLength)
	if _, err := rand.Read(otp); err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(append(otp, gorillaXOR(otp, realToken)...))
}

func gorillaUnmask(issued []byte) []byte {
	if len(issued) != gorillaTokenLength*2 {
		return nil
	}
	otp := issued[gorillaTokenLength:]
	masked := issued[:gorillaTokenLength]
	return gorillaXOR(otp, masked)
}

func gorillaXOR(a, b []byte) []byte {
	n := min(len(a), len(b))
	res := make([]byte, n)
	for i := range n {
		res[i] = a[i] ^ b[i]
	}
	return res
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
