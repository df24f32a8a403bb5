package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/sikka"
)

// wireTap is the Sikka client's transport in tests: it records every request
// key Sikka issues (the mock's journal never shows one), and can answer
// GET /v4/authorized_practices with an empty list.
type wireTap struct {
	mu          sync.Mutex
	issued      []string
	noPractices atomic.Bool
}

func (w *wireTap) RoundTrip(r *http.Request) (*http.Response, error) {
	if w.noPractices.Load() && r.Method == http.MethodGet && r.URL.Path == "/v4/authorized_practices" {
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Request: r,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   io.NopCloser(strings.NewReader(`{"items":[]}`))}, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || r.Method != http.MethodPost || r.URL.Path != "/v4/request_key" || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var k struct {
		RequestKey string `json:"request_key"`
	}
	if json.Unmarshal(body, &k) == nil && k.RequestKey != "" {
		w.mu.Lock()
		w.issued = append(w.issued, k.RequestKey)
		w.mu.Unlock()
	}
	return resp, nil
}

// lastIssued is the request key Sikka issued last.
func (w *wireTap) lastIssued(t *testing.T) string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NotEmpty(t, w.issued, "Sikka issued no key")
	return w.issued[len(w.issued)-1]
}

// refreshRevocations counts the refresh keys deleted at the mock.
func (e *env) refreshRevocations() int { return e.mock.Count("DELETE /v4/refresh_key", "") }

// assertRevoked checks at the mock that key no longer works (keys live 24h,
// so an unusable one was revoked).
func (e *env) assertRevoked(key, msg string) {
	e.t.Helper()
	_, err := e.client.RequestKeyInfo(context.Background(), key)
	assert.ErrorIs(e.t, err, sikka.ErrKeyRejected, "%s: the key is revoked at Sikka", msg)
}

func (e *env) assertLive(key, msg string) {
	e.t.Helper()
	_, err := e.client.RequestKeyInfo(context.Background(), key)
	assert.NoError(e.t, err, "%s: the key still works", msg)
}

func (e *env) revocations() int { return e.mock.Count("DELETE /v4/request_key", "") }

// staleHolderCheck hides the holder of a practice from Connect's early check,
// so the unique index decides, as in a race between two connects.
type staleHolderCheck struct{ integration.Repository }

func (staleHolderCheck) ActiveByOffice(context.Context, integration.Provider, string) (integration.Record, error) {
	return integration.Record{}, integration.ErrNotFound
}

// committedButFailed writes the connect's record, then reports a failure (an
// answer lost after the commit).
type committedButFailed struct{ integration.Repository }

func (c committedButFailed) CompletePending(ctx context.Context, flowID string, r integration.Record) (integration.Record, error) {
	if _, err := c.Repository.CompletePending(ctx, flowID, r); err != nil {
		return integration.Record{}, err
	}
	return integration.Record{}, errors.New("connection reset after commit")
}

// A connect that fails after Sikka issued its key revokes that key: nothing
// will ever use it.
func TestConnectFailureRevokesTheIssuedKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		cases := []struct {
			name string
			// setup prepares e and returns the service that connects acct-b.
			setup func(e *env) *integration.Service
			want  error
		}{
			{"already connected", func(e *env) *integration.Service {
				_, err := e.svc.Connect(ctx, "acct-a", e.code())
				require.NoError(e.t, err)
				return e.svc
			}, integration.ErrAlreadyConnected},
			{"already connected, decided by the unique index", func(e *env) *integration.Service {
				_, err := e.svc.Connect(ctx, "acct-a", e.code())
				require.NoError(e.t, err)
				return e.service(integration.Config{Records: staleHolderCheck{e.repo}})
			}, integration.ErrAlreadyConnected},
			{"no authorized practice", func(e *env) *integration.Service {
				e.wire.noPractices.Store(true)
				return e.svc
			}, integration.ErrNoAuthorizedPractice},
			{"practices unavailable", func(e *env) *integration.Service {
				e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/authorized_practices", Status: 503})
				return e.svc
			}, integration.ErrProviderUnavailable},
			{"secret store fails", func(e *env) *integration.Service {
				secrets := &failingSecrets{Store: e.secrets}
				secrets.failPut.Store(true)
				return e.service(integration.Config{Secrets: secrets})
			}, nil},
			{"record write fails", func(e *env) *integration.Service {
				repo := &failingUpserts{Repository: e.repo}
				repo.fail.Store(true)
				return e.service(integration.Config{Records: repo})
			}, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b)
				svc := tc.setup(e)
				before, beforeRefresh := e.revocations(), e.refreshRevocations()
				_, err := svc.Connect(ctx, "acct-b", e.code())
				require.Error(t, err)
				if tc.want != nil {
					assert.ErrorIs(t, err, tc.want)
				}
				issued := e.wire.lastIssued(t)
				e.assertRevoked(issued, tc.name)
				assert.Equal(t, before+1, e.revocations(), "one revocation, of the issued key")
				assert.Equal(t, beforeRefresh+1, e.refreshRevocations(), "its refresh key deleted too")
				e.assertConsistent("acct-a", "acct-b")
				e.assertNoSecretsLogged(issued)
			})
		}

		// A record write that committed although it reported an error: the
		// record uses the key, which stays live.
		t.Run("record write committed but reported a failure", func(t *testing.T) {
			e := newEnv(t, b)
			svc := e.service(integration.Config{Records: committedButFailed{e.repo}})
			_, err := svc.Connect(ctx, "acct-b", e.code())
			require.Error(t, err)
			issued := e.wire.lastIssued(t)
			rec, err := e.repo.Get(ctx, "acct-b")
			require.NoError(t, err)
			require.Equal(t, integration.StatusActive, rec.Status)
			sec, err := e.secrets.Get(ctx, rec.SecretRef)
			require.NoError(t, err)
			require.Equal(t, issued, sec.RequestKey)
			e.assertLive(issued, "in use by the ACTIVE record")
			assert.Zero(t, e.revocations())
			e.assertConsistent("acct-b")
		})
	})
}

