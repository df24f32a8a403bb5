package webhook

import (
	"crypto/sha256"
	"sync"
)

// recent remembers the last deliveries the receiver handled, to answer a
// duplicate without handling it twice. A delivery is named by its event,
// office, practice, generated_time and prev_generated_time (deliveries
// without either time are never taken for duplicates: nothing tells two of
// them apart); names are kept as SHA-256 digests, in a ring of fixed size
// (the oldest is forgotten first), so memory stays bounded whatever Sikka
// sends: about 100 bytes a name. It is per process: replicas behind a load
// balancer, or a retry after the name has left the ring, can still hand an
// event to the hook twice, so hooks should be idempotent.
type recent struct {
	mu    sync.Mutex
	index map[[32]byte]int // name → its slot in ring
	ring  [][32]byte
	next  int // the slot the next name takes
	full  bool
}

func newRecent(size int) *recent {
	return &recent{index: make(map[[32]byte]int, size), ring: make([][32]byte, size)}
}

// name returns the duplicate-detection name of e, and false when e has none.
func name(e Event, generated, prevGenerated string) ([32]byte, bool) {
	if generated == "" && prevGenerated == "" {
		return [32]byte{}, false
	}
	h := sha256.New()
	for _, part := range []string{e.Type, e.OfficeID, e.PracticeID, generated, prevGenerated} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, true
}

// claim remembers n and reports true, or reports false when n is
// remembered already (a duplicate).
func (r *recent) claim(n [32]byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.index[n]; dup {
		return false
	}
	if r.full {
		old := r.ring[r.next]
		if slot, ok := r.index[old]; ok && slot == r.next {
			delete(r.index, old)
		}
	}
	r.ring[r.next] = n
	r.index[n] = r.next
	r.next++
	if r.next == len(r.ring) {
		r.next, r.full = 0, true
	}
	return true
}

// forget drops n, claimed by a delivery that then failed, so that Sikka's
// retry is handled.
func (r *recent) forget(n [32]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.index, n)
}
