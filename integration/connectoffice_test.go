package integration_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/sikka"
)

// wrongProof is a proof no practice has; no log may show it.
const wrongProof = "wrong-proof-7Qz9Xv2Lm4Np8Rt6"

// officeLookups counts the reads of the office in authorized_practices.
func (e *env) officeLookups(officeID string) int {
	return e.mock.Count("GET /v4/authorized_practices/"+officeID, "")
}

// officeGrants counts the request_key grants (ConnectOffice's keys).
func (e *env) officeGrants() int { return e.mock.Count("POST /v4/request_key", "request_key") }

func (e *env) assertProofsNotLogged(proofs ...string) {
	e.t.Helper()
	e.assertNoSecretsLogged(append(proofs, wrongProof)...)
}

// A practice onboarded through the Marketplace connects with its office id
// and secret key, by the same path as the notes' flow: every stage in
// order, the Connected hook, the credentials in the secret store, and a key
// from the request_key grant.
func TestConnectOffice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		connected := make(chan integration.Record, 1)
		var mu sync.Mutex
		var stages []integration.Stage
		svc := e.service(integration.Config{
			Hooks: integration.Hooks{Connected: func(_ context.Context, r integration.Record) { connected <- r }},
			StageHook: func(_ context.Context, _ string, st integration.Stage) {
				mu.Lock()
				stages = append(stages, st)
				mu.Unlock()
			},
		})

		rec, err := svc.ConnectOffice(ctx, "acct-1", office, mocksikka.DefaultSecretKey)
		require.NoError(t, err)
		assert.Equal(t, integration.StatusActive, rec.Status)
		assert.Equal(t, office, rec.OfficeID)
		assert.Equal(t, "Happy Dental Clinic", rec.PracticeName)
		assert.Equal(t, "Dentrix", rec.PMSType)
		assert.Equal(t, "1", rec.PracticeID)
		assert.Equal(t, integration.Stages(), stages)
		assert.Equal(t, 1, e.officeGrants(), "one key, by the request_key grant")
		assert.Equal(t, 1, e.officeLookups(office))

		sec, err := e.secrets.Get(ctx, rec.SecretRef)
		require.NoError(t, err)
		assert.Equal(t, office, sec.OfficeID)
		assert.Equal(t, mocksikka.DefaultSecretKey, sec.SecretKey)
		assert.Equal(t, e.wire.lastIssued(t), sec.RequestKey)
		assert.NotEmpty(t, sec.RefreshKey)
		select {
		case r := <-connected:
			assert.Equal(t, "acct-1", r.AccountID)
		case <-time.After(5 * time.Second):
			t.Fatal("Connected hook not called")
		}
		e.assertConsistent("acct-1")

		// A reconnect overwrites in place and revokes the replaced key.
		again, err := svc.ConnectOffice(ctx, "acct-1", office, mocksikka.DefaultSecretKey)
		require.NoError(t, err)
		assert.Equal(t, rec.SecretRef, again.SecretRef)
		assert.Equal(t, rec.CreatedAt, again.CreatedAt)
		e.assertRevoked(sec.RequestKey, "the reconnect's predecessor")
		e.assertConsistent("acct-1")
		e.assertProofsNotLogged(sec.RequestKey, sec.RefreshKey)
	})
}