// A reconnect revokes the key it replaces, to another practice or the same.
func TestReconnectRevokesThePreviousKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		_, err := e.svc.Connect(ctx, "acct-1", e.code())
		require.NoError(t, err)
		first := e.wire.lastIssued(t)

		code, err := e.mock.IssueCode(mocksikka.DefaultAppID, mocksikka.MapleLeafOfficeID)
		require.NoError(t, err)
		rec, err := e.svc.Connect(ctx, "acct-1", code)
		require.NoError(t, err)
		assert.Equal(t, mocksikka.MapleLeafOfficeID, rec.OfficeID)
		second := e.wire.lastIssued(t)
		e.assertRevoked(first, "the other practice's key")
		e.assertLive(second, "the new key")
		assert.Equal(t, 1, e.revocations())
		assert.Equal(t, 1, e.refreshRevocations(), "the replaced refresh key deleted too")

		_, err = e.svc.Connect(ctx, "acct-1", e.code()) // back to the first practice
		require.NoError(t, err)
		third := e.wire.lastIssued(t)
		e.assertRevoked(second, "the replaced key")
		e.assertLive(third, "the new key")
		creds, err := e.svc.Credentials(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, third, creds.RequestKey)
		assert.Equal(t, 2, e.revocations())
		e.assertConsistent("acct-1")
		e.assertNoSecretsLogged(first, second, third)
	})
}

// cancelOnRevoke cancels the caller's context as soon as the record is
// marked REVOKED: the browser went away mid-disconnect.
type cancelOnRevoke struct {
	integration.Repository
	cancel context.CancelFunc
}

func (c cancelOnRevoke) SetStatus(ctx context.Context, acct string, st integration.Status) error {
	err := c.Repository.SetStatus(ctx, acct, st)
	if st == integration.StatusRevoked {
		c.cancel()
	}
	return err
}

// crashOnRevoke ends the disconnect's goroutine once the record is marked
// REVOKED, as if the process died there (only deferred unlocks run).
type crashOnRevoke struct{ integration.Repository }

func (c crashOnRevoke) SetStatus(ctx context.Context, acct string, st integration.Status) error {
	err := c.Repository.SetStatus(ctx, acct, st)
	if err == nil && st == integration.StatusRevoked {
		runtime.Goexit()
	}
	return err
}

// A caller that goes away once the record is REVOKED does not leave the key
// live nor the secret stored: the rest of the disconnect runs detached.
func TestDisconnectFinishesWhenTheCallerGoesAway(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		rec, err := e.svc.Connect(context.Background(), "acct-1", e.code())
		require.NoError(t, err)
		key := e.wire.lastIssued(t)

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		svc := e.service(integration.Config{Records: cancelOnRevoke{e.repo, cancel}})
		require.NoError(t, svc.Disconnect(ctx, "acct-1"))
		require.Error(t, ctx.Err(), "the caller went away mid-disconnect")

		_, err = e.secrets.Get(context.Background(), rec.SecretRef)
		assert.ErrorIs(t, err, secretstore.ErrNotFound, "the secret is deleted")
		e.assertRevoked(key, "disconnect")
		got, err := e.repo.Get(context.Background(), "acct-1")
		require.NoError(t, err)
		assert.Equal(t, integration.StatusRevoked, got.Status)
		assert.Empty(t, got.SecretRef, "the reference goes with the secret")
		e.assertConsistent("acct-1")
	})
}

