package sikka_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/sikka"
)

// start is the frozen time of the mock's clock in these tests.
var start = time.Date(2026, 2, 10, 4, 0, 28, 0, time.UTC)

const appID = mocksikka.DefaultAppID

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is the mock Sikka in-process, an httptest server in front of it,
// and a client of it whose logs are captured and whose waits between
// retries are recorded instead of slept.
type fixture struct {
	t      *testing.T
	mock   *mocksikka.Server
	srv    *httptest.Server
	client *sikka.Client
	logs   *syncBuffer

	mu       sync.Mutex
	waits    []time.Duration
	override func(w http.ResponseWriter, r *http.Request) bool
}

func newFixture(t *testing.T, opts ...sikka.Option) *fixture {
	t.Helper()
	f := &fixture{t: t, mock: mocksikka.New(mocksikka.WithClock(start)), logs: &syncBuffer{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		override := f.override
		f.mu.Unlock()
		if override != nil && override(w, r) {
			return
		}
		f.mock.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.client = f.newClient(mocksikka.DefaultAppKey, opts...)
	return f
}

// newClient returns a client of the fixture's server for the default app
// with appKey, logging into f.logs and recording its waits.
func (f *fixture) newClient(appKey string, opts ...sikka.Option) *sikka.Client {
	c := f.realClient(appKey, opts...)
	sikka.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		f.mu.Lock()
		f.waits = append(f.waits, d)
		f.mu.Unlock()
		return ctx.Err()
	})
	return c
}

// realClient is newClient whose waits really wait.
func (f *fixture) realClient(appKey string, opts ...sikka.Option) *sikka.Client {
	base := []sikka.Option{
		sikka.WithBaseURL(f.srv.URL),
		sikka.WithClock(f.mock.Now),
		sikka.WithLogger(slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}
	return sikka.New(appID, appKey, append(base, opts...)...)
}

// setOverride answers requests with h first; h returns false to let the
// mock answer.
func (f *fixture) setOverride(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.override = h
}

func (f *fixture) recordedWaits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// code returns a fresh authorization code for officeID, as if the practice
// had clicked Allow.
func (f *fixture) code(officeID string) string {
	f.t.Helper()
	code, err := f.mock.IssueCode(appID, officeID)
	require.NoError(f.t, err)
	return code
}

// connect exchanges a fresh code for officeID.
func (f *fixture) connect(officeID string) *sikka.Key {
	f.t.Helper()
	key, err := f.client.ExchangeCode(context.Background(), f.code(officeID))
	require.NoError(f.t, err)
	return key
}

// refusedURL returns a base URL where nothing listens (connection refused).
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}
