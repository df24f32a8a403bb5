package mocksikka

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// practiceItem is one practice in a list envelope; every value is a string.
type practiceItem struct {
	OfficeID                          string `json:"office_id"`
	PracticeID                        string `json:"practice_id"`
	SecretKey                         string `json:"secret_key,omitempty"`
	PracticeName                      string `json:"practice_name"`
	PracticeManagementSystem          string `json:"practice_management_system"`
	PracticeManagementSystemVersion   string `json:"practice_management_system_version"`
	Domain                            string `json:"domain"`
	Address                           string `json:"address"`
	City                              string `json:"city"`
	State                             string `json:"state"`
	Zip                               string `json:"zip"`
	Email                             string `json:"email"`
	Href                              string `json:"href"`
	DataInsertDate                    string `json:"data_insert_date"`
	DataSynchronizationDate           string `json:"data_synchronization_date"`
	PracticeManagementSystemRefreshAt string `json:"practice_management_system_refresh_date"`
}

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
	Offset        string         `json:"offset"`
	Limit         string         `json:"limit"`
	TotalCount    string         `json:"total_count"`
	ExecutionTime string         `json:"execution_time"`
	Pagination    pagination     `json:"pagination"`
	Items         []practiceItem `json:"items"`
}

// item renders p as Sikka lists it.
func (c *call) item(p practiceRec, now time.Time, withSecret bool) practiceItem {
	it := practiceItem{
		OfficeID:                          p.OfficeID,
		PracticeID:                        p.PracticeID,
		PracticeName:                      p.Name,
		PracticeManagementSystem:          p.PMS,
		PracticeManagementSystemVersion:   p.PMSVersion,
		Domain:                            "Dental",
		Address:                           p.Address,
		City:                              p.City,
		State:                             p.State,
		Zip:                               p.Zip,
		Email:                             p.Email,
		Href:                              c.baseURL() + "/v4/practices?office_id=" + url.QueryEscape(p.OfficeID) + "&practice_id=" + url.QueryEscape(p.PracticeID),
		DataInsertDate:                    p.added.UTC().Format(sikkaTime),
		DataSynchronizationDate:           now.Add(-5 * time.Minute).UTC().Format(sikkaTime),
		PracticeManagementSystemRefreshAt: now.Add(-time.Hour).UTC().Format(sikkaTime),
	}
	if withSecret {
		it.SecretKey = p.SecretKey
	}
	return it
}

// authKey authenticates c by key (its Request-Key header), counting the call on the key when count
// is set. It answers 401 and returns nil when the key is missing or not usable. The caller
// holds s.mu.
func (s *Server) authKey(c *call, key string, now time.Time, count bool) *keyPair {
	k, ok := s.store.usableKey(key, now)
	if !ok {
		return nil
	}
	if count {
		k.requestCount++
	}
	c.e.Auth, c.e.OfficeID, c.e.AppID = "request_key", k.officeID, k.appID
	return k
}

func (c *call) failKey() {
	c.fail(http.StatusUnauthorized, codeBadRequestKey, "Invalid request key", longMessages[codeBadRequestKey])
}

// authorizedPractices answers GET /v4/authorized_practices: by Request-Key, the practices of
// the key's office; by App-Id and App-Key, those of every office that authorized the app.
func (s *Server) authorizedPractices(c *call) {
	page, ok := c.pageQuery()
	if !ok {
		return
	}
	all := c.query().Get("show") == "all"
	s.mu.Lock()
	now := s.clock.now()
	var offices map[string]bool
	switch {
	case c.r.Header.Get("Request-Key") != "":
		if k := s.authKey(c, c.r.Header.Get("Request-Key"), now, true); k != nil {
			offices = map[string]bool{k.officeID: true}
		}
	case c.r.Header.Get("App-Id") != "" || c.r.Header.Get("App-Key") != "":
		appID := c.r.Header.Get("App-Id")
		c.e.AppID = appID
		if s.checkApp(appID, c.r.Header.Get("App-Key")) {
			c.e.Auth = "app_key"
			offices = s.store.authorized[appID]
			if offices == nil {
				offices = map[string]bool{}
			}
		} else {
			s.mu.Unlock()
			c.fail(http.StatusUnauthorized, codeBadApp, "Invalid app credentials", longMessages[codeBadApp])
			return
		}
	}
	if offices == nil {
		s.mu.Unlock()
		c.failKey()
		return
	}
	var items []practiceItem
	for _, p := range s.practices {
		if offices[p.OfficeID] && (all || p.PracticeID == "1") {
			items = append(items, c.item(p, now, true))
		}
	}
	s.mu.Unlock()
	c.list(page, items)
}

// practicesList answers GET /v4/practices: the practices of the key's office, without secrets.
func (s *Server) practicesList(c *call) {
	page, ok := c.pageQuery()
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.clock.now()
	k := s.authKey(c, c.r.Header.Get("Request-Key"), now, true)
	var items []practiceItem
	if k != nil {
		for _, p := range s.practices {
			if p.OfficeID == k.officeID {
				items = append(items, c.item(p, now, false))
			}
		}
	}
	s.mu.Unlock()
	if k == nil {
		c.failKey()
		return
	}
	c.list(page, items)
}

// requestKeyInfo answers GET /v4/request_key_info for the key in the Request-Key header (or
// the request_key query parameter, as in the href of a key). It does not count as a call.
func (s *Server) requestKeyInfo(c *call) {
	key := c.r.Header.Get("Request-Key")
	if key == "" {
		key = c.query().Get("request_key")
	}
	s.mu.Lock()
	now := s.clock.now()
	k := s.authKey(c, key, now, false)
	var resp keyResponse
	if k != nil {
		resp = c.keyResponse(k, now, false)
	}
	s.mu.Unlock()
	if k == nil {
		c.failKey()
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

// list answers with the page of items in the list envelope.
func (c *call) list(p pageRequest, items []practiceItem) {
	began := time.Now()
	total := len(items)
	pages := max((total+p.limit-1)/p.limit, 1)
	page := []practiceItem{}
	if p.offset < pages {
		lo := p.offset * p.limit
		page = append(page, items[min(lo, total):min(lo+p.limit, total)]...)
	}
	// What url.Values{limit, offset[, show]}.Encode() writes (keys sorted,
	// values that need no escaping), built without the map.
	base := c.baseURL() + c.r.URL.Path + "?limit=" + strconv.Itoa(p.limit) + "&offset="
	show := ""
	if c.query().Get("show") == "all" {
		show = "&show=all"
	}
	link := func(n int) string {
		return base + strconv.Itoa(n) + show
	}
	pg := pagination{First: link(0), Current: link(p.offset), Last: link(pages - 1)}
	if p.offset > 0 {
		pg.Previous = link(min(p.offset-1, pages-1))
	}
	if p.offset < pages-1 {
		pg.Next = link(p.offset + 1)
	}
	c.json(http.StatusOK, listEnvelope{
		Offset:        strconv.Itoa(p.offset),
		Limit:         strconv.Itoa(p.limit),
		TotalCount:    strconv.Itoa(total),
		ExecutionTime: strconv.FormatInt(time.Since(began).Milliseconds(), 10),
		Pagination:    pg,
		Items:         page,
	})
}
