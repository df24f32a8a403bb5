// Package hookrun runs the host's hooks for the project's packages, one way
// everywhere: each call in a goroutine of its own, with a context detached
// from the caller's cancellation (its values kept) and bounded by a timeout,
// a panic recovered and logged, and, for a Runner with a bound, at most that
// many at once (a call beyond it is dropped and logged). A slow or broken
// hook can therefore neither delay nor crash its caller.
package hookrun

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Go calls fn(ctx') in a new goroutine, where ctx' carries ctx's values but
// not its cancellation and ends after timeout. A panic in fn is recovered
// and logged on log as "<component>: hook panicked" with the hook's name,
// attrs (slog key-value pairs: never a secret) and the panic value.
func Go(ctx context.Context, log *slog.Logger, component string, timeout time.Duration, name string, fn func(context.Context), attrs ...any) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	go func() {
		defer cancel()
		defer recoverHook(log, component, name, attrs)
		fn(ctx)
	}()
}

func recoverHook(log *slog.Logger, component, name string, attrs []any) {
	if p := recover(); p != nil {
		args := append([]any{"hook", name}, attrs...)
		log.Error(component+": hook panicked", append(args, "panic", fmt.Sprint(p))...)
	}
}

// Runner is Go with a bound on the calls running at once. Safe for
// concurrent use; make one with NewRunner.
type Runner struct {
	log       *slog.Logger
	component string
	timeout   time.Duration
	slots     chan struct{}
}

// NewRunner returns a Runner whose calls end after timeout and of which at
// most max run at once (max > 0). Logs go to log under component's name.
func NewRunner(log *slog.Logger, component string, timeout time.Duration, max int) *Runner {
	return &Runner{log: log, component: component, timeout: timeout, slots: make(chan struct{}, max)}
}

// Go runs fn as the package's Go does, if fewer than the Runner's max calls
// are running, and reports true. Otherwise it does not call fn, logs
// "<component>: hook dropped" with name and attrs, and reports false. It
// never blocks.
func (r *Runner) Go(ctx context.Context, name string, fn func(context.Context), attrs ...any) bool {
	select {
	case r.slots <- struct{}{}:
	default:
		args := append([]any{"hook", name, "running", cap(r.slots)}, attrs...)
		r.log.Error(r.component+": hook dropped: too many hooks running (a hook is slow or stuck)", args...)
		return false
	}
	Go(ctx, r.log, r.component, r.timeout, name, func(ctx context.Context) {
		defer func() { <-r.slots }()
		fn(ctx)
	}, attrs...)
	return true
}
