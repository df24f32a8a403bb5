package mocksikka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// DataFixture puts a user's own rows into one practice's data. As JSON (a file given to
// LoadDataFixtures and the binary's -data-fixture, or the body of POST /_mock/data):
//
//	{"office_id":"D36225","practice_id":"1","replace":false,
//	 "patients":[{"patient_id":"900001","firstname":"Test","lastname":"Patient"}],
//	 "appointments":[{"patient_id":"900001","date":"2026-12-01T00:00:00","time":"10:30","length":"60"}]}
//
// Every other key names a table: patients, providers, operatories, appointments, transactions,
// claims, payment_types, patient_balance, treatment_plans, insurance_plan_coverage,
// medical_notes, practice_variables. Each row is an object of that endpoint's documented field
// names (those of fields=get_all, hrefs excluded) to string values; a field left out is "".
// Unknown table or field names are an error naming them.
//
// With Replace the practice's generated data is dropped first, so its data is exactly the
// fixture's rows. Without it the rows extend the data: a row whose id (patient_id,
// appointment_sr_no, transaction_sr_no, claim_sr_no, plan_sr_no, note_id, provider_id,
// operatory, code, service_item) exists replaces the fields it gives of that row; any other
// row is added, with the next free number as its id when it gives none. practice_id is always
// the practice's, and derived fields left empty are filled as for a writeback (an
// appointment's patient_name and guarantor fields from its patient, a patient's guarantor_id
// from itself…). Ids are not checked across tables: an appointment may name a patient the
// data does not have.
type DataFixture struct {
	OfficeID   string
	PracticeID string // "" means "1"
	Replace    bool
	Tables     map[string][]map[string]string // table name → rows
}

// practiceID returns the fixture's practice id, "1" when empty.
func (f DataFixture) practiceID() string {
	if f.PracticeID == "" {
		return "1"
	}
	return f.PracticeID
}

// UnmarshalJSON reads the JSON form described on DataFixture.
func (f *DataFixture) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("data fixture: %w", err)
	}
	*f = DataFixture{Tables: map[string][]map[string]string{}}
	var unknown []string
	for k, v := range raw {
		var err error
		switch k {
		case "office_id":
			err = json.Unmarshal(v, &f.OfficeID)
		case "practice_id":
			err = json.Unmarshal(v, &f.PracticeID)
		case "replace":
			err = json.Unmarshal(v, &f.Replace)
		default:
			if _, ok := schemaOf(k); !ok {
				unknown = append(unknown, k)
				continue
			}
			var rows []map[string]string
			err = json.Unmarshal(v, &rows)
			f.Tables[k] = rows
		}
		if err != nil {
			return fmt.Errorf("data fixture %q: every row value must be a string, as Sikka sends them: %w", k, err)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("data fixture: unknown key %s (the keys are office_id, practice_id, replace and the tables %s): %w",
			strings.Join(unknown, ", "), strings.Join(tableNames(), ", "), ErrInvalid)
	}
	return nil
}

// MarshalJSON writes the JSON form described on DataFixture.
func (f DataFixture) MarshalJSON() ([]byte, error) {
	m := map[string]any{"office_id": f.OfficeID, "practice_id": f.practiceID(), "replace": f.Replace}
	for k, v := range f.Tables {
		m[k] = v
	}
	return json.Marshal(m)
}

// tableNames lists the stored tables.
func tableNames() []string {
	out := make([]string, len(dataSchemas))
	for i, sc := range dataSchemas {
		out[i] = sc.name
	}
	return out
}

