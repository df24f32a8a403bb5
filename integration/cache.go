// The in-process credentials cache: Credentials and HTTPClient read from it,
// so that a call with a cached key makes no database and no secret-store
// round trip. The staleness contract is in the package doc.

package integration

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/parlae/sikka-connect/secretstore"
)

// Defaults of the cache settings of Config.
const (
	// DefaultCacheStaleness is how long a cached entry is served before the
	// record and the secret are read again (Config.CacheStaleness).
	DefaultCacheStaleness = 5 * time.Minute
	// DefaultCacheSize is how many accounts the cache holds at most
	// (Config.CacheSize); the least recently used is dropped first.
	DefaultCacheSize = 10000
)

// credCache holds the credentials of ACTIVE accounts, at most max of them,
// least recently used dropped first. Safe for concurrent use.
//
// A reader that missed reads the record and the secret, then fills the cache
// with what it read only if no write of any secret (or drop) happened in
// between (the epoch did not move): so a fill never puts back a value that
// a write of this process replaced while the reader was reading.
type credCache struct {
	mu        sync.Mutex
	max       int
	staleness time.Duration
	lru       *list.List               // of *cacheEntry, most recent first
	byAccount map[string]*list.Element // account id → element
	bySecret  map[string]string        // secret name and ref → account id
	epoch     uint64                   // bumped by every drop and write
}

// cacheEntry is one account's cached credentials.
type cacheEntry struct {
	account string
	name    string // the secret's name (SecretNames)
	sec     secretstore.Secret
	read    time.Time // when the record and the secret were read (Config.Now)
	// until is when the entry stops being served: read + staleness, or
	// when the key comes within RefreshMargin of its expiry, if sooner.
	until time.Time
	// timer drops the entry at until, so that no key stays in memory past
	// it even if the account is never asked for again.
	timer *time.Timer
}

func newCredCache(size int, staleness time.Duration) *credCache {
	return &credCache{
		max:       size,
		staleness: staleness,
		lru:       list.New(),
		byAccount: make(map[string]*list.Element),
		bySecret:  make(map[string]string),
	}
}

// get returns the account's credentials if now is before the entry's
// until (and not before it was read); an entry past it is dropped.
func (c *credCache) get(account string, now time.Time) (secretstore.Secret, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byAccount[account]
	if !ok {
		return secretstore.Secret{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.until) || now.Before(e.read) {
		c.removeLocked(el)
		return secretstore.Secret{}, false
	}
	c.lru.MoveToFront(el)
	return e.sec, true
}

// begin returns the epoch a reader must pass to fill.
func (c *credCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// fill caches sec as the account's credentials, read at read and served
// until read + staleness or dueAt (when the key comes within RefreshMargin
// of expiring), whichever is sooner, unless a drop or a write happened since
// epoch was taken (begin). A timer drops the entry then.
func (c *credCache) fill(epoch uint64, account, name string, sec secretstore.Secret, read, dueAt time.Time) {
	until := read.Add(c.staleness)
	if dueAt.Before(until) {
		until = dueAt
	}
	if !read.Before(until) {
		return // nothing to serve
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if el, ok := c.byAccount[account]; ok {
		c.removeLocked(el)
	}
	e := &cacheEntry{account: account, name: name, sec: sec, read: read, until: until}
	e.timer = time.AfterFunc(until.Sub(read), func() { c.expire(e) })
	c.byAccount[account] = c.lru.PushFront(e)
	c.bySecret[name] = account
	if sec.Ref != "" {
		c.bySecret[sec.Ref] = account
	}
	for c.lru.Len() > c.max {
		c.removeLocked(c.lru.Back())
	}
}

// drop forgets the account's credentials, and keeps readers that started
// before from filling the cache with what they read.
func (c *credCache) drop(account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if el, ok := c.byAccount[account]; ok {
		c.removeLocked(el)
	}
}

// dropSecret is drop for the account whose secret has this name or ref (any
// write of a secret bumps the epoch, cached or not).
func (c *credCache) dropSecret(nameOrRef string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if account, ok := c.bySecret[nameOrRef]; ok {
		if el, ok := c.byAccount[account]; ok {
			c.removeLocked(el)
		}
	}
}

// expire drops e if it is still the account's entry (its timer fired).
func (c *credCache) expire(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byAccount[e.account]; ok && el.Value.(*cacheEntry) == e {
		c.removeLocked(el)
	}
}

func (c *credCache) removeLocked(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	e.timer.Stop()
	delete(c.byAccount, e.account)
	delete(c.bySecret, e.name)
	if e.sec.Ref != "" {
		delete(c.bySecret, e.sec.Ref)
	}
}

// len returns how many accounts are cached.
func (c *credCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// cachingStore is the service's view of Config.Secrets: every write of a
// secret (Put, Delete, Restore, by any path of the service: connect,
// reconnect, refresh, recovery, disconnect) drops the account's cached
// credentials, before the write (so no reader serves them during it) and
// after it (so no reader that read the old value fills the cache with it).
type cachingStore struct {
	secretstore.Store
	cache *credCache
}

func (s cachingStore) Put(ctx context.Context, name string, c secretstore.Credentials, opts ...secretstore.PutOption) (secretstore.Receipt, error) {
	s.cache.dropSecret(name)
	defer s.cache.dropSecret(name)
	return s.Store.Put(ctx, name, c, opts...)
}

func (s cachingStore) Delete(ctx context.Context, nameOrRef string) error {
	s.cache.dropSecret(nameOrRef)
	defer s.cache.dropSecret(nameOrRef)
	return s.Store.Delete(ctx, nameOrRef)
}

func (s cachingStore) Restore(ctx context.Context, nameOrRef, version string) error {
	s.cache.dropSecret(nameOrRef)
	defer s.cache.dropSecret(nameOrRef)
	return s.Store.Restore(ctx, nameOrRef, version)
}
