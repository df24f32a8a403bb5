package mocksikka

import (
	"net/url"
	"sort"
	"strings"
	"time"
)

// maxJournal is how many entries the journal keeps; older ones are dropped first.
const maxJournal = 10000

// Entry is one request the mock received (admin calls under /_mock/ are not journaled). It
// holds no secret: codes, keys, secret keys, app keys and state values never appear in it.
type Entry struct {
	// Time is the mock clock's time when the request arrived.
	Time time.Time `json:"time"`
	// Method and Path are the request's; Endpoint() joins them as in "POST /v4/request_key".
	Method string `json:"method"`
	Path   string `json:"path"`
	// Query is the query string with every value but public ones (app_id, redirect_uri,
	// office_id, practice_id, limit, offset, show, decision) replaced by "***".
	Query string `json:"query,omitempty"`
	// Grant is the grant_type of a POST /v4/request_key ("other" for a value that is not a
	// plain lower-case name).
	Grant string `json:"grant,omitempty"`
	// Status is the HTTP status answered; 0 when the client went away during a fault's delay.
	Status int `json:"status"`
	// ErrorCode is the error envelope's error_code, if the answer was an error envelope.
	ErrorCode string `json:"error_code,omitempty"`
	// OfficeID is the office concerned: the key's office, the office a key or code was issued
	// for, or the office_id the caller sent.
	OfficeID string `json:"office_id,omitempty"`
	// AppID is the app_id the caller sent or authenticated with.
	AppID string `json:"app_id,omitempty"`
	// Auth says how the caller authenticated a data call: "request_key" or "app_key".
	Auth string `json:"auth,omitempty"`
	// Fault is true when an injected Fault delayed or answered the request.
	Fault bool `json:"fault,omitempty"`
}

// Endpoint returns "METHOD /path", the form Fault.Endpoint and Count use.
func (e Entry) Endpoint() string { return e.Method + " " + e.Path }

// Journal returns the requests received since the last Reset or ClearJournal, oldest first
// (at most the latest 10000).
func (s *Server) Journal() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry{}, s.entries()...)
}

// ClearJournal empties the journal.
func (s *Server) ClearJournal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal = nil
}

// Count returns how many journaled requests match endpoint ("POST /v4/request_key"; "" matches
// any) and grant ("refresh_key"; "" matches any).
func (s *Server) Count(endpoint, grant string) int {
	endpoint = normalizeEndpoint(endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.entries() {
		if (endpoint == "" || e.Endpoint() == endpoint) && (grant == "" || e.Grant == grant) {
			n++
		}
	}
	return n
}

// record appends e to the journal; the caller holds s.mu. The slice grows to
// twice maxJournal before the latest maxJournal-1 entries are moved to its
// front, so a full journal costs O(1) per request (amortized) rather than a
// copy of the whole journal each time; entries shows the latest maxJournal.
func (s *Server) record(e Entry) {
	if len(s.journal) >= 2*maxJournal {
		n := copy(s.journal, s.journal[len(s.journal)-maxJournal+1:])
		clear(s.journal[n:])
		s.journal = s.journal[:n]
	}
	s.journal = append(s.journal, e)
}

// entries is the journal: the latest maxJournal entries, oldest first; the
// caller holds s.mu.
func (s *Server) entries() []Entry {
	return s.journal[max(len(s.journal)-maxJournal, 0):]
}

// normalizeEndpoint upper-cases the method of "method /path" and trims spaces.
func normalizeEndpoint(ep string) string {
	f := strings.Fields(ep)
	if len(f) != 2 {
		return strings.TrimSpace(ep)
	}
	return strings.ToUpper(f[0]) + " " + f[1]
}

// publicParams are the query parameters whose values are not secret.
var publicParams = map[string]bool{
	"app_id": true, "redirect_uri": true, "office_id": true, "practice_id": true,
	"limit": true, "offset": true, "show": true, "decision": true,
}

// isPlainName reports whether s matches ^[A-Za-z_-]{1,40}$ (names that look like names).
func isPlainName(s string) bool { return isWord(s, true) }

// isWord reports whether s is 1 to 40 bytes of [a-z_], or of [A-Za-z_-] when wide is set:
// what the regular expressions ^[a-z_]{1,40}$ and ^[A-Za-z_-]{1,40}$ match, without running
// one for every request.
func isWord(s string, wide bool) bool {
	if len(s) < 1 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', c == '_':
		case wide && ('A' <= c && c <= 'Z' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// maskQuery returns raw with secret values masked; a parameter name that does not look like a
// name (a key pasted as a name, say) is masked too.
func maskQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, _ := url.ParseQuery(raw)
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			switch {
			case publicParams[k]:
				b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(clip(v)))
			case isPlainName(k):
				b.WriteString(k + "=***")
			default:
				b.WriteString("***=***")
			}
		}
	}
	return b.String()
}

// plainGrant returns g if it is a plain lower-case name, else "other".
func plainGrant(g string) string {
	if g == "" || isWord(g, false) { // ^[a-z_]{1,40}$
		return g
	}
	return "other"
}

// clip shortens untrusted input kept in the journal.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
