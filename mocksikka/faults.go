package mocksikka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes the next matching calls of an API endpoint slow or failing. Faults never apply
// to the admin API under /_mock/.
type Fault struct {
	// Endpoint is "METHOD /path" of an API route, such as "POST /v4/request_key",
	// "GET /v4/authorized_practices" or "GET /portal/authapp.aspx"; "*" matches every API route.
	Endpoint string `json:"endpoint"`
	// Count is how many matching calls the fault applies to; 0 means until ClearFaults or Reset.
	Count int `json:"count"`
	// Status, when not 0, is answered (400–599) with the error envelope instead of calling the
	// endpoint; 0 lets the endpoint answer after Delay.
	Status int `json:"status"`
	// Delay holds the answer back, in real time, or until the client goes away. In JSON it is
	// a Go duration string such as "2s".
	Delay time.Duration `json:"delay"`
	// RetryAfter, when positive, sets the Retry-After header in whole seconds (rounded up).
	// In JSON it is a Go duration string.
	RetryAfter time.Duration `json:"retry_after"`
	// Grant, when set, restricts the fault to POST /v4/request_key calls with this grant_type.
	Grant string `json:"grant,omitempty"`
}

// faultJSON is Fault's wire form, with durations as strings.
type faultJSON struct {
	Endpoint   string   `json:"endpoint"`
	Count      int      `json:"count"`
	Status     int      `json:"status"`
	Delay      Duration `json:"delay,omitempty"`
	RetryAfter Duration `json:"retry_after,omitempty"`
	Grant      string   `json:"grant,omitempty"`
}

// MarshalJSON writes f with its durations as Go duration strings.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{f.Endpoint, f.Count, f.Status, Duration(f.Delay), Duration(f.RetryAfter), f.Grant})
}

// UnmarshalJSON reads f, durations as Go duration strings; unknown fields are an error.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil {
		return fmt.Errorf("fault: %w", err)
	}
	*f = Fault{j.Endpoint, j.Count, j.Status, time.Duration(j.Delay), time.Duration(j.RetryAfter), j.Grant}
	return nil
}

// activeFault is an injected fault and how many calls it still applies to.
type activeFault struct {
	Fault
	remaining int // meaningful when Count > 0
}

// checkFault normalises f and checks it against the API routes.
func (s *Server) checkFault(f Fault) (Fault, error) {
	f.Endpoint = normalizeEndpoint(f.Endpoint)
	if f.Endpoint != "*" {
		method, path, _ := strings.Cut(f.Endpoint, " ")
		rt, ok := s.routes[path][method]
		if !ok || rt.admin {
			return f, fmt.Errorf("fault endpoint %q is not an API route: %w", f.Endpoint, ErrInvalid)
		}
	}
	switch {
	case f.Count < 0:
		return f, fmt.Errorf("fault count %d is negative: %w", f.Count, ErrInvalid)
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return f, fmt.Errorf("fault status %d is not 0 or 400–599: %w", f.Status, ErrInvalid)
	case f.Delay < 0 || f.RetryAfter < 0:
		return f, fmt.Errorf("fault delay and retry_after must not be negative: %w", ErrInvalid)
	case f.Status == 0 && f.Delay == 0 && f.RetryAfter == 0:
		return f, fmt.Errorf("fault does nothing: give a status, a delay or a retry_after: %w", ErrInvalid)
	case f.Grant != "" && f.Endpoint != "*" && f.Endpoint != "POST /v4/request_key":
		return f, fmt.Errorf("fault grant applies only to POST /v4/request_key: %w", ErrInvalid)
	}
	return f, nil
}

// InjectFault adds f after the faults already injected; the first fault matching a call
// applies, and only one. It panics if f is invalid (an endpoint that is not an API route, a
// negative count, delay or retry_after, a status other than 0 or 400–599, a fault that does
// nothing, or a grant on another endpoint than POST /v4/request_key): such a fault is a bug
// of the test, and POST /_mock/faults answers 400 for it instead.
func (s *Server) InjectFault(f Fault) {
	if err := s.addFault(f); err != nil {
		panic("mocksikka.InjectFault: " + err.Error())
	}
}

func (s *Server) addFault(f Fault) error {
	f, err := s.checkFault(f)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &activeFault{Fault: f, remaining: f.Count})
	return nil
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the faults still active, with Count holding how many calls each still
// applies to (0: until cleared).
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		g := f.Fault
		g.Count = f.remaining
		out = append(out, g)
	}
	return out
}

// takeFault returns the first fault matching the call and uses one of its counts.
func (s *Server) takeFault(endpoint, grant string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Endpoint != "*" && f.Endpoint != endpoint {
			continue
		}
		if f.Grant != "" && (f.Grant != grant || endpoint != "POST /v4/request_key") {
			continue
		}
		if f.Count > 0 {
			f.remaining--
			if f.remaining <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// applyFault applies the matching fault, if any, and reports whether the endpoint should
// still answer.
func (s *Server) applyFault(c *call) bool {
	f, ok := s.takeFault(c.e.Endpoint(), c.grant) // the grant matters only for POST /v4/request_key
	if !ok {
		return true
	}
	c.e.Fault = true
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-c.r.Context().Done():
			t.Stop()
			return false // the client went away; nobody to answer
		}
	}
	if f.RetryAfter > 0 {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		c.w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	if f.Status == 0 {
		return true
	}
	if f.Status == http.StatusTooManyRequests { // as a real limit answers
		h := c.w.Header()
		if h.Get("X-Rate-Limit-Limit") == "" {
			h.Set("X-Rate-Limit-Limit", strconv.Itoa(s.rateLimit()))
			h.Set("X-Rate-Limit-Reset", strconv.Itoa(int(RateWindow/time.Second)))
		}
		h.Set("X-Rate-Limit-Remaining", "0")
	}
	c.fail(f.Status, codeFault, "Injected fault: "+http.StatusText(f.Status),
		"The mock was told to answer this call with status "+strconv.Itoa(f.Status)+".")
	return false
}

// peekGrant returns the grant_type of a JSON body, or "".
func peekGrant(body []byte) string {
	var g struct {
		GrantType string `json:"grant_type"`
	}
	if json.Unmarshal(body, &g) != nil {
		return ""
	}
	return g.GrantType
}
