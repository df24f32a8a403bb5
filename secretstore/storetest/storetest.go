// Package storetest is the contract suite every secretstore.Store backend
// passes. A backend's test calls Run:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) secretstore.Store { return memory.New() })
//	}
//
// Every test uses names under a random prefix, so backends may share one
// server (and one store) between tests and between runs.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/secretstore"
)

// Concurrency is how many goroutines the concurrent tests start.
const Concurrency = 8

// Run runs the contract suite as subtests of t. newStore is called once per
// subtest; it may return the same store each time.
func Run(t *testing.T, newStore func(t *testing.T) secretstore.Store) {
	s := &suite{newStore: newStore, prefix: "storetest-" + randHex(4)}
	t.Run("PutGetRoundTrip", s.putGetRoundTrip)
	t.Run("GetMissing", s.getMissing)
	t.Run("OverwriteInPlace", s.overwriteInPlace)
	t.Run("Restore", s.restore)
	t.Run("RestoreMissing", s.restoreMissing)
	t.Run("Delete", s.delete)
	t.Run("DeleteByRef", s.deleteByRef)
	t.Run("DeleteMissing", s.deleteMissing)
	t.Run("IfVersion", s.ifVersion)
	t.Run("UnusualNames", s.unusualNames)
	t.Run("EmailAccountIDs", s.emailAccountIDs)
	t.Run("InvalidNames", s.invalidNames)
	t.Run("DualWriteUndo", s.dualWriteUndo)
	t.Run("ConcurrentWritersSameName", s.concurrentSameName)
	t.Run("ConcurrentCASWritersSameName", s.concurrentCAS)
	t.Run("ConcurrentCASCreators", s.concurrentCASCreate)
	t.Run("ConcurrentWritersDifferentNames", s.concurrentDifferentNames)
	t.Run("CancelledContext", s.cancelledContext)
}

type suite struct {
	newStore func(t *testing.T) secretstore.Store
	prefix   string
}

