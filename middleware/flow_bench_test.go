package middleware_test

// BenchmarkFlow: the whole connect flow on memory backends over real
// loopback HTTP, beside its floor (the same number of bare HTTP round trips
// to a minimal net/http handler) in the same run. Compare with
//
//	benchstat -col /path flow.txt
//
// docs/BENCHMARKS.md has the figures and what the profiles showed. It only
// runs with -bench; everything it needs is built inside it.

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/internal/harness"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

// flowBenchTrips is how many HTTP round trips one connect makes: the
// browser's GET start, GET authapp.aspx (auto-approve) and GET callback, and
// the server's POST /v4/request_key and GET /v4/authorized_practices.
const flowBenchTrips = 5

// BenchmarkFlow runs, per op:
//
//   - path=connect: start → consent (auto-approve) → callback → code
//     exchange → authorized practices → secret stored → record saved →
//     302 to the frontend (not followed), on memory stores, with the mock
//     Sikka and the host app each on its own loopback listener, a browser
//     with a cookie jar, logs formatted as JSON into io.Discard;
//   - path=floor: flowBenchTrips GETs of a minimal handler over loopback,
//     with the same kind of client (keep-alive, cookie jar, redirects not
//     followed), each body read to the end.
func BenchmarkFlow(b *testing.B) {
	b.Run("path=connect", func(b *testing.B) {
		f := newFlowBench(b)
		f.connect(b) // warm: connections open, first-use allocations done
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			f.connect(b)
		}
	})
	b.Run("path=floor", func(b *testing.B) {
		c := harness.NewBrowser(b)
		u := floorURL(b)
		c.Location(u)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			for range flowBenchTrips {
				c.Location(u)
			}
		}
	})
}

// BenchmarkFlowParallel is BenchmarkFlow with GOMAXPROCS browsers at once
// (each its own account on its own practice), for throughput.
func BenchmarkFlowParallel(b *testing.B) {
	b.Run("path=connect", func(b *testing.B) {
		f := newFlowBench(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			br := f.newBrowser(b)
			for pb.Next() {
				br.connect(b)
			}
		})
	})
	b.Run("path=floor", func(b *testing.B) {
		u := floorURL(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := harness.NewBrowser(b)
			for pb.Next() {
				for range flowBenchTrips {
					c.Location(u)
				}
			}
		})
	})
}

// floorURL serves a minimal handler until the benchmark ends and returns
// its URL: the floor a connect's round trips are compared with.
func floorURL(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/x"
}

// flowBench is the host app: mock Sikka and app servers, memory stores.
type flowBench struct {
	mock    *mocksikka.Server
	mockURL string
	appURL  string
	h       *middleware.Handler
	first   *flowBrowser
	rec     flowRecorder // records the exchanges of both servers while on
}

func newFlowBench(b *testing.B) *flowBench {
	b.Helper()
	mock := mocksikka.New(mocksikka.WithAutoApprove(mocksikka.DefaultOfficeID))
	f := &flowBench{mock: mock}
	mockSrv := httptest.NewServer(f.rec.wrap(mock))
	b.Cleanup(mockSrv.Close)
	f.mockURL = mockSrv.URL

	app := httptest.NewUnstartedServer(nil)
	f.appURL = "http://" + app.Listener.Addr().String()
	discard := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	client := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(f.mockURL))
	svc, err := integration.NewService(integration.Config{
		Sikka: client, Secrets: secretmemory.New(), Records: memory.New(), Logger: discard,
	})
	if err != nil {
		b.Fatal(err)
	}
	h, err := middleware.New(middleware.Config{
		Service:     svc,
		RedirectURI: f.appURL + middleware.DefaultPrefix + "/callback",
		FrontendURL: f.appURL + "/agent/setup/pms",
		StateKeys:   []middleware.Key{{ID: "bench", Secret: []byte(strings.Repeat("k", 32))}},
		Account: func(r *http.Request) (string, error) {
			c, err := r.Cookie("session")
			if err != nil {
				return "", err
			}
			return c.Value, nil
		},
		DevMode: true,
		Logger:  discard,
	})
	if err != nil {
		b.Fatal(err)
	}
	f.h = h
	mux := http.NewServeMux()
	h.Mount(mux)
	app.Config.Handler = f.rec.wrap(mux)
	app.Start()
	b.Cleanup(app.Close)
	f.first = f.newBrowser(b)
	return f
}

// flowBrowser is one person's browser, signed in to the account that
// (re)connects the auto-approved practice each op. Parallel browsers share
// the account: the service serializes their secret and record writes (its
// account lock), as it would for two tabs.
type flowBrowser struct {
	f *flowBench
	c *harness.Browser
}

