// Scrubbing: no secret the client sent reaches an error or a log, in any
// form Sikka might echo it.

package sikka

import (
	"encoding/base64"
	"html"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// scrubber lists the secrets a request carries (app key, code, secret key,
// request key, refresh key). On the error path only (a success never pays
// for it), it removes them from text that came from the server or from an
// error, so that an echoed secret never reaches an error string or a log,
// whatever form the server echoes it in:
//
//   - as is, in any letter case (ASCII letters);
//   - URL-encoded (query or path escaping, either hex case), JSON-escaped
//     (\uXXXX, \" and the like, and Go's \xXX) or HTML-escaped, up to
//     maxDecodeDepth layers deep: text is decoded layer by layer, and when
//     any layer holds a secret, the most decoded layer, scrubbed, replaces
//     the text (text without a secret is kept as it is, escapes and all);
//   - base64, standard or URL alphabet, padded or not, on its own or inside
//     a longer encoded text (each of the three byte alignments);
//   - in part: any run of at least partialRunLen(secret) consecutive
//     characters of the secret or of one of the forms above.
//
// Each run found is replaced by "[REDACTED]". Secrets shorter than
// minSecretLen are ignored: they would mangle ordinary text.
type scrubber []string

const (
	// minSecretLen keeps very short values (a test's "x") from mangling
	// text.
	minSecretLen = 4
	// maxPartialRun is the longest run of a secret's characters that may
	// remain in text: 8 characters of a 32-character hex key leave 96 of its
	// 128 bits unknown, and 8 is long enough that ordinary words rarely
	// match by chance. Secrets shorter than 16 use half their length (at
	// least minSecretLen), see partialRunLen.
	maxPartialRun = 8
	// maxDecodeDepth bounds how many times text is decoded in search of an
	// escaped secret (a double URL-encoding takes 2).
	maxDecodeDepth = 4
)

// partialRunLen is how many consecutive characters of secret count as an
// echo of it: maxPartialRun, or half of a shorter secret, but never fewer
// than minSecretLen.
func partialRunLen(secret string) int {
	return min(maxPartialRun, max(minSecretLen, (len(secret)+1)/2))
}

// redactor is a scrubber made ready to search text: for each secret, every
// run of its partialRunLen in any of its forms, lower-cased.
type redactor struct {
	sets []runSet
}

// runSet holds the runs of n characters that count as one secret's echo.
type runSet struct {
	n    int
	runs map[string]struct{}
}

// redactor prepares s for searching; nil when s has no secret to look for.
func (s scrubber) redactor() *redactor {
	var r redactor
	for _, secret := range s {
		if len(secret) < minSecretLen {
			continue
		}
		set := runSet{n: partialRunLen(secret), runs: make(map[string]struct{})}
		for _, form := range secretForms(secret) {
			form = lowerASCII(form)
			for i := 0; i+set.n <= len(form); i++ {
				set.runs[form[i:i+set.n]] = struct{}{}
			}
		}
		r.sets = append(r.sets, set)
	}
	if len(r.sets) == 0 {
		return nil
	}
	return &r
}

// secretForms returns the forms of secret that no decoding of text
// recovers: the secret itself and what decoding makes of it (when it holds
// something that looks like an escape), query-escaped (a space as "+"),
// and base64 in both alphabets for each byte alignment, cut to the
// characters that depend on the secret's bytes alone, so that they match
// inside any longer encoded text, padded or not.
func secretForms(secret string) []string {
	forms := []string{secret, url.QueryEscape(secret)}
	for d, prev := 0, secret; d < maxDecodeDepth; d++ {
		next := decodeOnce(prev)
		if next == prev {
			break
		}
		forms = append(forms, next)
		prev = next
	}
	buf := make([]byte, 2+len(secret))
	for k := 0; k < 3; k++ {
		clear(buf)
		copy(buf[k:], secret)
		b := buf[:k+len(secret)]
		// Character i of the encoding holds bits [6i, 6i+6); the secret's
		// bits are [8k, 8(k+len)).
		lo, hi := (8*k+5)/6, 8*len(b)/6
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if e := enc.EncodeToString(b); hi > lo {
				forms = append(forms, e[lo:hi])
			}
		}
	}
	return forms
}

// scrub returns text with every echo of a secret replaced, decoding it as
// the scrubber's doc says.
func (s scrubber) scrub(text string) string { return s.redactor().scrub(text) }

func (r *redactor) scrub(text string) string {
	if r == nil {
		return text
	}
	// Decode layer by layer; if any layer holds a secret, scrub the most
	// decoded one, where an escaped secret shows whole (the secret's own
	// decodings are among its forms, so a plain echo still matches there).
	view, found := text, r.holds(text)
	for range maxDecodeDepth {
		next := decodeOnce(view)
		if next == view {
			break
		}
		view = next
		found = found || r.holds(view)
	}
	if !found {
		return text
	}
	if clean, ok := r.redact(view); ok {
		text = clean
	}
	// Then layer by layer again, for what the first pass missed.
	out, _ := r.redact(text)
	view = out
	for range maxDecodeDepth {
		next := decodeOnce(view)
		if next == view {
			break
		}
		clean, found := r.redact(next)
		if found {
			out = clean
		}
		view = clean
	}
	return out
}

