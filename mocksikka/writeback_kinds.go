package mocksikka

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The writeback endpoints the mock serves: per endpoint, what its body must hold, what the
// request is checked against (answered at once), and what the SPU does with it later.

// wbKind is one writeback endpoint.
type wbKind struct {
	endpoint     string   // as the sheet names it: "POST /v4/appointment"
	method       string   // "POST", "PATCH", "PUT"
	path         string   // "/v4/appointment", or the prefix "/v4/appointments/" before the path's id
	pathParam    string   // the path's id ("appointment_sr_no"), "" for a POST
	api          string   // writeback_status api and writebacks api_name: "appointment", "appointments"…
	description  string   // writebacks description
	required     []string // body fields that must be present and not empty
	code, short  string   // an update's 200 answer; "" answers 201 API2016
	createdField string   // the id field of the record a POST creates ("" for an update)

	// check validates r against the practice's data and normalises r.fields; it answers a
	// wbError. The caller holds s.mu.
	check func(d *practiceData, r *wbRequest) *wbError
	// apply is the SPU's work: it changes d and returns the result text and the created
	// record's id, or the failed result text and an error. The caller holds s.mu.
	apply func(s *Server, d *practiceData, w *writeback, now time.Time) (result, created string, err error)
}

// wbRequest is a writeback request being checked.
type wbRequest struct {
	target string            // the path's id, or ""
	fields map[string]string // the body
}

// wbError is a refused writeback request: status, code and texts of the error envelope.
type wbError struct {
	status      int
	code, short string
	long        string
}

func wbInvalid(format string, a ...any) *wbError {
	return &wbError{http.StatusBadRequest, codeParamInvalid, "Invalid Parameter", fmt.Sprintf(format, a...)}
}

func wbMissing(format string, a ...any) *wbError {
	return &wbError{http.StatusBadRequest, codeParamMissing, "Missing Parameter", fmt.Sprintf(format, a...)}
}

func wbNotFound(format string, a ...any) *wbError {
	return &wbError{http.StatusNotFound, codeNotFound, "Resource not found", fmt.Sprintf(format, a...)}
}

// errWritebackRefused marks a writeback the SPU failed for a reason its result text gives.
var errWritebackRefused = errors.New("writeback refused by the practice's software")

// Update answers (sheet section 6): 200 with the code, "Id:N" and the status URL.
const (
	codeAppointmentLogged = "API0007"
	codeClaimLogged       = "API0009"
	codePatientLogged     = "API0011"
	codeCreated           = "API2016" // 201 a writeback accepted
	codeSPUOffline        = "API2017" // 412 check_spu=true while the SPU is offline
	codeOverloaded        = "API2002" // 503 MaxWritebacks pending
	codeWritebackDeleted  = "API4006" // 200 DELETE /v4/writebacks
)

// wbKinds are the writeback endpoints the mock serves.
var wbKinds = []*wbKind{
	{endpoint: "POST /v4/appointment", method: http.MethodPost, path: "/v4/appointment", api: "appointment",
		description: "Book a new appointment", createdField: "appointment_sr_no",
		required: []string{"patient_id", "date", "time", "length", "operatory", "provider_id"},
		check:    checkNewAppointment, apply: applyNewAppointment},
	{endpoint: "PATCH /v4/appointments/{appointment_sr_no}", method: http.MethodPatch, path: "/v4/appointments/",
		pathParam: "appointment_sr_no", api: "appointments", description: "Update an appointment's status",
		required: []string{"op", "path", "value"}, code: codeAppointmentLogged, short: "Appointment status logged successfully",
		check: checkAppointmentStatus, apply: applyAppointmentStatus},
	{endpoint: "PUT /v4/appointments/{appointment_sr_no}", method: http.MethodPut, path: "/v4/appointments/",
		pathParam: "appointment_sr_no", api: "appointments", description: "Update an appointment",
		code: codeAppointmentLogged, short: "Appointment status logged successfully",
		check: checkAppointmentUpdate, apply: applyAppointmentUpdate},
	{endpoint: "POST /v4/patient", method: http.MethodPost, path: "/v4/patient", api: "patient",
		description: "Insert a new patient", createdField: "patient_id",
		required: []string{"firstname", "lastname"}, check: checkNewPatient, apply: applyNewPatient},
	{endpoint: "PATCH /v4/patient/{patient_id}", method: http.MethodPatch, path: "/v4/patient/",
		pathParam: "patient_id", api: "patient", description: "Update a patient's details",
		code: codePatientLogged, short: "Patient details logged successfully",
		check: checkPatientUpdate, apply: applyPatientUpdate},
	{endpoint: "PATCH /v4/claims/{claim_sr_no}", method: http.MethodPatch, path: "/v4/claims/",
		pathParam: "claim_sr_no", api: "claims", description: "Update a claim's status and note",
		code: codeClaimLogged, short: "Claim details logged successfully",
		check: checkClaimUpdate, apply: applyClaimUpdate},
	{endpoint: "POST /v4/claim_payment", method: http.MethodPost, path: "/v4/claim_payment", api: "claim_payment",
		description: "Insert a claim payment", createdField: "transaction_sr_no",
		required: []string{"claim_sr_no", "payment_amount"}, check: checkClaimPayment, apply: applyClaimPayment},
	{endpoint: "POST /v4/medical_notes", method: http.MethodPost, path: "/v4/medical_notes", api: "medical_notes",
		description: "Insert a medical note", createdField: "note_id",
		required: []string{"patient_id", "text"}, check: checkMedicalNote, apply: applyMedicalNote},
	{endpoint: "POST /v4/transaction", method: http.MethodPost, path: "/v4/transaction", api: "transaction",
		description: "Insert a payment transaction", createdField: "transaction_sr_no",
		required: []string{"patient_id", "amount"}, check: checkTransaction, apply: applyTransaction},
}

