package mocksikka_test

// BenchmarkMockThroughput: the mock's requests per second under concurrent
// load over loopback HTTP, beside a minimal net/http handler that answers
// the same JSON bytes, in the same run. Compare with
//
//	benchstat -col /server throughput.txt
//
// docs/BENCHMARKS.md has the figures. It only runs with -bench.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
)

// mockBenchClients is how many concurrent clients each parallel goroutine
// stands for (RunParallel runs GOMAXPROCS×this goroutines).
const mockBenchClients = 8

// BenchmarkMockThroughput runs, for each endpoint, the mock (server=mock)
// and a minimal handler returning the mock's own answer, captured once
// (server=minimal), with 8×GOMAXPROCS concurrent keep-alive clients doing
// the same client work (send the same request, read and decode the JSON
// answer). ns/op is wall time per request across all clients, so the
// throughput ratio is the inverse ns/op ratio; req/s is reported too.
//
//   - endpoint=refresh: POST /v4/request_key with grant_type refresh_key;
//     each client chains its keys (each answer's refresh_key is the next
//     request's, as a refresher would: the mock invalidates used ones).
//   - endpoint=authorized_practices: GET /v4/authorized_practices?show=all
//     with a Request-Key.
func BenchmarkMockThroughput(b *testing.B) {
	for _, ep := range []string{"refresh", "authorized_practices"} {
		for _, server := range []string{"mock", "minimal"} {
			b.Run("endpoint="+ep+"/server="+server, func(b *testing.B) {
				mock := mocksikka.New()
				mockSrv := httptest.NewServer(mock)
				defer mockSrv.Close()
				url := mockSrv.URL
				if server == "minimal" {
					// The same JSON the mock answers, served by the least a
					// net/http handler can do.
					body := mockBenchAnswer(b, mockSrv.URL, ep)
					minSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						io.Copy(io.Discard, r.Body)
						w.Header().Set("Content-Type", "application/json; charset=utf-8")
						w.Write(body)
					}))
					defer minSrv.Close()
					url = minSrv.URL
				}
				tr := &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024}
				defer tr.CloseIdleConnections()
				hc := &http.Client{Transport: tr}
				var fails atomic.Int64
				b.SetParallelism(mockBenchClients)
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					// Each client's own key, issued outside the timing's
					// concern (a few per run).
					key := mockBenchKey(b, mockSrv.URL)
					for pb.Next() {
						if err := mockBenchCall(hc, url, ep, &key); err != nil {
							if fails.Add(1) == 1 {
								b.Error(err)
							}
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
		}
	}
}

type mockBenchKeys struct {
	RequestKey string `json:"request_key"`
	RefreshKey string `json:"refresh_key"`
}

