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
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
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
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}))
		defer srv.Close()
		c := flowBenchClient(b)
		u := srv.URL + "/x"
		flowBenchGet(b, c, u)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			for range flowBenchTrips {
				flowBenchGet(b, c, u)
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
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}))
		defer srv.Close()
		u := srv.URL + "/x"
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := flowBenchClient(b)
			for pb.Next() {
				for range flowBenchTrips {
					flowBenchGet(b, c, u)
				}
			}
		})
	})
}

// flowBench is the host app: mock Sikka and app servers, memory stores.
type flowBench struct {
	mock    *mocksikka.Server
	mockURL string
	appURL  string
	h       *middleware.Handler
	first   *flowBrowser
}

func newFlowBench(b *testing.B) *flowBench {
	b.Helper()
	mock := mocksikka.New(mocksikka.WithAutoApprove(mocksikka.DefaultOfficeID))
	mockSrv := httptest.NewServer(mock)
	b.Cleanup(mockSrv.Close)
	f := &flowBench{mock: mock, mockURL: mockSrv.URL}

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
		AppID:       mocksikka.DefaultAppID,
		OAuthURL:    f.mockURL + "/portal/authapp.aspx",
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
	app.Config.Handler = mux
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
	c *http.Client
}

func (f *flowBench) newBrowser(b *testing.B) *flowBrowser {
	br := &flowBrowser{f: f, c: flowBenchClient(b)}
	u, _ := url.Parse(f.appURL)
	br.c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "acct-bench", Path: "/"}})
	return br
}

// connect runs one whole flow and checks it ended in success.
func (f *flowBench) connect(b *testing.B) { f.first.connect(b) }

func (br *flowBrowser) connect(b *testing.B) {
	loc := flowBenchGet(b, br.c, br.f.appURL+middleware.DefaultPrefix+"/start") // → authapp.aspx
	loc = flowBenchGet(b, br.c, loc)                                            // auto-approve → callback
	done := flowBenchGet(b, br.c, loc)                                          // callback → frontend
	if !strings.Contains(done, "status=success") {
		b.Fatalf("flow ended at %q", done)
	}
}

func flowBenchClient(b *testing.B) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// flowBenchGet GETs u, reads the body to the end and returns the Location.
func flowBenchGet(b *testing.B, c *http.Client, u string) string {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("Location")
}
