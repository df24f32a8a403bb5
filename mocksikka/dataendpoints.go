package mocksikka

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dataEndpoint is one GET /v4/<name> data list: the table it reads and its documented filters.
type dataEndpoint struct {
	name       string
	table      string                                // stored table; "" for a computed one (slots, events)
	idParam    string                                // the query parameter that selects one row (its href)
	filters    map[string][]string                   // query parameter → columns it matches (any of them), whole value ignoring case
	dates      []string                              // date_filter_on choices; the first is the default
	search     []string                              // columns the search parameter looks in
	dataInsert bool                                  // answers carry Data-Insert: completed
	required   string                                // a parameter the endpoint requires (400 API1020 without it)
	flags      map[string]func(t *table, r int) bool // parameters that accept only "true": the rows they keep
}

// personFilters are the filters every person-linked endpoint takes (sheet section 5, S).
var personFilters = map[string][]string{"patient_id": {"patient_id"}, "guarantor_id": {"guarantor_id"}, "provider_id": {"provider_id"}}

// with returns personFilters plus more.
func with(more map[string][]string) map[string][]string {
	m := map[string][]string{}
	for k, v := range personFilters {
		m[k] = v
	}
	for k, v := range more {
		m[k] = v
	}
	return m
}

// one maps each name to the column of the same name.
func one(names ...string) map[string][]string {
	m := map[string][]string{}
	for _, n := range names {
		m[n] = []string{n}
	}
	return m
}

// dataEndpoints are the data lists the mock serves (sheet section 5), by name.
var dataEndpoints = map[string]*dataEndpoint{
	"patients": {name: "patients", table: tblPatients, idParam: "patient_id", dataInsert: true,
		filters: func() map[string][]string {
			m := one("patient_id", "guarantor_id", "provider_id", "firstname", "lastname", "email", "cell", "homephone", "workphone", "status")
			m["phone"] = []string{"cell", "homephone", "workphone", "other_phone"}
			m["first_visit"] = []string{"first_visit"}
			m["last_visit"] = []string{"last_visit"}
			return m
		}(),
		search: []string{"firstname", "lastname", "preferred_name", "email", "city", "state", "zipcode", "cell", "homephone", "workphone"}},
	"appointments": {name: "appointments", table: tblAppointments, idParam: "appointment_sr_no", dataInsert: true,
		filters: with(func() map[string][]string {
			m := one("appointment_sr_no", "status", "operatory", "type", "arrival_status")
			m["procedure_code"] = []string{"procedure_code1", "procedure_code2", "procedure_code3", "procedure_code4", "procedure_code5", "procedure_code6", "procedure_code7"}
			return m
		}()),
		dates: []string{"date", "last_changed_date", "appointment_made_date", "confirmed_on_date", "cancelled_date"}},
	"appointments_available_slots": {name: "appointments_available_slots", idParam: "provider_id",
		filters: one("provider_id", "operatory"), dates: []string{"date"}},
	"providers": {name: "providers", table: tblProviders, idParam: "provider_id",
		filters: one("provider_id", "provider_type", "firstname", "lastname", "national_provider_identifier", "status", "is_user")},
	"transactions": {name: "transactions", table: tblTransactions, idParam: "transaction_sr_no", dataInsert: true,
		filters: with(one("transaction_sr_no", "claim_sr_no", "procedure_code", "transaction_type", "payment_type", "invoice_number", "payment_procedure_link_id")),
		dates:   []string{"transaction_date", "transaction_entry_date", "last_updated_by"}},
	"claims": {name: "claims", table: tblClaims, idParam: "claim_sr_no",
		filters: with(one("claim_sr_no", "claim_status", "claim_status_2", "claim_tag")),
		dates:   []string{"claim_sent_date", "claim_payment_date", "on_hold_date", "resent_date", "creation_date"}},
	"payment_types": {name: "payment_types", table: tblPaymentTypes, idParam: "code",
		filters: map[string][]string{"code": {"code"}, "customer_id": {"cust_id"}},
		flags: map[string]func(t *table, r int) bool{ // by the generated descriptions
			"is_adjustment_type":               descriptionHas("Adjustment"),
			"is_debit_adjustment_type":         descriptionHas("Debit Adjustment"),
			"is_insurance_type":                descriptionHas("Insurance", "ERA"),
			"are_credit_card_details_required": descriptionHas("Credit Card"),
		}},
	"operatories": {name: "operatories", table: tblOperatories, required: "cust_id",
		filters: one("cust_id", "is_hidden")},
	"patient_balance": {name: "patient_balance", table: tblBalances, idParam: "patient_id",
		filters: one("patient_id", "customer_id")},
	"treatment_plans": {name: "treatment_plans", table: tblTreatment, idParam: "treatment_plan_sr_no", dataInsert: true,
		filters: with(map[string][]string{"treatment_plan_sr_no": {"plan_sr_no"}, "procedure_code": {"procedure_code"},
			"treatment_plan_status": {"treatment_plan_status"}, "claim_sr_no": {"claim_sr_no"}}),
		dates: []string{"procedure_date", "entry_date", "last_updated_by"}},
	"insurance_plan_coverage": {name: "insurance_plan_coverage", table: tblCoverage, idParam: "insurance_company_id",
		filters: one("insurance_company_id")},
	"medical_notes": {name: "medical_notes", table: tblNotes, idParam: "patient_id",
		filters: map[string][]string{"patient_id": {"patient_id"}, "note_type": {"type"}},
		dates:   []string{"date", "procedure_date"}},
	"practice_variables": {name: "practice_variables", table: tblVariables, idParam: "service_item",
		filters: one("service_name", "service_item")},
}

