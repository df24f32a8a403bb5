package integration_test

// The service when Sikka answers as its documentation says (a dead request
// key is 400 API1004 or API1025, not the mock's 401; DELETE /v4/refresh_key
// answers 200 API0002): a transport rewrites the mock's answers.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/sikka"
)

// documentedSikka sits between the client and the mock (through the env's
// wireTap): it turns the mock's 401 answers into the documented 400 with
// error code keyCode, and answers DELETE /v4/refresh_key with
// refreshDelete when set. It records every call it sees.
type documentedSikka struct {
	next          http.RoundTripper
	keyCode       string                               // "" keeps the 401
	refreshDelete func(r *http.Request) *http.Response // nil passes the call on

	mu    sync.Mutex
	calls []string
	// refreshKeys are the Refresh-Key headers of DELETE /v4/refresh_key;
	// appCreds its App-Id and App-Key.
	refreshKeys []string
	appCreds    []string
}

// documentedTexts are the short and long messages of the documented codes.
var documentedTexts = map[string][2]string{
	"API1004": {"Missing Parameter", "Requestkey is missing/invalid"},
	"API1025": {"Request key expired", "Request key is not valid, it is expired."},
}

// envelopeResponse answers r with Sikka's envelope.
func envelopeResponse(r *http.Request, status int, desc, code, short, long string) *http.Response {
	b, _ := json.Marshal(map[string]string{"http_code": strconv.Itoa(status), "http_code_desc": desc,
		"error_code": code, "short_message": short, "long_message": long, "more_information": ""})
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status), Request: r,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(string(b)))}
}

func (d *documentedSikka) RoundTrip(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.calls = append(d.calls, r.Method+" "+r.URL.Path)
	if r.Method == http.MethodDelete && r.URL.Path == "/v4/refresh_key" {
		d.refreshKeys = append(d.refreshKeys, r.Header.Get("Refresh-Key"))
		d.appCreds = append(d.appCreds, r.Header.Get("App-Id")+" "+r.Header.Get("App-Key"))
	}
	d.mu.Unlock()
	if d.refreshDelete != nil && r.Method == http.MethodDelete && r.URL.Path == "/v4/refresh_key" {
		return d.refreshDelete(r), nil
	}
	resp, err := d.next.RoundTrip(r)
	if err != nil || d.keyCode == "" || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	resp.Body.Close()
	texts := documentedTexts[d.keyCode]
	return envelopeResponse(r, http.StatusBadRequest, "BadRequest", d.keyCode, texts[0], texts[1]), nil
}

func (d *documentedSikka) seen() (calls, refreshKeys, appCreds []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...), append([]string(nil), d.refreshKeys...), append([]string(nil), d.appCreds...)
}

// documentedService is a service of e whose Sikka client goes through d
// (then the env's wireTap and the mock).
func (e *env) documentedService(d *documentedSikka, cfg integration.Config) *integration.Service {
	e.t.Helper()
	d.next = e.wire
	// The mock's base URL, from the env's client.
	u, err := url.Parse(e.client.AuthorizeURL("https://app.example/cb", "s"))
	require.NoError(e.t, err)
	client := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(u.Scheme+"://"+u.Host),
		sikka.WithBackoff(func(int) time.Duration { return time.Millisecond }),
		sikka.WithHTTPClient(&http.Client{Transport: d}))
	cfg.Sikka = client
	cfg.Secrets = e.secrets
	if cfg.Records == nil {
		cfg.Records = e.repo
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := integration.NewService(cfg)
	require.NoError(e.t, err)
	return svc
}

// A refresh key Sikka refuses with the documented 400 API1025 or API1004
// falls back to the office credentials, as with the mock's 401; both
// refused makes the record NEEDS_REAUTH.
func TestRefreshFallsBackOnTheDocumentedAnswers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		for _, code := range []string{"API1025", "API1004"} {
			t.Run(code+": falls back", func(t *testing.T) {
				e := newEnv(t, b)
				d := &documentedSikka{keyCode: code}
				svc := e.documentedService(d, integration.Config{})
				rec := e.connectWithShortKey("acct-1")
				old, err := e.secrets.Get(ctx, rec.SecretRef)
				require.NoError(t, err)
				e.mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Grant: "refresh_key", Count: 1, Status: 401})
				creds, err := svc.Credentials(ctx, "acct-1")
				require.NoError(t, err)
				assert.NotEqual(t, old.RequestKey, creds.RequestKey)
				assert.Equal(t, e.wire.lastIssued(t), creds.RequestKey, "the key of the fallback grant")
				assert.Equal(t, 1, e.mock.Count("POST /v4/request_key", "refresh_key"))
				assert.Equal(t, 1, e.mock.Count("POST /v4/request_key", "request_key"))
				got, err := e.repo.Get(ctx, "acct-1")
				require.NoError(t, err)
				assert.Equal(t, integration.StatusActive, got.Status)
				e.assertConsistent("acct-1")
				e.assertNoSecretsLogged(old.RequestKey, old.RefreshKey, creds.RequestKey, creds.RefreshKey)
			})
			t.Run(code+": both refused", func(t *testing.T) {
				e := newEnv(t, b)
				d := &documentedSikka{keyCode: code}
				svc := e.documentedService(d, integration.Config{})
				e.connectWithShortKey("acct-1")
				e.mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Grant: "refresh_key", Count: 1, Status: 401})
				e.mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Grant: "request_key", Count: 1, Status: 401})
				_, err := svc.Credentials(ctx, "acct-1")
				assert.ErrorIs(t, err, integration.ErrNeedsReauth)
				got, err := e.repo.Get(ctx, "acct-1")
				require.NoError(t, err)
				assert.Equal(t, integration.StatusNeedsReauth, got.Status)
			})
		}
	})
}

