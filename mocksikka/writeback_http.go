package mocksikka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The writeback API: the writeback endpoints themselves, GET /v4/writeback_status,
// GET and DELETE /v4/writebacks.

// notImplementedWritebacks are the documented writeback endpoints (sheet section 6) the mock
// does not serve: they answer 501 MOCK5001.
var notImplementedWritebacks = [][2]string{
	{http.MethodPost, "/v4/veterinary_patient"}, {http.MethodPost, "/v4/document"},
	{http.MethodPost, "/v4/lab_result"}, {http.MethodPost, "/v4/perio_chart"},
	{http.MethodGet, "/v4/writeback_details"},
}

// addWritebackRoutes adds the writeback routes to routes (a path may already have other methods).
func (s *Server) addWritebackRoutes(routes map[string]map[string]route) {
	add := func(path, method string, rt route) {
		if routes[path] == nil {
			routes[path] = map[string]route{}
		}
		routes[path][method] = rt
	}
	for _, k := range wbKinds {
		add(k.routePath(), k.method, route{handle: s.writebackHandler(k), auth: authKey})
	}
	for _, m := range notImplementedWritebacks {
		add(m[1], m[0], route{handle: notImplemented})
	}
	add("/v4/writeback_status", http.MethodGet, route{handle: s.writebackStatus, auth: authKey})
	add("/v4/writebacks", http.MethodGet, route{handle: s.writebacksList})
	add("/v4/writebacks", http.MethodDelete, route{handle: s.deleteWriteback})
	add("/_mock/writebacks/fail-rules", http.MethodGet, route{handle: s.adminFailRules, admin: true})
	add("/_mock/writebacks/fail-rules", http.MethodPost, route{handle: s.adminAddFailRule, admin: true})
	add("/_mock/writebacks/fail-rules", http.MethodDelete, route{handle: s.adminClearFailRules, admin: true})
}

func (s *Server) writebackHandler(k *wbKind) func(*call) {
	return func(c *call) { s.handleWriteback(c, k) }
}

// answer answers with the refusal.
func (e *wbError) answer(c *call) { c.fail(e.status, e.code, e.short, e.long) }

