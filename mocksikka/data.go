package mocksikka

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The practice data model. Each configured practice (office id + practice id) has one
// practiceData: a set of tables, one per data endpoint, and the log of changes practice_events
// lists. Everything here is guarded by s.mu: every function and method in this file expects the
// caller to hold it.
//
// A table stores its rows compactly: each row is one string holding its values back to back,
// and one shared []uint16 holds, for every row and column, where the value ends in the row's
// string. Rows keep the order they were added in (generated rows in id order); lists answer in
// that order. Values are strings exactly as Sikka sends them; a column never set is "". The
// href columns (href, patient_href…) are not stored: the endpoints build them from the
// request's base URL and the row's ids (dataendpoints.go).
//
// Lookups return a row as a map from Sikka's field names to values (a copy; changing it changes
// nothing). Mutations (insertRowLocked, updateRowLocked) check field names against the table's
// documented fields, record a practice_events entry and call s.dataChangedLocked, which is
// what webhooks listen to.

// Table names: the data endpoints whose rows the model stores.
const (
	tblPatients     = "patients"
	tblProviders    = "providers"
	tblOperatories  = "operatories"
	tblAppointments = "appointments"
	tblTransactions = "transactions"
	tblClaims       = "claims"
	tblPaymentTypes = "payment_types"
	tblBalances     = "patient_balance"
	tblTreatment    = "treatment_plans"
	tblCoverage     = "insurance_plan_coverage"
	tblNotes        = "medical_notes"
	tblVariables    = "practice_variables"
)

// maxRowBytes is the most a row's values may hold together (offsets are 16-bit).
const maxRowBytes = 1<<16 - 1

// tableSchema describes one table: its stored columns and its id column.
type tableSchema struct {
	name  string         // the endpoint's name, e.g. "patients"
	id    string         // the column that identifies a row ("" when rows have no id)
	event string         // DataChange.Event of a change: "patient", "transaction" or "appointments"
	cols  []string       // stored columns: every documented field but the href ones
	col   map[string]int // column name → index in cols
}

// dataSchemas lists the stored tables, in the order a fixture or a reset handles them.
var dataSchemas = []*tableSchema{
	newSchema(tblProviders, "provider_id", "patient"),
	newSchema(tblOperatories, "operatory", "appointments"),
	newSchema(tblPatients, "patient_id", "patient"),
	newSchema(tblAppointments, "appointment_sr_no", "appointments"),
	newSchema(tblTransactions, "transaction_sr_no", "transaction"),
	newSchema(tblClaims, "claim_sr_no", "transaction"),
	newSchema(tblPaymentTypes, "code", "transaction"),
	newSchema(tblBalances, "patient_id", "transaction"),
	newSchema(tblTreatment, "plan_sr_no", "transaction"),
	newSchema(tblCoverage, "", "patient"),
	newSchema(tblNotes, "note_id", "patient"),
	newSchema(tblVariables, "service_item", "appointments"),
}

// schemaOf returns the schema of the table named name.
func schemaOf(name string) (*tableSchema, bool) {
	for _, sc := range dataSchemas {
		if sc.name == name {
			return sc, true
		}
	}
	return nil, false
}

// newSchema builds a schema whose columns are the endpoint's get_all fields, then any default
// field get_all lacks, without the href fields.
func newSchema(name, id, event string) *tableSchema {
	f := sheetFields[name]
	sc := &tableSchema{name: name, id: id, event: event, col: map[string]int{}}
	for _, c := range slices.Concat(f.all, f.def) {
		if _, dup := sc.col[c]; dup || isHrefField(c) {
			continue
		}
		sc.col[c] = len(sc.cols)
		sc.cols = append(sc.cols, c)
	}
	if _, ok := sc.col[id]; id != "" && !ok {
		panic("mocksikka: table " + name + " has no id column " + id)
	}
	return sc
}

// isHrefField reports whether a field is a link the endpoints build rather than store.
func isHrefField(name string) bool { return name == "href" || strings.HasSuffix(name, "_href") }

// table holds the rows of one table of one practice.
//
// Ids are found without a map entry for the common case of generated data: while rows
// 0..denseN-1 have the ids denseBase, denseBase+1, …, an id in that range is its row. Any
// other id is in byID.
type table struct {
	sc        *tableSchema
	rows      []string         // each row's values, back to back
	ends      []uint16         // len(rows)*len(sc.cols): end of each value within its row
	byID      map[string]int32 // id → row index, for the ids outside the dense run
	denseBase int64            // the id of row 0 when denseN > 0
	denseN    int              // rows 0..denseN-1 have ids denseBase+row
	nextID    int64            // the id insertRowLocked gives next: above every numeric id seen
	arena     strings.Builder  // where rows are written: one allocation for many rows
}

