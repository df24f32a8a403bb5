// Writebacks: changes Sikka's utility (the SPU) writes into the practice's
// management system, asynchronously.

package sikka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrSPUOffline: Sikka answered 412 API2017 to a writeback that asked
	// it to check the practice's Sikka Platform Utility (CheckSPU): the
	// SPU is offline, nothing was queued. Submit again once the practice's
	// server is back (or without CheckSPU, to queue it until then).
	ErrSPUOffline = errors.New("sikka: the practice's Sikka Platform Utility is offline")

	// ErrNoSuchWriteback: writeback_status does not list that id (no
	// content, or no item of that id). Also returned, without a request,
	// for an empty id.
	ErrNoSuchWriteback = errors.New("sikka: no such writeback")

	// ErrWritebackFailed: Sikka reports that the writeback failed
	// (has_error); the error's text carries Sikka's result, and
	// WaitWriteback returns the status beside it.
	ErrWritebackFailed = errors.New("sikka: writeback failed")
)

// codeSPUOffline is Sikka's error code of 412 Precondition Failed.
const codeSPUOffline = "API2017"

// Writeback is Sikka's receipt for a submitted writeback (201 API2016).
type Writeback struct {
	// ID is the writeback's id ("275495", from long_message "Id:275495"),
	// for WritebackStatus and WaitWriteback.
	ID string
	// StatusURL is Sikka's more_information, the writeback_status URL
	// of this writeback, as sent.
	StatusURL string
}

// NewAppointment is an appointment to book (POST /v4/appointment). Which
// fields a practice-management system needs varies (SIKKA_API.md, section
// 6, and Sikka's writeback_details); Extra carries any other body field.
type NewAppointment struct {
	PracticeID, PatientID, ProviderID, Operatory string
	// Start is the appointment's day and time, sent as date (yyyy-mm-dd)
	// and time (HH:mm) as written, whatever its location: the practice's
	// wall clock.
	Start time.Time
	// Length is the appointment's length in minutes.
	Length            int
	Description, Type string
	Note, GuarantorID string
	Status            string
	// CheckSPU asks Sikka to refuse the writeback while the practice's
	// SPU is offline (ErrSPUOffline) instead of queueing it.
	CheckSPU bool
	// Extra holds other body fields, sent as is; a field set above wins.
	Extra map[string]string
}

// NewPatient is a patient to add (POST /v4/patient).
type NewPatient struct {
	PracticeID, FirstName, LastName string
	// Birthdate is sent as yyyy-mm-dd; zero leaves it out.
	Birthdate                       time.Time
	ProviderID, GuarantorID, Gender string
	Email, Cell, HomePhone          string
	WorkPhone                       string
	AddressLine1, AddressLine2      string
	City, State, Zipcode            string
	Status                          string
	// CheckSPU: as for NewAppointment.
	CheckSPU bool
	// Extra holds other body fields, sent as is; a field set above wins.
	Extra map[string]string
}

// NewMedicalNote is a note to add to a patient's chart (POST
// /v4/medical_notes).
type NewMedicalNote struct {
	PracticeID, PatientID, ProviderID string
	// Type is the note type, such as "Clinical Note".
	Type string
	// Date is sent as yyyy-mm-dd; zero leaves it out.
	Date                             time.Time
	Text, Description                string
	AppointmentSrNo, TransactionSrNo string
	// CheckSPU: as for NewAppointment.
	CheckSPU bool
	// Extra holds other body fields, sent as is; a field set above wins.
	Extra map[string]string
}

// body merges set fields over extra: Sikka's body, every value a string.
func body(extra map[string]string, checkSPU bool, fields ...string) map[string]string {
	b := maps.Clone(extra)
	if b == nil {
		b = make(map[string]string, len(fields)/2+1)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] != "" {
			b[fields[i]] = fields[i+1]
		}
	}
	if checkSPU {
		b["check_spu"] = "true"
	}
	return b
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// BookAppointment submits a new appointment (POST /v4/appointment) and
// returns the writeback's receipt; the appointment exists once the
// writeback completes (WaitWriteback). See Submit for retries and errors.
func (dc *DataClient) BookAppointment(ctx context.Context, a NewAppointment) (*Writeback, error) {
	date, clock := "", ""
	if !a.Start.IsZero() {
		date, clock = a.Start.Format(time.DateOnly), a.Start.Format("15:04")
	}
	length := ""
	if a.Length > 0 {
		length = strconv.Itoa(a.Length)
	}
	return dc.submit(ctx, "BookAppointment", "appointment", body(a.Extra, a.CheckSPU,
		"practice_id", a.PracticeID, "patient_id", a.PatientID, "provider_id", a.ProviderID,
		"operatory", a.Operatory, "date", date, "time", clock, "length", length,
		"description", a.Description, "type", a.Type, "note", a.Note,
		"guarantor_id", a.GuarantorID, "status", a.Status))
}

