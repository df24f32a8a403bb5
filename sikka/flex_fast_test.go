package sikka

import (
	"encoding/json"
	"strings"
	"testing"
)

// The fast path for plain strings reads exactly what encoding/json reads.
func FuzzFlexStringMatchesDecoder(f *testing.F) {
	for _, s := range []string{"", "85603 second(s)", "  D36225 ", `a"b`, "tab\tin", "é ü", `\u00e9`,
		"\xff\xfe", "line\nbreak", "\u2028", "<html>&", `back\slash`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// s as a JSON string two ways: encoded by encoding/json, and its
		// bytes put between quotes as they are (raw bytes, escapes and
		// invalid UTF-8 included, when that is still valid JSON).
		encoded, err := json.Marshal(s)
		if err != nil {
			t.Skip()
		}
		for _, lit := range [][]byte{encoded, []byte(`"` + s + `"`)} {
			doc := []byte(`{"V":` + string(lit) + `}`)
			if !json.Valid(doc) {
				continue
			}
			var want struct{ V string }
			if err := json.Unmarshal(doc, &want); err != nil {
				t.Fatalf("reference decode: %v", err)
			}
			var got struct{ V flexString }
			if err := json.Unmarshal(doc, &got); err != nil {
				t.Fatalf("flexString: %v", err)
			}
			if string(got.V) != strings.TrimSpace(want.V) {
				t.Fatalf("%s: flexString %q, encoding/json %q", lit, got.V, want.V)
			}
		}
	})
}