// holds tells whether text holds a run of a secret.
func (r *redactor) holds(text string) bool {
	low := lowerASCII(text)
	for _, set := range r.sets {
		for i := 0; i+set.n <= len(low); i++ {
			if _, ok := set.runs[low[i:i+set.n]]; ok {
				return true
			}
		}
	}
	return false
}

// redact replaces each stretch of text covered by runs of a secret with
// one "[REDACTED]"; found tells whether there was any.
func (r *redactor) redact(text string) (clean string, found bool) {
	low := lowerASCII(text)
	var hit []bool
	for _, set := range r.sets {
		for i := 0; i+set.n <= len(low); i++ {
			if _, ok := set.runs[low[i:i+set.n]]; ok {
				if hit == nil {
					hit = make([]bool, len(low))
				}
				for j := i; j < i+set.n; j++ {
					hit[j] = true
				}
			}
		}
	}
	if hit == nil {
		return text, false
	}
	var b strings.Builder
	for i := 0; i < len(text); {
		if !hit[i] {
			b.WriteByte(text[i])
			i++
			continue
		}
		b.WriteString(redacted)
		for i < len(text) && hit[i] {
			i++
		}
	}
	// A run may start or end inside a multi-byte character.
	return strings.ToValidUTF8(b.String(), "\uFFFD"), true
}

// lowerASCII lower-cases the ASCII letters of s, keeping every byte's
// offset.
func lowerASCII(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// decodeOnce undoes one layer of escaping, leniently (what is not a valid
// escape stays as it is): percent-encoding, then backslash escapes, then
// HTML character references.
func decodeOnce(s string) string {
	if !strings.ContainsAny(s, "%\\&") {
		return s
	}
	return html.UnescapeString(unescapeBackslashes(percentDecode(s)))
}

// percentDecode decodes each valid %XX of s.
func percentDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// unescapeBackslashes decodes each valid JSON escape of s (\uXXXX, with
// surrogate pairs, and \" \\ \/ \b \f \n \r \t) and Go's \xXX.
func unescapeBackslashes(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	hex4 := func(i int) (rune, bool) {
		if i+4 > len(s) {
			return 0, false
		}
		var r rune
		for _, c := range []byte(s[i : i+4]) {
			if !isHex(c) {
				return 0, false
			}
			r = r<<4 | rune(unhex(c))
		}
		return r, true
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		switch c := s[i+1]; c {
		case '"', '\\', '/':
			b = append(b, c)
			i++
		case 'b', 'f', 'n', 'r', 't':
			b = append(b, "\b\f\n\r\t"[strings.IndexByte("bfnrt", c)])
			i++
		case 'x':
			if i+3 < len(s) && isHex(s[i+2]) && isHex(s[i+3]) {
				b = append(b, unhex(s[i+2])<<4|unhex(s[i+3]))
				i += 3
			} else {
				b = append(b, s[i])
			}
		case 'u':
			r, ok := hex4(i + 2)
			if !ok {
				b = append(b, s[i])
				continue
			}
			i += 5
			if utf16.IsSurrogate(r) && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, ok := hex4(i + 3); ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// Limits of the envelope fields kept from a response, in bytes; a longer
// value is cut there and ends with "…".
const (
	maxCodeLen    = 16  // http_code
	maxLabelLen   = 128 // http_code_desc, error_code
	maxMessageLen = 512 // short_message, long_message, more_information, log_message
)

// envelope returns env with only its known fields, each scrubbed and cut
// to its limit. (Every other field of the body was never decoded.)
func (s scrubber) envelope(env Envelope) Envelope {
	r := s.redactor()
	clean := func(v string, limit int) string {
		// Bound the work on a huge field: what lies past 8 times the
		// limit could not be kept even once decoded.
		if len(v) > 8*limit {
			v = strings.ToValidUTF8(v[:8*limit], "")
		}
		v = r.scrub(v)
		if len(v) > limit {
			v = strings.ToValidUTF8(v[:limit], "") + "…"
		}
		return v
	}
	return Envelope{
		HTTPCode:        clean(env.HTTPCode, maxCodeLen),
		HTTPCodeDesc:    clean(env.HTTPCodeDesc, maxLabelLen),
		ErrorCode:       clean(env.ErrorCode, maxLabelLen),
		ShortMessage:    clean(env.ShortMessage, maxMessageLen),
		LongMessage:     clean(env.LongMessage, maxMessageLen),
		MoreInformation: clean(env.MoreInformation, maxMessageLen),
		LogMessage:      clean(env.LogMessage, maxMessageLen),
	}
}

// scrubbedError carries a cause whose text held a secret: Error returns the
// scrubbed text, Unwrap the original for errors.Is.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func (s scrubber) cause(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := s.scrub(msg); clean != msg {
		return &scrubbedError{msg: clean, err: err}
	}
	return err
}