// wbKindOf returns the kind whose sheet name is endpoint, or nil.
func wbKindOf(endpoint string) *wbKind {
	for _, k := range wbKinds {
		if k.endpoint == endpoint {
			return k
		}
	}
	return nil
}

// wbEndpointNames lists the served writeback endpoints, comma-separated.
func wbEndpointNames() string {
	names := make([]string, len(wbKinds))
	for i, k := range wbKinds {
		names[i] = k.endpoint
	}
	return strings.Join(names, ", ")
}

// routePath is the route key of a writeback path with an id: "/v4/appointments/{appointment_sr_no}".
func (k *wbKind) routePath() string {
	if k.pathParam == "" {
		return k.path
	}
	return k.path + "{" + k.pathParam + "}"
}

// writebackRouteKey returns the route key of a path under one of the writeback prefixes
// followed by one non-empty segment, "" otherwise (routeKey calls it).
func writebackRouteKey(path string) string {
	for _, p := range [...]string{"/v4/appointments/", "/v4/patient/", "/v4/claims/"} {
		if rest, ok := strings.CutPrefix(path, p); ok && rest != "" && !strings.Contains(rest, "/") {
			for _, k := range wbKinds {
				if k.path == p {
					return k.routePath()
				}
			}
		}
	}
	return ""
}

// --- checks shared by the kinds ---

// wbRef checks that the field, when given, names a row of table tbl; it answers 400 API1026.
func wbRef(d *practiceData, f map[string]string, field, tbl, endpoint string) *wbError {
	v := f[field]
	if v == "" {
		return nil
	}
	if _, ok := d.lookup(tbl, v); !ok {
		return wbInvalid("%s %s does not exist in practice %s; GET /v4/%s lists them.", field, v, d.practiceID, endpoint)
	}
	return nil
}

// wbRefs runs wbRef for each of field, table and endpoint triples.
func wbRefs(d *practiceData, f map[string]string, checks ...[3]string) *wbError {
	for _, c := range checks {
		if e := wbRef(d, f, c[0], c[1], c[2]); e != nil {
			return e
		}
	}
	return nil
}

// normDate checks a date field given as yyyy-mm-dd (a Sikka timestamp is accepted too) and
// stores it as Sikka's data shows dates: "2026-02-10T00:00:00".
func normDate(f map[string]string, field string) *wbError {
	v := f[field]
	if v == "" {
		return nil
	}
	day := v
	if len(v) > 10 {
		day = v[:10]
	}
	t, err := time.Parse(time.DateOnly, day)
	if err != nil || (len(v) > 10 && v[10] != 'T' && v[10] != ' ') {
		return wbInvalid("%s must be a date as yyyy-mm-dd, e.g. 2026-02-10; got %q.", field, v)
	}
	f[field] = t.Format(time.DateOnly) + "T00:00:00"
	return nil
}