// check reports unknown table or field names and a missing office id.
func (f DataFixture) check() error {
	if f.OfficeID == "" {
		return fmt.Errorf("data fixture: office_id is required: %w", ErrInvalid)
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(f.Tables)) {
		sc, ok := schemaOf(name)
		if !ok {
			problems = append(problems, "unknown table "+name)
			continue
		}
		bad := map[string]bool{}
		for _, row := range f.Tables[name] {
			for _, b := range sc.unknownFields(row) {
				bad[b] = true
			}
		}
		if len(bad) > 0 {
			problems = append(problems, name+" has no field "+strings.Join(slices.Sorted(maps.Keys(bad)), ", "))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("data fixture for %s/%s: %s (the fields are those of GET /v4/<table>?fields=get_all, hrefs excluded): %w",
			f.OfficeID, f.practiceID(), strings.Join(problems, "; "), ErrInvalid)
	}
	return nil
}

// apply puts f's rows into d (see DataFixture), checking f first; it records no
// practice_events entry and tells no listener.
func (d *practiceData) apply(f DataFixture, now time.Time) error {
	if err := f.check(); err != nil {
		return err
	}
	if f.Replace {
		d.events = nil
		for _, sc := range dataSchemas {
			d.tables[sc.name] = newTable(sc)
		}
	}
	for _, sc := range dataSchemas { // patients before appointments, so derived fields fill
		t := d.tables[sc.name]
		for _, row := range f.Tables[sc.name] {
			vals := make([]string, len(sc.cols))
			id := ""
			if sc.id != "" {
				id = row[sc.id]
			}
			if r, ok := t.find(id); ok && id != "" {
				copy(vals, t.values(r))
				for k, v := range row {
					vals[sc.col[k]] = v
				}
				if c, ok := sc.col["practice_id"]; ok {
					vals[c] = d.practiceID
				}
				if err := t.set(r, vals); err != nil {
					return err
				}
				continue
			}
			for k, v := range row {
				vals[sc.col[k]] = v
			}
			if c, ok := sc.col["practice_id"]; ok {
				vals[c] = d.practiceID
			}
			if sc.id != "" && id == "" {
				vals[sc.col[sc.id]] = fmt.Sprint(t.nextID)
			}
			d.fillDerived(sc, vals, now)
			if _, err := t.add(vals); err != nil {
				return err
			}
		}
	}
	return nil
}

// LoadDataFixtures reads data fixtures from a JSON file holding one fixture object or an array
// of them (see DataFixture), for WithDataFixture.
func LoadDataFixtures(path string) ([]DataFixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load data fixture: %w", err)
	}
	fs, err := parseFixtures(b)
	if err != nil {
		return nil, fmt.Errorf("load data fixture %s: %w", path, err)
	}
	return fs, nil
}

// parseFixtures reads one fixture object or an array of them and checks each.
func parseFixtures(b []byte) ([]DataFixture, error) {
	b = bytes.TrimSpace(b)
	var fs []DataFixture
	var err error
	if len(b) > 0 && b[0] == '[' {
		err = json.Unmarshal(b, &fs)
	} else {
		var f DataFixture
		err = json.Unmarshal(b, &f)
		fs = []DataFixture{f}
	}
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if err := f.check(); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

// LoadData applies f to its practice's current data (generating it first if needed) until the
// next Reset, and tells the change listeners (webhooks) of each kind of data it touched. It
// fails with ErrNotFound for a practice that is not configured and with ErrInvalid for
// unknown table or field names (nothing changes then).
func (s *Server) LoadData(f DataFixture) error {
	if err := f.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.dataLocked(f.OfficeID, f.practiceID())
	if err != nil {
		return fmt.Errorf("load data: %w", err)
	}
	now := s.clock.now()
	if err := d.apply(f, now); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, sc := range dataSchemas {
		if len(f.Tables[sc.name]) > 0 && !seen[sc.event] {
			seen[sc.event] = true
			s.dataChangedLocked(DataChange{Event: sc.event, OfficeID: d.officeID, PracticeID: d.practiceID, Time: now})
		}
	}
	return nil
}

// adminLoadData answers POST /_mock/data: a DataFixture → 200 with the row count of each table
// of the practice.
func (s *Server) adminLoadData(c *call) {
	body := bytes.TrimSpace(c.body)
	var f DataFixture
	d := json.NewDecoder(bytes.NewReader(body))
	err := d.Decode(&f)
	if err == nil && d.Decode(new(json.RawMessage)) != io.EOF {
		err = fmt.Errorf("trailing data after the JSON object: %w", ErrInvalid)
	}
	if err == nil {
		err = s.LoadData(f)
	}
	if err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusOK, s.DataCounts(f.OfficeID, f.practiceID()))
}

// DataCounts returns how many rows each table of the practice holds (generating its data
// first if needed); nil for a practice that is not configured.
func (s *Server) DataCounts(officeID, practiceID string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.dataLocked(officeID, practiceID)
	if err != nil {
		return nil
	}
	out := map[string]int{}
	for name, t := range d.tables {
		out[name] = t.len()
	}
	return out
}
