package middleware_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/postgres"
	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/middleware"
	"github.com/parlae/sikka-connect/mocksikka"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

// maxCallbackStatements is the most statements a successful callback sends
// to PostgreSQL: the nonce, BeginConnect (lock, practice check and marker)
// and Complete (record, marker and unlock).
const maxCallbackStatements = 3

// A callback on PostgreSQL makes at most three round trips to the database,
// for a first connect and for a reconnect, counted on the wire.
func TestCallbackDatabaseRoundTrips(t *testing.T) {
	ctx := context.Background()
	db, statements := pgtest.CountingDB(t)
	require.NoError(t, postgres.Migrate(ctx, db))
	repo := postgres.New(db) // records and nonces on one pool

	mock := mocksikka.New(mocksikka.WithAutoApprove(office))
	mockSrv := httptest.NewServer(mock)
	t.Cleanup(mockSrv.Close)
	svc, err := integration.NewService(integration.Config{
		Sikka:   sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(mockSrv.URL)),
		Secrets: secretmemory.New(),
		Records: repo,
	})
	require.NoError(t, err)
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	h, err := middleware.New(middleware.Config{
		Service:     svc,
		RedirectURI: appURL + prefix + "/callback",
		FrontendURL: frontend,
		StateKeys:   []middleware.Key{keyOld},
		Account:     func(*http.Request) (string, error) { return acct1, nil },
		DevMode:     true,
	})
	require.NoError(t, err)
	app.Config.Handler = h
	app.Start()
	t.Cleanup(app.Close)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *url.URL {
		t.Helper()
		resp, err := client.Get(u)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode, u)
		loc, err := resp.Location()
		require.NoError(t, err)
		return loc
	}
	for _, round := range []string{"first connect", "reconnect"} {
		consent := get(appURL + prefix + "/start")
		callback := get(consent.String())
		require.True(t, strings.HasSuffix(callback.Path, "/callback"), callback.String())

		statements.Reset()
		landed := get(callback.String())
		sent := statements.Sent()
		assert.Equal(t, "success", landed.Query().Get("status"), round)
		assert.LessOrEqual(t, len(sent), maxCallbackStatements, "%s: statements:\n%s", round, strings.Join(sent, "\n---\n"))
		t.Logf("%s: %d statements", round, len(sent))
	}
}
