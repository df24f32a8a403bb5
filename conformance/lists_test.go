package conformance

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// Sheet §4: lists, checked on authorized_practices?show=all (the one list every app can read).

var paginationFields = []string{"first", "previous", "current", "next", "last"}

// total returns total_count as a number.
func (l list) total(t *testing.T) int {
	t.Helper()
	n, err := strconv.Atoi(str(l.m, "total_count"))
	if err != nil || n < 0 {
		t.Fatalf("total_count %q is not a count", str(l.m, "total_count"))
	}
	return n
}

// pagination returns the pagination object's links.
func (l list) pagination(t *testing.T) map[string]string {
	t.Helper()
	p, ok := l.m["pagination"].(map[string]any)
	if !ok {
		t.Fatalf("pagination is %T, want an object", l.m["pagination"])
	}
	wantKeys(t, "pagination", p, paginationFields...)
	wantStrings(t, "pagination", p)
	out := map[string]string{}
	for _, f := range paginationFields {
		out[f] = str(p, f)
	}
	return out
}

// TestListEnvelope: offset, limit, total_count and execution_time are strings, pagination has
// first, previous, current, next and last, items is an array; the default limit is 50 and the
// default offset 0.
func TestListEnvelope(t *testing.T) {
	tg := newTarget(t)
	l := tg.authorizedPractices(t, "?show=all")
	for _, f := range []string{"offset", "limit", "total_count", "execution_time", "pagination", "items"} {
		if _, ok := l.m[f]; !ok {
			t.Errorf("list envelope: no %q", f)
		}
	}
	wantStrings(t, "list envelope", l.m, "pagination", "items")
	l.pagination(t)
	if got := str(l.m, "limit"); got != "50" {
		t.Errorf("list envelope: limit %q without a limit parameter, want \"50\" (the default)", got)
	}
	if got := str(l.m, "offset"); got != "0" {
		t.Errorf("list envelope: offset %q without an offset parameter, want \"0\"", got)
	}
	if n := l.total(t); n < len(l.items) {
		t.Errorf("list envelope: total_count %d < %d items", n, len(l.items))
	}
}

// TestOffsetIsAPageIndex: with limit=1, offset=N answers the (N+1)th item, not the item after
// the Nth row skipped: offset counts pages.
func TestOffsetIsAPageIndex(t *testing.T) {
	tg := newTarget(t)
	full := tg.authorizedPractices(t, "?show=all")
	if len(full.items) < 2 {
		t.Skipf("needs at least 2 authorized practices to tell pages from rows; the app sees %d", len(full.items))
	}
	// limit=2, offset=1 is rows 3–4 if offset counts pages, rows 2–3 if it counted rows.
	pages := []struct{ limit, offset int }{{1, 0}, {1, 1}, {2, 1}}
	for _, p := range pages {
		if p.offset*p.limit >= len(full.items) {
			continue // past the last page: undocumented (sheet §12)
		}
		q := fmt.Sprintf("?show=all&limit=%d&offset=%d", p.limit, p.offset)
		l := tg.authorizedPractices(t, q)
		if str(l.m, "offset") != strconv.Itoa(p.offset) || str(l.m, "limit") != strconv.Itoa(p.limit) {
			t.Errorf("authorized_practices%s: offset %q limit %q, want them echoed", q, str(l.m, "offset"), str(l.m, "limit"))
		}
		var want []string
		for i := p.offset * p.limit; i < min((p.offset+1)*p.limit, len(full.items)); i++ {
			want = append(want, rowID(full.items[i]))
		}
		var got []string
		for _, it := range l.items {
			got = append(got, rowID(it))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("authorized_practices%s: items %v, want %v (rows %d–%d: offset is a page index)",
				q, got, want, p.offset*p.limit+1, (p.offset+1)*p.limit)
		}
	}
}

// checkLink checks one pagination link: "" when want is -1, else the absolute
// …/v4/authorized_practices?offset=<want>&limit=<limit>, every filter dropped.
func checkLink(t *testing.T, what, link string, want, limit int) {
	t.Helper()
	if want < 0 {
		if link != "" {
			t.Errorf("%s: %q, want \"\"", what, link)
		}
		return
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		!strings.HasSuffix(u.Path, "/v4/authorized_practices") {
		t.Errorf("%s: %q, want an absolute …/v4/authorized_practices link", what, link)
		return
	}
	q := u.Query()
	if len(q) != 2 || q.Get("offset") != strconv.Itoa(want) || q.Get("limit") != strconv.Itoa(limit) {
		t.Errorf("%s: query %q, want offset=%d&limit=%d and no filter", what, u.RawQuery, want, limit)
	}
}

// TestPaginationLinks: links are absolute ?offset=N&limit=M with filters dropped; previous is ""
// on page 0 and next "" on the last page, which is ceil(total/limit)−1.
func TestPaginationLinks(t *testing.T) {
	tg := newTarget(t)
	total := tg.authorizedPractices(t, "?show=all").total(t)
	if total == 0 {
		t.Fatal("authorized_practices?show=all: total_count 0")
	}
	for _, limit := range []int{1, 2} {
		last := (total+limit-1)/limit - 1
		pages := []int{0, last}
		if last >= 2 {
			pages = []int{0, 1, last}
		}
		for _, page := range pages {
			q := fmt.Sprintf("?show=all&limit=%d&offset=%d", limit, page)
			p := tg.authorizedPractices(t, q).pagination(t)
			what := "authorized_practices" + q + " pagination."
			prev, next := page-1, page+1
			if page == last {
				next = -1
			}
			checkLink(t, what+"first", p["first"], 0, limit)
			checkLink(t, what+"previous", p["previous"], prev, limit) // -1 on page 0: ""
			checkLink(t, what+"current", p["current"], page, limit)
			checkLink(t, what+"next", p["next"], next, limit)
			checkLink(t, what+"last", p["last"], last, limit)
		}
	}
}

// TestEmptyListIs204: a list with no item is API2005, HTTP 204 with no body.
func TestEmptyListIs204(t *testing.T) {
	tg := newTarget(t)
	a := tg.get(t, "/practices?practice_id=999999", "Request-Key", tg.requestKey(t))
	if a.status != http.StatusNoContent || len(a.body) != 0 {
		t.Errorf("/practices with a practice_id that matches nothing: want 204 with no body; got %s", a)
	}
}
