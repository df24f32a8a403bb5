package integration

import (
	"context"
	"fmt"
	"sync"
)

// forEachPaged runs work on every item list returns, reading a page at a time
// (each page starts after the account id of the previous page's last item)
// with at most concurrency calls of work at once. It returns once every call
// has finished: how many items it started work on, and a listing failure
// (wrapped, naming what) or ctx's error when ctx ended first.
func forEachPaged[T any](ctx context.Context, what string, concurrency int,
	list func(ctx context.Context, after string) ([]T, error),
	accountOf func(T) string,
	work func(T),
) (started int, err error) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, concurrency)
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return started, err
		}
		page, err := list(ctx, after)
		if err != nil {
			return started, fmt.Errorf("integration: list %s: %w", what, err)
		}
		if len(page) == 0 {
			return started, nil
		}
		after = accountOf(page[len(page)-1])
		for _, item := range page {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return started, ctx.Err()
			}
			started++
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				work(item)
			}()
		}
	}
}