func newTable(sc *tableSchema) *table {
	return &table{sc: sc, byID: map[string]int32{}, nextID: 1}
}

// reserve makes room for n more rows.
func (t *table) reserve(n int) {
	t.rows = slices.Grow(t.rows, n)
	t.ends = slices.Grow(t.ends, n*len(t.sc.cols))
}

// len returns the number of rows.
func (t *table) len() int { return len(t.rows) }

// val returns column c of row r.
func (t *table) val(r, c int) string {
	n := len(t.sc.cols)
	ends := t.ends[r*n : r*n+n]
	start := 0
	if c > 0 {
		start = int(ends[c-1])
	}
	return t.rows[r][start:ends[c]]
}

// get returns the column named name of row r ("" for a column the table does not have).
func (t *table) get(r int, name string) string {
	c, ok := t.sc.col[name]
	if !ok {
		return ""
	}
	return t.val(r, c)
}

// values returns a copy of row r's values, in column order.
func (t *table) values(r int) []string {
	out := make([]string, len(t.sc.cols))
	for c := range out {
		out[c] = t.val(r, c)
	}
	return out
}

// record returns row r as a map of field name → value (every stored column).
func (t *table) record(r int) map[string]string {
	m := make(map[string]string, len(t.sc.cols))
	for c, name := range t.sc.cols {
		m[name] = t.val(r, c)
	}
	return m
}

// find returns the row whose id is id.
func (t *table) find(id string) (int, bool) {
	if t.denseN > 0 && len(id) > 0 && id[0] != '0' && id[0] != '+' {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n >= t.denseBase && n < t.denseBase+int64(t.denseN) {
			return int(n - t.denseBase), true
		}
	}
	r, ok := t.byID[id]
	return int(r), ok
}

// arenaChunk is the size of the blocks rows are written into.
const arenaChunk = 256 << 10

// pack joins vals (one per column) into a row string and writes their ends into ends. The
// row is a slice of t.arena, which only ever grows, so rows already written never change.
func (t *table) pack(vals []string, ends []uint16) (string, error) {
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	if n > maxRowBytes {
		return "", fmt.Errorf("a row's values hold %d bytes together, more than the mock's %d: %w", n, maxRowBytes, ErrInvalid)
	}
	if t.arena.Cap()-t.arena.Len() < n {
		t.arena = strings.Builder{}
		t.arena.Grow(max(n, arenaChunk))
	}
	start := t.arena.Len()
	for i, v := range vals {
		t.arena.WriteString(v)
		ends[i] = uint16(t.arena.Len() - start)
	}
	return t.arena.String()[start:], nil
}

// add appends a row of vals (one per column). The id must not be taken (the caller checks).
func (t *table) add(vals []string) (int, error) {
	n := len(t.sc.cols)
	t.ends = slices.Grow(t.ends, n)[:len(t.ends)+n]
	row, err := t.pack(vals, t.ends[len(t.ends)-n:])
	if err != nil {
		t.ends = t.ends[:len(t.ends)-n]
		return 0, err
	}
	r := len(t.rows)
	t.rows = append(t.rows, row)
	t.index(r)
	return r, nil
}

// set replaces row r's values with vals. The id must not change to a taken one (the caller checks).
func (t *table) set(r int, vals []string) error {
	n := len(t.sc.cols)
	ends := make([]uint16, n)
	row, err := t.pack(vals, ends)
	if err != nil {
		return err
	}
	if c, ok := t.sc.col[t.sc.id]; ok && r >= t.denseN {
		delete(t.byID, t.val(r, c))
	}
	t.rows[r] = row
	copy(t.ends[r*n:], ends)
	if r >= t.denseN {
		t.index(r)
	}
	return nil
}

// index records row r's id and keeps nextID above it.
func (t *table) index(r int) {
	c, ok := t.sc.col[t.sc.id]
	if !ok {
		return
	}
	id := t.val(r, c)
	if id == "" {
		return
	}
	n, err := strconv.ParseInt(id, 10, 64)
	numeric := err == nil && strconv.FormatInt(n, 10) == id
	if numeric && n >= t.nextID {
		t.nextID = n + 1
	}
	switch {
	case numeric && r == 0 && t.denseN == 0 && len(t.byID) == 0:
		t.denseBase, t.denseN = n, 1
	case numeric && r == t.denseN && n == t.denseBase+int64(r):
		t.denseN++
	default:
		t.byID[id] = int32(r)
	}
}

