package mocksikka

// Sizes is what the store holds: codes, request keys, refresh keys and the
// lengths of the issue-order queues used for eviction.
type Sizes struct{ Codes, Keys, Refresh, CodeQueue, KeyQueue, RefreshQueue int }

// StoreSizes reports the store's sizes, for the tests of its bounds.
func (s *Server) StoreSizes() Sizes {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.store
	return Sizes{len(st.codes), len(st.keys), len(st.refresh), len(st.codeOrder.q), len(st.keyOrder.q), len(st.refreshOrder.q)}
}