// handleWriteback checks a writeback request and queues it for the SPU: 201 API2016 for a
// POST, 200 with the kind's code for an update, both with "Id:N" and the status URL.
func (s *Server) handleWriteback(c *call, kind *wbKind) {
	if !isJSON(c.r.Header.Get("Content-Type")) {
		c.fail(http.StatusUnsupportedMediaType, codeBadContentType, "Unsupported content type",
			"Send the body as JSON with Content-Type: application/json.")
		return
	}
	body, err := parseWritebackBody(c.body)
	if err != nil {
		wbInvalid("%s", err.Error()).answer(c)
		return
	}
	known := writebackFields[kind.endpoint]
	var unknown []string
	for _, n := range body.keys {
		if !slices.Contains(known, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		wbInvalid("%s has no field %s; its fields are %s.", kind.endpoint, strings.Join(unknown, ", "), strings.Join(known, ", ")).answer(c)
		return
	}
	for _, n := range kind.required {
		if body.fields[n] == "" {
			wbMissing("%s is missing: %s requires %s.", n, kind.endpoint, strings.Join(kind.required, ", ")).answer(c)
			return
		}
	}
	req := &wbRequest{fields: body.fields}
	if kind.pathParam != "" {
		req.target = strings.TrimPrefix(c.r.URL.Path, kind.path)
	}
	practiceID := body.fields["practice_id"]
	if practiceID == "" {
		practiceID = "1"
	}

	k, now := s.lockKey(c)
	if k == nil {
		return
	}
	d, err := s.dataLocked(k.officeID, practiceID)
	if err != nil {
		s.mu.Unlock()
		c.fail(http.StatusUnauthorized, codePracticeNotAuthorized, "Unauthorized",
			"practice_id "+practiceID+" is not a practice of this request key's office; /v4/practices lists them.")
		return
	}
	if e := kind.check(d, req); e != nil {
		s.mu.Unlock()
		e.answer(c)
		return
	}
	if body.checkSPU && !s.spuOnlineLocked(k.officeID) {
		s.mu.Unlock()
		c.spuOffline()
		return
	}
	w := &writeback{kind: kind, officeID: k.officeID, practiceID: practiceID, appID: k.appID, target: req.target,
		fields: req.fields, payload: body.payload, requested: now}
	w.patientID, w.apptSrNo = wbSubjects(d, w)
	if !s.wb.add(w) {
		s.mu.Unlock()
		c.fail(http.StatusServiceUnavailable, codeOverloaded, "Server overloaded",
			fmt.Sprintf("The mock's SPU queue is full (%d writebacks, or %d MiB of bodies, pending); "+
				"retry once some have completed (GET /v4/writeback_status).", MaxWritebacks, MaxWritebackBytes>>20))
		return
	}
	id := strconv.FormatInt(w.id, 10)
	s.runClockLocked() // arms the SPU's timer (or, with no delay, processes it now)
	s.mu.Unlock()

	status, code, short := http.StatusCreated, codeCreated, "New resource created successfully"
	if kind.code != "" {
		status, code, short = http.StatusOK, kind.code, kind.short
	}
	c.failMore(status, code, short, "Id:"+id, c.baseURL()+"/v4/writeback_status?id="+id)
}

// wbSubjects returns the patient and appointment a writeback is about, as writeback_status
// shows them (a created record's id is added when the SPU creates it).
func wbSubjects(d *practiceData, w *writeback) (patientID, apptSrNo string) {
	patientID, apptSrNo = w.fields["patient_id"], w.fields["appointment_sr_no"]
	switch w.kind.pathParam {
	case "appointment_sr_no":
		apptSrNo = w.target
		if a, ok := d.appointment(w.target); ok {
			patientID = a["patient_id"]
		}
	case "patient_id":
		patientID = w.target
	case "claim_sr_no":
		if cl, ok := d.claim(w.target); ok {
			patientID = cl["patient_id"]
		}
	}
	if cl, ok := d.claim(w.fields["claim_sr_no"]); ok && patientID == "" {
		patientID = cl["patient_id"]
	}
	return patientID, apptSrNo
}

// spuOffline answers 412 exactly as Sikka documents it (its spelling "Preconditon", its
// log_message and its "--").
func (c *call) spuOffline() {
	c.e.ErrorCode = codeSPUOffline
	c.json(http.StatusPreconditionFailed, struct {
		HTTPCode        string `json:"http_code"`
		HTTPCodeDesc    string `json:"http_code_desc"`
		ErrorCode       string `json:"error_code"`
		ShortMessage    string `json:"short_message"`
		LogMessage      string `json:"log_message"`
		MoreInformation string `json:"more_information"`
	}{"412", "Preconditon Failed", codeSPUOffline,
		"The server does not meet one of the preconditions that the requester put on the request.",
		"Sikka platform utility is offline", "--"})
}

// wbBody is a parsed writeback body.
type wbBody struct {
	keys     []string          // in the body's order
	fields   map[string]string // every field but check_spu, as a string
	checkSPU bool
	payload  string // the body as payload_body shows it
}

// maskedFields are body fields writeback_status and writebacks never echo in full.
var maskedFields = map[string]bool{"card_number": true, "cvv": true}

// parseWritebackBody reads a JSON object whose values are strings (numbers and booleans are
// taken as their text, null as ""); check_spu is true or false, as a boolean or a string.
func parseWritebackBody(raw []byte) (wbBody, error) {
	b := wbBody{fields: map[string]string{}}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return b, fmt.Errorf("the body must be one JSON object whose values are strings, e.g. {\"patient_id\":\"1001\"}")
	}
	// The keys in the body's order, for messages.
	keys := json.NewDecoder(bytes.NewReader(raw))
	_, _ = keys.Token() // {
	for keys.More() {
		t, err := keys.Token()
		if err != nil {
			break
		}
		name, _ := t.(string)
		if !slices.Contains(b.keys, name) {
			b.keys = append(b.keys, name)
		}
		var skip json.RawMessage
		if keys.Decode(&skip) != nil {
			break
		}
	}
	masked := false
	for name, v := range m {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case json.Number:
			s = v.String()
		case bool:
			s = strconv.FormatBool(v)
		case nil:
		default:
			return b, fmt.Errorf("%s must be a string, not a JSON %T", name, v)
		}
		if name == "check_spu" {
			switch strings.ToLower(s) {
			case "true":
				b.checkSPU = true
			case "false", "":
			default:
				return b, fmt.Errorf("check_spu must be true or false; got %q", s)
			}
			continue
		}
		b.fields[name] = s
		masked = masked || maskedFields[name]
	}
	var out bytes.Buffer
	if !masked && json.Compact(&out, raw) == nil {
		b.payload = out.String()
		return b, nil
	}
	p := []byte{'{'}
	for i, name := range b.keys {
		v := b.fields[name]
		if name == "check_spu" {
			v = strconv.FormatBool(b.checkSPU)
		}
		if maskedFields[name] && v != "" {
			v = strings.Repeat("*", max(len(v)-4, 0)) + v[max(len(v)-4, 0):]
			if name == "cvv" {
				v = "***"
			}
		}
		p = appendJSONField(p, i == 0, name, v) // names are the sheet's: plain
	}
	b.payload = string(append(p, '}'))
	return b, nil
}