// FieldChange is one field a mutation changed, as practice_events lists it.
type FieldChange struct {
	Field, Old, New string
}

// dataEvent is one entry of practice_events: the row as it was right after the change.
type dataEvent struct {
	table   string
	when    time.Time // mock clock
	flag    string    // "inserted" or "updated"
	vals    []string  // the row's values after the change, in its table's column order
	changes []FieldChange
}

// practiceData is the data set of one practice.
type practiceData struct {
	officeID, practiceID string
	tables               map[string]*table // by table name; every name of dataSchemas
	events               []dataEvent       // oldest first
}

func newPracticeData(officeID, practiceID string) *practiceData {
	d := &practiceData{officeID: officeID, practiceID: practiceID, tables: map[string]*table{}}
	for _, sc := range dataSchemas {
		d.tables[sc.name] = newTable(sc)
	}
	return d
}

// practiceKey identifies a practice: office id and practice id.
type practiceKey struct{ office, practice string }

// dataLocked returns the data set of the practice (officeID, practiceID), generating it on
// first use since New or the last Reset (from the data seed, sizes and fixtures in force; the
// mock clock's date is "today"). It fails with ErrNotFound when no such practice is
// configured. The caller holds s.mu.
func (s *Server) dataLocked(officeID, practiceID string) (*practiceData, error) {
	k := practiceKey{officeID, practiceID}
	if d := s.data[k]; d != nil {
		return d, nil
	}
	var rec *practiceRec
	for i := range s.practices {
		if p := &s.practices[i]; p.OfficeID == officeID && p.PracticeID == practiceID {
			rec = p
		}
	}
	if rec == nil {
		return nil, fmt.Errorf("practice %s/%s: %w", officeID, practiceID, ErrNotFound)
	}
	d := s.generateLocked(rec.Practice)
	if s.data == nil {
		s.data = map[practiceKey]*practiceData{}
	}
	s.data[k] = d
	return d, nil
}

// lookup returns the row of table tbl whose id is id, as field name → value.
func (d *practiceData) lookup(tbl, id string) (map[string]string, bool) {
	t := d.tables[tbl]
	if t == nil || id == "" {
		return nil, false
	}
	r, ok := t.find(id)
	if !ok {
		return nil, false
	}
	return t.record(r), true
}

// patient returns the patient whose patient_id is id.
func (d *practiceData) patient(id string) (map[string]string, bool) { return d.lookup(tblPatients, id) }

// provider returns the provider whose provider_id is id.
func (d *practiceData) provider(id string) (map[string]string, bool) {
	return d.lookup(tblProviders, id)
}

// operatory returns the operatory named name (its "operatory" field, e.g. "OP-3").
func (d *practiceData) operatory(name string) (map[string]string, bool) {
	return d.lookup(tblOperatories, name)
}

// appointment returns the appointment whose appointment_sr_no is srNo.
func (d *practiceData) appointment(srNo string) (map[string]string, bool) {
	return d.lookup(tblAppointments, srNo)
}

// claim returns the claim whose claim_sr_no is srNo.
func (d *practiceData) claim(srNo string) (map[string]string, bool) {
	return d.lookup(tblClaims, srNo)
}

// slotTaken reports whether an appointment other than exceptSrNo occupies operatory on date
// (yyyy-mm-dd, or a Sikka timestamp whose date part is used) between start ("HH:MM") and start
// plus length minutes, and returns the first such appointment_sr_no. Cancelled, broken and
// deleted appointments occupy nothing. Times that do not parse occupy nothing.
func (d *practiceData) slotTaken(operatory, date, start string, length int, exceptSrNo string) (string, bool) {
	from, ok := minuteOfDay(start)
	if !ok || len(date) < 10 {
		return "", false
	}
	day := date[:10]
	t := d.tables[tblAppointments]
	sc := t.sc
	cOp, cDate, cTime, cLen, cStatus, cID := sc.col["operatory"], sc.col["date"], sc.col["time"], sc.col["length"], sc.col["status"], sc.col["appointment_sr_no"]
	for r := range t.len() {
		if t.val(r, cOp) != operatory || !strings.HasPrefix(t.val(r, cDate), day) || t.val(r, cID) == exceptSrNo {
			continue
		}
		if !occupies(t.val(r, cStatus)) {
			continue
		}
		b, ok := minuteOfDay(t.val(r, cTime))
		n, err := strconv.Atoi(t.val(r, cLen))
		if !ok || err != nil {
			continue
		}
		if b < from+length && from < b+n {
			return t.val(r, cID), true
		}
	}
	return "", false
}

