package mocksikka

import (
	"fmt"
	"net/http"
	"sort"
)

// The SPU (Sikka Platform Utility) is the program on the practice's server that executes
// writebacks and sends the data that webhooks announce. The mock keeps, per office, whether
// its SPU is online (every office starts online; Reset puts them all back online):
//   - a writeback whose body has check_spu=true is refused with 412 API2017 while the office's
//     SPU is offline, exactly as documented;
//   - other writebacks are accepted and stay pending until the SPU is back;
//   - no webhook of the office fires while its SPU is offline (Sikka: "SPU must be running").

// SPUStatus is one office's SPU state, as GET /_mock/spu lists it.
type SPUStatus struct {
	OfficeID string `json:"office_id"`
	Online   bool   `json:"online"`
}

// SetSPUOnline switches the SPU of officeID on or off. Coming back online lets pending
// writebacks and webhooks of the office proceed at once. It fails with ErrNotFound for an
// office that has no practice configured.
func (s *Server) SetSPUOnline(officeID string, online bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.officeExists(officeID) {
		return fmt.Errorf("spu: office %q: %w", officeID, ErrNotFound)
	}
	if online {
		delete(s.spuOffline, officeID)
		s.runClockLocked()
		return nil
	}
	s.spuOffline[officeID] = true
	return nil
}

// SPUs lists every configured office with its SPU state, ordered by office id.
func (s *Server) SPUs() []SPUStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []SPUStatus
	for _, p := range s.practices {
		if !seen[p.OfficeID] {
			seen[p.OfficeID] = true
			out = append(out, SPUStatus{OfficeID: p.OfficeID, Online: !s.spuOffline[p.OfficeID]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OfficeID < out[j].OfficeID })
	return out
}

// spuOnlineLocked reports whether officeID's SPU is online; the caller holds s.mu.
func (s *Server) spuOnlineLocked(officeID string) bool { return !s.spuOffline[officeID] }

func (s *Server) adminSPUs(c *call) { c.json(http.StatusOK, s.SPUs()) }

func (s *Server) adminSetSPU(c *call) {
	var in struct {
		OfficeID string `json:"office_id"`
		Online   *bool  `json:"online"`
	}
	if !c.decodeAdmin(&in) {
		return
	}
	if in.OfficeID == "" || in.Online == nil {
		c.adminFail(fmt.Errorf(`give office_id and online, e.g. {"office_id":"D36225","online":false}: %w`, ErrInvalid))
		return
	}
	if err := s.SetSPUOnline(in.OfficeID, *in.Online); err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusOK, SPUStatus{OfficeID: in.OfficeID, Online: *in.Online})
}
