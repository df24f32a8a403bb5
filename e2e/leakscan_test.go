package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
)

// leakScan looks for secrets inside everything a run produced that someone
// other than the secret store could read: the demo's log lines (which hold
// its errors), the redirect URLs it answered, and its status and error
// responses. It matches exact substrings, raw and URL-escaped, so that a
// secret glued to other text is still found; it scans in time linear in
// the text for each distinct secret length, so a thousand flows' worth of
// codes and keys is cheap.
type leakScan struct {
	mu     sync.Mutex
	byLen  map[int]map[string]string // length → secret spelling → what it is
	texts  []leakText
	secret int // how many secrets were added
}

type leakText struct{ where, text string }

func newLeakScan() *leakScan { return &leakScan{byLen: map[int]map[string]string{}} }

// secrets adds values of one kind (empty ones are ignored).
func (s *leakScan) secrets(kind string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if v == "" {
			continue
		}
		s.secret++
		for _, spelling := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			m := s.byLen[len(spelling)]
			if m == nil {
				m = map[string]string{}
				s.byLen[len(spelling)] = m
			}
			m[spelling] = kind
		}
	}
}

// mockSecrets adds every secret the mock handed out or holds: the codes it
// issued, the request and refresh keys it answered, the app key and the
// secret keys of practices (the defaults and extra ones given).
func (s *leakScan) mockSecrets(mock *mockSikka, practices ...mocksikka.Practice) {
	s.secrets("authorization code", mock.issuedCodes()...)
	s.secrets("request or refresh key", mock.issuedKeys()...)
	s.defaultSecrets(practices...)
}

// defaultSecrets adds the secrets every mock holds from its start: the
// default app key and the secret keys of practices (the defaults and extra
// ones given).
func (s *leakScan) defaultSecrets(practices ...mocksikka.Practice) {
	s.secrets("app key", mocksikka.DefaultAppKey)
	for _, p := range append(mocksikka.DefaultPractices(), practices...) {
		s.secrets("practice secret key", p.SecretKey)
	}
}

// text records something the run produced, to scan at the end.
func (s *leakScan) text(where, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.texts = append(s.texts, leakText{where, text})
}

// check scans every recorded text for every secret and fails the test on
// each hit (at most 20 reported). It returns how many texts it scanned.
func (s *leakScan) check(t *testing.T) int {
	t.Helper()
	if s.secret == 0 {
		t.Fatal("leak scan without secrets")
	}
	hits := s.find()
	for i, h := range hits {
		if i == 20 {
			t.Errorf("… and %d more leaks", len(hits)-20)
			break
		}
		t.Error(h)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.texts)
}

// find returns a description of each place a secret appears.
func (s *leakScan) find() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lens := make([]int, 0, len(s.byLen))
	for l := range s.byLen {
		lens = append(lens, l)
	}
	sort.Ints(lens)
	var hits []string
	for _, txt := range s.texts {
		for _, l := range lens {
			m := s.byLen[l]
			for i := 0; i+l <= len(txt.text); i++ {
				if kind, ok := m[txt.text[i:i+l]]; ok {
					hits = append(hits, fmt.Sprintf("leak: a %s appears in %s: …%s…", kind, txt.where, leakAround(txt.text, i, l)))
				}
			}
		}
	}
	return hits
}

// leakAround shows where a hit is, with the secret itself masked.
func leakAround(text string, i, l int) string {
	from, to := max(0, i-40), min(len(text), i+l+40)
	return strings.ReplaceAll(text[from:i]+"<SECRET>"+text[i+l:to], "\n", `\n`)
}

// assertNoLeaks fails the test for each secret the mock handed out or
// holds (and each secret key of practices) found in the demo's log or in
// any text the scan was given, and returns how many texts it scanned.
func assertNoLeaks(t *testing.T, d *demo, mock *mockSikka, scan *leakScan, practices ...mocksikka.Practice) int {
	t.Helper()
	scan.mockSecrets(mock, practices...)
	scan.text("the demo's log", d.logs.String())
	return scan.check(t)
}

// assertNoLeaksInProcess is assertNoLeaks for a demo on its in-process
// mock, whose issued codes and keys the test cannot see: it looks for the
// mock's default secrets (defaultSecrets) and the scan's own in the demo's
// log and in any text the scan was given, and returns how many texts it
// scanned.
func assertNoLeaksInProcess(t *testing.T, d *demo, scan *leakScan) int {
	t.Helper()
	scan.defaultSecrets()
	scan.text("the demo's log", d.logs.String())
	return scan.check(t)
}

// assertLogJSON fails for each line of the demo's log that bypassed the
// JSON logger.
func assertLogJSON(t *testing.T, d *demo) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(d.logs.String()), "\n") {
		assert.True(t, json.Valid([]byte(line)), "log line is not JSON: %q", line)
	}
}

// The scan finds a secret however it is embedded: raw inside other text,
// URL-escaped, at either end; and only secrets.
func TestLeakScanFinds(t *testing.T) {
	s := newLeakScan()
	s.secrets("practice secret key", "STc3k/Y7+S4=")
	s.secrets("authorization code", "0123456789abcdef")
	s.text("clean", `{"msg":"sikka connect: callback","outcome":"success","code":"0123456789abcde"}`)
	s.text("raw", `level=ERROR error="exchange 0123456789abcdef: refused"`)
	s.text("escaped", "/agent/setup/pms?k=STc3k%2FY7%2BS4%3D")
	s.text("at the end", "xSTc3k/Y7+S4=")
	hits := s.find()
	require.Len(t, hits, 3, "%q", hits)
	for i, where := range []string{"raw", "escaped", "at the end"} {
		assert.Contains(t, hits[i], "appears in "+where)
		assert.NotContains(t, hits[i], "0123456789abcdef", "the report masks the secret")
	}
}