// occupies reports whether an appointment of this status holds its operatory slot.
func occupies(status string) bool {
	switch strings.ToLower(status) {
	case "cancelled", "broken", "deleted", "no show":
		return false
	}
	return true
}

// minuteOfDay parses "HH:MM" into minutes since midnight.
func minuteOfDay(hm string) (int, bool) {
	h, m, ok := strings.Cut(hm, ":")
	if !ok {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, false
	}
	return hh*60 + mm, true
}

// unknownFields returns the names in fields that are not stored columns of sc, sorted.
func (sc *tableSchema) unknownFields(fields map[string]string) []string {
	var bad []string
	for f := range fields {
		if _, ok := sc.col[f]; !ok {
			bad = append(bad, f)
		}
	}
	slices.Sort(bad)
	return bad
}

// errUnknownFields is the error for field names a table does not have.
func errUnknownFields(tbl string, bad []string) error {
	return fmt.Errorf("%s has no field %s (the fields are those of GET /v4/%s?fields=get_all, hrefs excluded): %w",
		tbl, strings.Join(bad, ", "), tbl, ErrInvalid)
}

// insertRowLocked adds a row to table tbl of d (a name of dataSchemas, e.g. "appointments")
// from fields (documented field names → values) and returns the row's id.
//
//   - Unknown table or field names (a name not among the endpoint's get_all fields, or an
//     href) fail with ErrInvalid, the error naming them; nothing changes.
//   - The id field (patient_id, appointment_sr_no, transaction_sr_no, claim_sr_no, plan_sr_no,
//     note_id, provider_id…) may be given; if it is absent or "", the next number is assigned
//     (one above the highest numeric id of the table). A given id that exists fails with
//     ErrExists.
//   - practice_id is always d's. Derived fields left empty are filled: for appointments
//     patient_name, guarantor_id, guarantor_name (from the patient), appointment_made_date and
//     last_changed_date (now); for patients guarantor_id (itself), guarantor_first_name,
//     guarantor_last_name, created_date (now) and status "Active"; for transactions
//     transaction_entry_date (now).
//   - It records a practice_events entry (loadeddate now, flag "inserted", changes: every
//     non-empty field, old_value "") and calls s.dataChangedLocked with the table's event
//     ("appointments" for appointments, operatories and practice_variables; "patient" for
//     patients, providers, medical_notes and insurance_plan_coverage; "transaction" for
//     transactions, claims, payment_types, patient_balance and treatment_plans).
//
// The caller holds s.mu; now is the mock clock's time.
func (s *Server) insertRowLocked(d *practiceData, tbl string, fields map[string]string, now time.Time) (string, error) {
	t := d.tables[tbl]
	if t == nil {
		return "", fmt.Errorf("no table %q: %w", tbl, ErrInvalid)
	}
	if bad := t.sc.unknownFields(fields); len(bad) > 0 {
		return "", errUnknownFields(tbl, bad)
	}
	vals := make([]string, len(t.sc.cols))
	for f, v := range fields {
		vals[t.sc.col[f]] = v
	}
	if c, ok := t.sc.col["practice_id"]; ok {
		vals[c] = d.practiceID
	}
	id := ""
	if t.sc.id != "" {
		c := t.sc.col[t.sc.id]
		if vals[c] == "" {
			vals[c] = strconv.FormatInt(t.nextID, 10)
		} else if _, taken := t.find(vals[c]); taken {
			return "", fmt.Errorf("%s %s=%s: %w", tbl, t.sc.id, vals[c], ErrExists)
		}
		id = vals[c]
	}
	d.fillDerived(t.sc, vals, now)
	if _, err := t.add(vals); err != nil {
		return "", err
	}
	var changes []FieldChange
	for c, v := range vals {
		if v != "" {
			changes = append(changes, FieldChange{Field: t.sc.cols[c], New: v})
		}
	}
	s.recordEventLocked(d, tbl, "inserted", vals, changes, now)
	return id, nil
}