// descriptionHas keeps the rows whose description contains one of words.
func descriptionHas(words ...string) func(t *table, r int) bool {
	return func(t *table, r int) bool {
		d := t.get(r, "description")
		return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(d, w) })
	}
}

// slotsSchema is the computed appointments_available_slots table.
var slotsSchema = newSchema("appointments_available_slots", "", "appointments")

// fieldKind says where a field of an answer comes from.
type fieldKind uint8

const (
	fkCol     fieldKind = iota // a stored column
	fkHref                     // a link built from a column
	fkLoaded                   // practice_events: loadeddate
	fkFlag                     // practice_events: flag
	fkChanges                  // practice_events: changes
	fkEmpty                    // a documented field the table does not store: ""
)

// fieldSpec is one field of an answer's items.
type fieldSpec struct {
	key      string // `,"name":`; the first field's without the comma
	kind     fieldKind
	col      int    // fkCol: the column; fkHref: the column the link ends with
	path     string // fkHref: "/v4/patients?patient_id="
	practice bool   // fkHref: the link ends with &practice_id=<practice>
}

// hrefTarget returns where an href field of table sc links: the endpoint path with its
// parameter, and the column holding the value; ok false when sc has no such column.
func hrefTarget(ep *dataEndpoint, sc *tableSchema, field string) (path, srcCol string, practice, ok bool) {
	has := func(c string) bool { _, ok := sc.col[c]; return ok }
	type t struct{ path, col string }
	var cands []t
	switch field {
	case "href":
		col := ep.idParam
		if col == "treatment_plan_sr_no" {
			col = "plan_sr_no"
		}
		cands = []t{{ep.name + "?" + ep.idParam + "=", col}}
	case "patient_href":
		cands = []t{{"patients?patient_id=", "patient_id"}, {"patients?provider_id=", "provider_id"}}
	case "appointment_href":
		cands = []t{{"appointments?patient_id=", "patient_id"}, {"appointments?provider_id=", "provider_id"}}
	case "practice_href":
		return "/v4/practices?practice_id=", "practice_id", false, has("practice_id")
	case "procedure_code_href":
		cands = []t{{"procedure_codes?procedure_code=", "procedure_code_id"}}
	case "primary_insurance_company_href", "secondary_insurance_company_href", "insurance_company_href":
		cands = []t{{"insurance_companies?insurance_company_id=", strings.TrimSuffix(field, "_href") + "_id"}}
	default:
		base := strings.TrimSuffix(field, "_href")
		cands = []t{{base + "s?" + base + "_id=", base + "_id"}, {base + "s?" + base + "_sr_no=", base + "_sr_no"}}
	}
	for _, c := range cands {
		if has(c.col) {
			return "/v4/" + c.path, c.col, true, true
		}
	}
	return "", "", false, false
}

