package mocksikka

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// codeGrant is an authorization code waiting to be exchanged.
type codeGrant struct {
	appID, officeID string
	expires         time.Time
}

// keyPair is a request key, with the refresh key it was issued with.
type keyPair struct {
	requestKey      string
	appID, officeID string
	start, end      time.Time
	requestCount    int
	revoked         bool        // revoked by DELETE, or replaced by an invalidating refresh
	refresh         *refreshRec // the refresh key issued with it (a refresh keeps the same one)
}

// refreshRec is a refresh key: it lives until it is deleted (DELETE /v4/refresh_key) or
// forgotten as the oldest of MaxLiveKeys, and can be exchanged any number of times.
type refreshRec struct {
	key             string
	appID, officeID string
	current         *keyPair // the request key issued last with it
}

// keyState is what a request key is at a given time.
type keyState int

const (
	keyUnknown keyState = iota // never issued, revoked, or forgotten
	keyActive                  // usable
	keyExpired                 // past its end time, still remembered (ExpiredKeyMemory)
)

// store holds codes, keys and which app each office authorized. It is not safe for concurrent
// use: the Server's mutex guards it; that is what makes a code single-use.
//
// It is bounded: issuing a code or a key forgets every expired code, and every request key
// expired for more than ExpiredKeyMemory, when the mock clock has moved SweepInterval (or
// backwards) since the last sweep; and it forgets the oldest code, request key or refresh key
// issued when MaxLiveCodes (MaxLiveKeys) of them are held. authorized holds at most one entry
// per registered app and configured office.
type store struct {
	codes        map[string]codeGrant
	codeOrder    fifo[codeGrant]        // codes in issue order
	keys         map[string]*keyPair    // by request key
	refresh      map[string]*refreshRec // by refresh key
	keyOrder     fifo[*keyPair]         // request keys in issue order
	refreshOrder fifo[*refreshRec]      // refresh keys in issue order
	authorized   map[string]map[string]bool
	lastSweep    time.Time // mock-clock time of the last sweep of expired codes and keys
}

// fifo is the order in which the keys of a map m were added, for evicting the oldest. A key
// deleted from m by other means stays in the queue until it is skipped or compacted away, and
// the queue is compacted once it holds more than twice len(m) (plus slack), so that its upkeep
// is O(1) amortized and its size O(len(m)).
type fifo[V any] struct{ q []string }

// push records that k was just added to m.
func (f *fifo[V]) push(k string, m map[string]V) {
	if len(f.q) >= 2*len(m)+1024 {
		f.compact(m)
	}
	f.q = append(f.q, k)
}

// compact drops the keys no longer in m.
func (f *fifo[V]) compact(m map[string]V) {
	n := 0
	for _, k := range f.q {
		if _, ok := m[k]; ok {
			f.q[n] = k
			n++
		}
	}
	clear(f.q[n:])
	f.q = f.q[:n]
}

// popOldest removes from the queue and returns the oldest key still in m.
func (f *fifo[V]) popOldest(m map[string]V) (string, bool) {
	for len(f.q) > 0 {
		k := f.q[0]
		f.q[0] = ""
		f.q = f.q[1:]
		if _, ok := m[k]; ok {
			return k, true
		}
	}
	return "", false
}

func newStore() store {
	return store{
		codes:      map[string]codeGrant{},
		keys:       map[string]*keyPair{},
		refresh:    map[string]*refreshRec{},
		authorized: map[string]map[string]bool{},
	}
}

// randomHex returns n random bytes in hex. crypto/rand.Read does not fail (it aborts the
// program instead, since Go 1.24).
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// authorize records that officeID authorized appID.
func (st *store) authorize(appID, officeID string) {
	m := st.authorized[appID]
	if m == nil {
		m = map[string]bool{}
		st.authorized[appID] = m
	}
	m[officeID] = true
}

// sweep forgets every expired code and key, at most once per SweepInterval of the mock clock
// (and at once when the clock went backwards). A code or key forgotten here stays unknown even
// if the clock is later set back before its expiry.
func (st *store) sweep(now time.Time) {
	if since := now.Sub(st.lastSweep); since >= 0 && since < SweepInterval {
		return
	}
	st.lastSweep = now
	for c, g := range st.codes {
		if !now.Before(g.expires) {
			delete(st.codes, c)
		}
	}
	for _, k := range st.keys {
		if !now.Before(k.end.Add(ExpiredKeyMemory)) {
			st.drop(k)
		}
	}
	st.codeOrder.compact(st.codes)
	st.keyOrder.compact(st.keys)
}