// updateRowLocked sets fields (documented field names → values) of the row of table tbl
// whose id is id, and returns the fields whose value changed, old → new, in column order.
//
//   - Unknown table or field names fail with ErrInvalid naming them; an unknown id fails with
//     ErrNotFound; changing the id field or practice_id fails with ErrInvalid. Nothing changes
//     on failure.
//   - For appointments, last_changed_date becomes now when anything changed; a changed
//     patient_id refreshes patient_name, guarantor_id and guarantor_name.
//   - When something changed, it records a practice_events entry (loadeddate now, flag
//     "updated", changes old → new; last_changed_date included) and calls s.dataChangedLocked
//     with the table's event (see insertRowLocked). When nothing changed it records nothing and
//     returns no change.
//
// The caller holds s.mu; now is the mock clock's time.
func (s *Server) updateRowLocked(d *practiceData, tbl, id string, fields map[string]string, now time.Time) ([]FieldChange, error) {
	t := d.tables[tbl]
	if t == nil {
		return nil, fmt.Errorf("no table %q: %w", tbl, ErrInvalid)
	}
	if bad := t.sc.unknownFields(fields); len(bad) > 0 {
		return nil, errUnknownFields(tbl, bad)
	}
	r, ok := t.find(id)
	if t.sc.id == "" || !ok {
		return nil, fmt.Errorf("%s %s=%s: %w", tbl, t.sc.id, id, ErrNotFound)
	}
	old := t.values(r)
	vals := slices.Clone(old)
	for f, v := range fields {
		c := t.sc.col[f]
		if (f == t.sc.id || f == "practice_id") && v != old[c] {
			return nil, fmt.Errorf("%s: %s cannot change (%s → %s): %w", tbl, f, old[c], v, ErrInvalid)
		}
		vals[c] = v
	}
	if slices.Equal(old, vals) {
		return nil, nil
	}
	if tbl == tblAppointments {
		if c := t.sc.col["patient_id"]; vals[c] != old[c] {
			d.fillFromPatient(t.sc, vals, true)
		}
		vals[t.sc.col["last_changed_date"]] = now.UTC().Format(sikkaTime)
	}
	if err := t.set(r, vals); err != nil {
		return nil, err
	}
	var changes []FieldChange
	for c := range vals {
		if vals[c] != old[c] {
			changes = append(changes, FieldChange{Field: t.sc.cols[c], Old: old[c], New: vals[c]})
		}
	}
	s.recordEventLocked(d, tbl, "updated", vals, changes, now)
	return changes, nil
}

// recordEventLocked appends a practice_events entry and tells the change listeners.
func (s *Server) recordEventLocked(d *practiceData, tbl, flag string, vals []string, changes []FieldChange, now time.Time) {
	d.events = append(d.events, dataEvent{table: tbl, when: now, flag: flag, vals: vals, changes: changes})
	sc, _ := schemaOf(tbl)
	s.dataChangedLocked(DataChange{Event: sc.event, OfficeID: d.officeID, PracticeID: d.practiceID, Time: now})
}

// fillDerived fills the derived fields of a new row that were left empty (see insertRowLocked).
func (d *practiceData) fillDerived(sc *tableSchema, vals []string, now time.Time) {
	ts := now.UTC().Format(sikkaTime)
	setEmpty := func(name, v string) {
		if c, ok := sc.col[name]; ok && vals[c] == "" {
			vals[c] = v
		}
	}
	switch sc.name {
	case tblAppointments:
		d.fillFromPatient(sc, vals, false)
		setEmpty("appointment_made_date", ts)
		setEmpty("last_changed_date", ts)
	case tblPatients:
		setEmpty("guarantor_id", vals[sc.col["patient_id"]])
		if vals[sc.col["guarantor_id"]] == vals[sc.col["patient_id"]] {
			setEmpty("guarantor_first_name", vals[sc.col["firstname"]])
			setEmpty("guarantor_last_name", vals[sc.col["lastname"]])
		} else if g, ok := d.patient(vals[sc.col["guarantor_id"]]); ok { // a guarantor is a patient
			setEmpty("guarantor_first_name", g["firstname"])
			setEmpty("guarantor_last_name", g["lastname"])
		}
		setEmpty("created_date", ts)
		setEmpty("status", "Active")
	case tblTransactions:
		setEmpty("transaction_entry_date", ts)
	}
}

// fillFromPatient sets an appointment's patient_name, guarantor_id and guarantor_name from its
// patient: only the empty ones, or all of them with overwrite.
func (d *practiceData) fillFromPatient(sc *tableSchema, vals []string, overwrite bool) {
	p, ok := d.patient(vals[sc.col["patient_id"]])
	if !ok {
		return
	}
	set := func(name, v string) {
		if c := sc.col[name]; overwrite || vals[c] == "" {
			vals[c] = v
		}
	}
	set("patient_name", p["firstname"]+" "+p["lastname"])
	set("guarantor_id", p["guarantor_id"])
	set("guarantor_name", p["guarantor_first_name"]+" "+p["guarantor_last_name"])
}