// AddPatient submits a new patient (POST /v4/patient). See Submit.
func (dc *DataClient) AddPatient(ctx context.Context, p NewPatient) (*Writeback, error) {
	return dc.submit(ctx, "AddPatient", "patient", body(p.Extra, p.CheckSPU,
		"practice_id", p.PracticeID, "firstname", p.FirstName, "lastname", p.LastName,
		"birthdate", dateOrEmpty(p.Birthdate), "provider_id", p.ProviderID, "guarantor_id", p.GuarantorID,
		"gender", p.Gender, "email", p.Email, "cell", p.Cell, "homephone", p.HomePhone, "workphone", p.WorkPhone,
		"address_line1", p.AddressLine1, "address_line2", p.AddressLine2,
		"city", p.City, "state", p.State, "zipcode", p.Zipcode, "status", p.Status))
}

// AddMedicalNote submits a note (POST /v4/medical_notes). See Submit.
func (dc *DataClient) AddMedicalNote(ctx context.Context, n NewMedicalNote) (*Writeback, error) {
	return dc.submit(ctx, "AddMedicalNote", "medical_notes", body(n.Extra, n.CheckSPU,
		"practice_id", n.PracticeID, "patient_id", n.PatientID, "provider_id", n.ProviderID,
		"type", n.Type, "date", dateOrEmpty(n.Date), "text", n.Text, "description", n.Description,
		"appointment_sr_no", n.AppointmentSrNo, "transaction_sr_no", n.TransactionSrNo))
}

// Submit posts any POST writeback (endpoint such as "transaction" or
// "claim_payment", body its fields as strings) and returns the receipt
// parsed from Sikka's 201 API2016 answer: the id from long_message
// ("Id:275495"), else from more_information's id parameter.
//
// A writeback is never resent once it may have reached Sikka: it is
// retried only on 429 and when dialing failed before any connection
// existed. Errors: ErrSPUOffline (412 API2017, the body asked for
// check_spu), ErrKeyRejected, ErrUnauthorized, ErrRateLimited,
// ErrUnavailable (also an answer without an id); a 4xx about the body
// (400, 409, 422…) matches no sentinel: Error.Envelope says what Sikka
// refused.
func (dc *DataClient) Submit(ctx context.Context, endpoint string, body map[string]string) (*Writeback, error) {
	return dc.submit(ctx, "Submit", endpoint, body)
}

