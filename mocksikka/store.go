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

// keyPair is a request key with its refresh key.
type keyPair struct {
	requestKey, refreshKey string
	appID, officeID        string
	start, end             time.Time
	requestCount           int
	revoked                bool // revoked by DELETE, or replaced by an invalidating refresh
	refreshUsed            bool // the refresh key was exchanged
}

// usable reports whether the request key still opens the API at now.
func (k *keyPair) usable(now time.Time) bool { return !k.revoked && now.Before(k.end) }

// store holds codes, keys and which app each office authorized. It is not safe for concurrent
// use: the Server's mutex guards it; that is what makes a code single-use.
//
// It is bounded: issuing a code or a key forgets every expired code and key when the mock
// clock has moved SweepInterval (or backwards) since the last sweep, and forgets the oldest
// code (key pair) issued when MaxLiveCodes (MaxLiveKeys) are held. authorized holds at most
// one entry per registered app and configured office.
type store struct {
	codes      map[string]codeGrant
	codeOrder  fifo[codeGrant]     // codes in issue order
	keys       map[string]*keyPair // by request key
	refresh    map[string]*keyPair // by refresh key
	keyOrder   fifo[*keyPair]      // request keys in issue order
	authorized map[string]map[string]bool
	lastSweep  time.Time // mock-clock time of the last sweep of expired codes and keys
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
		refresh:    map[string]*keyPair{},
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
		if !now.Before(k.end) {
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

// newKey issues a fresh key pair for appID and officeID, valid from now for ttl. At
// MaxLiveKeys it forgets the oldest pair issued first.
func (st *store) newKey(appID, officeID string, now time.Time, ttl time.Duration) *keyPair {
	st.sweep(now)
	if len(st.keys) >= MaxLiveKeys {
		if old, ok := st.keyOrder.popOldest(st.keys); ok {
			st.drop(st.keys[old])
		}
	}
	keys := randomHex(32) // one read for both keys
	k := &keyPair{
		requestKey: keys[:32],
		refreshKey: keys[32:],
		appID:      appID,
		officeID:   officeID,
		start:      now,
		end:        now.Add(ttl),
	}
	st.keys[k.requestKey] = k
	st.refresh[k.refreshKey] = k
	st.keyOrder.push(k.requestKey, st.keys)
	st.authorize(appID, officeID)
	return k
}

// usableKey returns the key pair of requestKey if it is usable at now.
func (st *store) usableKey(requestKey string, now time.Time) (*keyPair, bool) {
	k, ok := st.keys[requestKey]
	if !ok || !k.usable(now) {
		return nil, false
	}
	return k, true
}

// refreshKey exchanges refreshKey of appID for a new pair. The refresh key works until its
// request key's end time, unless it was used or revoked by an invalidating refresh or a DELETE.
func (st *store) refreshKey(refreshKey, appID string, now time.Time, ttl time.Duration, invalidate bool) (*keyPair, bool) {
	old, ok := st.refresh[refreshKey]
	if !ok || old.appID != appID || old.revoked || old.refreshUsed || !now.Before(old.end) {
		return nil, false
	}
	if invalidate {
		old.revoked = true
		old.refreshUsed = true
		st.drop(old)
	}
	return st.newKey(appID, old.officeID, now, ttl), true
}

// drop forgets a key pair that can never be used again (revoked: neither its
// request key nor its refresh key opens anything any more, whatever the
// clock does), so that a long run of refreshes does not grow the store. An
// unknown key and a revoked one are refused alike.
func (st *store) drop(k *keyPair) {
	delete(st.keys, k.requestKey)
	delete(st.refresh, k.refreshKey)
}