// normTime checks an "HH:mm" field and writes it with two-digit hours.
func normTime(f map[string]string, field string) *wbError {
	v := f[field]
	if v == "" {
		return nil
	}
	m, ok := minuteOfDay(v)
	if !ok {
		return wbInvalid("%s must be a time as HH:mm, e.g. 09:30; got %q.", field, v)
	}
	f[field] = hhmm(m)
	return nil
}

// normLength checks an appointment length: whole minutes, 1 to 1440.
func normLength(f map[string]string, field string) *wbError {
	v := f[field]
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1440 {
		return wbInvalid("%s must be whole minutes from 1 to 1440; got %q.", field, v)
	}
	f[field] = strconv.Itoa(n)
	return nil
}

// normAmount checks a money field and writes it with the given decimals ("24.0000").
func normAmount(f map[string]string, field string, decimals int) *wbError {
	v := f[field]
	if v == "" {
		return nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x != x || x > 1e12 || x < -1e12 {
		return wbInvalid("%s must be an amount such as 24.00; got %q.", field, v)
	}
	f[field] = strconv.FormatFloat(x, 'f', decimals, 64)
	return nil
}

// wbFirst runs checks in order and returns the first refusal.
func wbFirst(checks ...*wbError) *wbError {
	for _, c := range checks {
		if c != nil {
			return c
		}
	}
	return nil
}

// appointmentStatus returns the practice's spelling of an appointment status (practice_variables
// "Appointment Status", compared ignoring case); a practice without such variables accepts any.
func appointmentStatus(d *practiceData, v string) (string, bool) {
	t := d.tables[tblVariables]
	var known []string
	for r := range t.len() {
		if t.get(r, "service_name") != "Appointment Status" {
			continue
		}
		s := t.get(r, "value")
		if strings.EqualFold(s, v) {
			return s, true
		}
		known = append(known, s)
	}
	return strings.Join(known, ", "), len(known) == 0
}

// normStatus replaces an appointment status field by the practice's spelling.
func normStatus(d *practiceData, f map[string]string, field string) *wbError {
	v := f[field]
	if v == "" {
		return nil
	}
	s, ok := appointmentStatus(d, v)
	if !ok {
		return wbInvalid("%s %q is not an appointment status of practice %s: one of %s "+
			"(GET /v4/practice_variables?service_name=Appointment Status).", field, v, d.practiceID, s)
	}
	if s != "" {
		f[field] = s
	}
	return nil
}

// wbPick copies the named fields that are present in from into a new map, renamed by the
// "body:column" form when a name holds a colon.
func wbPick(from map[string]string, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		src, dst, ok := strings.Cut(n, ":")
		if !ok {
			dst = src
		}
		if v, present := from[src]; present {
			out[dst] = v
		}
	}
	return out
}

// wbAnyOf answers 400 API1020 unless at least one of the names is present.
func wbAnyOf(f map[string]string, names ...string) *wbError {
	for _, n := range names {
		if _, ok := f[n]; ok {
			return nil
		}
	}
	return wbMissing("Give at least one of %s.", strings.Join(names, ", "))
}

// wbToday is the date of now as a stored date.
func wbToday(now time.Time) string { return now.UTC().Format(time.DateOnly) + "T00:00:00" }

// wbSlotFree fails with Sikka-like result text when operatory is taken at date/time for length
// minutes by an appointment other than except.
func wbSlotFree(d *practiceData, op, date, tm, length, except string) (string, error) {
	n, _ := strconv.Atoi(length)
	if other, taken := d.slotTaken(op, date, tm, n, except); taken {
		return fmt.Sprintf("Appointment not booked: operatory %s is already booked at %s on %s (appointment_sr_no %s).",
			op, tm, date[:min(10, len(date))], other), errWritebackRefused
	}
	return "", nil
}

// wbInsert adds row to table tbl and answers result with the new row's id.
func wbInsert(s *Server, d *practiceData, tbl string, row map[string]string, now time.Time, result string) (string, string, error) {
	id, err := s.insertRowLocked(d, tbl, row, now)
	if err != nil {
		return "", "", err
	}
	return result, id, nil
}

// wbUpdate sets row's fields of the row id of table tbl and answers result.
func wbUpdate(s *Server, d *practiceData, tbl, id string, row map[string]string, now time.Time, result string) (string, string, error) {
	if _, err := s.updateRowLocked(d, tbl, id, row, now); err != nil {
		return "", "", err
	}
	return result, "", nil
}