func (dc *DataClient) submit(ctx context.Context, op, endpoint string, fields map[string]string) (*Writeback, error) {
	path, ok := endpointPath(endpoint)
	if !ok {
		return nil, &Error{Op: op, Err: fmt.Errorf("invalid endpoint name %q: want a name such as \"appointment\"", endpoint)}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	b, err := jsonBody(fields)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	var wb Writeback
	err = dc.call(ctx, op, http.MethodPost, path, nil, b, retryUnsent, func(b []byte) error {
		var ej envelopeJSON
		if err := json.Unmarshal(b, &ej); err != nil {
			return err
		}
		wb = Writeback{ID: writebackID(string(ej.LongMessage), string(ej.MoreInformation)), StatusURL: string(ej.MoreInformation)}
		if wb.ID == "" {
			return errors.New("the answer has no writeback id")
		}
		return nil
	})
	if err != nil {
		return nil, spuOffline(err)
	}
	return &wb, nil
}

// spuOffline makes a 412 API2017 answer match ErrSPUOffline.
func spuOffline(err error) error {
	var e *Error
	if errors.As(err, &e) && (e.StatusCode == http.StatusPreconditionFailed ||
		strings.EqualFold(e.Envelope.ErrorCode, codeSPUOffline) || e.Envelope.HTTPCode == "412") {
		e.kind = ErrSPUOffline
		if e.Err == nil {
			e.Err = errors.New("the practice's Sikka Platform Utility is offline; submit again when its server is back, or without check_spu to queue the writeback")
		}
	}
	return err
}

// writebackID finds the id in long_message ("Id:275495", "Id: 275495",
// "… id=275495"), else in the id parameter of the status URL; "" when
// neither has one.
func writebackID(longMessage, statusURL string) string {
	low := lowerASCII(longMessage) // keeps byte offsets (strings.ToLower does not on invalid UTF-8)
	for i := strings.Index(low, "id"); i >= 0; {
		before := i == 0 || !isIDChar(rune(low[i-1]))
		rest := strings.TrimLeft(longMessage[i+2:], " ")
		if before && rest != "" && (rest[0] == ':' || rest[0] == '=') {
			rest = strings.TrimLeft(rest[1:], " ")
			end := strings.IndexFunc(rest, func(r rune) bool { return !isIDChar(r) })
			if end < 0 {
				end = len(rest)
			}
			if end > 0 {
				return rest[:end]
			}
		}
		next := strings.Index(low[i+2:], "id")
		if next < 0 {
			break
		}
		i += 2 + next
	}
	if u, err := url.Parse(strings.TrimSpace(statusURL)); err == nil {
		return u.Query().Get("id")
	}
	return ""
}

func isIDChar(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '-' || r == '_'
}

// WritebackStatus is one writeback as GET /v4/writeback_status reports it.
type WritebackStatus struct {
	ID, OfficeID, PracticeID string
	// Method and API are the writeback's request, such as "POST" and
	// "appointment"; PayloadBody its body as Sikka echoes it.
	Method, API, PayloadBody string
	// Completed is is_completed, HasError has_error.
	Completed, HasError bool
	// Status is Sikka's status, such as "Success"; Result its text, such
	// as "New Patient inserted successfully" or why it failed.
	Status, Result             string
	RequestTime, CompletedTime Timestamp
	// AppointmentSrNo, PatientID and CreatedID name the records the
	// writeback touched or created, when Sikka says.
	AppointmentSrNo, PatientID, CreatedID string
}

// Failed tells whether Sikka reports the writeback failed: has_error, or a
// status such as "Failed" or "Error".
func (s *WritebackStatus) Failed() bool {
	switch strings.ToLower(s.Status) {
	case "failed", "failure", "error":
		return true
	}
	return s.HasError
}

// Done tells whether the writeback is over: completed or failed.
func (s *WritebackStatus) Done() bool { return s.Completed || s.Failed() }

type writebackStatusJSON struct {
	ID              flexString `json:"id"`
	OfficeID        flexString `json:"office_id"`
	PracticeID      flexString `json:"practice_id"`
	Method          flexString `json:"method"`
	API             flexString `json:"api"`
	PayloadBody     rawText    `json:"payload_body"`
	AppointmentSrNo flexString `json:"appointment_sr_no"`
	RequestTime     Timestamp  `json:"request_time"`
	IsCompleted     flexBool   `json:"is_completed"`
	HasError        flexBool   `json:"has_error"`
	CompletedTime   Timestamp  `json:"completed_time"`
	Result          flexString `json:"result"`
	Status          flexString `json:"status"`
	PatientID       flexString `json:"patient_id"`
	CreatedID       flexString `json:"created_id"`
}

// rawText is a JSON value as text: a string's content, or any other
// value's JSON (an object payload stays readable).
type rawText string

func (t *rawText) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = rawText(s)
	} else if string(b) != "null" {
		*t = rawText(b)
	}
	return nil
}

func (w writebackStatusJSON) status() WritebackStatus {
	return WritebackStatus{
		ID: string(w.ID), OfficeID: string(w.OfficeID), PracticeID: string(w.PracticeID),
		Method: string(w.Method), API: string(w.API), PayloadBody: string(w.PayloadBody),
		Completed: bool(w.IsCompleted), HasError: bool(w.HasError),
		Status: string(w.Status), Result: string(w.Result),
		RequestTime: w.RequestTime, CompletedTime: w.CompletedTime,
		AppointmentSrNo: string(w.AppointmentSrNo), PatientID: string(w.PatientID), CreatedID: string(w.CreatedID),
	}
}

const pathWritebackStatus = "/v4/writeback_status"

