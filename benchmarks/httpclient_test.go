package benchmarks

// BenchmarkSikkaGET: one GET /v4/practices to the in-process mock Sikka per
// op, the request key added by
//
//   - impl=bare: a plain http.Client; the caller sets Request-Key itself
//     from a key it holds in a variable (the floor: no lookup, no renewal);
//   - impl=httpclient: integration.Service.HTTPClient (cached credentials,
//     renewal ahead of expiry, rejection and rate-limit handling, host check);
// each against the mock (server=mock: the whole HTTP round trip) and against
// a transport that answers at once (server=stub: the per-request work
// alone, without the noise of a loopback round trip);
//
//   - impl=oauth2: x/oauth2's Transport over a ReuseTokenSource whose
//     source reads the key from the secret store when its token expires:
//     the usual way a Go client adds a renewable credential. Its base
//     transport moves the bearer token into Request-Key, which Sikka reads.
//
// All three share one transport (the Sikka client's) and one mock server, so
// the difference is the per-request work of each. docs/BENCHMARKS.md reports:
//
//	go test -run '^$' -bench '^BenchmarkSikkaGET$' -count 6 ./benchmarks > get.txt
//	benchstat -col /impl get.txt
//
// x/oauth2 is required by this module only, never by the library.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

func BenchmarkSikkaGET(b *testing.B) {
	ctx := context.Background()
	mock := mocksikka.New()
	srv := httptest.NewServer(mock)
	defer srv.Close()
	defer mock.Close()
	client := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL))
	secrets := secretmemory.New()
	records := memory.New()
	svc, err := integration.NewService(integration.Config{Sikka: client, Secrets: secrets, Records: records})
	if err != nil {
		b.Fatal(err)
	}
	code, err := mock.IssueCode(mocksikka.DefaultAppID, mocksikka.DefaultOfficeID)
	if err != nil {
		b.Fatal(err)
	}
	rec, err := svc.Connect(ctx, "acct-1", code)
	if err != nil {
		b.Fatal(err)
	}
	sec, err := secrets.Get(ctx, rec.SecretRef)
	if err != nil {
		b.Fatal(err)
	}
	url := srv.URL + "/v4/practices"
	for _, server := range []string{"mock", "stub"} {
		transport := client.Transport()
		ours := svc.HTTPClient("acct-1")
		if server == "stub" {
			// The same service's storage, behind a client whose transport
			// answers at once: the per-request work alone.
			transport = stubTransport{}
			stubbed, err := integration.NewService(integration.Config{Records: records, Secrets: secrets,
				Sikka: sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL),
					sikka.WithHTTPClient(&http.Client{Transport: transport}))})
			if err != nil {
				b.Fatal(err)
			}
			ours = stubbed.HTTPClient("acct-1")
		}
		b.Run("server="+server, func(b *testing.B) { benchGET(b, url, sec.RequestKey, transport, ours, secrets, rec.SecretRef) })
	}
}

// benchGET runs the three impls against one transport.
func benchGET(b *testing.B, url, key string, transport http.RoundTripper, ours *http.Client, secrets secretstore.Store, ref string) {
	bare := &http.Client{Transport: transport}
	src := oauth2.ReuseTokenSource(nil, storeTokenSource{secrets, ref})
	theirs := &http.Client{Transport: &oauth2.Transport{Source: src, Base: bearerToRequestKey{transport}}}
	sec := struct{ RequestKey string }{key}

	for _, c := range []struct {
		impl string
		do   func() (*http.Response, error)
	}{
		{"bare", func() (*http.Response, error) {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Request-Key", sec.RequestKey)
			return bare.Do(req)
		}},
		{"httpclient", func() (*http.Response, error) { return ours.Get(url) }},
		{"oauth2", func() (*http.Response, error) { return theirs.Get(url) }},
	} {
		b.Run("impl="+c.impl, func(b *testing.B) {
			for b.Loop() {
				resp, err := c.do()
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

// stubTransport answers every request at once with 200, an empty list and
// Sikka's rate headers, without reading it.
type stubTransport struct{}

func (stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Request-Key") == "" {
		return nil, http.ErrNoCookie // a bug of the benchmark: no key sent
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Request: r, ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Rate-Limit-Remaining": {"100"}, "X-Rate-Limit-Reset": {"30"}},
		Body:   io.NopCloser(strings.NewReader(`{"items":[]}`))}, nil
}

// storeTokenSource reads the account's key from the secret store: the work
// ReuseTokenSource does when its token expires.
type storeTokenSource struct {
	store secretstore.Store
	ref   string
}

func (s storeTokenSource) Token() (*oauth2.Token, error) {
	sec, err := s.store.Get(context.Background(), s.ref)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: sec.RequestKey, TokenType: "Bearer", Expiry: sec.TokenExpiry.Add(-time.Hour)}, nil
}

// bearerToRequestKey sends oauth2's bearer token as Sikka's Request-Key.
type bearerToRequestKey struct{ next http.RoundTripper }

func (t bearerToRequestKey) RoundTrip(r *http.Request) (*http.Response, error) {
	// oauth2.Transport hands over a request of its own: changing its
	// headers is allowed.
	r.Header.Set("Request-Key", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	r.Header.Del("Authorization")
	return t.next.RoundTrip(r)
}
