// Paged listing of Sikka's data endpoints.

package sikka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxPageSize is the largest limit Sikka serves per page of a list.
const MaxPageSize = 5000

// ListOption changes the query of a list call (List, Count and the typed
// listings of DataClient). Options apply in order.
type ListOption func(*listQuery)

// listQuery is what the options asked for.
type listQuery struct {
	fields      []string
	allFields   bool
	lightweight bool
	limit       int
	values      url.Values
}

// Fields asks for these fields besides the endpoint's default ones
// (fields=a,b). Typed items read only the fields they declare; list
// Records, or a type of your own, to read others.
func Fields(names ...string) ListOption {
	return func(q *listQuery) { q.fields = append(q.fields, names...) }
}

// AllFields asks for every field of the endpoint (fields=get_all); it
// overrides Fields and Lightweight.
func AllFields() ListOption {
	return func(q *listQuery) { q.allFields = true }
}

// Lightweight asks for these fields only, instead of the defaults
// (lightweight=true&fields=a,b). Fields adds to the same list.
func Lightweight(names ...string) ListOption {
	return func(q *listQuery) {
		q.lightweight = true
		q.fields = append(q.fields, names...)
	}
}

// PageSize sets the limit asked for per page (default: the Client's
// WithPageSize, 50 unless changed), between 1 and MaxPageSize; a larger
// value asks for MaxPageSize, a smaller one for the default.
func PageSize(n int) ListOption {
	return func(q *listQuery) { q.limit = min(n, MaxPageSize) }
}

// PracticeID restricts the list to one practice of the office
// (practice_id), such as "1" or "1-1".
func PracticeID(id string) ListOption { return Filter("practice_id", id) }

// Filter sets a query parameter the endpoint documents, such as
// Filter("patient_id", "79"), Filter("status", "Active"), or an RQL
// Filter("find", "patient_id=eq_79::OR::guarantor_id=eq_67"). It replaces
// an earlier value of the same name; an empty value removes it. offset and
// limit are the listing's
// own (PageSize) and cannot be set here; fields and lightweight belong to
// Fields, AllFields and Lightweight.
func Filter(name, value string) ListOption {
	return func(q *listQuery) {
		if q.values == nil {
			q.values = url.Values{}
		}
		if value == "" {
			q.values.Del(name)
			return
		}
		q.values.Set(name, value)
	}
}

// Dates restricts the list to records between start and end, both
// included (startdate and enddate, as yyyy-mm-dd: each date is read as
// written, whatever its location). A zero time leaves that end open. Which
// date of a record is compared is the endpoint's default, or
// DateFilterOn's.
func Dates(start, end time.Time) ListOption {
	return func(q *listQuery) {
		if !start.IsZero() {
			Filter("startdate", start.Format(time.DateOnly))(q)
		}
		if !end.IsZero() {
			Filter("enddate", end.Format(time.DateOnly))(q)
		}
	}
}

// DateFilterOn names the date Dates compares (date_filter_on), such as
// "appointment_made_date" for appointments or "transaction_entry_date" for
// transactions (SIKKA_API.md, section 5 lists each endpoint's).
func DateFilterOn(field string) ListOption { return Filter("date_filter_on", field) }

// reservedParams are set by the listing itself, never by Filter.
var reservedParams = []string{"offset", "limit", "fields", "lightweight"}

// encode returns the query of page (a page index from 0) with limit.
func (q *listQuery) encode(page, limit int) url.Values {
	v := url.Values{}
	for name, vals := range q.values {
		v[name] = vals
	}
	for _, name := range reservedParams {
		v.Del(name)
	}
	switch {
	case q.allFields:
		v.Set("fields", "get_all")
	case len(q.fields) > 0:
		v.Set("fields", strings.Join(q.fields, ","))
		if q.lightweight {
			v.Set("lightweight", "true")
		}
	}
	v.Set("offset", strconv.Itoa(page))
	v.Set("limit", strconv.Itoa(limit))
	return v
}

// newListQuery applies opts; limit is the client's page size unless an
// option set one.
func (dc *DataClient) newListQuery(opts []ListOption) *listQuery {
	q := &listQuery{}
	for _, opt := range opts {
		opt(q)
	}
	if q.limit < 1 {
		q.limit = min(dc.c.pageSize, MaxPageSize)
	}
	return q
}

// listJSON is Sikka's list envelope, shared by every list endpoint, with
// items of wire type T.
type listJSON[T any] struct {
	Offset     flexString `json:"offset"`
	Limit      flexString `json:"limit"`
	TotalCount flexString `json:"total_count"`
	Pagination *struct {
		Next flexString `json:"next"`
	} `json:"pagination"`
	Items []T `json:"items"`
}

// page is one page of a list.
type page[T any] struct {
	items []T
	// total is total_count, or -1 when Sikka did not say; limit is the
	// envelope's limit, or -1.
	total, limit int
	// hasPagination tells whether the pagination object was present; next
	// is its next link.
	hasPagination bool
	next          string
}