// wbStatusItem is one item of GET /v4/writeback_status, in the sheet's field order.
type wbStatusItem struct{ vals [15]string }

var wbStatusFields = [15]string{"id", "office_id", "method", "api", "payload_body", "appointment_sr_no", "request_time",
	"is_completed", "has_error", "completed_time", "result", "practice_id", "status", "patient_id", "created_id"}

func (it wbStatusItem) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range wbStatusFields {
		b = appendJSONField(b, i == 0, f, it.vals[i])
	}
	return append(b, '}')
}

// trueFalse is Sikka's "True"/"False".
func trueFalse(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// statusText is writeback_status's status of w.
func (w *writeback) statusText() string {
	switch w.state {
	case wbSuccess:
		return "Success"
	case wbFailed:
		return "Failed"
	}
	return "Pending"
}

func (w *writeback) statusItem() wbStatusItem {
	patient, appt := w.patientID, w.apptSrNo
	return wbStatusItem{[15]string{strconv.FormatInt(w.id, 10), w.officeID, w.kind.method, w.kind.api, w.payload, appt,
		wbTime(w.requested), trueFalse(w.state != wbPending), trueFalse(w.state == wbFailed), wbTime(w.completed),
		w.result, w.practiceID, w.statusText(), patient, w.createdID}}
}

// queryID reads the required id parameter, answering 400 when it is missing or not an id.
func (c *call) queryID() (int64, bool) {
	v := c.query().Get("id")
	if v == "" {
		wbMissing("id is missing: give the writeback's id, the N of the \"Id:N\" its request answered.").answer(c)
		return 0, false
	}
	id, ok := wbID(v)
	if !ok {
		wbInvalid("id must be a writeback id (a positive whole number); got %q.", v).answer(c)
		return 0, false
	}
	return id, true
}

// writebackStatus answers GET /v4/writeback_status?id=N (Request-Key): the array-wrapped list
// envelope holding the writeback, or 204 when the key's office has no such writeback.
func (s *Server) writebackStatus(c *call) {
	began := time.Now()
	page, ok := c.pageQuery()
	if !ok {
		return
	}
	id, ok := c.queryID()
	if !ok {
		return
	}
	k, _ := s.lockKey(c)
	if k == nil {
		return
	}
	var items []listItem
	if w := s.wb.byID[id]; w != nil && w.officeID == k.officeID {
		items = append(items, w.statusItem())
	}
	emptyOK := s.initial.listing.emptyAs200
	s.mu.Unlock()
	if len(items) == 0 && !emptyOK {
		c.noContent()
		return
	}
	lo, hi, env := c.pageEnvelope(page, len(items))
	env.Items = append([]listItem{}, items[lo:hi]...)
	env.ExecutionTime = strconv.FormatInt(time.Since(began).Milliseconds(), 10)
	c.json(http.StatusOK, []json.RawMessage{env.appendJSON(nil)})
}

// appAuth checks the App-Id and App-Key headers of a writebacks call, answering 400 when one
// is missing and 401 when they are wrong. It returns the app id.
func (s *Server) appAuth(c *call) (string, bool) {
	h := c.r.Header
	appID, appKey := h.Get("App-Id"), h.Get("App-Key")
	c.e.AppID = appID
	if !c.requireFields([2]string{"App-Id", appID}, [2]string{"App-Key", appKey}) {
		return "", false
	}
	s.mu.Lock()
	good := s.checkApp(appID, appKey)
	s.mu.Unlock()
	if !good {
		c.failApp()
		return "", false
	}
	c.e.Auth = "app_key"
	return appID, true
}

// maxWritebackRange is the widest startdate–enddate range of GET /v4/writebacks.
const maxWritebackRange = 7 * 24 * time.Hour

// wbListItem is one item of GET /v4/writebacks, in the sheet's field order.
type wbListItem struct{ vals [11]string }

var wbListFields = [11]string{"href", "description", "id", "result", "office_id", "method", "completed_time", "api_name",
	"api_request_body", "command_time", "duration_in_second"}

func (it wbListItem) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range wbListFields {
		b = appendJSONField(b, i == 0, f, it.vals[i])
	}
	return append(b, '}')
}

