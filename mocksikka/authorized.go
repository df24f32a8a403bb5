package mocksikka

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
)

// authorizedPracticePath is the route of one office's entry, the href of each
// authorized_practices item.
const authorizedPracticePath = "/v4/authorized_practices/{office_id}"

// Error codes of this file's answers, as Sikka's table gives them.
const (
	codeNoContent             = "API2005" // 204 a list with no item (no body)
	codePracticeNotAuthorized = "API2007" // 401 the caller may not see this office
)

// listing holds the settings of the practice lists; its zero value is the default.
type listing struct {
	onboarded    []string // apps every configured practice has onboarded for
	onboardedSet bool     // onboarded was set (else: DefaultAppID)
	emptyAs200   bool     // an empty list answers 200 with items [] instead of 204
}

// onboardedApp reports whether every configured practice has onboarded for appID.
func (l listing) onboardedApp(appID string) bool {
	if !l.onboardedSet {
		return appID == DefaultAppID
	}
	return slices.Contains(l.onboarded, appID)
}

// WithOnboardedApps names the apps for which every configured practice is onboarded from the
// start, as a practice does through the Sikka Marketplace: with App-Id and App-Key they list
// every configured practice (also those added later by AddPractice) in authorized_practices.
// Default: DefaultAppID alone, so that Sikka's Quickstart works on a fresh mock. Without
// arguments no app is onboarded. Any other app lists only the offices that authorized it: by
// Allow on the consent page, by a code (IssueCode, auto-approve) or by a request_key grant.
func WithOnboardedApps(appIDs ...string) Option {
	return func(c *config) {
		c.listing.onboarded = append([]string{}, appIDs...)
		c.listing.onboardedSet = true
	}
}

// WithEmptyListOK makes a list with no item (a filter that matches nothing, an app no office
// authorized) answer 200 with the list envelope and "items":[], when on; by default (off) it
// answers 204 No Content with no body, as Sikka's table gives API2005.
func WithEmptyListOK(on bool) Option {
	return func(c *config) { c.listing.emptyAs200 = on }
}

// routeKey returns the key of path in Server.routes: authorizedPracticePath for
// /v4/authorized_practices/{office_id} (one non-empty segment), paymentPath for anything under
// /v4/payment/, the writeback route of /v4/appointments/{id}, /v4/patient/{id} and
// /v4/claims/{id} (writebackRouteKey), path itself otherwise.
func routeKey(path string) string {
	if rest, ok := strings.CutPrefix(path, "/v4/authorized_practices/"); ok && rest != "" && !strings.Contains(rest, "/") {
		return authorizedPracticePath
	}
	if strings.HasPrefix(path, "/v4/payment/") {
		return paymentPath
	}
	if k := writebackRouteKey(path); k != "" {
		return k
	}
	return path
}

// practiceFilter is the query of authorized_practices. Every filter compares whole values,
// ignoring case, except practice_id which is exact.
type practiceFilter struct {
	all                                   bool // show=all
	practiceID, name, pms, pmsVersion     string
	financial, financialVersion, timeZone string
}

func (c *call) practiceFilter() practiceFilter {
	q := c.query()
	return practiceFilter{
		all:              q.Get("show") == "all",
		practiceID:       q.Get("practice_id"),
		name:             q.Get("practice_name"),
		pms:              q.Get("practice_management_system"),
		pmsVersion:       q.Get("practice_management_system_version"),
		financial:        q.Get("financial_system"),
		financialVersion: q.Get("financial_system_version"),
		timeZone:         q.Get("practice_management_system_refresh_date_time_zone"),
	}
}

// match reports whether p passes f. Without show=all only practice "1" of each office
// passes, unless practice_id asks for another.
func (f practiceFilter) match(p Practice) bool {
	like := func(want, have string) bool { return want == "" || strings.EqualFold(want, have) }
	switch {
	case f.practiceID != "":
		if p.PracticeID != f.practiceID {
			return false
		}
	case !f.all && p.PracticeID != "1":
		return false
	}
	return like(f.name, p.Name) && like(f.pms, p.PMS) && like(f.pmsVersion, p.PMSVersion) &&
		like(f.financial, p.FinancialSystem) && like(f.financialVersion, p.FinancialSystemVersion) &&
		like(f.timeZone, p.TimeZone)
}