// Refusals leave nothing behind, request no key, and never show the proof.
func TestConnectOfficeRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		cases := []struct {
			name           string
			mockOpts       []mocksikka.Option
			fault          *mocksikka.Fault
			acct, officeID string
			proof          string
			want           error
			lookups        int
		}{
			{name: "office not onboarded for the app", mockOpts: []mocksikka.Option{mocksikka.WithOnboardedApps()},
				acct: "acct-1", officeID: office, proof: mocksikka.DefaultSecretKey, want: integration.ErrOfficeNotAuthorized, lookups: 1},
			{name: "unknown office", acct: "acct-1", officeID: "D00000", proof: mocksikka.DefaultSecretKey,
				want: integration.ErrOfficeNotAuthorized, lookups: 1},
			{name: "malformed office id", acct: "acct-1", officeID: "../v4/x", proof: mocksikka.DefaultSecretKey,
				want: integration.ErrOfficeNotAuthorized},
			{name: "wrong proof", acct: "acct-1", officeID: office, proof: wrongProof,
				want: integration.ErrInvalidProof, lookups: 1},
			{name: "another office's secret key", acct: "acct-1", officeID: office,
				proof: mocksikka.DefaultPractices()[1].SecretKey, want: integration.ErrInvalidProof, lookups: 1},
			{name: "empty proof", acct: "acct-1", officeID: office, want: integration.ErrInvalidProof, lookups: 1},
			{name: "Sikka down", fault: &mocksikka.Fault{Endpoint: "*", Status: 503},
				acct: "acct-1", officeID: office, proof: mocksikka.DefaultSecretKey, want: integration.ErrProviderUnavailable},
			{name: "invalid account id", acct: "../etc", officeID: office, proof: mocksikka.DefaultSecretKey,
				want: integration.ErrInvalidAccountID},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b, tc.mockOpts...)
				if tc.fault != nil {
					e.mock.InjectFault(*tc.fault)
				}
				_, err := e.svc.ConnectOffice(ctx, tc.acct, tc.officeID, tc.proof)
				require.ErrorIs(t, err, tc.want)
				assert.NotContains(t, err.Error(), mocksikka.DefaultSecretKey)
				assert.NotContains(t, err.Error(), wrongProof)
				if tc.fault == nil {
					assert.Equal(t, tc.lookups, e.officeLookups(tc.officeID))
				}
				assert.Zero(t, e.officeGrants(), "no key requested")
				_, err = e.repo.Get(ctx, tc.acct)
				assert.ErrorIs(t, err, integration.ErrNotFound, "nothing recorded")
				if tc.acct == "acct-1" {
					e.assertConsistent(tc.acct)
				}
				e.assertProofsNotLogged()
			})
		}
	})
}

// A refusal that is not the account's (Sikka down) does not count against the limit; an office
// Sikka does not list does.
func TestConnectOfficeOnlyRefusedAttemptsCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.mock.InjectFault(mocksikka.Fault{Endpoint: "*", Status: 503})
		for range 2 * integration.DefaultMaxProofFailures {
			_, err := e.svc.ConnectOffice(ctx, "acct-1", office, wrongProof)
			require.ErrorIs(t, err, integration.ErrProviderUnavailable)
		}
		e.mock.ClearFaults()
		_, err := e.svc.ConnectOffice(ctx, "acct-1", office, mocksikka.DefaultSecretKey)
		require.NoError(t, err, "Sikka being down counted nothing")

		// An office Sikka does not list counts as refused: an account cannot try office ids
		// without end (each a call on the app's quota, each telling which offices onboarded).
		for i := range integration.DefaultMaxProofFailures {
			_, err := e.svc.ConnectOffice(ctx, "acct-2", fmt.Sprintf("D0000%d", i), wrongProof)
			require.ErrorIs(t, err, integration.ErrOfficeNotAuthorized)
		}
		lookups := e.mock.Count("", "")
		_, err = e.svc.ConnectOffice(ctx, "acct-2", "D00009", wrongProof)
		require.ErrorIs(t, err, integration.ErrTooManyAttempts)
		assert.Equal(t, lookups, e.mock.Count("", ""), "Sikka not called")
	})
}

// More than 5 refused proofs in 15 minutes, for one account or for one
// office, are refused without their proof checked, across two service
// instances on one database; the limit lifts as the window slides.
func TestConnectOfficeAttemptsLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		t.Run("one account", func(t *testing.T) {
			e := newEnv(t, b)
			var offset atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
			svcs := []*integration.Service{
				e.service(integration.Config{Now: now}),
				e.service(integration.Config{Records: e.newRepo(), Now: now}),
			}
			offices := []string{office, mocksikka.MapleLeafOfficeID, mocksikka.BrightSmilesOfficeID}
			for i := range integration.DefaultMaxProofFailures {
				_, err := svcs[i%2].ConnectOffice(ctx, "acct-1", offices[i%3], wrongProof)
				require.ErrorIs(t, err, integration.ErrInvalidProof, i)
			}
			lookups := e.mock.Count("", "")
			for i, svc := range svcs {
				_, err := svc.ConnectOffice(ctx, "acct-1", office, mocksikka.DefaultSecretKey)
				require.ErrorIs(t, err, integration.ErrTooManyAttempts, "even the right proof, on instance %d", i)
			}
			assert.Equal(t, lookups, e.mock.Count("", ""), "Sikka not called")
			_, err := svcs[0].ConnectOffice(ctx, "acct-2", office, mocksikka.DefaultSecretKey)
			require.NoError(t, err, "another account")

			offset.Store(int64(integration.DefaultProofFailureWindow + time.Second))
			_, err = svcs[1].ConnectOffice(ctx, "acct-1", mocksikka.MapleLeafOfficeID, mocksikka.DefaultPractices()[1].SecretKey)
			require.NoError(t, err, "after the window")
			e.assertProofsNotLogged()
		})
		t.Run("one office", func(t *testing.T) {
			e := newEnv(t, b)
			svcs := []*integration.Service{e.service(integration.Config{}), e.service(integration.Config{Records: e.newRepo()})}
			for i := range integration.DefaultMaxProofFailures {
				_, err := svcs[i%2].ConnectOffice(ctx, fmt.Sprint("attacker-", i), office, wrongProof)
				require.ErrorIs(t, err, integration.ErrInvalidProof, i)
			}
			_, err := svcs[1].ConnectOffice(ctx, "owner", office, mocksikka.DefaultSecretKey)
			require.ErrorIs(t, err, integration.ErrTooManyAttempts)
			_, err = svcs[0].ConnectOffice(ctx, "owner", mocksikka.MapleLeafOfficeID, mocksikka.DefaultPractices()[1].SecretKey)
			require.NoError(t, err, "another office")
		})
	})
}

