package mocksikka

// DataChanged tells the data-change listeners of ch, as a completed writeback does: the tests'
// way to raise a data event before writebacks exist.
func (s *Server) DataChanged(ch DataChange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataChangedLocked(ch)
}