// fieldPlan resolves the fields of an answer from the fields and lightweight parameters:
// the default fields; fields=get_all for every field; fields=a,b adds a and b to the
// defaults; lightweight=true with fields=a,b gives only a and b. It returns the unknown names.
func fieldPlan(ep *dataEndpoint, sc *tableSchema, def, all []string, fieldsParam string, lightweight bool) ([]fieldSpec, []string) {
	var names []string
	var unknown []string
	switch {
	case fieldsParam == "get_all":
		names = all
	case fieldsParam == "":
		names = def
	default:
		if !lightweight {
			names = slices.Clone(def)
		}
		for _, f := range strings.Split(fieldsParam, ",") {
			f = strings.TrimSpace(f)
			if f == "" || slices.Contains(names, f) {
				continue
			}
			if !slices.Contains(all, f) && !slices.Contains(def, f) {
				unknown = append(unknown, f)
				continue
			}
			names = append(names, f)
		}
	}
	plan := make([]fieldSpec, 0, len(names))
	for _, n := range names {
		fs := fieldSpec{key: "," + strconv.Quote(n) + ":"}
		if len(plan) == 0 {
			fs.key = fs.key[1:]
		}
		switch c, ok := sc.col[n]; {
		case ok:
			fs.kind, fs.col = fkCol, c
		case n == "loadeddate":
			fs.kind = fkLoaded
		case n == "flag":
			fs.kind = fkFlag
		case n == "changes":
			fs.kind = fkChanges
		case isHrefField(n):
			path, src, practice, ok := hrefTarget(ep, sc, n)
			if ok {
				fs.kind, fs.path, fs.col, fs.practice = fkHref, path, sc.col[src], practice
			} else {
				fs.kind = fkEmpty
			}
		default:
			fs.kind = fkEmpty
		}
		plan = append(plan, fs)
	}
	return plan, unknown
}

// jsonPlain reports whether s can be written in a JSON string as is.
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return true
}

// idPlain reports whether s can be put in a query and a JSON string as is.
func idPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// encoder writes items of one practice's table with a field plan.
type encoder struct {
	plan   []fieldSpec
	base   string   // scheme://host[prefix]
	suffix string   // &practice_id=<id>
	plain  bool     // base and suffix need no escaping
	open   []string // per field: its key and opening quote, and for a link the link up to the id
	close  []string // per link field: what follows the id, closing quote included
}

func newEncoder(plan []fieldSpec, base, practiceID string) *encoder {
	e := &encoder{plan: plan, base: base, suffix: "&practice_id=" + url.QueryEscape(practiceID)}
	e.plain = jsonPlain(base) && jsonPlain(e.suffix)
	e.open, e.close = make([]string, len(plan)), make([]string, len(plan))
	for i, f := range plan {
		e.open[i] = f.key + `"`
		if f.kind == fkHref {
			e.open[i] += base + f.path
			e.close[i] = `"`
			if f.practice {
				e.close[i] = e.suffix + `"`
			}
		}
	}
	return e
}

