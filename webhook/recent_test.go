package webhook

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func n(s string) [32]byte {
	k, _ := name(Event{Type: "patient", OfficeID: "D1"}, s, "")
	return k
}

// The ring remembers its size's worth of names, forgetting the oldest first.
func TestRecentIsBounded(t *testing.T) {
	r := newRecent(3)
	for _, s := range []string{"a", "b", "c"} {
		assert.True(t, r.claim(n(s)), s)
	}
	assert.False(t, r.claim(n("a")), "remembered")
	assert.True(t, r.claim(n("d")), "a fourth name pushes out the oldest")
	assert.True(t, r.claim(n("a")), "a was forgotten")
	assert.False(t, r.claim(n("d")))
	assert.Len(t, r.index, 3)

	// A forgotten name claimed again survives the eviction of its old slot.
	r = newRecent(3)
	r.claim(n("x")) // slot 0
	r.forget(n("x"))
	r.claim(n("x")) // slot 1; slot 0 still holds x's stale copy
	r.claim(n("y")) // slot 2
	r.claim(n("z")) // evicts slot 0: the stale copy
	assert.False(t, r.claim(n("x")), "x, in slot 1, is still remembered")
}

// Deliveries with neither generated_time nor prev_generated_time have no
// name: nothing tells two of them apart.
func TestNoTimesNoName(t *testing.T) {
	_, named := name(Event{Type: "patient", OfficeID: "D1"}, "", "")
	assert.False(t, named)
	a, _ := name(Event{Type: "patient", OfficeID: "D1", PracticeID: "1"}, "t", "")
	b, _ := name(Event{Type: "patient", OfficeID: "D1", PracticeID: "1"}, "", "t")
	assert.NotEqual(t, a, b, "the parts are kept apart")
}