// 50 concurrent wrong proofs for one account and office, on two instances
// sharing the database: exactly 5 are checked and refused, the rest are
// refused as too many without their proof checked.
func TestConnectOfficeConcurrentWrongProofs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		svcs := []*integration.Service{e.service(integration.Config{}), e.service(integration.Config{Records: e.newRepo()})}
		const n = 50
		var refused, tooMany atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := svcs[i%2].ConnectOffice(ctx, "acct-1", office, fmt.Sprint(wrongProof, i))
				switch {
				case errors.Is(err, integration.ErrInvalidProof):
					refused.Add(1)
				case errors.Is(err, integration.ErrTooManyAttempts):
					tooMany.Add(1)
				default:
					t.Errorf("attempt %d: %v", i, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(integration.DefaultMaxProofFailures), refused.Load())
		assert.Equal(t, int32(n-integration.DefaultMaxProofFailures), tooMany.Load())
		assert.Equal(t, integration.DefaultMaxProofFailures, e.officeLookups(office), "only the counted attempts reached Sikka")
		_, err := svcs[0].ConnectOffice(ctx, "acct-1", office, mocksikka.DefaultSecretKey)
		assert.ErrorIs(t, err, integration.ErrTooManyAttempts)
		for i := range n {
			assert.NotContains(t, e.logs.String(), fmt.Sprint(wrongProof, i))
		}
		e.assertProofsNotLogged()
	})
}

// An office another account holds is refused before any key is requested:
// the holder's keys are left alone.
func TestConnectOfficeAlreadyHeld(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		held, err := e.svc.Connect(ctx, "acct-a", e.code())
		require.NoError(t, err)
		sec, err := e.secrets.Get(ctx, held.SecretRef)
		require.NoError(t, err)
		grants := e.officeGrants()

		_, err = e.svc.ConnectOffice(ctx, "acct-b", office, mocksikka.DefaultSecretKey)
		require.ErrorIs(t, err, integration.ErrAlreadyConnected)
		assert.Equal(t, grants, e.officeGrants(), "no key requested")
		e.assertLive(sec.RequestKey, "the holder's key")
		e.assertConsistent("acct-a", "acct-b")

		// Once the holder disconnects, the other account connects.
		require.NoError(t, e.svc.Disconnect(ctx, "acct-a"))
		_, err = e.svc.ConnectOffice(ctx, "acct-b", office, mocksikka.DefaultSecretKey)
		require.NoError(t, err)
		e.assertConsistent("acct-a", "acct-b")
	})
}

// A race the early check cannot see (two accounts connecting the office at
// once) is decided by the same unique index as the notes' flow: one wins,
// the others get ErrAlreadyConnected and their keys are revoked.
func TestConcurrentConnectOfficeOfOneOffice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		const n = 8
		accounts := make([]string, n)
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			accounts[i] = fmt.Sprintf("acct-%02d", i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var err error
				if i%2 == 0 {
					_, err = e.svc.ConnectOffice(ctx, accounts[i], office, mocksikka.DefaultSecretKey)
				} else {
					_, err = e.svc.Connect(ctx, accounts[i], e.code())
				}
				if err == nil {
					wins.Add(1)
				} else {
					assert.ErrorIs(t, err, integration.ErrAlreadyConnected)
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
		e.assertConsistent(accounts...)
	})
}