// name returns a fresh valid secret name made with the default template.
func (s *suite) name(t *testing.T, label string) string {
	t.Helper()
	n, err := secretstore.DefaultNameTemplate.Name(s.prefix + "-" + label + "-" + randHex(3))
	require.NoError(t, err)
	return n
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewCredentials returns credentials with random secret fields (distinct in
// every call) and a token expiry with nanosecond precision.
func NewCredentials(label string) secretstore.Credentials {
	return secretstore.Credentials{
		OfficeID:     "D" + randHex(3),
		SecretKey:    "sk-" + label + "-" + randHex(16),
		RequestKey:   "rq-" + label + "-" + randHex(16),
		RefreshKey:   "rf-" + label + "-" + randHex(16),
		TokenExpiry:  time.Now().Add(24 * time.Hour).Round(0).Add(123456789 * time.Nanosecond),
		PracticeName: "Happy Dental Clinic " + label,
		PracticeID:   "1-" + label,
		PMSType:      "Dentrix",
	}
}

// AssertSameCredentials checks all fields, comparing the expiry as an
// instant.
func AssertSameCredentials(t *testing.T, want, got secretstore.Credentials) bool {
	t.Helper()
	ok := assert.Truef(t, want.TokenExpiry.Equal(got.TokenExpiry), "TokenExpiry: want %s, got %s",
		want.TokenExpiry.Format(time.RFC3339Nano), got.TokenExpiry.Format(time.RFC3339Nano))
	got.TokenExpiry = want.TokenExpiry
	// Compare the secret fields without printing them on failure.
	ok = assert.True(t, want.SecretKey == got.SecretKey, "SecretKey differs") && ok
	ok = assert.True(t, want.RequestKey == got.RequestKey, "RequestKey differs") && ok
	ok = assert.True(t, want.RefreshKey == got.RefreshKey, "RefreshKey differs") && ok
	return assert.Equal(t, want.String(), got.String()) && ok
}

func same(a, b secretstore.Credentials) bool {
	return a.TokenExpiry.Equal(b.TokenExpiry) && a.OfficeID == b.OfficeID && a.SecretKey == b.SecretKey &&
		a.RequestKey == b.RequestKey && a.RefreshKey == b.RefreshKey && a.PracticeName == b.PracticeName &&
		a.PracticeID == b.PracticeID && a.PMSType == b.PMSType
}

// AssertNoSecretIn fails t if err, in any fmt rendering, contains a secret
// field of any of cs.
func AssertNoSecretIn(t *testing.T, err error, cs ...secretstore.Credentials) {
	t.Helper()
	if err == nil {
		return
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for _, c := range cs {
			for _, v := range []string{c.SecretKey, c.RequestKey, c.RefreshKey} {
				if v != "" && strings.Contains(text, v) {
					t.Errorf("error leaks a secret value: the rendering of a %T contains one", err)
				}
			}
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func (s *suite) putGetRoundTrip(t *testing.T) {
	st, c := s.newStore(t), NewCredentials("rt")
	name := s.name(t, "rt")
	rc, err := st.Put(ctx(t), name, c)
	require.NoError(t, err)
	assert.NotEmpty(t, rc.Ref)
	assert.NotEmpty(t, rc.Version)
	assert.Empty(t, rc.Previous, "Put that creates has no Previous")

	for _, key := range []string{name, rc.Ref} {
		got, err := st.Get(ctx(t), key)
		require.NoError(t, err, "Get(%q)", key)
		assert.Equal(t, rc.Ref, got.Ref)
		assert.Equal(t, rc.Version, got.Version)
		AssertSameCredentials(t, c, got.Credentials)
	}

	// Zero expiry and empty fields survive too.
	empty := secretstore.Credentials{OfficeID: "D0", SecretKey: "sk-" + randHex(8)}
	name2 := s.name(t, "rt-empty")
	_, err = st.Put(ctx(t), name2, empty)
	require.NoError(t, err)
	got, err := st.Get(ctx(t), name2)
	require.NoError(t, err)
	assert.True(t, got.TokenExpiry.IsZero())
	AssertSameCredentials(t, empty, got.Credentials)
}

func (s *suite) getMissing(t *testing.T) {
	st := s.newStore(t)
	_, err := st.Get(ctx(t), s.name(t, "missing"))
	require.ErrorIs(t, err, secretstore.ErrNotFound)
}

func (s *suite) overwriteInPlace(t *testing.T) {
	st, a, b := s.newStore(t), NewCredentials("a"), NewCredentials("b")
	name := s.name(t, "ow")
	r1, err := st.Put(ctx(t), name, a)
	require.NoError(t, err)
	r2, err := st.Put(ctx(t), name, b)
	require.NoError(t, err)
	assert.Equal(t, r1.Ref, r2.Ref, "overwrite keeps the reference")
	assert.NotEqual(t, r1.Version, r2.Version, "overwrite makes a new version")
	assert.Equal(t, r1.Version, r2.Previous, "Previous is the version overwritten")
	got, err := st.Get(ctx(t), r1.Ref)
	require.NoError(t, err)
	assert.Equal(t, r2.Version, got.Version)
	AssertSameCredentials(t, b, got.Credentials)
}

func (s *suite) restore(t *testing.T) {
	st, a, b := s.newStore(t), NewCredentials("a"), NewCredentials("b")
	name := s.name(t, "restore")
	r1, err := st.Put(ctx(t), name, a)
	require.NoError(t, err)
	r2, err := st.Put(ctx(t), name, b)
	require.NoError(t, err)

	require.NoError(t, st.Restore(ctx(t), name, r2.Previous))
	got, err := st.Get(ctx(t), name)
	require.NoError(t, err)
	AssertSameCredentials(t, a, got.Credentials)
	assert.Equal(t, r1.Ref, got.Ref)
	assert.NotEqual(t, r2.Version, got.Version, "the restored value is current")

	// Restore by reference, back to b.
	require.NoError(t, st.Restore(ctx(t), r1.Ref, r2.Version))
	got, err = st.Get(ctx(t), name)
	require.NoError(t, err)
	AssertSameCredentials(t, b, got.Credentials)

	// A later overwrite still reports the restored version as Previous.
	r3, err := st.Put(ctx(t), name, a)
	require.NoError(t, err)
	assert.Equal(t, got.Version, r3.Previous)
}

func (s *suite) restoreMissing(t *testing.T) {
	st, a := s.newStore(t), NewCredentials("a")
	err := st.Restore(ctx(t), s.name(t, "restore-missing"), "1")
	require.ErrorIs(t, err, secretstore.ErrNotFound)

	name := s.name(t, "restore-badversion")
	_, err = st.Put(ctx(t), name, a)
	require.NoError(t, err)
	for _, v := range []string{"999999", "00000000-0000-4000-8000-000000000000", "no-such-version"} {
		err = st.Restore(ctx(t), name, v)
		require.ErrorIs(t, err, secretstore.ErrNotFound, "version %q", v)
		AssertNoSecretIn(t, err, a)
	}
	got, err := st.Get(ctx(t), name)
	require.NoError(t, err)
	AssertSameCredentials(t, a, got.Credentials)
}

func (s *suite) delete(t *testing.T) {
	st, a := s.newStore(t), NewCredentials("a")
	name := s.name(t, "del")
	r1, err := st.Put(ctx(t), name, a)
	require.NoError(t, err)
	_, err = st.Put(ctx(t), name, NewCredentials("b"))
	require.NoError(t, err)
	require.NoError(t, st.Delete(ctx(t), name))
	for _, key := range []string{name, r1.Ref} {
		_, err = st.Get(ctx(t), key)
		require.ErrorIs(t, err, secretstore.ErrNotFound, "Get(%q) after Delete", key)
	}
	err = st.Restore(ctx(t), name, r1.Version)
	require.ErrorIs(t, err, secretstore.ErrNotFound, "all versions are gone")
	require.ErrorIs(t, st.Delete(ctx(t), name), secretstore.ErrNotFound, "second Delete")
}

func (s *suite) deleteByRef(t *testing.T) {
	st, a := s.newStore(t), NewCredentials("a")
	name := s.name(t, "delref")
	r, err := st.Put(ctx(t), name, a)
	require.NoError(t, err)
	require.NoError(t, st.Delete(ctx(t), r.Ref))
	_, err = st.Get(ctx(t), name)
	require.ErrorIs(t, err, secretstore.ErrNotFound)
}

func (s *suite) deleteMissing(t *testing.T) {
	st := s.newStore(t)
	require.ErrorIs(t, st.Delete(ctx(t), s.name(t, "delmissing")), secretstore.ErrNotFound)
}

func (s *suite) ifVersion(t *testing.T) {
	st, a, b, c := s.newStore(t), NewCredentials("a"), NewCredentials("b"), NewCredentials("c")
	name := s.name(t, "cas")

	r1, err := st.Put(ctx(t), name, a, secretstore.IfVersion(""))
	require.NoError(t, err, "IfVersion(\"\") creates")
	assert.Empty(t, r1.Previous)

	_, err = st.Put(ctx(t), name, b, secretstore.IfVersion(""))
	require.ErrorIs(t, err, secretstore.ErrVersionConflict, "IfVersion(\"\") on an existing secret")
	AssertNoSecretIn(t, err, a, b)

	r2, err := st.Put(ctx(t), name, b, secretstore.IfVersion(r1.Version))
	require.NoError(t, err, "IfVersion(current)")
	assert.Equal(t, r1.Version, r2.Previous)

	_, err = st.Put(ctx(t), name, c, secretstore.IfVersion(r1.Version))
	require.ErrorIs(t, err, secretstore.ErrVersionConflict, "IfVersion(stale)")
	AssertNoSecretIn(t, err, a, b, c)
	_, err = st.Put(ctx(t), name, c, secretstore.IfVersion("no-such-version"))
	require.ErrorIs(t, err, secretstore.ErrVersionConflict, "IfVersion(unknown)")

	got, err := st.Get(ctx(t), name)
	require.NoError(t, err)
	assert.Equal(t, r2.Version, got.Version, "conflicts wrote nothing")
	AssertSameCredentials(t, b, got.Credentials)

	_, err = st.Put(ctx(t), s.name(t, "cas-missing"), c, secretstore.IfVersion(r1.Version))
	require.ErrorIs(t, err, secretstore.ErrVersionConflict, "IfVersion(v) on a missing secret")
}

// dualWriteUndo plays the integration service's undo of a failed record
// write, for a first connect and for a reconnect.
func (s *suite) dualWriteUndo(t *testing.T) {
	st, a, b := s.newStore(t), NewCredentials("a"), NewCredentials("b")
	name := s.name(t, "undo")
	undo := func(r secretstore.Receipt) error {
		if r.Previous == "" {
			return st.Delete(ctx(t), r.Ref)
		}
		return st.Restore(ctx(t), r.Ref, r.Previous)
	}

	r, err := st.Put(ctx(t), name, a)
	require.NoError(t, err)
	require.NoError(t, undo(r))
	_, err = st.Get(ctx(t), name)
	require.ErrorIs(t, err, secretstore.ErrNotFound, "undoing a first connect removes the secret")

	r, err = st.Put(ctx(t), name, a)
	require.NoError(t, err)
	assert.Empty(t, r.Previous, "Put after Delete creates anew")
	r, err = st.Put(ctx(t), name, b)
	require.NoError(t, err)
	require.NoError(t, undo(r))
	got, err := st.Get(ctx(t), name)
	require.NoError(t, err)
	AssertSameCredentials(t, a, got.Credentials)
}

func (s *suite) cancelledContext(t *testing.T) {
	st, a, b := s.newStore(t), NewCredentials("a"), NewCredentials("b")
	name := s.name(t, "cancel")
	r, err := st.Put(ctx(t), name, a)
	require.NoError(t, err)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		ctx  context.Context
		want error
	}{{cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		_, err = st.Put(tc.ctx, name, b)
		require.ErrorIs(t, err, tc.want, "Put")
		AssertNoSecretIn(t, err, a, b)
		_, err = st.Put(tc.ctx, s.name(t, "cancel-new"), b)
		require.ErrorIs(t, err, tc.want, "Put new")
		_, err = st.Get(tc.ctx, name)
		require.ErrorIs(t, err, tc.want, "Get")
		require.ErrorIs(t, st.Restore(tc.ctx, name, r.Version), tc.want, "Restore")
		require.ErrorIs(t, st.Delete(tc.ctx, name), tc.want, "Delete")
	}
	got, err := st.Get(ctx(t), name)
	require.NoError(t, err, "nothing was deleted")
	assert.Equal(t, r.Version, got.Version, "nothing was written")
	AssertSameCredentials(t, a, got.Credentials)
}
