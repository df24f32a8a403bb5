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

// BenchmarkDataPatientsPage: GET /v4/patients?limit=5000 (a full page of the default fields)
// on a practice of 100,000 patients, over loopback HTTP, beside a handler that writes the
// same bytes, captured once (server=preencoded). The client reads each answer whole and asks for no compression
// (with Accept-Encoding: gzip the mock compresses, which the pre-encoded handler does not). The
// throughput ratio is the inverse of the ns/op ratio (goal: mock ≥ 0.5× preencoded); MB/s
// is the answer's size per second.
func BenchmarkDataPatientsPage(b *testing.B) {
	mock := mocksikka.New(mocksikka.WithClock(time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)),
		mocksikka.WithDataSize(benchPatients, benchAppointments))
	mockSrv := httptest.NewServer(mock)
	defer mockSrv.Close()
	key := requestKeyFor(b, mockSrv.URL)
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}} // compare encoding, not gzip
	defer hc.CloseIdleConnections()
	const path = "/v4/patients?limit=5000&offset=3"
	get := func(b *testing.B, base string) []byte {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Request-Key", key)
		resp, err := hc.Do(req)
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
	answer := get(b, mockSrv.URL) // also generates the data
	for _, server := range []string{"mock", "preencoded"} {
		b.Run("server="+server, func(b *testing.B) {
			base := mockSrv.URL
			if server == "preencoded" {
				pre := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json; charset=utf-8")
					_, _ = w.Write(answer)
				}))
				defer pre.Close()
				base = pre.URL
			}
			b.SetBytes(int64(len(answer)))
			b.ReportAllocs()
			for b.Loop() {
				get(b, base)
			}
		})
	}
}

// BenchmarkDataMemory: the heap the data of one practice with 100,000 patients and 200,000
// appointments (and the tables that follow them) holds, as HeapInuse after a GC with the data
// minus before it (metric heap-MB; goal ≤ 300), and the time to generate it (ns/op; goal ≤ 3 s).
func BenchmarkDataMemory(b *testing.B) {
	mock := mocksikka.New(mocksikka.WithClock(time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)),
		mocksikka.WithDataSize(benchPatients, benchAppointments))
	var rows int
	var heap float64
	for b.Loop() {
		b.StopTimer()
		mock.Reset()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		counts := mock.DataCounts(mocksikka.DefaultOfficeID, "1")
		b.StopTimer()
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
	b.ReportMetric(float64(rows), "rows")
}
