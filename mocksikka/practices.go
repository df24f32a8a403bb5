package mocksikka

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// pagination holds absolute links to pages of a list; "" when there is no such page.
type pagination struct {
	First    string `json:"first"`
	Previous string `json:"previous"`
	Current  string `json:"current"`
	Next     string `json:"next"`
	Last     string `json:"last"`
}

// listEnvelope is Sikka's envelope of every list endpoint; every value is a string.
type listEnvelope struct {
	Offset        string     `json:"offset"`
	Limit         string     `json:"limit"`
	TotalCount    string     `json:"total_count"`
	ExecutionTime string     `json:"execution_time"`
	Pagination    pagination `json:"pagination"`
	Items         []listItem `json:"items"`

	appendItems func([]byte) []byte // when not nil: writes the items, comma-separated, instead of Items
}

// authKey authenticates c by key (its Request-Key header or request_key query), counting the
// call on the key when count is set. It returns nil and the key's state (keyMissing for no
// key) when the key is not usable; the caller then answers with c.failKey. The caller holds
// s.mu.
func (s *Server) authKey(c *call, key string, now time.Time, count bool) (*keyPair, keyState) {
	if key == "" {
		return nil, keyMissing
	}
	k, st := s.store.lookupKey(key, now)
	if st != keyActive {
		return nil, st
	}
	if count {
		k.requestCount++
	}
	c.e.Auth, c.e.OfficeID, c.e.AppID = "request_key", k.officeID, k.appID
	return k, st
}

// lockKey locks s.mu, reads the mock clock and checks c's request key as
// authKey does (counted). It returns the key and the time with s.mu held,
// for the caller to unlock; a key that is no good is answered (failKey)
// with s.mu released, and nil returned.
func (s *Server) lockKey(c *call) (*keyPair, time.Time) {
	s.mu.Lock()
	now := s.clock.now()
	k, st := s.authKey(c, c.requestKey(), now, true)
	if k == nil {
		s.mu.Unlock()
		c.failKey(st)
	}
	return k, now
}

// failKey answers that the request key is no good, as checkRequestKey does: 400 API1004 for a
// missing, unknown or revoked key, 400 API1025 for an expired one. (checkRequestKey answers
// first; this covers a key that expired or was revoked in between.)
func (c *call) failKey(st keyState) { c.keyRejected(st) }

// failApp answers that the App-Id and App-Key headers were refused.
func (c *call) failApp() {
	c.fail(http.StatusUnauthorized, codeBadCredentials, authFailed, credentialsIncorrect)
}

// requestKey returns the request key of c: its Request-Key header, else its request_key
// query parameter (Sikka lists request_key as a parameter and puts it in the href of a key).
func (c *call) requestKey() string {
	if k := c.r.Header.Get("Request-Key"); k != "" {
		return k
	}
	return c.query().Get("request_key")
}

// practicesList answers GET /v4/practices (Request-Key, header or query): the practices of
// the key's office in Sikka's /v4/practices shape (no office_id, no secret_key), ordered by
// practice_id; query practice_id keeps that practice only, fields=get_all adds the get_all
// fields.
func (s *Server) practicesList(c *call) {
	page, ok := c.pageQuery()
	if !ok {
		return
	}
	q := c.query()
	practiceID, all := q.Get("practice_id"), q.Get("fields") == "get_all"
	s.mu.Lock()
	now := s.clock.now()
	k, st := s.authKey(c, c.requestKey(), now, true)
	var recs []practiceRec
	if k != nil {
		for _, p := range s.practices {
			if p.OfficeID == k.officeID && (practiceID == "" || p.PracticeID == practiceID) {
				recs = append(recs, p)
			}
		}
	}
	emptyOK := s.initial.listing.emptyAs200
	s.mu.Unlock()
	if k == nil {
		c.failKey(st)
		return
	}
	slices.SortStableFunc(recs, byOfficeThenPractice)
	items := make([]listItem, len(recs))
	for i, p := range recs {
		items[i] = c.practiceItem(p, all)
	}
	c.list(page, items, emptyOK)
}

// requestKeyInfo answers GET /v4/request_key_info for the key in the Request-Key header (or
// the request_key query parameter, as in the href of a key). It does not count as a call.
func (s *Server) requestKeyInfo(c *call) {
	key := c.requestKey()
	s.mu.Lock()
	now := s.clock.now()
	k, st := s.authKey(c, key, now, false)
	var resp keyInfoResponse
	if k != nil {
		resp = c.keyResponse(k, now, false).info()
	}
	s.mu.Unlock()
	if k == nil {
		c.failKey(st)
		return
	}
	c.json(http.StatusOK, resp)
}

// pageRequest is a list query: limit per page and offset as a page number from 0.
type pageRequest struct{ limit, offset int }

// pageQuery reads limit (default DefaultLimit, at most MaxLimit) and offset (a page number,
// default 0), answering 400 when either is not a number in range.
func (c *call) pageQuery() (pageRequest, bool) {
	q := c.query()
	p := pageRequest{limit: DefaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			c.fail(http.StatusBadRequest, codeBadQuery, "Invalid limit", "limit must be a whole number of at least 1.")
			return p, false
		}
		p.limit = min(n, MaxLimit)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(http.StatusBadRequest, codeBadQuery, "Invalid offset", "offset is a page number: a whole number from 0.")
			return p, false
		}
		p.offset = n
	}
	return p, true
}

// list answers with the page of items in the list envelope. No item at all is 204 with no
// body (API2005), or with emptyOK 200 and "items":[]; a page past the last one is 200 with
// "items":[]. The pagination links are absolute, "?offset=N&limit=M" with every filter
// dropped, as Sikka writes them; previous is "" on page 0 and next "" on the last page.
func (c *call) list(p pageRequest, items []listItem, emptyOK bool) {
	began := time.Now()
	total := len(items)
	if total == 0 && !emptyOK {
		c.noContent()
		return
	}
	lo, hi, env := c.pageEnvelope(p, total)
	env.Items = append([]listItem{}, items[lo:hi]...)
	env.ExecutionTime = strconv.FormatInt(time.Since(began).Milliseconds(), 10)
	c.json(http.StatusOK, env)
}

// pageEnvelope returns the rows [lo, hi) of a list of total items that page p shows (empty
// past the last page) and the envelope around them without items or execution_time: offset,
// limit, total_count and the pagination links as list describes them.
func (c *call) pageEnvelope(p pageRequest, total int) (lo, hi int, env listEnvelope) {
	pages := max((total+p.limit-1)/p.limit, 1)
	lo, hi = total, total
	if p.offset < pages {
		lo = min(p.offset*p.limit, total)
		hi = min(lo+p.limit, total)
	}
	base := c.baseURL() + c.r.URL.Path + "?offset="
	limit := "&limit=" + strconv.Itoa(p.limit)
	link := func(n int) string { return base + strconv.Itoa(n) + limit }
	pg := pagination{First: link(0), Current: link(p.offset), Last: link(pages - 1)}
	if p.offset > 0 {
		pg.Previous = link(min(p.offset-1, pages-1))
	}
	if p.offset < pages-1 {
		pg.Next = link(p.offset + 1)
	}
	return lo, hi, listEnvelope{
		Offset:     strconv.Itoa(p.offset),
		Limit:      strconv.Itoa(p.limit),
		TotalCount: strconv.Itoa(total),
		Pagination: pg,
	}
}
