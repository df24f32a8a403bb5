package mocksikka

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The body field lists are the sheet's (docs/sikka_fields.json, writeback_bodies).
func TestWritebackFieldsMatchSheet(t *testing.T) {
	b, err := os.ReadFile("../docs/sikka_fields.json")
	require.NoError(t, err)
	var f struct {
		Bodies map[string][]string `json:"writeback_bodies"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.Bodies)
	assert.Equal(t, f.Bodies, writebackFields)
	for _, k := range wbKinds {
		assert.Contains(t, f.Bodies, k.endpoint, "every served writeback is a documented one")
		for _, r := range k.required {
			assert.Contains(t, f.Bodies[k.endpoint], r, "%s requires a documented field", k.endpoint)
		}
	}
}

// keyFor issues a request key of the default office through the Go side of the store.
func keyFor(t *testing.T, s *Server) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.newKey(DefaultAppID, DefaultOfficeID, s.clock.now(), s.keyTTL).requestKey
}

// post sends a writeback to srv.
func post(t *testing.T, srv *httptest.Server, key, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Request-Key", key)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

// stateOf reads a writeback's state without running the clock (as a request would).
func stateOf(s *Server, id int64) wbState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wb.byID[id].state
}

// With the real clock, the SPU's timer completes a writeback with no request and no Advance;
// the completion fires the DataChange seam webhooks listen on.
func TestWritebackRealClockTimer(t *testing.T) {
	s := New(WithWritebackDelay(50 * time.Millisecond))
	t.Cleanup(s.Close)
	changes := make(chan DataChange, 4)
	s.onChange(func(ch DataChange) { changes <- ch })
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	resp := post(t, srv, keyFor(t, s), "/v4/patient", `{"firstname":"Real","lastname":"Clock"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	// No request and no Advance from here on: only the timer can process it.
	select {
	case ch := <-changes:
		assert.Equal(t, "patient", ch.Event)
		assert.Equal(t, DefaultOfficeID, ch.OfficeID)
		assert.Equal(t, "1", ch.PracticeID)
	case <-time.After(10 * time.Second):
		t.Fatal("the SPU's timer did not process the writeback")
	}
	assert.Equal(t, wbSuccess, stateOf(s, firstWritebackID))
}

// The mock keeps at most MaxWritebacks: one more forgets the oldest processed one; when all
// are pending the request is refused with 503 API2002.
func TestWritebacksBounded(t *testing.T) {
	s := New(WithClock(time.Date(2026, 2, 10, 4, 0, 0, 0, time.UTC)))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	key := keyFor(t, s)
	kind := wbKindOf("POST /v4/patient")
	s.mu.Lock()
	for range MaxWritebacks {
		require.True(t, s.wb.add(&writeback{kind: kind, officeID: DefaultOfficeID, practiceID: "1", appID: DefaultAppID,
			fields: map[string]string{"firstname": "A", "lastname": "B"}, requested: s.clock.now()}))
	}
	s.wb.all[0].state, s.wb.all[5].state = wbSuccess, wbFailed
	s.mu.Unlock()

	for _, forgotten := range []int64{firstWritebackID, firstWritebackID + 5} {
		require.Equal(t, http.StatusCreated, post(t, srv, key, "/v4/patient", `{"firstname":"A","lastname":"B"}`).StatusCode)
		s.mu.Lock()
		assert.Len(t, s.wb.all, MaxWritebacks)
		assert.Len(t, s.wb.byID, MaxWritebacks)
		_, kept := s.wb.byID[forgotten]
		assert.False(t, kept, "the oldest processed one (%d) is forgotten", forgotten)
		s.mu.Unlock()
	}
	resp := post(t, srv, key, "/v4/patient", `{"firstname":"A","lastname":"B"}`)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "all pending")

	s.Advance(DefaultWritebackDelay)
	s.mu.Lock()
	assert.Empty(t, s.wb.pending)
	s.mu.Unlock()
	assert.Equal(t, http.StatusCreated, post(t, srv, key, "/v4/patient", `{"firstname":"A","lastname":"B"}`).StatusCode)
	s.Reset()
	s.mu.Lock()
	assert.Empty(t, s.wb.all)
	assert.Empty(t, s.wb.byID)
	assert.Empty(t, s.wb.pending)
	s.mu.Unlock()
}

// The bodies kept are bounded too: a body that would pass MaxWritebackBytes forgets processed
// writebacks first, and is refused when only pending ones hold the bytes.
func TestWritebackBytesBounded(t *testing.T) {
	q := newWritebacks(0)
	big := strings.Repeat("x", MaxWritebackBytes/2) // counted twice: the whole budget
	a := &writeback{payload: big}
	require.True(t, q.add(a))
	assert.Equal(t, MaxWritebackBytes, q.bytes)
	assert.False(t, q.add(&writeback{payload: "{}"}), "only a pending writeback holds the bytes")
	assert.Len(t, q.all, 1)
	a.state = wbSuccess
	b := &writeback{payload: "{}"}
	require.True(t, q.add(b))
	assert.Equal(t, []*writeback{b}, q.all, "the processed one is forgotten")
	assert.Equal(t, 4, q.bytes)
	q.forget(b)
	assert.Zero(t, q.bytes)
	assert.Empty(t, q.byID)
	assert.Empty(t, q.pending)
}
