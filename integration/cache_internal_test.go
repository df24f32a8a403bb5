package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/parlae/sikka-connect/secretstore"
)

// The cache keeps no key in memory past the moment it stops serving it: an
// entry is dropped by its timer when the key comes within RefreshMargin of
// expiring (or at the staleness bound), even if nobody asks again.
func TestCacheDropsEntriesOnTime(t *testing.T) {
	c := newCredCache(10, time.Hour)
	now := time.Now()
	sec := secretstore.Secret{Ref: "ref-a", Credentials: secretstore.Credentials{RequestKey: "key-a"}}
	c.fill(c.begin(), "a", "name-a", sec, now, now.Add(50*time.Millisecond)) // due soon
	c.fill(c.begin(), "b", "name-b", sec, now, now.Add(time.Hour))
	got, ok := c.get("a", now)
	assert.True(t, ok)
	assert.Equal(t, "key-a", got.RequestKey)
	_, ok = c.get("a", now.Add(50*time.Millisecond))
	assert.False(t, ok, "not served once due")

	c.fill(c.begin(), "a", "name-a", sec, now, now.Add(50*time.Millisecond))
	assert.Eventually(t, func() bool { return c.len() == 1 }, 5*time.Second, 5*time.Millisecond,
		"the due entry is dropped by its timer")
	_, ok = c.get("b", now)
	assert.True(t, ok, "the other stays")

	c.fill(c.begin(), "c", "name-c", sec, now, now) // already due: not cached
	_, ok = c.get("c", now)
	assert.False(t, ok)
}

// A reader that read before a write (or a drop) cannot put what it read
// back into the cache.
func TestCacheFillAfterAWriteIsRefused(t *testing.T) {
	c := newCredCache(10, time.Hour)
	now := time.Now()
	old := secretstore.Secret{Ref: "ref-a", Credentials: secretstore.Credentials{RequestKey: "old"}}
	epoch := c.begin()                                         // a reader starts
	c.dropSecret("name-a")                                     // a write of the account's secret happens
	c.fill(epoch, "a", "name-a", old, now, now.Add(time.Hour)) // the reader's fill comes late
	_, ok := c.get("a", now)
	assert.False(t, ok)

	c.fill(c.begin(), "a", "name-a", old, now, now.Add(time.Hour))
	c.dropSecret("ref-a") // by reference, as Delete and Restore are called
	_, ok = c.get("a", now)
	assert.False(t, ok)
	assert.Zero(t, c.len())
}