func (w *writeback) listItem(base string) wbListItem {
	id := strconv.FormatInt(w.id, 10)
	result, duration := "pending", ""
	if w.state != wbPending {
		result = w.result
		duration = strconv.FormatInt(int64(w.completed.Sub(w.requested)/time.Second), 10)
	}
	return wbListItem{[11]string{base + "/v4/writebacks?id=" + id, w.kind.description, id, result, w.officeID,
		w.kind.method, wbTime(w.completed), w.kind.api, w.payload, wbTime(w.requested), duration}}
}

// writebacksList answers GET /v4/writebacks (App-Id, App-Key): the app's writebacks requested
// from startdate to enddate (yyyy-mm-dd, both days included, at most 7 days apart), in id
// order, optionally only id.
func (s *Server) writebacksList(c *call) {
	appID, ok := s.appAuth(c)
	if !ok {
		return
	}
	page, ok := c.pageQuery()
	if !ok {
		return
	}
	q := c.query()
	var days [2]time.Time
	for i, name := range []string{"startdate", "enddate"} {
		v := q.Get(name)
		if v == "" {
			wbMissing("%s is missing: GET /v4/writebacks requires startdate and enddate (yyyy-mm-dd, at most 7 days apart).", name).answer(c)
			return
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			wbInvalid("%s must be a date as yyyy-mm-dd; got %q.", name, v).answer(c)
			return
		}
		days[i] = t
	}
	if days[1].Before(days[0]) || days[1].Sub(days[0]) > maxWritebackRange {
		wbInvalid("enddate must be from startdate to 7 days after it; got %s to %s.", q.Get("startdate"), q.Get("enddate")).answer(c)
		return
	}
	var only int64
	if q.Get("id") != "" {
		if only, ok = c.queryID(); !ok {
			return
		}
	}
	from, to := days[0], days[1].AddDate(0, 0, 1)
	base := c.baseURL()
	s.mu.Lock()
	var items []listItem
	for _, w := range s.wb.all {
		if w.appID == appID && !w.requested.Before(from) && w.requested.Before(to) && (only == 0 || w.id == only) {
			items = append(items, w.listItem(base))
		}
	}
	emptyOK := s.initial.listing.emptyAs200
	s.mu.Unlock()
	c.list(page, items, emptyOK)
}

// deleteWriteback answers DELETE /v4/writebacks?id=N (App-Id, App-Key): a pending writeback of
// the app is dropped (200 API4006); one already processed is 400 API1026; an unknown one, or
// another app's, 404 API2009.
func (s *Server) deleteWriteback(c *call) {
	appID, ok := s.appAuth(c)
	if !ok {
		return
	}
	id, ok := c.queryID()
	if !ok {
		return
	}
	s.mu.Lock()
	w := s.wb.byID[id]
	if w == nil || w.appID != appID {
		s.mu.Unlock()
		wbNotFound("Writeback %d does not exist for this app; GET /v4/writebacks lists the app's writebacks.", id).answer(c)
		return
	}
	if w.state != wbPending {
		status := w.statusText()
		s.mu.Unlock()
		wbInvalid("Writeback %d is no longer pending (status %s): only a pending writeback can be deleted.", id, status).answer(c)
		return
	}
	c.e.OfficeID = w.officeID
	s.wb.forget(w)
	s.mu.Unlock()
	c.failMore(http.StatusOK, codeWritebackDeleted, "", "Writeback request deleted successfully.", "")
}