// mockBenchKey gets a fresh key pair from the mock with the request_key grant.
func mockBenchKey(b *testing.B, mockURL string) mockBenchKeys {
	body := fmt.Sprintf(`{"grant_type":"request_key","office_id":%q,"secret_key":%q,"app_id":%q,"app_key":%q}`,
		mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey, mocksikka.DefaultAppID, mocksikka.DefaultAppKey)
	resp, err := http.Post(mockURL+"/v4/request_key", "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var k mockBenchKeys
	if err := json.NewDecoder(resp.Body).Decode(&k); err != nil || k.RefreshKey == "" {
		b.Fatalf("request_key grant: %v", err)
	}
	return k
}

// mockBenchAnswer returns what the mock answers to one call of ep.
func mockBenchAnswer(b *testing.B, mockURL, ep string) []byte {
	key := mockBenchKey(b, mockURL)
	req := mockBenchRequest(mockURL, ep, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %d %v", ep, resp.StatusCode, err)
	}
	return body
}

func mockBenchRequest(base, ep string, key mockBenchKeys) *http.Request {
	var req *http.Request
	switch ep {
	case "refresh":
		body := `{"grant_type":"refresh_key","refresh_key":"` + key.RefreshKey + `","app_id":"` +
			mocksikka.DefaultAppID + `","app_key":"` + mocksikka.DefaultAppKey + `"}`
		req, _ = http.NewRequest(http.MethodPost, base+"/v4/request_key", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
	default:
		req, _ = http.NewRequest(http.MethodGet, base+"/v4/authorized_practices?show=all", nil)
		req.Header.Set("Request-Key", key.RequestKey)
	}
	return req
}

// mockBenchCall makes one call and decodes the answer; a refresh moves key on.
func mockBenchCall(hc *http.Client, base, ep string, key *mockBenchKeys) error {
	resp, err := hc.Do(mockBenchRequest(base, ep, *key))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %d %s", ep, resp.StatusCode, body)
	}
	if ep == "refresh" {
		var next mockBenchKeys
		if err := json.NewDecoder(resp.Body).Decode(&next); err != nil {
			return err
		}
		*key = next // the minimal handler answers the same keys each time; the client's work is the same
		return nil
	}
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	return json.NewDecoder(resp.Body).Decode(&page)
}

// BenchmarkMockThroughputPaired measures the same two servers as
// BenchmarkMockThroughput but alternates them in short bursts (128 requests
// by 16 concurrent clients, about a few milliseconds each, the order swapped
// every pair) inside one run, so that both see the same load from the rest
// of the machine. Each pair of bursts gives one ratio (mock req/s ÷ minimal
// req/s); the reported x-minimal-req/s is their median, which a load spike
// hitting one burst does not move. b.N counts the mock's requests (the
// minimal handler answers as many).
func BenchmarkMockThroughputPaired(b *testing.B) {
	const clients, burst = 16, 128
	for _, ep := range []string{"refresh", "authorized_practices"} {
		b.Run("endpoint="+ep, func(b *testing.B) {
			mock := mocksikka.New()
			mockSrv := httptest.NewServer(mock)
			defer mockSrv.Close()
			body := mockBenchAnswer(b, mockSrv.URL, ep)
			minSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.Write(body)
			}))
			defer minSrv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			keys := make([]mockBenchKeys, clients)
			minKeys := make([]mockBenchKeys, clients)
			for i := range keys {
				keys[i] = mockBenchKey(b, mockSrv.URL)
				minKeys[i] = keys[i]
			}
			var fails atomic.Int64
			run := func(base string, ks []mockBenchKeys, n int) time.Duration {
				start := time.Now()
				var wg sync.WaitGroup
				for c := range clients {
					calls := n / clients
					if c < n%clients {
						calls++
					}
					wg.Add(1)
					go func(k *mockBenchKeys) {
						defer wg.Done()
						for range calls {
							if err := mockBenchCall(hc, base, ep, k); err != nil && fails.Add(1) == 1 {
								b.Error(err)
							}
						}
					}(&ks[c])
				}
				wg.Wait()
				return time.Since(start)
			}
			run(mockSrv.URL, keys, 4*clients) // warm: connections open
			run(minSrv.URL, minKeys, 4*clients)
			var tMock, tMin time.Duration
			var ratios []float64
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(burst, b.N-done)
				var dMock, dMin time.Duration
				if len(ratios)%2 == 0 {
					dMock = run(mockSrv.URL, keys, n)
					dMin = run(minSrv.URL, minKeys, n)
				} else {
					dMin = run(minSrv.URL, minKeys, n)
					dMock = run(mockSrv.URL, keys, n)
				}
				tMock += dMock
				tMin += dMin
				ratios = append(ratios, dMin.Seconds()/dMock.Seconds())
				done += n
			}
			b.ReportMetric(float64(b.N)/tMock.Seconds(), "mock-req/s")
			b.ReportMetric(float64(b.N)/tMin.Seconds(), "minimal-req/s")
			b.ReportMetric(median(ratios), "x-minimal-req/s")
		})
	}
}

// median returns the middle value of xs (xs is reordered).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 1 {
		return xs[n/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}
