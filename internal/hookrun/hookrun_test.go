package hookrun_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/hookrun"
	"github.com/parlae/sikka-connect/internal/syncbuf"
)

type key struct{}

func TestGoDetachesBoundsAndRecovers(t *testing.T) {
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	caller, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	cancel() // the caller is gone: the hook still runs, with the values

	got := make(chan context.Context, 1)
	hookrun.Go(caller, log, "test", 50*time.Millisecond, "watch", func(ctx context.Context) {
		<-ctx.Done()
		got <- ctx
	}, "account_id", "acct-1")
	select {
	case ctx := <-got:
		assert.Equal(t, "v", ctx.Value(key{}))
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "bounded by the timeout, not by the caller")
	case <-time.After(5 * time.Second):
		t.Fatal("the hook never ran or never timed out")
	}

	hookrun.Go(context.Background(), log, "test", time.Second, "boom", func(context.Context) { panic("kaput") }, "account_id", "acct-2")
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "test: hook panicked") }, 5*time.Second, 5*time.Millisecond)
	assert.Contains(t, logs.String(), "hook=boom")
	assert.Contains(t, logs.String(), "account_id=acct-2")
	assert.Contains(t, logs.String(), "panic=kaput")
}

func TestRunnerDropsBeyondItsBound(t *testing.T) {
	var logs syncbuf.Buffer
	r := hookrun.NewRunner(slog.New(slog.NewTextHandler(&logs, nil)), "test", time.Minute, 2)
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	block := func(context.Context) { started <- struct{}{}; <-release }

	assert.True(t, r.Go(context.Background(), "block", block))
	assert.True(t, r.Go(context.Background(), "block", block))
	<-started
	<-started
	assert.False(t, r.Go(context.Background(), "block", block, "office_id", "D1"), "a third call while two run is dropped")
	assert.Contains(t, logs.String(), "test: hook dropped")
	assert.Contains(t, logs.String(), "office_id=D1")

	close(release)
	require.Eventually(t, func() bool {
		ok := r.Go(context.Background(), "quick", func(context.Context) { started <- struct{}{} })
		return ok
	}, 5*time.Second, 5*time.Millisecond, "a slot frees up when a hook returns")

	// A panicking hook frees its slot too.
	r2 := hookrun.NewRunner(slog.New(slog.NewTextHandler(&logs, nil)), "test", time.Minute, 1)
	assert.True(t, r2.Go(context.Background(), "boom", func(context.Context) { panic("x") }))
	require.Eventually(t, func() bool {
		return r2.Go(context.Background(), "quick", func(context.Context) {})
	}, 5*time.Second, 5*time.Millisecond)
}
