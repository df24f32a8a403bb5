package secretstore_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/secretstore"
)

func TestDefaultNameTemplate(t *testing.T) {
	name, err := secretstore.DefaultNameTemplate.Name("account_abc123")
	require.NoError(t, err)
	assert.Equal(t, "parlae/pms/sikka/account_abc123", name)
}

func TestAccountIDs(t *testing.T) {
	valid := []string{"a", "account_abc123", "user@example.com", "A-b.c_d", "0", strings.Repeat("x", 128),
		"123e4567-e89b-12d3-a456-426614174000", "a+b@x.com", "first.last+tag=1@sub.example.org", "a=b"}
	for _, id := range valid {
		t.Run("valid "+id, func(t *testing.T) {
			assert.NoError(t, secretstore.ValidateAccountID(id))
			_, err := secretstore.DefaultNameTemplate.Name(id)
			assert.NoError(t, err)
		})
	}
	invalid := []string{"", ".", "..", "a..b", "../etc", "a/b", "/", "a b", "a\x00b", "a\nb", "tab\t",
		"ünicode", "a%2fb", "a!b@x.com", "a'b@x.com", "a\\b", strings.Repeat("x", 129), "{accountId}", "a:b"}
	for _, id := range invalid {
		t.Run("invalid "+id, func(t *testing.T) {
			err := secretstore.ValidateAccountID(id)
			require.ErrorIs(t, err, secretstore.ErrInvalidName)
			assert.Contains(t, err.Error(), "allowed: "+secretstore.AccountIDRule)
			_, err = secretstore.DefaultNameTemplate.Name(id)
			assert.ErrorIs(t, err, secretstore.ErrInvalidName)
		})
	}
}

func TestNames(t *testing.T) {
	valid := []string{"a", "parlae/pms/sikka/x", "a+b=c@d.e_f-g", "A/B/C/D", strings.Repeat("n", 512), "x/.hidden", "a/..b"}
	for _, n := range valid {
		assert.NoError(t, secretstore.ValidateName(n), n)
	}
	invalid := []string{"", "/a", "a/", "a//b", "./a", "a/./b", "a/../b", "..", "a b", "a\x7fb", "a\x00",
		"a:b", "arn:aws:x", "é", "a?b", "a#b", "a%b", "a\\b", strings.Repeat("n", 513)}
	for _, n := range invalid {
		err := secretstore.ValidateName(n)
		require.ErrorIs(t, err, secretstore.ErrInvalidName, "%q", n)
		assert.Contains(t, err.Error(), "allowed:")
	}
}

func TestTemplates(t *testing.T) {
	for _, tpl := range []secretstore.NameTemplate{"{accountId}", "x/{accountId}", "p/{accountId}/creds", "p-{accountId}"} {
		assert.NoError(t, tpl.Validate(), tpl)
	}
	for _, tpl := range []secretstore.NameTemplate{"", "static", "{accountId}/{accountId}", "/{accountId}",
		"{accountId}/", "a//{accountId}", "a b/{accountId}", "{accountid}", "../{accountId}"} {
		err := tpl.Validate()
		require.ErrorIs(t, err, secretstore.ErrInvalidName, "%q", tpl)
		_, err = tpl.Name("acct")
		assert.ErrorIs(t, err, secretstore.ErrInvalidName, "%q", tpl)
	}
}

func TestPutOptions(t *testing.T) {
	assert.Equal(t, secretstore.PutOptions{}, secretstore.NewPutOptions())
	assert.Equal(t, secretstore.PutOptions{CheckVersion: true}, secretstore.NewPutOptions(secretstore.IfVersion("")))
	assert.Equal(t, secretstore.PutOptions{CheckVersion: true, IfVersion: "3"}, secretstore.NewPutOptions(nil, secretstore.IfVersion("3")))
}