// --- POST /v4/appointment ---

func checkNewAppointment(d *practiceData, r *wbRequest) *wbError {
	f := r.fields
	return wbFirst(normDate(f, "date"), normTime(f, "time"), normLength(f, "length"), normStatus(d, f, "status"),
		wbRefs(d, f, [3]string{"patient_id", tblPatients, "patients"}, [3]string{"provider_id", tblProviders, "providers"},
			[3]string{"operatory", tblOperatories, "operatories?cust_id=…"}, [3]string{"guarantor_id", tblPatients, "patients"}))
}

func applyNewAppointment(s *Server, d *practiceData, w *writeback, now time.Time) (string, string, error) {
	f := w.fields
	if res, err := wbSlotFree(d, f["operatory"], f["date"], f["time"], f["length"], ""); err != nil {
		return res, "", err
	}
	row := wbPick(f, "patient_id", "provider_id", "operatory", "date", "time", "length", "description", "note", "type", "status", "guarantor_id")
	if row["status"] == "" {
		row["status"] = "Scheduled"
	}
	return wbInsert(s, d, tblAppointments, row, now, "Appointment booked successfully")
}

// --- PATCH /v4/appointments/{appointment_sr_no} ---

func checkAppointmentStatus(d *practiceData, r *wbRequest) *wbError {
	f := r.fields
	if _, ok := d.appointment(r.target); !ok {
		return wbNotFound("Appointment %s does not exist in practice %s; GET /v4/appointments lists them.", r.target, d.practiceID)
	}
	if sr := f["appointment_sr_no"]; sr != "" && sr != r.target {
		return wbInvalid("appointment_sr_no %s in the body differs from %s in the path.", sr, r.target)
	}
	if !strings.EqualFold(f["op"], "replace") {
		return wbInvalid(`op must be "replace"; got %q.`, f["op"])
	}
	switch strings.TrimPrefix(strings.ToLower(f["path"]), "/") {
	case "appointment_status", "status":
	default:
		return wbInvalid(`path must be "/appointment_status" (the appointment's status is the one field this PATCH changes); got %q.`, f["path"])
	}
	return normStatus(d, f, "value")
}

func applyAppointmentStatus(s *Server, d *practiceData, w *writeback, now time.Time) (string, string, error) {
	cur, ok := d.appointment(w.target)
	if !ok {
		return "Appointment " + w.target + " no longer exists.", "", errWritebackRefused
	}
	status := w.fields["value"]
	if occupies(status) && !occupies(cur["status"]) { // a cancelled appointment back in its slot
		if res, err := wbSlotFree(d, cur["operatory"], cur["date"], cur["time"], cur["length"], w.target); err != nil {
			return res, "", err
		}
	}
	return wbUpdate(s, d, tblAppointments, w.target, map[string]string{"status": status}, now, "Appointment status updated successfully")
}

// --- PUT /v4/appointments/{appointment_sr_no} ---

var apptUpdateFields = []string{"date", "time", "length", "operatory", "provider_id", "status", "description", "schedule", "type"}

func checkAppointmentUpdate(d *practiceData, r *wbRequest) *wbError {
	f := r.fields
	if _, ok := d.appointment(r.target); !ok {
		return wbNotFound("Appointment %s does not exist in practice %s; GET /v4/appointments lists them.", r.target, d.practiceID)
	}
	return wbFirst(wbAnyOf(f, apptUpdateFields...), normDate(f, "date"), normTime(f, "time"), normLength(f, "length"),
		normStatus(d, f, "status"),
		wbRefs(d, f, [3]string{"provider_id", tblProviders, "providers"}, [3]string{"operatory", tblOperatories, "operatories?cust_id=…"}))
}

func applyAppointmentUpdate(s *Server, d *practiceData, w *writeback, now time.Time) (string, string, error) {
	cur, ok := d.appointment(w.target)
	if !ok {
		return "Appointment " + w.target + " no longer exists.", "", errWritebackRefused
	}
	row := wbPick(w.fields, apptUpdateFields...)
	merged := func(k string) string {
		if v, ok := row[k]; ok {
			return v
		}
		return cur[k]
	}
	moved := false
	for _, k := range []string{"date", "time", "length", "operatory", "status"} {
		if _, ok := row[k]; ok {
			moved = true
		}
	}
	if moved && occupies(merged("status")) {
		if res, err := wbSlotFree(d, merged("operatory"), merged("date"), merged("time"), merged("length"), w.target); err != nil {
			return res, "", err
		}
	}
	return wbUpdate(s, d, tblAppointments, w.target, row, now, "Appointment updated successfully")
}