// A disconnect whose request key Sikka already rejects (expired: 400
// API1025; revoked or unknown: 400 API1004; the mock's 401) completes and
// takes the key as revoked; the refresh key is deleted at Sikka too.
func TestDisconnectOfAKeySikkaAlreadyRejects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		cases := []struct {
			name, code string
			kill       func(e *env, key string)
		}{
			{"expired, 400 API1025", "API1025", func(e *env, _ string) { e.mock.Advance(25 * time.Hour) }},
			{"revoked, 400 API1004", "API1004", func(e *env, key string) {
				require.NoError(e.t, e.client.RevokeKey(context.Background(), key))
			}},
			{"revoked, the mock's 401", "", func(e *env, key string) {
				require.NoError(e.t, e.client.RevokeKey(context.Background(), key))
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b)
				d := &documentedSikka{keyCode: tc.code, refreshDelete: func(r *http.Request) *http.Response {
					return envelopeResponse(r, http.StatusOK, "OK", "API0002", "OK", "Request Session terminated successfully.")
				}}
				disconnected := make(chan integration.Record, 1)
				svc := e.documentedService(d, integration.Config{Hooks: integration.Hooks{
					Disconnected: func(_ context.Context, r integration.Record) { disconnected <- r },
				}})
				rec, err := e.svc.Connect(ctx, "acct-1", e.code())
				require.NoError(t, err)
				sec, err := e.secrets.Get(ctx, rec.SecretRef)
				require.NoError(t, err)
				require.NotEmpty(t, sec.RefreshKey)
				tc.kill(e, sec.RequestKey)

				require.NoError(t, svc.Disconnect(ctx, "acct-1"))
				got, err := e.repo.Get(ctx, "acct-1")
				require.NoError(t, err)
				assert.Equal(t, integration.StatusRevoked, got.Status)
				assert.Empty(t, got.SecretRef)
				_, err = e.secrets.Get(ctx, rec.SecretRef)
				assert.ErrorIs(t, err, secretstore.ErrNotFound)
				select {
				case r := <-disconnected:
					assert.Equal(t, "acct-1", r.AccountID)
				case <-time.After(5 * time.Second):
					t.Fatal("Disconnected hook not called")
				}

				logs := e.logs.String()
				assert.Contains(t, logs, "key already unusable at Sikka", "the rejected key counts as revoked")
				assert.NotContains(t, logs, "could not revoke a key at Sikka")
				assert.Contains(t, logs, "refresh key deleted at Sikka")
				calls, refreshKeys, appCreds := d.seen()
				assert.Equal(t, []string{"DELETE /v4/request_key", "DELETE /v4/refresh_key"}, calls,
					"the request key, then the refresh key")
				assert.Equal(t, []string{sec.RefreshKey}, refreshKeys)
				assert.Equal(t, []string{mocksikka.DefaultAppID + " " + mocksikka.DefaultAppKey}, appCreds)
				e.assertNoSecretsLogged(sec.RequestKey, sec.RefreshKey)
			})
		}
	})
}

// Deleting the refresh key is best effort: whatever Sikka answers, the
// disconnect completes; a refusal is taken as an unusable key, anything
// else is logged as a key left live.
func TestDisconnectRefreshKeyDeletionIsBestEffort(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		cases := []struct {
			name   string
			answer func(r *http.Request) *http.Response
			log    string
		}{
			{"unknown refresh key, 400 API1004", func(r *http.Request) *http.Response {
				return envelopeResponse(r, http.StatusBadRequest, "BadRequest", "API1004", "Missing Parameter", "Refresh key is missing/invalid")
			}, "refresh key already unusable at Sikka"},
			{"wrong app credentials, 401 API2003", func(r *http.Request) *http.Response {
				return envelopeResponse(r, http.StatusUnauthorized, "Unauthorized", "API2003", "Authentication/Authorization Failed", "ID or key is incorrect.")
			}, "could not delete a refresh key at Sikka"},
			{"Sikka down", func(r *http.Request) *http.Response {
				return envelopeResponse(r, http.StatusServiceUnavailable, "ServiceUnavailable", "API2002", "Service unavailable", "Try later.")
			}, "could not delete a refresh key at Sikka"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b)
				d := &documentedSikka{refreshDelete: tc.answer}
				svc := e.documentedService(d, integration.Config{})
				rec, err := e.svc.Connect(ctx, "acct-1", e.code())
				require.NoError(t, err)
				sec, err := e.secrets.Get(ctx, rec.SecretRef)
				require.NoError(t, err)
				require.NoError(t, svc.Disconnect(ctx, "acct-1"))
				_, err = e.secrets.Get(ctx, rec.SecretRef)
				assert.ErrorIs(t, err, secretstore.ErrNotFound)
				e.assertRevoked(sec.RequestKey, "disconnect")
				assert.Contains(t, e.logs.String(), tc.log)
				e.assertNoSecretsLogged(sec.RequestKey, sec.RefreshKey)
			})
		}
	})
}
