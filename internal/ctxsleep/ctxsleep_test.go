package ctxsleep

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepWaits(t *testing.T) {
	start := time.Now()
	if err := Sleep(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v, want nil", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("Sleep returned after %s, before its 20ms", waited)
	}
}

// A context that ends first cuts the wait short with its error; an hour's
// wait that did not end would time the test out.
func TestSleepEndsWithContext(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(canceled, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on a canceled context = %v, want context.Canceled", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Sleep past the context's deadline = %v, want context.DeadlineExceeded", err)
	}
}