// newCode issues a single-use code for appID and officeID, valid until now+ttl. At
// MaxLiveCodes it forgets the oldest code issued first.
func (st *store) newCode(appID, officeID string, now time.Time, ttl time.Duration) string {
	st.sweep(now)
	if len(st.codes) >= MaxLiveCodes {
		if old, ok := st.codeOrder.popOldest(st.codes); ok {
			delete(st.codes, old)
		}
	}
	code := randomHex(16)
	st.codes[code] = codeGrant{appID: appID, officeID: officeID, expires: now.Add(ttl)}
	st.codeOrder.push(code, st.codes)
	st.authorize(appID, officeID)
	return code
}

// redeemCode consumes code for appID and returns its office. A code of another app is left
// in place; an expired one is dropped.
func (st *store) redeemCode(code, appID string, now time.Time) (officeID string, ok bool) {
	g, found := st.codes[code]
	if !found {
		return "", false
	}
	if !now.Before(g.expires) {
		delete(st.codes, code)
		return "", false
	}
	if g.appID != appID {
		return "", false
	}
	delete(st.codes, code)
	return g.officeID, true
}

// newKey issues a fresh request key with a fresh refresh key for appID and officeID, valid
// from now for ttl.
func (st *store) newKey(appID, officeID string, now time.Time, ttl time.Duration) *keyPair {
	st.sweep(now)
	if len(st.refresh) >= MaxLiveKeys {
		if old, ok := st.refreshOrder.popOldest(st.refresh); ok {
			delete(st.refresh, old)
		}
	}
	rr := &refreshRec{key: randomHex(16), appID: appID, officeID: officeID}
	st.refresh[rr.key] = rr
	st.refreshOrder.push(rr.key, st.refresh)
	return st.issue(rr, now, ttl)
}

// issue adds a request key for rr's app and office, valid from now for ttl. At MaxLiveKeys
// it forgets the oldest request key issued first.
func (st *store) issue(rr *refreshRec, now time.Time, ttl time.Duration) *keyPair {
	if len(st.keys) >= MaxLiveKeys {
		if old, ok := st.keyOrder.popOldest(st.keys); ok {
			st.drop(st.keys[old])
		}
	}
	k := &keyPair{
		requestKey: randomHex(16),
		appID:      rr.appID,
		officeID:   rr.officeID,
		start:      now,
		end:        now.Add(ttl),
		refresh:    rr,
	}
	rr.current = k
	st.keys[k.requestKey] = k
	st.keyOrder.push(k.requestKey, st.keys)
	st.authorize(rr.appID, rr.officeID)
	return k
}

// usableKey returns the key pair of requestKey if it is usable at now.
func (st *store) usableKey(requestKey string, now time.Time) (*keyPair, bool) {
	k, state := st.lookupKey(requestKey, now)
	return k, state == keyActive
}

// lookupKey returns requestKey's pair and state at now; the pair is nil when unknown.
func (st *store) lookupKey(requestKey string, now time.Time) (*keyPair, keyState) {
	k, ok := st.keys[requestKey]
	switch {
	case !ok || k.revoked:
		return nil, keyUnknown
	case !now.Before(k.end):
		return k, keyExpired
	}
	return k, keyActive
}

// refreshKey exchanges refreshKey of appID for a new request key; the refresh key stays the
// same and keeps working. With invalidate, the request key issued last with it is revoked.
func (st *store) refreshKey(refreshKey, appID string, now time.Time, ttl time.Duration, invalidate bool) (*keyPair, bool) {
	rr, ok := st.refresh[refreshKey]
	if !ok || rr.appID != appID {
		return nil, false
	}
	st.sweep(now)
	if old := rr.current; invalidate && old != nil {
		old.revoked = true
		st.drop(old)
	}
	return st.issue(rr, now, ttl), true
}

// refreshOf returns the refresh key record of refreshKey for appID.
func (st *store) refreshOf(refreshKey, appID string) (*refreshRec, bool) {
	rr, ok := st.refresh[refreshKey]
	if !ok || rr.appID != appID {
		return nil, false
	}
	return rr, true
}

// drop forgets a request key that can never be used again (revoked: it opens nothing any
// more, whatever the clock does), so that a long run of refreshes does not grow the store.
// An unknown key and a revoked one are refused alike. Its refresh key is not affected.
func (st *store) drop(k *keyPair) {
	delete(st.keys, k.requestKey)
}

// dropRefresh forgets a refresh key (DELETE /v4/refresh_key). The request keys issued with it
// keep working until they expire.
func (st *store) dropRefresh(rr *refreshRec) {
	delete(st.refresh, rr.key)
}