// appendRow writes a row (its values back to back, and where each ends) as a JSON object; ev is
// its practice_events entry, if any.
func (e *encoder) appendRow(b []byte, row string, ends []uint16, ev *dataEvent) []byte {
	val := func(c int) string {
		start := 0
		if c > 0 {
			start = int(ends[c-1])
		}
		return row[start:ends[c]]
	}
	b = append(b, '{')
	for i := range e.plan {
		f := &e.plan[i]
		switch f.kind {
		case fkCol:
			v := val(f.col)
			if jsonPlain(v) {
				b = append(b, e.open[i]...)
				b = append(b, v...)
				b = append(b, '"')
			} else {
				b = append(b, f.key...)
				b = appendJSONString(b, v)
			}
			continue
		case fkHref:
			id := val(f.col)
			switch {
			case id != "" && e.plain && idPlain(id):
				b = append(b, e.open[i]...)
				b = append(b, id...)
				b = append(b, e.close[i]...)
				continue
			case id != "":
				suffix := ""
				if f.practice {
					suffix = e.suffix
				}
				b = append(b, f.key...)
				b = appendJSONString(b, e.base+f.path+url.QueryEscape(id)+suffix)
				continue
			}
		}
		b = append(b, f.key...)
		switch f.kind {
		case fkHref: // no id: no link
			b = append(b, `""`...)
		case fkLoaded:
			b = appendJSONString(b, ev.when.UTC().Format(sikkaTime))
		case fkFlag:
			b = appendJSONString(b, ev.flag)
		case fkChanges:
			b = append(b, '[')
			for k, ch := range ev.changes {
				if k > 0 {
					b = append(b, ',')
				}
				b = append(b, '{')
				b = appendJSONField(b, true, "field", ch.Field)
				b = appendJSONField(b, false, "old_value", eventValue(ch.Old))
				b = appendJSONField(b, false, "new_value", eventValue(ch.New))
				b = append(b, '}')
			}
			b = append(b, ']')
		default:
			b = append(b, `""`...)
		}
	}
	return append(b, '}')
}

// eventValue writes a timestamp of the data ("2016-04-01T00:00:00") as practice_events'
// changes show them ("4/1/2016 12:00:00 AM"); other values are unchanged.
func eventValue(v string) string {
	if len(v) != len(sikkaTime) {
		return v
	}
	t, err := time.Parse(sikkaTime, v)
	if err != nil {
		return v
	}
	return t.Format("1/2/2006 3:04:05 PM")
}

// segment is the rows of one practice's table that a list shows: rows idx, or all rows when
// idx is nil.
type segment struct {
	d      *practiceData
	t      *table
	idx    []int32
	all    bool
	events []dataEvent // practice_events: the entry of each row of t
}

func (g segment) len() int {
	if g.all {
		return g.t.len()
	}
	return len(g.idx)
}

func (g segment) row(i int) int {
	if g.all {
		return i
	}
	return int(g.idx[i])
}

// dataQuery is the parsed filter part of a data request.
type dataQuery struct {
	practiceID       string // "" for every practice of the office
	eq               []colFilter
	dateCol          string
	fromDay, thruDay string   // yyyy-mm-dd, inclusive; "" unbounded
	search           string   // lowercased
	searchCols       []string // the columns search looks in
	keep             []func(t *table, r int) bool
}

// colFilter keeps rows whose value in any of cols equals value, ignoring case; a date value
// (yyyy-mm-dd) also matches a timestamp of that day ("2026-02-10T00:00:00").
type colFilter struct {
	cols  []string
	value string
}

