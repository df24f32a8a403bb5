package middleware

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	testKeyA = Key{ID: "k1", Secret: bytes.Repeat([]byte{0xA1}, 32)}
	testKeyB = Key{ID: "k2", Secret: bytes.Repeat([]byte{0xB2}, 32)}
)

func testState(t *testing.T) state {
	t.Helper()
	n, err := newNonce()
	require.NoError(t, err)
	return state{accountID: "account_abc123", issued: time.Unix(1738123456, 0), nonce: n}
}

func TestStateRoundTrip(t *testing.T) {
	s := testState(t)
	token := encodeState(testKeyA, s)
	payload, mac, ok := strings.Cut(token, ".")
	require.True(t, ok)
	assert.NotContains(t, payload+mac, "=", "no padding")
	assert.NotContains(t, token, "account_abc123", "the payload is encoded")

	got, err := parseState([]Key{testKeyA}, token)
	require.NoError(t, err)
	assert.Equal(t, s.accountID, got.accountID)
	assert.True(t, s.issued.Equal(got.issued))
	assert.Equal(t, s.nonce, got.nonce)
	assert.Equal(t, "k1", got.keyID)
}

// Several keys verify, one signs: a state signed by the old key still
// verifies after a new key is put first; a retired key's state does not.
func TestStateKeyRotation(t *testing.T) {
	s := testState(t)
	old := encodeState(testKeyA, s)
	_, err := parseState([]Key{testKeyB, testKeyA}, old)
	assert.NoError(t, err, "rotated key still verifies")
	_, err = parseState([]Key{testKeyB}, old)
	assert.ErrorIs(t, err, ErrStateUnknownKey, "retired key")

	// Same id, another secret: a forgery, not an unknown key.
	forged := Key{ID: "k1", Secret: bytes.Repeat([]byte{0xCC}, 32)}
	_, err = parseState([]Key{forged}, old)
	assert.ErrorIs(t, err, ErrStateTampered)
}

func TestParseStateRefusals(t *testing.T) {
	s := testState(t)
	good := encodeState(testKeyA, s)
	payload, mac, _ := strings.Cut(good, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	require.NoError(t, err)
	reencode := func(b []byte) string {
		p := base64.RawURLEncoding.EncodeToString(b)
		return p + "." + base64.RawURLEncoding.EncodeToString(stateMAC(testKeyA, p))
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	otherAccount := append(bytes.Clone(raw[:len(raw)-len("account_abc123")]), "account_evil"...)

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrStateMissing},
		{"no dot", payload + mac, ErrStateMalformed},
		{"two dots", good + ".x", ErrStateMalformed},
		{"newline in MAC", payload + "." + mac[:10] + "\n" + mac[10:], ErrStateMalformed},
		{"newline in payload", payload[:10] + "\r\n" + payload[10:] + "." + mac, ErrStateMalformed},
		{"space", " " + good, ErrStateMalformed},
		{"padding", payload + "=." + mac, ErrStateMalformed},
		{"std alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/", ErrStateMalformed},
		{"short MAC", payload + "." + mac[:20], ErrStateMalformed},
		{"too long", strings.Repeat("A", maxStateLen+1), ErrStateMalformed},
		{"old notes format", "account_abc123_1738123456_x7y8z9", ErrStateMalformed},
		{"short payload", reencode(raw[:20]), ErrStateMalformed},
		{"bad version", reencode(append([]byte{9}, raw[1:]...)), ErrStateMalformed},
		{"no account", reencode(raw[:1+8+nonceLen+1+2]), ErrStateMalformed},
		{"unknown key id", encodeState(Key{ID: "zz", Secret: testKeyA.Secret}, s), ErrStateUnknownKey},
		{"tampered MAC", payload + "." + flip(mac, 3), ErrStateTampered},
		{"tampered payload", flip(payload, 5) + "." + mac, ErrStateTampered},
		{"other account, old MAC", base64.RawURLEncoding.EncodeToString(otherAccount) + "." + mac, ErrStateTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseState([]Key{testKeyA}, tt.token)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestStateAge(t *testing.T) {
	s := testState(t)
	ttl := 10 * time.Minute
	tests := []struct {
		name string
		age  time.Duration
		ok   bool
	}{
		{"fresh", 0, true},
		{"at TTL", ttl, true},
		{"within skew", ttl + ClockSkew, true},
		{"past skew", ttl + ClockSkew + time.Second, false},
		{"slightly in the future", -ClockSkew, true},
		{"far in the future", -ClockSkew - time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.checkAge(s.issued.Add(tt.age), ttl)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrStateExpired)
			}
		})
	}
}

func TestKeyNeverFormatsSecret(t *testing.T) {
	k := Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(f, k) + fmt.Sprintf(f, []Key{k}) + fmt.Sprintf(f, struct{ Keys []Key }{[]Key{k}})
		assert.NotContains(t, out, "0123456789abcdef", f)
		assert.NotContains(t, out, "30313233", f)
	}
}

// stateMAC returns the MAC of an encoded payload under k.
func stateMAC(k Key, payload string) []byte {
	sum := k.sum(stateMACLabel, []byte(payload))
	return sum[:]
}
