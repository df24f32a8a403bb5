package mocksikka_test

// Benchmarks of the practice data (docs/BENCHMARKS.md has the figures and the command):
//
//	go test -run '^$' -bench 'BenchmarkData' -benchtime 20x ./mocksikka/
//
// They only run with -bench.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
)

// The sizes of the goals: 100,000 patients and 200,000 appointments in one practice.
const (
	benchPatients     = 100_000
	benchAppointments = 200_000
)

// requestKeyFor gets a request key of the default office over HTTP.
func requestKeyFor(b *testing.B, base string) string {
	b.Helper()
	body := `{"grant_type":"request_key","office_id":"` + mocksikka.DefaultOfficeID + `","secret_key":"` +
		mocksikka.DefaultSecretKey + `","app_id":"` + mocksikka.DefaultAppID + `","app_key":"` + mocksikka.DefaultAppKey + `"}`
	resp, err := http.Post(base+"/v4/request_key", "application/json", stringsReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		RequestKey string `json:"request_key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.RequestKey == "" {
		b.Fatalf("request key: %v", err)
	}
	return out.RequestKey
}

// pageBench is the mock of BenchmarkDataPatientsPage, its data made once for every run.
var pageBench struct {
	once   sync.Once
	srv    *httptest.Server
	key    string
	answer []byte // the mock's answer, captured once, for the pre-encoded handler
	pre    *httptest.Server
	hc     *http.Client
}

const pagePath = "/v4/patients?limit=5000&offset=3"

// pageGet reads GET pagePath from base whole and returns it.
func pageGet(b *testing.B, base string) []byte {
	req, _ := http.NewRequest("GET", base+pagePath, nil)
	req.Header.Set("Request-Key", pageBench.key)
	resp, err := pageBench.hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("%d %v", resp.StatusCode, err)
	}
	return body
}

// BenchmarkDataPatientsPage: GET /v4/patients?limit=5000 (a full page of the default fields,
// 7 MB) on a practice of 100,000 patients, over loopback HTTP, beside a handler that writes the
// same bytes, captured once (server=preencoded). The client reads each answer whole and asks
// for no compression (with Accept-Encoding: gzip the mock compresses, which the pre-encoded
// handler does not). server=paired alternates the two in one loop, which cancels the drift of
// a shared machine, and reports throughput-ratio: the median over the pairs of the pre-encoded
// handler's time / the mock's, i.e. the mock's requests per second as a share of the
// pre-encoded handler's (goal ≥ 0.5).
func BenchmarkDataPatientsPage(b *testing.B) {
	pageBench.once.Do(func() {
		mock := mocksikka.New(mocksikka.WithClock(time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)),
			mocksikka.WithDataSize(benchPatients, benchAppointments))
		pageBench.srv = httptest.NewServer(mock)
		pageBench.key = requestKeyFor(b, pageBench.srv.URL)
		pageBench.hc = &http.Client{Transport: &http.Transport{DisableCompression: true}}
		pageBench.answer = pageGet(b, pageBench.srv.URL) // also makes the data
		answer := pageBench.answer
		pageBench.pre = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(answer)
		}))
		runtime.GC() // the generation's garbage is not the answers' cost
	})
	for _, server := range []string{"mock", "preencoded", "paired"} {
		b.Run("server="+server, func(b *testing.B) {
			b.SetBytes(int64(len(pageBench.answer)))
			b.ReportAllocs()
			var ratios []float64 // per pair: pre-encoded time / mock time
			for b.Loop() {
				switch server {
				case "mock":
					pageGet(b, pageBench.srv.URL)
				case "preencoded":
					pageGet(b, pageBench.pre.URL)
				default:
					t := time.Now()
					pageGet(b, pageBench.srv.URL)
					mockTime := time.Since(t)
					t = time.Now()
					pageGet(b, pageBench.pre.URL)
					ratios = append(ratios, float64(time.Since(t))/float64(mockTime))
				}
			}
			if server == "paired" {
				slices.Sort(ratios)
				b.ReportMetric(ratios[len(ratios)/2], "throughput-ratio")
			}
		})
	}
}

// BenchmarkDataMemory: the heap the data of one practice with 100,000 patients and 200,000
// appointments (and the tables that follow them) holds, as HeapInuse after a GC with the data
// minus before it (metric heap-MB; goal ≤ 300), and the time to generate it (ns/op, wall; goal
// ≤ 3 s) with the CPU time the process spent meanwhile (cpu-s, user + system, the GC's too),
// which a busy machine inflates less than wall time.
func BenchmarkDataMemory(b *testing.B) {
	mock := mocksikka.New(mocksikka.WithClock(time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)),
		mocksikka.WithDataSize(benchPatients, benchAppointments))
	var rows int
	var heap float64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		mock.Reset()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cpu0 := processCPU()
		b.StartTimer()
		counts := mock.DataCounts(mocksikka.DefaultOfficeID, "1")
		b.StopTimer()
		cpu += processCPU() - cpu0
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapInuse-before.HeapInuse) / (1 << 20)
		rows = 0
		for _, n := range counts {
			rows += n
		}
		b.StartTimer()
	}
	b.ReportMetric(heap, "heap-MB")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
	b.ReportMetric(float64(rows), "rows")
}

// processCPU is this process's user + system CPU time (getrusage).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
