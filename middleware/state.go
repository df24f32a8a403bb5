package middleware

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/parlae/sikka-connect/internal/redact"
)

// Limits of the state token.
const (
	// MinKeySecretLen is the shortest state key secret New accepts, in bytes.
	MinKeySecretLen = 32
	// MaxKeyIDLen is the longest state key id New accepts.
	MaxKeyIDLen = 32
	// MaxAccountIDLen is the longest account id a state can carry; the start
	// route refuses longer ones.
	MaxAccountIDLen = 256
	// ClockSkew is how far the clocks of replicas may disagree: a state is
	// accepted up to StateTTL+ClockSkew after it was issued, and up to
	// ClockSkew before.
	ClockSkew = 30 * time.Second

	nonceLen       = 16 // 128 bits
	stateVersion   = 1
	maxStateLen    = 1024
	stateMACLabel  = "sikka-connect state v1\x00"
	minPayloadSize = 1 + 8 + nonceLen + 1 + 1 + 1 // version, time, nonce, key id length, key id, account id
	stateAlphabet  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
)

// Errors of the state and the callback, matched with errors.Is. They are for
// logs, metrics and hooks (Outcome.Err): the browser gets the same
// invalid_state redirect for each of them. None of them carries the state,
// the nonce, a cookie or a code.
var (
	// ErrStateMissing: the callback has no state parameter.
	ErrStateMissing = errors.New("middleware: state missing")
	// ErrStateMalformed: the state is not two base64url parts joined by a
	// dot holding a payload of the known layout.
	ErrStateMalformed = errors.New("middleware: state malformed")
	// ErrStateUnknownKey: the state names a key id that is not among the
	// configured StateKeys (a retired key, or a forgery).
	ErrStateUnknownKey = errors.New("middleware: state signed with an unknown key")
	// ErrStateTampered: the state's MAC does not verify.
	ErrStateTampered = errors.New("middleware: state MAC does not verify")
	// ErrStateExpired: the state is older than StateTTL (plus ClockSkew), or
	// issued further in the future than ClockSkew.
	ErrStateExpired = errors.New("middleware: state expired")
	// ErrStateReplayed: the state's nonce was already used, or is unknown to
	// the NonceStore (never saved, or expired and cleaned up).
	ErrStateReplayed = errors.New("middleware: state already used")
	// ErrStateForeignAccount: the state was minted for another account than
	// the one signed in.
	ErrStateForeignAccount = errors.New("middleware: state minted for another account")
	// ErrStateNoCookie: the browser did not send the binding cookie of this
	// state's flow, or sent one with another value.
	ErrStateNoCookie = errors.New("middleware: state has no matching browser-binding cookie")
	// ErrNotSignedIn: Config.Account returned an error or an empty id.
	ErrNotSignedIn = errors.New("middleware: no signed-in account")
	// ErrCallbackMalformed: the callback's query does not parse, or repeats
	// one of the parameters state, code and error.
	ErrCallbackMalformed = errors.New("middleware: callback query malformed")
	// ErrCallbackAmbiguous: the callback carries both a code and an error.
	ErrCallbackAmbiguous = errors.New("middleware: callback carries both code and error")
	// ErrCodeMissing: the callback carries neither a code nor an error.
	ErrCodeMissing = errors.New("middleware: callback has no code")
	// ErrCodeMalformed: the code is longer than MaxCodeLen or holds a
	// character no authorization code has; it is never sent to Sikka.
	ErrCodeMalformed = errors.New("middleware: callback code malformed")
)

// MaxCodeLen bounds the authorization code the callback accepts. Sikka's
// codes are 32 hex characters; the bound leaves room for other formats while
// keeping an attacker's megabyte away from Sikka and the logs.
const MaxCodeLen = 512

// validCode reports whether code has the shape of an authorization code: 1 to
// MaxCodeLen characters of URL-safe ASCII (letters, digits and "-._~+/=").
func validCode(code string) bool {
	if code == "" || len(code) > MaxCodeLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
}

