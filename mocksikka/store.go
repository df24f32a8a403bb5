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
type store struct {
	codes      map[string]codeGrant
	keys       map[string]*keyPair // by request key
	refresh    map[string]*keyPair // by refresh key
	authorized map[string]map[string]bool
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

// newCode issues a single-use code for appID and officeID, valid until now+ttl.
func (st *store) newCode(appID, officeID string, now time.Time, ttl time.Duration) string {
	code := randomHex(16)
	st.codes[code] = codeGrant{appID: appID, officeID: officeID, expires: now.Add(ttl)}
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

// newKey issues a fresh key pair for appID and officeID, valid from now for ttl.
func (st *store) newKey(appID, officeID string, now time.Time, ttl time.Duration) *keyPair {
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