// A ConnectOffice that died after writing its secret is recovered by the
// account's next connect, as a Connect's is.
func TestConnectOfficeCrashRecoveredByTheAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		crashing := e.service(integration.Config{StageHook: crashAt(integration.StageSecretWritten)})
		require.False(t, crashRun(t, func() {
			_, _ = crashing.ConnectOffice(ctx, "acct-1", office, mocksikka.DefaultSecretKey)
		}))
		_, err := e.repo.GetPending(ctx, "acct-1")
		require.NoError(t, err, "the dead flow left its marker")
		rec, err := e.svc.ConnectOffice(ctx, "acct-1", office, mocksikka.DefaultSecretKey)
		require.NoError(t, err)
		assert.Equal(t, integration.StatusActive, rec.Status)
		e.assertNoMarker("acct-1")
		e.assertConsistent("acct-1")
		e.assertProofsNotLogged()
	})
}

// A host's own ownership check replaces the secret key: here the practice's
// postal code as Sikka lists it (a host would match the account's profile).
// Its refusals count; its failures do not, and are returned.
func TestConnectOfficeCustomVerify(t *testing.T) {
	e := newEnv(t, backends()[0])
	ctx := context.Background()
	down := errors.New("profile service down")
	var failing atomic.Bool
	svc := e.service(integration.Config{VerifyOffice: func(_ context.Context, acct string, p sikka.Practice, proof string) error {
		if failing.Load() {
			return down
		}
		if proof != p.Zip {
			return fmt.Errorf("%w: the postal code does not match the practice's", integration.ErrInvalidProof)
		}
		return nil
	}})
	for range 2 * integration.DefaultMaxProofFailures {
		failing.Store(true)
		_, err := svc.ConnectOffice(ctx, "acct-1", office, "M5V 2T6")
		require.ErrorIs(t, err, down)
	}
	failing.Store(false)
	_, err := svc.ConnectOffice(ctx, "acct-1", office, mocksikka.DefaultSecretKey)
	require.ErrorIs(t, err, integration.ErrInvalidProof, "the secret key is not this host's proof")
	rec, err := svc.ConnectOffice(ctx, "acct-1", office, "M5V 2T6")
	require.NoError(t, err)
	assert.Equal(t, office, rec.OfficeID)
	e.assertConsistent("acct-1")

	for range integration.DefaultMaxProofFailures - 1 { // one refused above
		_, err := svc.ConnectOffice(ctx, "acct-1", mocksikka.MapleLeafOfficeID, "H0H 0H0")
		require.ErrorIs(t, err, integration.ErrInvalidProof)
	}
	_, err = svc.ConnectOffice(ctx, "acct-1", mocksikka.MapleLeafOfficeID, "M5V 2A9")
	require.ErrorIs(t, err, integration.ErrTooManyAttempts, "the host's refusals count")
}

// The operators' listing: offices that authorized the app and that no
// account holds ACTIVE, once each, without secret keys.
func TestUnclaimedOffices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		offices := func() []string {
			t.Helper()
			list, err := e.svc.UnclaimedOffices(ctx)
			require.NoError(t, err)
			var ids []string
			for _, p := range list {
				assert.Empty(t, p.SecretKey)
				assert.Equal(t, "1", p.PracticeID, "the office's primary practice")
				ids = append(ids, p.OfficeID)
			}
			return ids
		}
		all := []string{office, mocksikka.MapleLeafOfficeID, mocksikka.BrightSmilesOfficeID}
		assert.ElementsMatch(t, all, offices())

		_, err := e.svc.ConnectOffice(ctx, "acct-1", office, mocksikka.DefaultSecretKey)
		require.NoError(t, err)
		_, err = e.svc.Connect(ctx, "acct-2", mustCode(t, e, mocksikka.BrightSmilesOfficeID))
		require.NoError(t, err)
		assert.Equal(t, []string{mocksikka.MapleLeafOfficeID}, offices())

		require.NoError(t, e.svc.Disconnect(ctx, "acct-1"))
		assert.ElementsMatch(t, []string{office, mocksikka.MapleLeafOfficeID}, offices(), "a disconnected office is unclaimed again")

		e.mock.InjectFault(mocksikka.Fault{Endpoint: "GET /v4/authorized_practices", Status: 503})
		_, err = e.svc.UnclaimedOffices(ctx)
		assert.ErrorIs(t, err, integration.ErrProviderUnavailable)
	})
}

func mustCode(t *testing.T, e *env, officeID string) string {
	t.Helper()
	c, err := e.mock.IssueCode(mocksikka.DefaultAppID, officeID)
	require.NoError(t, err)
	return c
}
