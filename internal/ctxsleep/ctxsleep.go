// Package ctxsleep is the module's one wait that a context can cut short,
// for the retries and pacing of sikka and integration. It imports only the
// standard library, so sikka stays free of third-party imports.
package ctxsleep

import (
	"context"
	"time"
)

// Sleep waits d and returns nil, or returns ctx's error as soon as ctx ends
// first (at once for a context that has already ended). Its timer is
// released either way.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
