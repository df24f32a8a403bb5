package mocksikka

// The mock writes its two hot answers (keys and practice lists) without
// encoding/json's reflection; these check the bytes are the encoder's own and
// measure the difference (docs/BENCHMARKS.md). The benchmark only runs with
// -bench; the test takes milliseconds.

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// encoderJSON is what c.json wrote before: encoding/json, HTML not escaped.
func encoderJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func randomJSONText(r *rand.Rand) string {
	const plain = "abcXYZ019 -_./:?&=<>+%"
	specials := []string{`"`, `\`, "\n", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "\xff", "\xe2\x82", "<script>", "&amp;"}
	var b []byte
	for range r.IntN(30) {
		if r.IntN(8) == 0 {
			b = append(b, specials[r.IntN(len(specials))]...)
		} else {
			b = append(b, plain[r.IntN(len(plain))])
		}
	}
	return string(b)
}

func TestAppendJSONMatchesEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s := func() string {
		if r.IntN(4) == 0 {
			return ""
		}
		return randomJSONText(r)
	}
	for i := range 3000 {
		k := keyResponse{s(), s(), s(), s(), s(), s(), s(), s(), s(), s(), s()}
		if got, want := append(k.appendJSON(nil), '\n'), encoderJSON(k); !bytes.Equal(got, want) {
			t.Fatalf("keyResponse %d:\n got %s\nwant %s", i, got, want)
		}
		var items []listItem
		if i%7 != 0 {
			items = []listItem{}
			for range r.IntN(3) {
				items = append(items, authorizedPracticeItem{s(), s(), s(), s(), s(), s(), s(), s(), s(), s(), s(),
					s(), s(), s(), s(), s(), s(), s(), s(), s(), s()})
			}
			if r.IntN(2) == 0 { // its MarshalJSON is appendJSON: the encoder checks it is valid JSON
				items = append(items, practiceDataItem{r.IntN(2) == 0, s(), s(), s(), s(), s(), s(), s(), s(), s(),
					s(), s(), s(), s(), s(), s(), s(), s(), s(), s(), s(), s()})
			}
		}
		e := listEnvelope{s(), s(), s(), s(), pagination{s(), s(), s(), s(), s()}, items, nil}
		if got, want := append(e.appendJSON(nil), '\n'), encoderJSON(e); !bytes.Equal(got, want) {
			t.Fatalf("listEnvelope %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// BenchmarkAnswerJSON: the list answer of authorized_practices, with
// encoding/json and as written now.
func BenchmarkAnswerJSON(b *testing.B) {
	p := DefaultPractices()[0]
	it := authorizedPracticeItem{Href: "http://127.0.0.1:8089/v4/authorized_practices/D36225", City: p.City,
		State: p.State, PracticeID: p.PracticeID, Address: p.Address, Zip: p.Zip, OfficeID: p.OfficeID,
		Domain: "Dental", SecretKey: p.SecretKey, PracticeName: p.Name, PracticeManagementSystem: p.PMS,
		PracticeManagementSystemRefreshDate: "2026-02-10T03:00:28", DataSynchronizationDate: "2026-02-10T03:55:28",
		DataInsertDate: "2026-02-10T04:00:28", PracticeManagementSystemVersion: p.PMSVersion,
		PracticeManagementSystemRefreshDateTimeZone: p.TimeZone, PartnerID: p.PartnerID,
		DifferenceInMinutes: p.DifferenceInMinutes}
	link := "http://127.0.0.1:8089/v4/authorized_practices?offset=0&limit=50"
	e := listEnvelope{"0", "50", "1", "0", pagination{link, "", link, "", link}, []listItem{it}, nil}
	b.Run("impl=encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encoderJSON(e)
		}
	})
	b.Run("impl=append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf = e.appendJSON(buf[:0])
		}
	})
}