// --- POST /v4/patient ---

var newPatientColumns = []string{"guarantor_id", "firstname", "lastname", "birthdate", "provider_id", "gender", "email",
	"workphone", "homephone", "cell", "other_phone", "address_line1", "address_line2", "city", "state", "zipcode",
	"status", "primary_relationship", "country"}

func checkNewPatient(d *practiceData, r *wbRequest) *wbError {
	f := r.fields
	return wbFirst(normDate(f, "birthdate"),
		wbRefs(d, f, [3]string{"provider_id", tblProviders, "providers"}, [3]string{"guarantor_id", tblPatients, "patients"}))
}

func applyNewPatient(s *Server, d *practiceData, w *writeback, now time.Time) (string, string, error) {
	return wbInsert(s, d, tblPatients, wbPick(w.fields, newPatientColumns...), now, "New Patient inserted successfully")
}

// --- PATCH /v4/patient/{patient_id} ---

var patientUpdateColumns = []string{"salutation", "firstname", "middlename", "lastname", "preferred_name", "birthdate",
	"gender", "status", "provider_id"}

func checkPatientUpdate(d *practiceData, r *wbRequest) *wbError {
	f := r.fields
	if _, ok := d.patient(r.target); !ok {
		return wbNotFound("Patient %s does not exist in practice %s; GET /v4/patients lists them.", r.target, d.practiceID)
	}
	var fields []string
	for _, n := range writebackFields["PATCH /v4/patient/{patient_id}"] {
		if n != "practice_id" && n != "check_spu" {
			fields = append(fields, n)
		}
	}
	return wbFirst(wbAnyOf(f, fields...), normDate(f, "birthdate"), wbRefs(d, f, [3]string{"provider_id", tblProviders, "providers"}))
}

func applyPatientUpdate(s *Server, d *practiceData, w *writeback, now time.Time) (string, string, error) {
	return wbUpdate(s, d, tblPatients, w.target, wbPick(w.fields, patientUpdateColumns...), now, "Patient updated successfully")
}

// --- PATCH /v4/claims/{claim_sr_no} ---

func checkClaimUpdate(d *practiceData, r *wbRequest) *wbError {
	f := r.fields
	if _, ok := d.claim(r.target); !ok {
		return wbNotFound("Claim %s does not exist in practice %s; GET /v4/claims lists them.", r.target, d.practiceID)
	}
	return wbFirst(wbAnyOf(f, "status", "note", "internal_note", "date_sent", "user", "date_resent"),
		normDate(f, "date_sent"), normDate(f, "date_resent"))
}

func applyClaimUpdate(s *Server, d *practiceData, w *writeback, now time.Time) (string, string, error) {
	row := wbPick(w.fields, "status:claim_status", "note", "date_sent:claim_sent_date", "date_resent:resent_date")
	return wbUpdate(s, d, tblClaims, w.target, row, now, "Claim updated successfully")
}

// --- POST /v4/claim_payment ---

func checkClaimPayment(d *practiceData, r *wbRequest) *wbError {
	f := r.fields
	if _, ok := d.claim(f["claim_sr_no"]); !ok {
		return wbInvalid("claim_sr_no %s does not exist in practice %s; GET /v4/claims lists them.", f["claim_sr_no"], d.practiceID)
	}
	return wbFirst(normAmount(f, "payment_amount", 2), normDate(f, "claim_payment_date"),
		wbRefs(d, f, [3]string{"transaction_sr_no", tblTransactions, "transactions"}, [3]string{"provider_id", tblProviders, "providers"}))
}