// parseDataQuery reads an endpoint's filters; it answers 400 and returns false for a bad one.
func (c *call) parseDataQuery(ep *dataEndpoint) (dataQuery, bool) {
	q := c.query()
	dq := dataQuery{practiceID: q.Get("practice_id")}
	if ep.required != "" && q.Get(ep.required) == "" {
		c.fail(http.StatusBadRequest, codeParamMissing, "Missing Parameter",
			ep.required+" is required by /v4/"+ep.name+" (the practice's cust_id, as /v4/practices lists it).")
		return dq, false
	}
	if q.Has("find") {
		c.fail(http.StatusNotImplemented, codeNotImplemented, "Not implemented by the mock",
			"The find parameter (RQL) is not implemented by mocksikka; use the endpoint's own filters (patient_id, status, startdate…).")
		return dq, false
	}
	for _, name := range slices.Sorted(maps.Keys(ep.filters)) {
		if v := q.Get(name); v != "" {
			dq.eq = append(dq.eq, colFilter{cols: ep.filters[name], value: v})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(ep.flags)) {
		switch v := q.Get(name); v {
		case "":
		case "true":
			dq.keep = append(dq.keep, ep.flags[name])
		default:
			c.fail(http.StatusBadRequest, codeParamInvalid, "Invalid Parameter", name+" accepts only true.")
			return dq, false
		}
	}
	if v := q.Get("search"); v != "" && ep.search != nil {
		dq.search, dq.searchCols = strings.ToLower(v), ep.search
	}
	if len(ep.dates) > 0 {
		dq.dateCol = ep.dates[0]
		if v := q.Get("date_filter_on"); v != "" {
			if !slices.Contains(ep.dates, v) {
				c.fail(http.StatusBadRequest, codeParamInvalid, "Invalid Parameter",
					"date_filter_on must be one of "+strings.Join(ep.dates, ", ")+" for /v4/"+ep.name+".")
				return dq, false
			}
			dq.dateCol = v
		}
		for _, p := range []struct {
			name string
			dst  *string
		}{{"startdate", &dq.fromDay}, {"enddate", &dq.thruDay}} {
			v := q.Get(p.name)
			if v == "" {
				continue
			}
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				c.fail(http.StatusBadRequest, codeParamInvalid, "Invalid Parameter", p.name+" must be a date yyyy-mm-dd, e.g. 2026-03-10.")
				return dq, false
			}
			*p.dst = v
		}
	}
	return dq, true
}

