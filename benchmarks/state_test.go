package benchmarks

// BenchmarkState's peer: gorilla/csrf, the usual way to tie a form post to
// the browser that asked for it. The library's own cases (impl=ours,
// impl=ours_with_binding) are BenchmarkState in middleware/state_bench_test.go,
// which uses the package's unexported functions; this is the same benchmark
// name, so one invocation runs and compares them all (scripts/bench.sh,
// docs/BENCHMARKS.md):
//
//	go test -run '^$' -bench '^BenchmarkState$' ./middleware ./benchmarks
//	benchstat -col /impl state.txt
//
// It lives in a module of its own so that gorilla/csrf and securecookie stay
// out of the library's module graph, and so out of its users'. It only runs
// with -bench.

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/csrf"
	"github.com/gorilla/securecookie"
)

// benchSecret is middleware's benchKey secret: the same 32 bytes.
var benchSecret = bytes.Repeat([]byte{0x5A}, 32)

// benchSink keeps results alive so the compiler cannot drop the work.
var benchSink any

// BenchmarkState: one mint + one verify per op.
//
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
	b.Run("impl=gorilla_csrf", func(b *testing.B) {
		const name = "_gorilla_csrf" // csrf.Protect's default cookie name
		sc := securecookie.New(benchSecret, nil)
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
		protect := csrf.Protect(benchSecret)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
