package redact

import "testing"

func TestIfSet(t *testing.T) {
	for in, want := range map[string]string{"": "", "s3cr3t": Marker, " ": Marker} {
		if got := IfSet(in); got != want {
			t.Errorf("IfSet(%q) = %q, want %q", in, got, want)
		}
	}
}
