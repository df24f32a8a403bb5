package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/secretstore"
)

// Leaks is what RunLeaks needs of a backend.
type Leaks struct {
	// Good is a working store.
	Good secretstore.Store
	// Failing are stores whose every call fails (credentials refused, a
	// server that cannot be reached…).
	Failing []secretstore.Store
	// MissingVersion is a well-formed version id that does not exist.
	MissingVersion string
	// Logs returns everything the stores logged so far (at Debug level).
	Logs func() string
	// Secrets are more values that must never show (tokens, keys of the
	// backend's own).
	Secrets []string
}

// RunLeaks drives every operation of the stores, failures included (refused
// credentials, an unreachable server, a cancelled context, a check-and-set
// conflict, a missing version), and fails the test if any error rendering
// (Error, %v, %+v, %#v, %q, JSON), the rendering of a Secret, or the logs
// hold a secret value.
func RunLeaks(t *testing.T, l Leaks) {
	t.Helper()
	a, b := NewCredentials("a"), NewCredentials("b")
	name := "parlae/pms/sikka/leak-" + randHex(3)
	var errs []error
	keep := func(err error) { errs = append(errs, err) }

	r1, err := l.Good.Put(ctx(t), name, a)
	require.NoError(t, err)
	r2, err := l.Good.Put(ctx(t), name, b)
	require.NoError(t, err)
	got, err := l.Good.Get(ctx(t), r2.Ref)
	require.NoError(t, err)
	require.NoError(t, l.Good.Restore(ctx(t), name, r1.Version))

	_, err = l.Good.Put(ctx(t), name, a, secretstore.IfVersion(r1.Version))
	require.ErrorIs(t, err, secretstore.ErrVersionConflict)
	keep(err)
	keep(l.Good.Restore(ctx(t), name, l.MissingVersion))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = l.Good.Put(cancelled, name, b)
	keep(err)
	for _, st := range l.Failing {
		_, err = st.Put(ctx(t), name, a)
		require.Error(t, err)
		keep(err)
		_, err = st.Get(ctx(t), name)
		require.Error(t, err)
		assert.NotErrorIs(t, err, secretstore.ErrNotFound, "a failure is not a missing secret")
		keep(err)
		keep(st.Restore(ctx(t), r2.Ref, r1.Version))
		keep(st.Delete(ctx(t), name))
	}
	require.NoError(t, l.Good.Delete(ctx(t), name))
	_, err = l.Good.Get(ctx(t), name)
	keep(err)

	secrets := append([]string{a.SecretKey, a.RequestKey, a.RefreshKey, b.SecretKey, b.RequestKey, b.RefreshKey}, l.Secrets...)
	for i, err := range errs {
		require.Error(t, err, "error %d", i)
		js, _ := json.Marshal(err)
		for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%q", err), string(js)} {
			for j, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("error %d (%T) leaks secret %d", i, err, j)
				}
			}
		}
	}
	// The secret as returned renders redacted too.
	for _, text := range []string{fmt.Sprint(got), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", got)} {
		assert.NotContains(t, text, b.SecretKey)
	}
	out := l.Logs()
	assert.Contains(t, out, name, "the logs name the secret")
	for j, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("logs leak secret %d", j)
		}
	}
}
