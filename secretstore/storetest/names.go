// The suite's cases of names and account ids.

package storetest

import (
	"testing"

	"github.com/parlae/sikka-connect/secretstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (s *suite) unusualNames(t *testing.T) {
	st := s.newStore(t)
	for _, id := range []string{"user@example.com", "A.b-C_d", "0", "x.y.z", "-lead", "trail-", "_", "123e4567-e89b-12d3-a456-426614174000"} {
		name := s.name(t, "u") + "/" + id
		putAndReadBack(t, st, name, NewCredentials("u"))
		require.NoError(t, st.Delete(ctx(t), name))
	}
	// Characters allowed in names but not in account ids.
	name := s.name(t, "u") + "/a+b=c"
	r, err := st.Put(ctx(t), name, NewCredentials("plus"))
	require.NoError(t, err, "Put(%q)", name)
	got, err := st.Get(ctx(t), r.Ref)
	require.NoError(t, err)
	assert.Equal(t, r.Version, got.Version)
}

// emailAccountIDs stores credentials under the names of e-mail-like account
// ids, which secretstore.ValidateAccountID accepts: every backend must store
// what that rule lets through.
func (s *suite) emailAccountIDs(t *testing.T) {
	st := s.newStore(t)
	tpl := secretstore.NameTemplate("parlae/pms/sikka/" + s.prefix + "-" + randHex(3) + "/{accountId}")
	for _, id := range []string{"a+b@x.com", "first.last+tag=1@sub.example.org", "=+a@b_c-d.e"} {
		require.NoError(t, secretstore.ValidateAccountID(id), id)
		name, err := tpl.Name(id)
		require.NoError(t, err, id)
		c := NewCredentials("email")
		r := putAndReadBack(t, st, name, c)
		again := NewCredentials("email2")
		r2, err := st.Put(ctx(t), name, again, secretstore.IfVersion(r.Version))
		require.NoError(t, err, "overwrite %q", name)
		require.NoError(t, st.Restore(ctx(t), name, r2.Previous), "restore %q", name)
		got, err := st.Get(ctx(t), name)
		require.NoError(t, err)
		AssertSameCredentials(t, c, got.Credentials)
		require.NoError(t, st.Delete(ctx(t), r.Ref))
		_, err = st.Get(ctx(t), name)
		require.ErrorIs(t, err, secretstore.ErrNotFound, "deleted %q", name)
	}
}

// putAndReadBack puts c under name and reads it back, intact and at the
// version Put returned, both by name and by the receipt's Ref.
func putAndReadBack(t *testing.T, st secretstore.Store, name string, c secretstore.Credentials) secretstore.Receipt {
	t.Helper()
	r, err := st.Put(ctx(t), name, c)
	require.NoError(t, err, "Put(%q)", name)
	for _, key := range []string{name, r.Ref} {
		got, err := st.Get(ctx(t), key)
		require.NoError(t, err, "Get(%q)", key)
		AssertSameCredentials(t, c, got.Credentials)
		assert.Equal(t, r.Version, got.Version, "Get(%q)", key)
	}
	return r
}

func (s *suite) invalidNames(t *testing.T) {
	st, c := s.newStore(t), NewCredentials("bad")
	for _, name := range []string{"", "/abs", "trail/", "a//b", "a/../b", "..", "a b", "a\x00b", "a\nb", "é", "a?b", "a#b", "a%2Fb"} {
		_, err := st.Put(ctx(t), name, c)
		require.ErrorIs(t, err, secretstore.ErrInvalidName, "Put(%q)", name)
		AssertNoSecretIn(t, err, c)
		_, err = st.Get(ctx(t), name)
		require.ErrorIs(t, err, secretstore.ErrInvalidName, "Get(%q)", name)
		require.ErrorIs(t, st.Delete(ctx(t), name), secretstore.ErrInvalidName, "Delete(%q)", name)
		require.ErrorIs(t, st.Restore(ctx(t), name, "1"), secretstore.ErrInvalidName, "Restore(%q)", name)
	}
}