// parsePage reads one page of a list: the list envelope, also wrapped in a
// one-element array (Sikka's pagination guide, writeback_status), the
// notes' simplified {"items":[…]}, or a bare array of items. An empty body
// is a page with no items.
func parsePage[T any](body []byte) (page[T], error) {
	pg := page[T]{total: -1, limit: -1}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return pg, nil
	}
	var lj listJSON[T]
	if body[0] == '[' {
		var wrapped []listJSON[json.RawMessage]
		if err := json.Unmarshal(body, &wrapped); err == nil &&
			len(wrapped) == 1 && (wrapped[0].Items != nil || wrapped[0].Pagination != nil) {
			body = bytes.TrimSpace(body[1 : len(body)-1])
		} else if err := json.Unmarshal(body, &lj.Items); err != nil {
			return pg, err
		}
	}
	if body[0] != '[' {
		if err := json.Unmarshal(body, &lj); err != nil {
			return pg, err
		}
	}
	pg.total = parseCount(lj.TotalCount)
	pg.limit = parseCount(lj.Limit)
	if lj.Pagination != nil {
		pg.hasPagination = true
		pg.next = string(lj.Pagination.Next)
	}
	pg.items = lj.Items
	return pg, nil
}

// last tells whether pg, page number n of a list asked with limit, is the
// last one: it is empty; it reached total_count (the last page index being
// ceil(total/limit)-1, limit as the envelope says, else as asked); the
// pagination object has no next link; or, with neither, it is short.
func (pg *page[T]) last(n, limit int) bool {
	if pg.limit > 0 {
		limit = pg.limit
	}
	switch {
	case len(pg.items) == 0:
		return true
	case pg.total >= 0 && n >= (pg.total+limit-1)/limit-1:
		return true
	case pg.hasPagination && pg.next == "":
		return true
	case pg.total < 0 && !pg.hasPagination && len(pg.items) < limit:
		return true
	}
	return false
}

// endpointPath turns an endpoint name ("patients", "writeback_status")
// into its path; ok is false for a name that is not one.
func endpointPath(name string) (string, bool) {
	name = strings.TrimPrefix(strings.Trim(name, "/"), "v4/")
	if name == "" {
		return "", false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_' || r == '/') {
			return "", false
		}
	}
	return "/v4/" + name, true
}

// getPage reads page number n of endpoint.
func getPage[T any](ctx context.Context, dc *DataClient, op, path string, q *listQuery, n int) (page[T], error) {
	var pg page[T]
	err := dc.call(ctx, op, http.MethodGet, path, q.encode(n, q.limit), nil, retryIdempotent,
		func(b []byte) error {
			var err error
			pg, err = parsePage[T](b)
			if err != nil {
				return fmt.Errorf("reading a page of %s: %w", path, err)
			}
			return nil
		})
	return pg, err
}

// List returns the items of a list endpoint, such as "patients" or
// "claims", as an iterator, reading one page (one GET) at a time as the
// loop reaches it: pages 0, 1, 2… (Sikka's offset is a page index: offset N
// with limit M is rows N·M+1 to N·M+M). It stops after the last page (see
// below) or when the loop breaks; an error is yielded once, with the zero
// T, and ends the list. Items decode with encoding/json into T: a typed
// item of this package (Patient, Appointment…), Record for any endpoint,
// or a type of your own.
//
// The last page is one that is empty (no content: a 204, an empty body, or
// the API2005 envelope, is an empty page), that reaches total_count, whose
// pagination has no next link, or, for a list that says neither, that is
// short. A list without total_count that has not ended after the client's
// page cap (WithMaxPages) ends with ErrUnavailable. Each page is retried
// like every GET (429, 5xx, transport failures). Errors are the *Error of
// the page that failed: ErrKeyRejected (get another key), ErrUnauthorized,
// ErrRateLimited, ErrUnavailable; the context ending ends the list with
// its error.
func List[T any](ctx context.Context, dc *DataClient, endpoint string, opts ...ListOption) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		const op = "List"
		path, ok := endpointPath(endpoint)
		if !ok {
			yield(zero, &Error{Op: op, Err: fmt.Errorf("invalid endpoint name %q: want a name such as \"patients\"", endpoint)})
			return
		}
		q := dc.newListQuery(opts)
		for n := 0; ; n++ {
			pg, err := getPage[T](ctx, dc, op, path, q, n)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range pg.items {
				if !yield(item, nil) {
					return
				}
			}
			if pg.last(n, q.limit) {
				return
			}
			if pg.total < 0 && n+1 >= dc.c.maxPages {
				yield(zero, &Error{Op: op, Endpoint: http.MethodGet + " " + path, kind: ErrUnavailable,
					Err: fmt.Errorf("list did not end after %d pages", dc.c.maxPages)})
				return
			}
		}
	}
}

// errNoTotal: a list answer without total_count, which Count needs.
var errNoTotal = errors.New("the answer has no total_count")

// Count returns how many items a list endpoint holds for these options
// (its total_count), reading one page of one item. No content (204) is 0.
// Errors as for List; an answer without total_count is ErrUnavailable.
func (dc *DataClient) Count(ctx context.Context, endpoint string, opts ...ListOption) (int, error) {
	const op = "Count"
	path, ok := endpointPath(endpoint)
	if !ok {
		return 0, &Error{Op: op, Err: fmt.Errorf("invalid endpoint name %q: want a name such as \"patients\"", endpoint)}
	}
	q := dc.newListQuery(append(slices.Clip(opts), PageSize(1)))
	pg, err := getPage[json.RawMessage](ctx, dc, op, path, q, 0)
	switch {
	case err != nil:
		return 0, err
	case pg.total >= 0:
		return pg.total, nil
	case len(pg.items) == 0:
		return 0, nil
	}
	return 0, &Error{Op: op, Endpoint: http.MethodGet + " " + path, kind: ErrUnavailable, Err: errNoTotal}
}