// crashDisconnect runs a disconnect of acct that dies once the record is
// REVOKED, before the key is revoked and the secret deleted.
func (e *env) crashDisconnect(acct string) {
	e.t.Helper()
	svc := e.service(integration.Config{Records: crashOnRevoke{e.newRepo()}})
	done := make(chan bool, 1)
	go func() {
		returned := false
		defer func() { done <- returned }()
		_ = svc.Disconnect(context.Background(), acct)
		returned = true
	}()
	require.False(e.t, <-done, "the disconnect died")
}

// Reconcile finishes a disconnect a crash cut short: no secret outlives its
// record, and the key is revoked at Sikka.
func TestReconcileFinishesACrashedDisconnect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		// connected connects acct and crashes its disconnect; it returns
		// the record and the key left behind.
		crashed := func(e *env, acct string) (integration.Record, string) {
			rec, err := e.svc.Connect(ctx, acct, e.code())
			require.NoError(t, err)
			key := e.wire.lastIssued(t)
			e.crashDisconnect(acct)
			got, err := e.repo.Get(ctx, acct)
			require.NoError(t, err)
			require.Equal(t, integration.StatusRevoked, got.Status)
			_, err = e.secrets.Get(ctx, rec.SecretRef)
			require.NoError(t, err, "the crash left the secret")
			e.assertLive(key, "before the reconciler")
			return rec, key
		}
		finished := func(e *env, rec integration.Record, key string) {
			t.Helper()
			_, err := e.secrets.Get(ctx, rec.SecretRef)
			assert.ErrorIs(t, err, secretstore.ErrNotFound, "the secret is deleted")
			e.assertRevoked(key, "reconciler")
			got, err := e.repo.Get(ctx, rec.AccountID)
			require.NoError(t, err)
			assert.Equal(t, integration.StatusRevoked, got.Status)
			assert.Empty(t, got.SecretRef)
			e.assertConsistent(rec.AccountID)
			e.assertNoSecretsLogged(key)
		}

		t.Run("finished", func(t *testing.T) {
			e := newEnv(t, b)
			rec, key := crashed(e, "acct-1")
			res, err := e.reconciler().Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, integration.ReconcileResult{Revoked: 1, Finished: 1}, res)
			finished(e, rec, key)
			assert.Contains(t, e.logs.String(), "deleted the secret left behind")

			res, err = e.reconciler().Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, integration.ReconcileResult{}, res, "nothing left")
		})
		t.Run("by the next disconnect", func(t *testing.T) {
			e := newEnv(t, b)
			rec, key := crashed(e, "acct-1")
			require.NoError(t, e.svc.Disconnect(ctx, "acct-1"))
			finished(e, rec, key)
		})
		t.Run("skipped while the account is locked", func(t *testing.T) {
			e := newEnv(t, b)
			rec, key := crashed(e, "acct-1")
			unlock, err := e.repo.LockAccount(ctx, "acct-1")
			require.NoError(t, err)
			res, err := e.reconciler().Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, integration.ReconcileResult{Revoked: 1, Skipped: 1}, res)
			_, err = e.secrets.Get(ctx, rec.SecretRef)
			assert.NoError(t, err, "left alone")
			unlock()
			res, err = e.reconciler().Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, integration.ReconcileResult{Revoked: 1, Finished: 1}, res)
			finished(e, rec, key)
		})
		t.Run("skipped while a reconnect is pending", func(t *testing.T) {
			e := newEnv(t, b)
			rec, key := crashed(e, "acct-1")
			sec, err := e.secrets.Get(ctx, rec.SecretRef)
			require.NoError(t, err)
			require.NoError(t, e.repo.InsertPending(ctx, integration.PendingFlow{FlowID: "flow-1", AccountID: "acct-1",
				Provider: integration.ProviderSikka, OfficeID: office, SecretName: "parlae/pms/sikka/acct-1",
				PrevVersion: sec.Version, StartedAt: time.Now().UTC()}))
			young := e.service(integration.Config{Records: e.newRepo()}) // the marker is too young to recover
			res, err := young.Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, integration.ReconcileResult{Revoked: 1, Skipped: 1}, res)
			_, err = e.secrets.Get(ctx, rec.SecretRef)
			assert.NoError(t, err, "left to the reconnect")

			// Once the marker is old, it is recovered first, then the
			// disconnect finished.
			res, err = e.reconciler().Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, integration.ReconcileResult{Stale: 1, Cleared: 1, Revoked: 1, Finished: 1}, res)
			e.assertNoMarker("acct-1")
			finished(e, rec, key)
		})
		t.Run("secret already gone", func(t *testing.T) {
			e := newEnv(t, b)
			rec, _ := crashed(e, "acct-1")
			require.NoError(t, e.secrets.Delete(ctx, rec.SecretRef))
			res, err := e.reconciler().Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, integration.ReconcileResult{Revoked: 1, Finished: 1}, res)
			got, err := e.repo.Get(ctx, "acct-1")
			require.NoError(t, err)
			assert.Empty(t, got.SecretRef, "only the reference was left")
			assert.Zero(t, e.revocations(), "no key to revoke")
		})
	})
}
