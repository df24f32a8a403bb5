package middleware

import (
	"crypto/sha256"
	"testing"
)

// handWrittenMAC is the HMAC-SHA256 the state used until issue 12 (RFC 2104
// spelled out over sha256.Sum256 and stack buffers), kept here only as the
// reference BenchmarkMAC measures the pooled crypto/hmac (Key.sum) against.
func handWrittenMAC(secret []byte, label string, payload []byte) [sha256.Size]byte {
	var key [sha256.BlockSize]byte
	if len(secret) > sha256.BlockSize {
		h := sha256.Sum256(secret)
		copy(key[:], h[:])
	} else {
		copy(key[:], secret)
	}
	var stack [stateMACStack]byte
	in := stack[:]
	n := sha256.BlockSize + len(label) + len(payload)
	if n > len(in) {
		in = make([]byte, n)
	}
	for i, b := range key {
		in[i] = b ^ 0x36 // ipad
	}
	copy(in[sha256.BlockSize:], label)
	copy(in[sha256.BlockSize+len(label):], payload)
	inner := sha256.Sum256(in[:n])

	var out [sha256.BlockSize + sha256.Size]byte
	for i, b := range key {
		out[i] = b ^ 0x5c // opad
	}
	copy(out[sha256.BlockSize:], inner[:])
	return sha256.Sum256(out[:])
}

// stateMACStack bounds the payloads handWrittenMAC hashes on the stack.
const stateMACStack = sha256.BlockSize + maxMACLabelLen + maxStateLen

func TestHandWrittenMACIsTheSame(t *testing.T) {
	k := benchKey.withMACs()
	payload := []byte("some state payload of a usual length, 60 bytes or so ....")
	if k.sum(stateMACLabel, payload) != handWrittenMAC(benchKey.Secret, stateMACLabel, payload) {
		t.Fatal("the pooled crypto/hmac and the hand-written HMAC disagree")
	}
}

// BenchmarkMAC compares one state MAC: the pooled crypto/hmac the state
// uses (Key.sum) against the hand-written HMAC it replaced.
//
//	go test -run '^$' -bench 'BenchmarkMAC$' -count 8 ./middleware/ > mac.txt
//	benchstat -col /impl mac.txt
func BenchmarkMAC(b *testing.B) {
	payload := []byte("some state payload of a usual length, 60 bytes or so ....")
	b.Run("impl=hand_written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchSinkMAC = handWrittenMAC(benchKey.Secret, stateMACLabel, payload)
		}
	})
	b.Run("impl=crypto_hmac_pooled", func(b *testing.B) {
		k := benchKey.withMACs()
		b.ReportAllocs()
		for b.Loop() {
			benchSinkMAC = k.sum(stateMACLabel, payload)
		}
	})
}

var benchSinkMAC [sha256.Size]byte