// match reports whether row r of t passes the query.
func (dq *dataQuery) match(t *table, r int) bool {
	for _, f := range dq.eq {
		ok := false
		for _, col := range f.cols {
			v := t.get(r, col)
			if strings.EqualFold(v, f.value) || len(f.value) == 10 && len(v) == len(sikkaTime) && v[10] == 'T' && v[:10] == f.value {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if dq.dateCol != "" && (dq.fromDay != "" || dq.thruDay != "") {
		v := t.get(r, dq.dateCol)
		if len(v) < 10 {
			return false
		}
		day := v[:10]
		if dq.fromDay != "" && day < dq.fromDay || dq.thruDay != "" && day > dq.thruDay {
			return false
		}
	}
	for _, keep := range dq.keep {
		if !keep(t, r) {
			return false
		}
	}
	if dq.search != "" {
		found := false
		for _, col := range dq.searchCols {
			if strings.Contains(strings.ToLower(t.get(r, col)), dq.search) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// filtered reports whether the query keeps only some rows.
func (dq *dataQuery) filtered() bool {
	return len(dq.eq) > 0 || len(dq.keep) > 0 || dq.search != "" || dq.fromDay != "" || dq.thruDay != ""
}

// selectRows returns the rows of t that pass.
func (dq *dataQuery) selectRows(d *practiceData, t *table) segment {
	if !dq.filtered() {
		return segment{d: d, t: t, all: true}
	}
	g := segment{d: d, t: t, idx: []int32{}}
	for r := range t.len() {
		if dq.match(t, r) {
			g.idx = append(g.idx, int32(r))
		}
	}
	return g
}

// officePracticesLocked returns the data of the office's practices the query names (all of
// them when practiceID is ""), in configuration order; nil when practiceID names none.
func (s *Server) officePracticesLocked(officeID, practiceID string) []*practiceData {
	var out []*practiceData
	for _, p := range s.practices {
		if p.OfficeID == officeID && (practiceID == "" || p.PracticeID == practiceID) {
			d, err := s.dataLocked(p.OfficeID, p.PracticeID)
			if err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// dataHandler returns the handler of GET /v4/<ep.name>.
func (s *Server) dataHandler(ep *dataEndpoint) func(*call) {
	return func(c *call) {
		began := time.Now()
		page, ok := c.pageQuery()
		if !ok {
			return
		}
		dq, ok := c.parseDataQuery(ep)
		if !ok {
			return
		}
		var sc *tableSchema
		if ep.table != "" {
			sc, _ = schemaOf(ep.table)
		} else {
			sc = slotsSchema
		}
		f := sheetFields[ep.name]
		q := c.query()
		plan, unknown := fieldPlan(ep, sc, f.def, f.all, q.Get("fields"), q.Get("lightweight") == "true")
		if len(unknown) > 0 {
			c.fail(http.StatusBadRequest, codeParamInvalid, "Invalid Parameter",
				"/v4/"+ep.name+" has no field "+strings.Join(unknown, ", ")+"; fields=get_all lists them all.")
			return
		}
		if ep.dataInsert {
			c.w.Header().Set("Data-Insert", "completed")
		}
		k, now := s.lockKey(c)
		if k == nil {
			return
		}
		ds := s.officePracticesLocked(k.officeID, dq.practiceID)
		if len(ds) == 0 {
			s.mu.Unlock()
			c.fail(http.StatusUnauthorized, codePracticeNotAuthorized, "Unauthorized",
				"practice_id "+dq.practiceID+" is not a practice of this request key's office; /v4/practices lists them.")
			return
		}
		var segs []segment
		for _, d := range ds {
			if ep.table != "" {
				segs = append(segs, dq.selectRows(d, d.tables[ep.table]))
			} else {
				segs = append(segs, dq.selectRows(d, availableSlots(d, c.query(), now)))
			}
		}
		s.writeSegmentsLocked(c, page, segs, plan, began) // unlocks s.mu
	}
}

// writeSegmentsLocked answers with the page of the rows of segs in the list envelope (204
// when there is none). The caller holds s.mu: it copies the page's rows (their strings never
// change; their ends may) and releases it, then encodes and sends the answer in parts, so
// that the client reads while the rest is encoded.
func (s *Server) writeSegmentsLocked(c *call, page pageRequest, segs []segment, plan []fieldSpec, began time.Time) {
	total := 0
	for _, g := range segs {
		total += g.len()
	}
	emptyOK := s.initial.listing.emptyAs200
	if total == 0 && !emptyOK {
		s.mu.Unlock()
		c.noContent()
		return
	}
	lo, hi, env := c.pageEnvelope(page, total)
	base := c.baseURL()
	type part struct {
		enc  *encoder
		n    int      // columns
		rows []string // the rows of the page in this segment
		ends []uint16 // len(rows)*n
		evs  []*dataEvent
	}
	var parts []part
	for _, g := range segs {
		n := g.len()
		if lo >= n {
			lo, hi = lo-n, hi-n
			continue
		}
		cols := len(g.t.sc.cols)
		p := part{enc: newEncoder(plan, base, g.d.practiceID), n: cols}
		from, to := max(lo, 0), min(hi, n)
		p.rows = make([]string, 0, to-from)
		p.ends = make([]uint16, 0, (to-from)*cols)
		for i := from; i < to; i++ {
			r := g.row(i)
			p.rows = append(p.rows, g.t.rows[r])
			p.ends = append(p.ends, g.t.ends[r*cols:r*cols+cols]...)
			if g.events != nil {
				p.evs = append(p.evs, &g.events[r])
			}
		}
		parts = append(parts, p)
		lo, hi = 0, hi-n
		if hi <= 0 {
			break
		}
	}
	s.mu.Unlock()

	env.ExecutionTime = strconv.FormatInt(time.Since(began).Milliseconds(), 10)
	c.begin(http.StatusOK)
	env.appendItems = func(b []byte) []byte {
		first := true
		for _, p := range parts {
			for i, row := range p.rows {
				if !first {
					b = append(b, ',')
				}
				first = false
				var ev *dataEvent
				if p.evs != nil {
					ev = p.evs[i]
				}
				b = p.enc.appendRow(b, row, p.ends[i*p.n:i*p.n+p.n], ev)
				if len(b) >= dataFlushBytes {
					c.write(b)
					b = b[:0]
				}
			}
		}
		return b
	}
	bp := dataBuffers.Get().(*[]byte)
	b := append(env.appendJSON((*bp)[:0]), '\n')
	c.write(b)
	*bp = b[:0]
	dataBuffers.Put(bp)
}

// dataFlushBytes is how much of a data answer is encoded before it is sent on.
const dataFlushBytes = 64 << 10

// dataBuffers recycles the buffers data answers are encoded into (each about dataFlushBytes).
var dataBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2*dataFlushBytes); return &b }}

// availableSlots computes appointments_available_slots for d: every half hour from 08:00 to
// 17:00 on the business days from startdate to enddate (default: today and the six days
// after; at most 31 days) at which a provider has no appointment, with the first operatory
// free then (the operatory query keeps that one only). Slots are 30 minutes, template fields
// empty.
func availableSlots(d *practiceData, q url.Values, now time.Time) *table {
	t := newTable(slotsSchema)
	y, m, dd := now.UTC().Date()
	from := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	thru := from.AddDate(0, 0, 6)
	if v, err := time.Parse(time.DateOnly, q.Get("startdate")); err == nil {
		from, thru = v, v.AddDate(0, 0, 6)
	}
	if v, err := time.Parse(time.DateOnly, q.Get("enddate")); err == nil {
		thru = v
	}
	if thru.Sub(from) > 30*24*time.Hour {
		thru = from.AddDate(0, 0, 30)
	}
	ap, ops, provs := d.tables[tblAppointments], d.tables[tblOperatories], d.tables[tblProviders]
	type key struct{ who, day string }
	busy := map[key]uint32{} // by provider or operatory and day: half hours taken
	fromDay, thruDay := from.Format(time.DateOnly), thru.Format(time.DateOnly)
	for r := range ap.len() {
		date := ap.get(r, "date")
		if len(date) < 10 || date[:10] < fromDay || date[:10] > thruDay || !occupies(ap.get(r, "status")) {
			continue
		}
		start, ok := minuteOfDay(ap.get(r, "time"))
		n, err := strconv.Atoi(ap.get(r, "length"))
		if !ok || err != nil {
			continue
		}
		for u := range dayUnits {
			m := 8*60 + u*30
			if m < start+n && start < m+30 {
				busy[key{"p:" + ap.get(r, "provider_id"), date[:10]}] |= 1 << u
				busy[key{"o:" + ap.get(r, "operatory"), date[:10]}] |= 1 << u
			}
		}
	}
	vals := make([]string, len(slotsSchema.cols))
	sr := 1
	for day := from; !day.After(thru); day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		ds := day.Format(time.DateOnly)
		for p := range provs.len() {
			pid := provs.get(p, "provider_id")
			if provs.get(p, "status") != "Active" {
				continue
			}
			for u := range dayUnits {
				if busy[key{"p:" + pid, ds}]&(1<<u) != 0 {
					continue
				}
				op := ""
				for o := range ops.len() {
					name := ops.get(o, "operatory")
					if busy[key{"o:" + name, ds}]&(1<<u) == 0 {
						op = name
						break
					}
				}
				if op == "" {
					continue
				}
				clear(vals)
				set := func(name, v string) { vals[slotsSchema.col[name]] = v }
				m := 8*60 + u*30
				set("provider_id", pid)
				set("practice_id", d.practiceID)
				set("date", ds+"T00:00:00")
				set("time", hhmm(m))
				set("end_time", hhmm(m+30))
				set("time_units", "1")
				set("operatory", op)
				set("sr_no", strconv.Itoa(sr))
				sr++
				_, _ = t.add(vals)
			}
		}
	}
	return t
}

// hhmm formats minutes since midnight as "HH:MM".
func hhmm(m int) string {
	return string([]byte{byte('0' + m/600), byte('0' + m/60%10), ':', byte('0' + m%60/10), byte('0' + m%10)})
}