// byOfficeThenPractice orders practices by office_id, then practice_id, each in natural order.
func byOfficeThenPractice(a, b practiceRec) int {
	return cmp.Or(naturalCompare(a.OfficeID, b.OfficeID), naturalCompare(a.PracticeID, b.PracticeID))
}

// naturalCompare compares a and b with runs of ASCII digits as numbers ("2" < "10",
// "1" < "1-0" < "1-1" < "2"), other bytes by value; equal numbers of different spellings
// ("01", "1") fall back to byte order.
func naturalCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			ei, ej := digitsEnd(a, i), digitsEnd(b, j)
			na, nb := strings.TrimLeft(a[i:ei], "0"), strings.TrimLeft(b[j:ej], "0")
			if c := cmp.Or(cmp.Compare(len(na), len(nb)), strings.Compare(na, nb)); c != 0 {
				return c
			}
			i, j = ei, ej
			continue
		}
		if c := cmp.Compare(a[i], b[j]); c != 0 {
			return c
		}
		i, j = i+1, j+1
	}
	return cmp.Or(cmp.Compare(len(a)-i, len(b)-j), strings.Compare(a, b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digitsEnd returns the end of the run of digits of s starting at i.
func digitsEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// authorizedPractices answers GET /v4/authorized_practices.
func (s *Server) authorizedPractices(c *call) { s.listAuthorized(c, "") }

// authorizedPractice answers GET /v4/authorized_practices/{office_id}: the list envelope of
// that office's entries, as the list would hold them (Sikka's reply is undocumented).
func (s *Server) authorizedPractice(c *call) {
	s.listAuthorized(c, strings.TrimPrefix(c.r.URL.Path, "/v4/authorized_practices/"))
}

// appSeesOfficeLocked reports whether appID, calling with App-Id and App-Key, sees officeID:
// every office for an onboarded app, else the offices that authorized it. The caller holds s.mu.
func (s *Server) appSeesOfficeLocked(appID, officeID string) bool {
	return s.initial.listing.onboardedApp(appID) || s.store.authorized[appID][officeID]
}

// listAuthorized lists the practices the caller may see, those of office only when office is
// not "": with a request key (header or query), the key's office; with App-Id and App-Key,
// every configured office for an onboarded app, else the offices that authorized the app.
// An office the caller may not see (or that does not exist) is 401 API2007.
func (s *Server) listAuthorized(c *call, office string) {
	page, ok := c.pageQuery()
	if !ok {
		return
	}
	f := c.practiceFilter()
	s.mu.Lock()
	now := s.clock.now()
	var visible func(officeID string) bool
	st := keyMissing
	switch key := c.requestKey(); {
	case key != "":
		var k *keyPair
		if k, st = s.authKey(c, key, now, true); k != nil {
			visible = func(o string) bool { return o == k.officeID }
		}
	case c.r.Header.Get("App-Id") != "" || c.r.Header.Get("App-Key") != "":
		appID := c.r.Header.Get("App-Id")
		c.e.AppID = appID
		if !s.checkApp(appID, c.r.Header.Get("App-Key")) {
			s.mu.Unlock()
			c.failApp()
			return
		}
		c.e.Auth = "app_key"
		visible = func(o string) bool { return s.appSeesOfficeLocked(appID, o) }
	}
	if visible == nil {
		s.mu.Unlock()
		c.failKey(st)
		return
	}
	if office != "" && !(visible(office) && s.officeExists(office)) {
		s.mu.Unlock()
		c.e.OfficeID = office
		c.fail(http.StatusUnauthorized, codePracticeNotAuthorized, "Not authorized",
			"You are not authorized for this practice: check the office_id against GET /v4/authorized_practices.")
		return
	}
	var recs []practiceRec
	for _, p := range s.practices {
		if visible(p.OfficeID) && (office == "" || p.OfficeID == office) && f.match(p.Practice) {
			recs = append(recs, p)
		}
	}
	slices.SortStableFunc(recs, byOfficeThenPractice)
	items := make([]listItem, len(recs))
	for i, p := range recs {
		items[i] = c.authorizedItem(p, now)
	}
	emptyOK := s.initial.listing.emptyAs200
	s.mu.Unlock()
	c.list(page, items, emptyOK)
}

// noContent answers 204 No Content, which carries no body: Sikka's API2005 for a list with
// no item. The journal records API2005.
func (c *call) noContent() {
	c.e.Status = http.StatusNoContent
	c.e.ErrorCode = codeNoContent
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusNoContent)
}