// WritebackStatus asks Sikka how a writeback is doing (GET
// /v4/writeback_status?id=…). Retried like every GET. Errors:
// ErrNoSuchWriteback (no content, or no item of that id; an empty id),
// ErrKeyRejected, ErrUnauthorized, ErrRateLimited, ErrUnavailable.
func (dc *DataClient) WritebackStatus(ctx context.Context, id string) (*WritebackStatus, error) {
	const op = "WritebackStatus"
	if id == "" {
		return nil, &Error{Op: op, kind: ErrNoSuchWriteback, Err: errors.New("empty writeback id")}
	}
	var (
		st    WritebackStatus
		found bool
	)
	err := dc.call(ctx, op, http.MethodGet, pathWritebackStatus, url.Values{"id": {id}}, nil, retryIdempotent,
		func(b []byte) error {
			pg, err := parsePage[writebackStatusJSON](b)
			if err != nil {
				return fmt.Errorf("reading writeback status: %w", err)
			}
			for _, w := range pg.items {
				if string(w.ID) == id || (w.ID == "" && len(pg.items) == 1) {
					st, found = w.status(), true
					if st.ID == "" {
						st.ID = id
					}
					break
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &Error{Op: op, Endpoint: http.MethodGet + " " + pathWritebackStatus, kind: ErrNoSuchWriteback,
			Err: fmt.Errorf("writeback_status does not list writeback %s (yet)", id)}
	}
	return &st, nil
}

// DefaultWritebackPoll is WaitWriteback's wait between polls when given
// none: about 1s, 2s, 4s… capped at 30s, jittered.
func DefaultWritebackPoll(poll int) time.Duration { return defaultWritebackPoll(poll) }

var defaultWritebackPoll = ExponentialBackoff(time.Second, 30*time.Second)

// maxResultLen bounds Sikka's result text in an error.
const maxResultLen = 512

// WaitWriteback polls WritebackStatus until the writeback is over, waiting
// poll(n) before poll n+1 (nil: DefaultWritebackPoll), and returns its
// last status. A completed writeback returns a nil error. A failed one
// returns its status and an error matching ErrWritebackFailed whose text
// carries Sikka's status and result (why it failed). While Sikka does not
// list the id yet (ErrNoSuchWriteback), or is unavailable or rate limiting
// (after WritebackStatus's own retries), it keeps polling; any other error
// ends the wait at once (such as ErrKeyRejected). ctx bounds the wait:
// when it ends, the error matches its error and the last status seen (nil
// if none) comes back with it, so the caller can poll again later.
func (dc *DataClient) WaitWriteback(ctx context.Context, id string, poll Backoff) (*WritebackStatus, error) {
	const op = "WaitWriteback"
	if poll == nil {
		poll = DefaultWritebackPoll
	}
	endpoint := http.MethodGet + " " + pathWritebackStatus
	var (
		last    *WritebackStatus
		lastErr error
	)
	// ended is the error of a wait the context ended: what was seen last,
	// and cause, which matches the context's error.
	ended := func(cause error) error {
		seen := "not listed yet"
		if last != nil {
			seen = fmt.Sprintf("last status %q", last.Status)
		}
		if lastErr != nil && lastErr != cause {
			seen += "; last error: " + lastErr.Error()
		}
		return &Error{Op: op, Endpoint: endpoint,
			Err: fmt.Errorf("writeback %s not over when the wait ended (%s); poll it again later: %w", id, seen, cause)}
	}
	for n := 1; ; n++ {
		st, err := dc.WritebackStatus(ctx, id)
		switch {
		case err == nil && st.Failed():
			result := st.Result
			if len(result) > maxResultLen {
				result = strings.ToValidUTF8(result[:maxResultLen], "") + "…"
			}
			return st, &Error{Op: op, Endpoint: endpoint, kind: ErrWritebackFailed,
				Err: fmt.Errorf("writeback %s failed (status %q): Sikka says %q; correct the request and submit it again", id, st.Status, result)}
		case err == nil && st.Completed:
			return st, nil
		case err == nil:
			last, lastErr = st, nil
		case ctx.Err() != nil:
			return last, ended(err)
		case errors.Is(err, ErrNoSuchWriteback) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited):
			lastErr = err
		default:
			return last, err
		}
		if err := dc.c.sleep(ctx, poll(n)); err != nil {
			return last, ended(err)
		}
	}
}
