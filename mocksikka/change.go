package mocksikka

import "time"

// DataChange is one change to a practice's data (a completed writeback, a loaded fixture): what
// practice_events lists and what the patient, transaction and appointments webhooks announce.
type DataChange struct {
	// Event is the webhook event it announces: "patient", "transaction" or "appointments".
	Event      string
	OfficeID   string
	PracticeID string
	Time       time.Time // on the mock clock
}

// changeListener is told of every DataChange, with s.mu held; it must not block (network work
// goes to a goroutine). Listeners are registered in New, before the server is used.
type changeListener func(DataChange)

// onChange registers l; call it from New.
func (s *Server) onChange(l changeListener) { s.changeListeners = append(s.changeListeners, l) }

// dataChangedLocked tells every listener of ch; the caller holds s.mu.
func (s *Server) dataChangedLocked(ch DataChange) {
	for _, l := range s.changeListeners {
		l(ch)
	}
}