func (f *flowBench) newBrowser(b *testing.B) *flowBrowser {
	br := &flowBrowser{f: f, c: harness.NewBrowser(b)}
	br.c.SetCookie(f.appURL, &http.Cookie{Name: "session", Value: "acct-bench", Path: "/"})
	return br
}

// connect runs one whole flow and checks it ended in success.
func (f *flowBench) connect(b *testing.B) { f.first.connect(b) }

func (br *flowBrowser) connect(b *testing.B) {
	loc := br.c.Location(br.f.appURL + middleware.DefaultPrefix + "/start") // → authapp.aspx
	loc = br.c.Location(loc)                                                // auto-approve → callback
	done := br.c.Location(loc)                                              // callback → frontend
	if !strings.Contains(done, "status=success") {
		b.Fatalf("flow ended at %q", done)
	}
}

// BenchmarkFlowPaired runs, in each op, one whole connect (as
// path=connect), then its floor (flowBenchTrips bare round trips to a
// minimal handler, as path=floor), then a replay: the very requests and
// answers of a recorded connect (same methods, URLs, headers, cookies and
// bodies, flowBenchTrips of them) sent to a handler that only writes the
// recorded answer back. Each part is timed on its own and the ratios are
// reported per op, so that both sides of each ratio see the same load from
// the rest of a noisy machine:
//
//	x-floor   connect ÷ floor: the target (≤ 1.5)
//	x-replay  connect ÷ replay: what the flow costs beyond moving its own
//	          bytes over HTTP: our code, the mock's logic, JSON
//	connect-µs, floor-µs, replay-µs: the three times per op
func BenchmarkFlowPaired(b *testing.B) {
	f := newFlowBench(b)
	floorU := floorURL(b)
	floorClient := harness.NewBrowser(b)

	// Record one connect's exchanges at both servers.
	f.rec.on.Store(true)
	f.connect(b)
	f.rec.on.Store(false)
	ex := f.rec.ex
	if len(ex) != flowBenchTrips {
		b.Fatalf("recorded %d exchanges, want %d", len(ex), flowBenchTrips)
	}
	replaySrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		i, _ := strconv.Atoi(r.Header.Get("X-Replay"))
		e := ex[i]
		h := w.Header()
		for k, v := range e.respHeader {
			h[k] = v
		}
		w.WriteHeader(e.status)
		w.Write(e.respBody)
	}))
	defer replaySrv.Close()
	replayClient := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	replay := func() {
		for i, e := range ex {
			req, err := http.NewRequest(e.method, replaySrv.URL+e.target, bytes.NewReader(e.reqBody))
			if err != nil {
				b.Fatal(err)
			}
			req.Header = e.reqHeader.Clone()
			req.Header.Set("X-Replay", strconv.Itoa(i))
			resp, err := replayClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	floor := func() {
		for range flowBenchTrips {
			floorClient.Location(floorU)
		}
	}
	f.connect(b)
	floor()
	replay()

	var tConnect, tFloor, tReplay time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		f.connect(b)
		t1 := time.Now()
		floor()
		t2 := time.Now()
		replay()
		t3 := time.Now()
		tConnect += t1.Sub(t0)
		tFloor += t2.Sub(t1)
		tReplay += t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tConnect.Microseconds())/n, "connect-µs")
	b.ReportMetric(float64(tFloor.Microseconds())/n, "floor-µs")
	b.ReportMetric(float64(tReplay.Microseconds())/n, "replay-µs")
	b.ReportMetric(tConnect.Seconds()/tFloor.Seconds(), "x-floor")
	b.ReportMetric(tConnect.Seconds()/tReplay.Seconds(), "x-replay")
}

// exchange is one recorded HTTP request and its answer.
type exchange struct {
	method, target string // target: path and query
	reqHeader      http.Header
	reqBody        []byte
	status         int
	respHeader     http.Header
	respBody       []byte
}

// flowRecorder records the exchanges its wrapped handlers serve while on.
type flowRecorder struct {
	on atomic.Bool
	mu sync.Mutex
	ex []exchange
}

func (rc *flowRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rc.on.Load() {
			h.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		tw := &teeWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(tw, r)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.ex = append(rc.ex, exchange{
			method: r.Method, target: r.URL.RequestURI(), reqHeader: r.Header.Clone(), reqBody: body,
			status: tw.status, respHeader: w.Header().Clone(), respBody: tw.body.Bytes(),
		})
	})
}

type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (t *teeWriter) WriteHeader(code int) { t.status = code; t.ResponseWriter.WriteHeader(code) }
func (t *teeWriter) Write(p []byte) (int, error) {
	t.body.Write(p)
	return t.ResponseWriter.Write(p)
}