func applyClaimPayment(s *Server, d *practiceData, w *writeback, now time.Time) (string, string, error) {
	f := w.fields
	cl, ok := d.claim(f["claim_sr_no"])
	if !ok {
		return "Claim " + f["claim_sr_no"] + " no longer exists.", "", errWritebackRefused
	}
	paid, _ := strconv.ParseFloat(f["payment_amount"], 64)
	before, _ := strconv.ParseFloat(cl["total_paid_amount"], 64)
	date := f["claim_payment_date"]
	if date == "" {
		date = wbToday(now)
	}
	claimRow := wbPick(f, "cheque_no", "bank_no", "note")
	claimRow["payment_amount"] = f["payment_amount"]
	claimRow["total_paid_amount"] = strconv.FormatFloat(before+paid, 'f', 2, 64)
	claimRow["claim_payment_date"] = date
	claimRow["claim_status"] = "C"
	if _, err := s.updateRowLocked(d, tblClaims, f["claim_sr_no"], claimRow, now); err != nil {
		return "", "", err
	}
	provider := f["provider_id"]
	if provider == "" {
		provider = cl["provider_id"]
	}
	tx := wbPick(f, "cheque_no", "note", "transaction_sr_no:payment_procedure_link_id")
	for k, v := range map[string]string{
		"patient_id": cl["patient_id"], "guarantor_id": cl["guarantor_id"], "provider_id": provider,
		"transaction_type": "Insurance Payment", "transaction_date": date, "claim_sr_no": f["claim_sr_no"],
		"procedure_description": "Insurance payment " + cl["insurance_company_name"], "quantity": "1",
		"amount": strconv.FormatFloat(-paid, 'f', 4, 64), "payment_method": f["payment_mode"],
	} {
		tx[k] = v
	}
	id, err := s.insertRowLocked(d, tblTransactions, tx, now)
	if err != nil {
		return "", "", err
	}
	w.patientID = cl["patient_id"]
	return "Claim payment inserted successfully", id, nil
}

// --- POST /v4/medical_notes ---

func checkMedicalNote(d *practiceData, r *wbRequest) *wbError {
	f := r.fields
	return wbFirst(normDate(f, "date"), wbRefs(d, f, [3]string{"patient_id", tblPatients, "patients"},
		[3]string{"provider_id", tblProviders, "providers"}, [3]string{"transaction_sr_no", tblTransactions, "transactions"},
		[3]string{"appointment_sr_no", tblAppointments, "appointments"}))
}

func applyMedicalNote(s *Server, d *practiceData, w *writeback, now time.Time) (string, string, error) {
	f := w.fields
	row := wbPick(f, "patient_id", "provider_id", "type", "date", "text", "description", "transaction_sr_no", "staff:created_by")
	if row["type"] == "" {
		row["type"] = "Clinical Note"
	}
	if row["date"] == "" {
		row["date"] = wbToday(now)
	}
	row["time_stamp"] = now.UTC().Format(sikkaTime)
	return wbInsert(s, d, tblNotes, row, now, "Medical note inserted successfully")
}

// --- POST /v4/transaction ---

func checkTransaction(d *practiceData, r *wbRequest) *wbError {
	f := r.fields
	return wbFirst(normAmount(f, "amount", 4), normDate(f, "transaction_date"),
		wbRefs(d, f, [3]string{"patient_id", tblPatients, "patients"}, [3]string{"provider_id", tblProviders, "providers"},
			[3]string{"guarantor_id", tblPatients, "patients"}, [3]string{"payment_type", tblPaymentTypes, "payment_types"},
			[3]string{"transaction_sr_no", tblTransactions, "transactions"}))
}

func applyTransaction(s *Server, d *practiceData, w *writeback, now time.Time) (string, string, error) {
	f := w.fields
	p, ok := d.patient(f["patient_id"])
	if !ok {
		return "Patient " + f["patient_id"] + " no longer exists.", "", errWritebackRefused
	}
	row := wbPick(f, "patient_id", "guarantor_id", "provider_id", "procedure_code", "amount", "payment_type",
		"procedure_description", "transaction_date", "cheque_no", "note", "transaction_sr_no:payment_procedure_link_id",
		"user:created_by")
	def := map[string]string{"guarantor_id": p["guarantor_id"], "provider_id": p["provider_id"], "transaction_date": wbToday(now), "quantity": "1"}
	for k, v := range def {
		if row[k] == "" {
			row[k] = v
		}
	}
	row["transaction_type"] = "Payment"
	if f["payment_type"] == "" && f["procedure_code"] != "" {
		row["transaction_type"] = "Procedure"
	}
	return wbInsert(s, d, tblTransactions, row, now, "Transaction inserted successfully")
}
