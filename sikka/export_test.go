package sikka

import (
	"context"
	"time"
)

// SetSleep replaces how c waits between attempts, so that tests can record
// the waits instead of sleeping.
func SetSleep(c *Client, sleep func(ctx context.Context, d time.Duration) error) {
	c.sleep = sleep
}