// ErrProviderDenied: Sikka redirected back with an error other than
// access_denied. It is not a state refusal: the outcome is an error whose
// reason depends on Sikka's error value (see the package documentation).
var ErrProviderDenied = errors.New("middleware: Sikka returned an error")

// Key is one state signing key. StateKeys holds one or more: the first signs
// new states, every one verifies, so a key can be rotated in without
// breaking flows in progress. Its Secret never appears when a Key is
// formatted or logged.
type Key struct {
	// ID names the key inside each state: 1 to MaxKeyIDLen characters among
	// ASCII letters, digits, '-', '_' and '.'. It is not secret.
	ID string
	// Secret is the HMAC-SHA256 key: at least MinKeySecretLen random bytes.
	Secret []byte

	macs *macPool // keyed hashes of Secret; set on the Handler's own copies
}

// Format implements fmt.Formatter: every verb shows the id and hides the secret.
func (k Key) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "{ID:%s Secret:%s}", k.ID, redact.Marker)
}

// LogValue implements slog.LogValuer: the id only.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("secret", redact.Marker))
}

func validKeyID(id string) bool {
	if id == "" || len(id) > MaxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// state is the content of a verified state token.
type state struct {
	accountID string
	issued    time.Time // whole seconds
	nonce     [nonceLen]byte
	keyID     string
}

// nonceString is the nonce as the NonceStore and the cookie know it.
func (s state) nonceString() string {
	return base64.RawURLEncoding.EncodeToString(s.nonce[:])
}

// newNonce returns 128 random bits.
func newNonce() ([nonceLen]byte, error) {
	var n [nonceLen]byte
	_, err := rand.Read(n[:])
	return n, err
}

// encodeState returns base64url(payload) "." base64url(HMAC-SHA256) where the
// payload is: version (1 byte), issue time (unix seconds, 8 bytes big
// endian), nonce (16 bytes), key id length (1 byte), key id, account id (the
// rest). The MAC covers a fixed label and the encoded payload, so that no
// other encoding of the same bytes verifies.
//
// It works in stack buffers: the returned string is its one allocation
// (docs/BENCHMARKS.md).
func encodeState(k Key, s state) string {
	var raw [minPayloadSize + MaxKeyIDLen + MaxAccountIDLen]byte
	p := raw[:0] // append moves to the heap only for ids longer than New and start allow
	p = append(p, stateVersion)
	p = binary.BigEndian.AppendUint64(p, uint64(s.issued.Unix()))
	p = append(p, s.nonce[:]...)
	p = append(p, byte(len(k.ID)))
	p = append(p, k.ID...)
	p = append(p, s.accountID...)

	enc := base64.RawURLEncoding
	payloadLen := enc.EncodedLen(len(p))
	n := payloadLen + 1 + stateMACEncodedLen
	var tok [maxStateLen]byte
	buf := tok[:]
	if n > len(buf) {
		buf = make([]byte, n)
	}
	enc.Encode(buf, p)
	sum := k.sum(stateMACLabel, buf[:payloadLen])
	buf[payloadLen] = '.'
	enc.Encode(buf[payloadLen+1:], sum[:])
	return string(buf[:n])
}

// stateMACEncodedLen is the length of the MAC part of a state token:
// base64url of 32 bytes without padding.
const stateMACEncodedLen = (sha256.Size*8 + 5) / 6 // 43

// macPool is crypto/hmac's HMAC-SHA256 under one secret, with a pool of
// keyed hashes: Reset restores a keyed hash without hashing the key again,
// and each pooled entry has heap room for its input and sum, so a MAC
// allocates nothing (docs/BENCHMARKS.md: 0.46× the time of the hand-written
// HMAC this replaced, 0 allocations).
type macPool struct{ pool sync.Pool }

// keyedHash is one pooled keyed hash.
type keyedHash struct {
	h   hash.Hash
	in  []byte // label and payload
	out [sha256.Size]byte
}

func newMACPool(secret []byte) *macPool {
	secret = bytes.Clone(secret)
	p := &macPool{}
	p.pool.New = func() any {
		return &keyedHash{h: hmac.New(sha256.New, secret), in: make([]byte, 0, maxMACLabelLen+maxStateLen)}
	}
	return p
}

// sum returns HMAC-SHA256(secret, label || payload).
func (p *macPool) sum(label string, payload []byte) [sha256.Size]byte {
	k := p.pool.Get().(*keyedHash)
	k.h.Reset()
	// Copied into the entry's own buffer, so that the caller's payload (a
	// stack buffer) does not escape through the hash.Hash interface.
	k.in = append(append(k.in[:0], label...), payload...)
	k.h.Write(k.in)
	k.h.Sum(k.out[:0])
	out := k.out
	p.pool.Put(k)
	return out
}

// maxMACLabelLen bounds the labels MACs are given (they are constants).
const maxMACLabelLen = 32

// sum returns HMAC-SHA256(k.Secret, label || payload): from the key's pool
// when a Handler prepared it (withMACs), else from a fresh crypto/hmac.
func (k Key) sum(label string, payload []byte) [sha256.Size]byte {
	if k.macs != nil {
		return k.macs.sum(label, payload)
	}
	return newMACPool(k.Secret).sum(label, payload)
}

// withMACs returns k with a pool of keyed hashes for its secret.
func (k Key) withMACs() Key {
	k.macs = newMACPool(k.Secret)
	return k
}

// parseState checks the form and the MAC of a state token and returns its
// content. It does not check age, nonce, cookie or account. Errors:
// ErrStateMissing, ErrStateMalformed, ErrStateUnknownKey, ErrStateTampered.
//
// It decodes in stack buffers: the account id is its one allocation.
func parseState(keys []Key, token string) (state, error) {
	if token == "" {
		return state{}, ErrStateMissing
	}
	if len(token) > maxStateLen || strings.Trim(token, stateAlphabet) != "" {
		// Outside the alphabet: base64 decoding would skip CR and LF,
		// making several spellings of one state.
		return state{}, ErrStateMalformed
	}
	var tok [maxStateLen]byte
	copy(tok[:], token)
	dot := strings.IndexByte(token, '.')
	if dot < 0 {
		return state{}, ErrStateMalformed
	}
	payload, mac := tok[:dot], tok[dot+1:len(token)]
	enc := base64.RawURLEncoding.Strict()
	var raw [maxStateLen]byte
	pn, err := enc.Decode(raw[:], payload)
	if err != nil {
		return state{}, ErrStateMalformed
	}
	p := raw[:pn]
	// Only 43 characters decode to the 32 bytes of a SHA-256 MAC.
	if len(mac) != stateMACEncodedLen {
		return state{}, ErrStateMalformed
	}
	var sum [sha256.Size]byte
	if n, err := enc.Decode(sum[:], mac); err != nil || n != sha256.Size {
		return state{}, ErrStateMalformed
	}
	if len(p) < minPayloadSize || p[0] != stateVersion {
		return state{}, ErrStateMalformed
	}
	kidLen := int(p[1+8+nonceLen])
	rest := p[1+8+nonceLen+1:]
	if kidLen == 0 || kidLen >= len(rest) || len(rest)-kidLen > MaxAccountIDLen {
		return state{}, ErrStateMalformed
	}
	kid := rest[:kidLen]
	var key *Key
	for i := range keys {
		if keys[i].ID == string(kid) {
			key = &keys[i]
			break
		}
	}
	if key == nil {
		return state{}, ErrStateUnknownKey
	}
	if want := key.sum(stateMACLabel, payload); !hmac.Equal(sum[:], want[:]) {
		return state{}, ErrStateTampered
	}
	s := state{
		accountID: string(rest[kidLen:]),
		issued:    time.Unix(int64(binary.BigEndian.Uint64(p[1:9])), 0),
		keyID:     key.ID,
	}
	copy(s.nonce[:], p[9:9+nonceLen])
	return s, nil
}

// checkAge reports ErrStateExpired when s is outside its validity window at now.
func (s state) checkAge(now time.Time, ttl time.Duration) error {
	age := now.Sub(s.issued)
	if age > ttl+ClockSkew || age < -ClockSkew {
		return ErrStateExpired
	}
	return nil
}
