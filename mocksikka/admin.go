package mocksikka

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// decodeAdmin reads c.body strictly into v (unknown fields are an error; an empty body is {}),
// answering 400 when it cannot.
func (c *call) decodeAdmin(v any) bool {
	body := bytes.TrimSpace(c.body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	err := d.Decode(v)
	if err == nil && d.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("trailing data after the JSON value")
	}
	if err != nil {
		c.fail(http.StatusBadRequest, codeBadJSON, "Invalid JSON", err.Error())
		return false
	}
	return true
}

// adminFail answers err with the status its kind calls for.
func (c *call) adminFail(err error) {
	switch {
	case errors.Is(err, ErrExists):
		c.fail(http.StatusConflict, codeConflict, "Already exists", err.Error())
	case errors.Is(err, ErrNotFound):
		c.fail(http.StatusNotFound, codeNotFound, "Not found", err.Error())
	default:
		c.fail(http.StatusBadRequest, codeParamInvalid, "Invalid", err.Error())
	}
}

func ok(c *call) { c.json(http.StatusOK, map[string]string{"status": "ok"}) }

func (s *Server) adminReset(c *call) { s.Reset(); ok(c) }

func (s *Server) adminAddApp(c *call) {
	var a App
	if !c.decodeAdmin(&a) {
		return
	}
	if err := s.AddApp(a); err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusCreated, map[string]string{"app_id": a.ID})
}

func (s *Server) adminAddPractice(c *call) {
	var p Practice
	if !c.decodeAdmin(&p) {
		return
	}
	if err := s.AddPractice(p); err != nil {
		c.adminFail(err)
		return
	}
	if p.PracticeID == "" {
		p.PracticeID = "1"
	}
	c.json(http.StatusCreated, map[string]string{"office_id": p.OfficeID, "practice_id": p.PracticeID})
}

func (s *Server) adminAutoApprove(c *call) {
	var in struct {
		OfficeID *string `json:"office_id"`
	}
	if !c.decodeAdmin(&in) {
		return
	}
	if in.OfficeID == nil {
		c.adminFail(fmt.Errorf("office_id is required (\"\" disables auto-approve): %w", ErrInvalid))
		return
	}
	s.SetAutoApprove(*in.OfficeID)
	c.json(http.StatusOK, map[string]string{"office_id": *in.OfficeID})
}

func (s *Server) adminListFaults(c *call) { c.json(http.StatusOK, s.Faults()) }

func (s *Server) adminAddFault(c *call) {
	var f Fault
	if !c.decodeAdmin(&f) {
		return
	}
	if err := s.addFault(f); err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusCreated, s.Faults())
}

func (s *Server) adminClearFaults(c *call) { s.ClearFaults(); ok(c) }

func (s *Server) adminJournal(c *call) { c.json(http.StatusOK, s.Journal()) }

func (s *Server) adminClearJournal(c *call) { s.ClearJournal(); ok(c) }

func (s *Server) adminCount(c *call) {
	q := c.r.URL.Query()
	c.json(http.StatusOK, map[string]int{"count": s.Count(q.Get("endpoint"), q.Get("grant"))})
}

func (s *Server) adminClock(c *call) {
	c.json(http.StatusOK, map[string]string{"now": s.Now().Format(time.RFC3339Nano)})
}

func (s *Server) adminSetClock(c *call) {
	var in struct {
		Advance *Duration  `json:"advance"`
		Set     *time.Time `json:"set"`
	}
	if !c.decodeAdmin(&in) {
		return
	}
	switch {
	case (in.Advance == nil) == (in.Set == nil):
		c.adminFail(fmt.Errorf("give exactly one of advance (a duration) and set (an RFC 3339 time): %w", ErrInvalid))
		return
	case in.Advance != nil:
		s.Advance(time.Duration(*in.Advance))
	default:
		s.SetTime(*in.Set)
	}
	s.adminClock(c)
}

// settingsJSON is the body of GET and PUT /_mock/settings; in a PUT, absent fields are unchanged.
type settingsJSON struct {
	RefreshInvalidatesOld *bool     `json:"refresh_invalidates_old,omitempty"`
	KeyTTL                *Duration `json:"key_ttl,omitempty"`
	CodeTTL               *Duration `json:"code_ttl,omitempty"`
	AutoApprove           *string   `json:"auto_approve,omitempty"`
	RateLimit             *int      `json:"rate_limit,omitempty"`
	DailyRequestLimit     *int      `json:"daily_request_limit,omitempty"`
	DailyDataLimit        *int64    `json:"daily_data_limit,omitempty"`
	WritebackDelay        *Duration `json:"writeback_delay,omitempty"`
}

func (s *Server) adminSettings(c *call) {
	s.mu.Lock()
	inv, kt, ct, auto, l := s.refreshInvalidatesOld, Duration(s.keyTTL), Duration(s.codeTTL), s.autoApprove, s.limits
	wd := Duration(s.wb.delay)
	s.mu.Unlock()
	c.json(http.StatusOK, settingsJSON{&inv, &kt, &ct, &auto, &l.PerApp, &l.DailyRequests, &l.DailyBytes, &wd})
}

func (s *Server) adminPutSettings(c *call) {
	var in settingsJSON
	if !c.decodeAdmin(&in) {
		return
	}
	if in.KeyTTL != nil && *in.KeyTTL <= 0 || in.CodeTTL != nil && *in.CodeTTL <= 0 {
		c.adminFail(fmt.Errorf("key_ttl and code_ttl must be positive: %w", ErrInvalid))
		return
	}
	if in.WritebackDelay != nil && *in.WritebackDelay < 0 {
		c.adminFail(fmt.Errorf("writeback_delay must not be negative: %w", ErrInvalid))
		return
	}
	l := s.Limits()
	if in.RateLimit != nil {
		l.PerApp = *in.RateLimit
	}
	if in.DailyRequestLimit != nil {
		l.DailyRequests = *in.DailyRequestLimit
	}
	if in.DailyDataLimit != nil {
		l.DailyBytes = *in.DailyDataLimit
	}
	if err := l.check(); err != nil {
		c.adminFail(err)
		return
	}
	_ = s.SetLimits(l) // checked above
	if in.RefreshInvalidatesOld != nil {
		s.SetRefreshInvalidatesOld(*in.RefreshInvalidatesOld)
	}
	if in.KeyTTL != nil {
		s.SetKeyTTL(time.Duration(*in.KeyTTL))
	}
	if in.CodeTTL != nil {
		s.SetCodeTTL(time.Duration(*in.CodeTTL))
	}
	if in.AutoApprove != nil {
		s.SetAutoApprove(*in.AutoApprove)
	}
	if in.WritebackDelay != nil {
		s.SetWritebackDelay(time.Duration(*in.WritebackDelay))
	}
	s.adminSettings(c)
}

func (s *Server) adminIssueCode(c *call) {
	var in struct {
		AppID    string `json:"app_id"`
		OfficeID string `json:"office_id"`
	}
	if !c.decodeAdmin(&in) {
		return
	}
	code, err := s.IssueCode(in.AppID, in.OfficeID)
	if err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusCreated, map[string]string{"code": code})
}
