package mocksikka

import "testing"

func TestNaturalCompare(t *testing.T) {
	ordered := []string{"", "0", "01", "1", "1-0", "1-1", "1-10", "2", "9", "10", "10a", "C10001", "D2", "D20006", "D36225", "D48213", "a"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := naturalCompare(ordered[i], ordered[j]); got != want {
				t.Errorf("naturalCompare(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}
