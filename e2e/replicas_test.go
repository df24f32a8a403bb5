package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
)

// Races and replicas: three sikka-demo processes share one PostgreSQL schema,
// one Vault prefix, one mock Sikka and one state key, as replicas behind a
// load balancer would.

func startReplicas(t *testing.T, s *world, n int, args ...string) []*demo {
	t.Helper()
	ds := make([]*demo, n)
	var wg sync.WaitGroup
	for i := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds[i] = s.start(t, nil, args...)
		}()
	}
	wg.Wait()
	for _, d := range ds {
		require.NotNil(t, d)
	}
	return ds
}

// A flow started on one replica finishes on another: the state, its nonce
// and the binding cookie (cookies are per host, not port) all work across.
func TestReplicasFlowAcrossReplicas(t *testing.T) {
	began := time.Now()
	s := newCrashWorld(t)
	ds := startReplicas(t, s, 3)
	offices := []string{mocksikka.DefaultOfficeID, mocksikka.MapleLeafOfficeID, mocksikka.BrightSmilesOfficeID} // the mock's default practices
	for i, office := range offices {
		s.mock.SetAutoApprove(office)
		account := fmt.Sprintf("replica-account-%d", i)
		b, cb := s.beginConnect(t, ds[i], account)
		out, err := deliver(t, b, ds[(i+1)%3], onReplica(cb, ds[(i+1)%3]))
		require.NoError(t, err)
		assert.Equal(t, outSuccess, out, "started on replica %d, finished on %d", i, (i+1)%3)

		// The status route of the third replica sees it.
		res, err := b.HTTP.Get(ds[(i+2)%3].Base + "/agent/setup/pms/status")
		require.NoError(t, err)
		var status struct {
			Connected bool   `json:"connected"`
			OfficeID  string `json:"officeId"`
		}
		assert.NoError(t, json.NewDecoder(res.Body).Decode(&status))
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.True(t, status.Connected, "the third replica sees the connection")
		assert.Equal(t, office, status.OfficeID)
	}
	recs := s.records(t)
	for i, office := range offices {
		r := recs[fmt.Sprintf("replica-account-%d", i)]
		assert.Equal(t, "ACTIVE", r.Status)
		assert.Equal(t, office, r.Office)
	}
	s.checkInvariants(t, invariants{})
	assert.Equal(t, len(offices), s.mock.Count("POST /v4/request_key", "authorization_code"))
	t.Logf("%.1fs", time.Since(began).Seconds())
}

// The same callback delivered to two replicas at once succeeds exactly once:
// the nonce is consumed once across replicas, so the code is exchanged once.
func TestReplicasSameCallbackTwice(t *testing.T) {
	began := time.Now()
	s := newCrashWorld(t)
	ds := startReplicas(t, s, 3)
	const rounds = 5
	for round := range rounds {
		account := fmt.Sprintf("race-account-%d", round)
		office := fmt.Sprintf("RACE%d", round) // a practice of its own per round
		require.NoError(t, s.mock.AddPractice(mocksikka.Practice{OfficeID: office, PracticeID: "1",
			SecretKey: "race-secret-" + office, Name: "Race Dental " + office, PMS: "Dentrix"}))
		s.mock.SetAutoApprove(office)
		b, cb := s.beginConnect(t, ds[0], account)
		cookies := b.Jar.Cookies(cb)
		require.NotEmpty(t, cookies)

		outcomes := make([]string, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, d := range []*demo{ds[1], ds[2]} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest(http.MethodGet, onReplica(cb, d), nil)
				if !assert.NoError(t, err) {
					return
				}
				for _, c := range cookies { // a copy of the browser's cookies
					req.AddCookie(c)
				}
				<-start
				res, err := http.DefaultTransport.RoundTrip(req)
				if !assert.NoError(t, err) {
					return
				}
				res.Body.Close()
				loc, err := res.Location()
				if assert.NoError(t, err) {
					outcomes[i] = frontendOutcome(d, loc)
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.ElementsMatch(t, []string{outSuccess, "status=error&reason=invalid_state"}, outcomes, "round %d", round)

	}
	assert.Equal(t, rounds, s.mock.Count("POST /v4/request_key", "authorization_code"), "one code exchange per callback")
	s.checkInvariants(t, invariants{})
	t.Logf("%.1fs", time.Since(began).Seconds())
}

// Three replicas sweeping at once refresh each due key exactly once,
// counted at the mock.
func TestReplicasConcurrentRefreshSweeps(t *testing.T) {
	began := time.Now()
	s := newCrashWorld(t)
	const n = 9
	offices := []string{mocksikka.DefaultOfficeID, mocksikka.MapleLeafOfficeID, mocksikka.BrightSmilesOfficeID}
	for i := len(offices); i < n; i++ {
		office := fmt.Sprintf("R%05d", i)
		require.NoError(t, s.mock.AddPractice(mocksikka.Practice{OfficeID: office, PracticeID: "1",
			SecretKey: "replica-secret-" + office, Name: "Replica Dental " + office, PMS: "Dentrix"}))
		offices = append(offices, office)
	}

	// Connect n accounts with keys already inside the refresh margin, on a
	// replica that does not sweep.
	connector := s.start(t, nil, "-refresh-interval", "0")
	s.mock.SetKeyTTL(30 * time.Minute)
	for i, office := range offices {
		s.mock.SetAutoApprove(office)
		s.connect(t, connector, fmt.Sprintf("sweep-account-%d", i))
	}
	s.mock.SetKeyTTL(mocksikka.DefaultKeyTTL)
	require.Zero(t, s.mock.Count("POST /v4/request_key", "refresh_key"))
	connector.Kill(t)

	ds := startReplicas(t, s, 3, "-refresh-interval", "200ms")
	deadline := time.Now().Add(60 * time.Second)
	for {
		var renewed int
		require.NoError(t, s.db.Get(&renewed, `SELECT count(*) FROM pms_integrations
			WHERE status = 'ACTIVE' AND key_expiry > now() + interval '23 hours'`))
		if renewed == n {
			break
		}
		require.True(t, time.Now().Before(deadline), "only %d of %d keys renewed", renewed, n)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // several more sweeps on every replica: nothing is due any more
	assert.Equal(t, n, s.mock.Count("POST /v4/request_key", "refresh_key"), "each due key refreshed exactly once")
	assert.Zero(t, s.mock.Count("POST /v4/request_key", "request_key"), "no fallback grant")

	// Each refreshed secret is the one the record describes.
	s.checkInvariants(t, invariants{})
	for i := range n {
		fields, version, ok := s.vault.secret(t, fmt.Sprintf("sweep-account-%d", i))
		require.True(t, ok)
		assert.Equal(t, 2, version, "written once by the connect, once by the one refresh")
		assert.Equal(t, offices[i], fields["officeId"])
	}
	var refreshedBy []int
	for _, d := range ds {
		refreshedBy = append(refreshedBy, countRefreshed(t, d))
	}
	assert.Equal(t, n, refreshedBy[0]+refreshedBy[1]+refreshedBy[2], "refreshes logged per replica: %v", refreshedBy)
	t.Logf("refreshes per replica %v; %.1fs", refreshedBy, time.Since(began).Seconds())
}

// countRefreshed sums the "refreshed" counts of the sweep log lines of the
// demo's Service.Run.
func countRefreshed(t *testing.T, d *demo) int {
	t.Helper()
	total := 0
	for _, line := range strings.Split(d.logs.String(), "\n") {
		var m struct {
			Msg       string `json:"msg"`
			Refreshed int    `json:"refreshed"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "integration: refresh sweep" {
			total += m.Refreshed
		}
	}
	return total
}
