package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/chromedp/chromedp"
	"github.com/jmoiron/sqlx"
	"github.com/sivchari/kumo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/pgtest"
	"github.com/parlae/sikka-connect/mocksikka"
)

// The frontend messages of the original notes.
const (
	successText   = "Successfully connected to Happy Dental Clinic (Dentrix)"
	cancelledText = "Authorization cancelled. You can try again anytime."
	takenText     = "This practice is already connected to another account."
)

// stores reads what a backend setup stored, directly from the store and
// the database; nil for the memory setup, whose stores live in the demo.
type stores interface {
	// secretFields returns the stored JSON object of the account's secret
	// (ok false when it does not exist).
	secretFields(t *testing.T, account string) (fields map[string]string, ref string, ok bool)
	// record returns the account's pms_integrations row as column → value.
	record(t *testing.T, account string) map[string]string
	// recordColumns lists the columns of pms_integrations.
	recordColumns(t *testing.T) []string
}

// The flow runs three times: on the embedded defaults, and on real
// PostgreSQL with each real secret store.

func TestFlowMemory(t *testing.T) {
	mock := startMock(t)
	d := startDemo(t, nil, "-sikka-url", mock.URL)
	walkFlow(t, d, mock, nil)
}

func TestFlowPostgresVault(t *testing.T) {
	w := newWorld(t, worldOpts{})
	d := w.start(t, nil)
	walkFlow(t, d, w.mock, w.directStores(t))
}

func TestFlowPostgresSecretsManager(t *testing.T) {
	dbURL := pgtest.URL(t)
	emulator := kumo.NewServer()
	t.Cleanup(emulator.Close)
	mock := startMock(t)
	d := startDemo(t, []string{
		"SIKKA_SECRETS=awssm", "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + emulator.URL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDE2E", "AWS_SECRET_ACCESS_KEY=e2e-secret", "SIKKA_AWSSM_FORCE_DELETE=true",
		"DATABASE_URL=" + dbURL,
	}, "-sikka-url", mock.URL)

	sm := secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(emulator.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDE2E", "e2e-secret", ""),
	})
	st := &storesOn{t: t, db: openDB(t, dbURL), secret: func(account string) (map[string]any, string, error) {
		out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{
			SecretId: aws.String("parlae/pms/sikka/" + account),
		})
		var notFound *smtypes.ResourceNotFoundException
		if errors.As(err, &notFound) {
			return nil, "", errNoSecret
		}
		if err != nil {
			return nil, "", err
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &fields); err != nil {
			return nil, "", err
		}
		return fields, aws.ToString(out.ARN), nil
	}}
	walkFlow(t, d, mock, st)
}

// storesOn reads a real database and a real secret store.
type storesOn struct {
	t      *testing.T
	db     *sqlx.DB
	secret func(account string) (fields map[string]any, ref string, err error)
}

// directStores reads what w's demos stored: w's database and its Vault,
// directly.
func (w *world) directStores(t *testing.T) *storesOn {
	return &storesOn{t: t, db: w.db, secret: func(account string) (map[string]any, string, error) {
		fields, _, err := w.vault.read(context.Background(), account)
		return fields, w.vault.ref(account), err
	}}
}

func (s *storesOn) secretFields(t *testing.T, account string) (map[string]string, string, bool) {
	t.Helper()
	raw, ref, err := s.secret(account)
	if errors.Is(err, errNoSecret) {
		return nil, "", false
	}
	require.NoError(t, err)
	fields := map[string]string{}
	for k, v := range raw {
		fields[k] = fmt.Sprint(v)
	}
	return fields, ref, true
}

func (s *storesOn) record(t *testing.T, account string) map[string]string {
	t.Helper()
	var rows []string
	require.NoError(t, s.db.Select(&rows, `SELECT row_to_json(p)::text FROM pms_integrations p WHERE account_id = $1`, account))
	if len(rows) == 0 {
		return nil
	}
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(rows[0]), &raw))
	row := map[string]string{}
	for k, v := range raw {
		row[k] = fmt.Sprint(v)
	}
	return row
}

func (s *storesOn) recordColumns(t *testing.T) []string {
	t.Helper()
	var cols []string
	require.NoError(t, s.db.Select(&cols, `SELECT column_name FROM information_schema.columns
		WHERE table_name = 'pms_integrations' AND table_schema = current_schema()`))
	require.NotEmpty(t, cols)
	return cols
}

// walkFlow clicks through the whole flow like a person: connect and allow,
// deny on a second account, the practice already taken, then disconnect.
// After each step it checks what the stores hold, when it can see them.
func walkFlow(t *testing.T, d *demo, mock *mockSikka, st stores) {
	ctx := newChromium(t)
	scan := newLeakScan()
	loaded := func() { t.Helper(); loadedScanned(t, ctx, scan) }

	// 1. Connect and allow.
	do(t, ctx, chromedp.Navigate(d.URL))
	loaded()
	assert.Equal(t, "demo-account", text(t, ctx, "account"))
	do(t, ctx, chromedp.Click(chromedp.ID("connect")))
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("allow")))
	assert.Equal(t, "Happy Dental Clinic", text(t, ctx, "practice_name"))
	assert.Equal(t, "Dentrix", text(t, ctx, "pms"))
	screenshot(t, ctx, "consent")
	do(t, ctx, chromedp.Click(chromedp.ID("allow")))
	loaded()
	assert.Contains(t, text(t, ctx, "message"), successText)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(loc, "/agent/setup/pms?status=success"), loc)
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("continue")), chromedp.WaitVisible(chromedp.ID("disconnect")),
		chromedp.WaitNotVisible(chromedp.ID("connect")))
	screenshot(t, ctx, "success")
	if st != nil {
		checkConnected(t, st, "demo-account")
	}

	// 2. A second account denies: cancelled, nothing stored.
	do(t, ctx, chromedp.Navigate(d.Base+"/demo/login?account=second-account"))
	loaded()
	assert.Equal(t, "second-account", text(t, ctx, "account"))
	answerConsent(t, ctx, "deny")
	loaded()
	assert.Equal(t, cancelledText, text(t, ctx, "message"))

	// 3. It allows the practice the first account holds: already connected.
	answerConsent(t, ctx, "allow")
	loaded()
	assert.Equal(t, takenText, text(t, ctx, "message"))
	if st != nil {
		_, _, ok := st.secretFields(t, "second-account")
		assert.False(t, ok, "the loser's secret is removed")
		assert.Nil(t, st.record(t, "second-account"))
	}

	// 4. The first account disconnects.
	do(t, ctx, chromedp.Navigate(d.Base+"/demo/login?account=demo-account"))
	loaded()
	do(t, ctx, chromedp.Click(chromedp.ID("disconnect")))
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("connect")))
	loaded()
	do(t, ctx, chromedp.WaitNotVisible(chromedp.ID("disconnect")), chromedp.WaitNotVisible(chromedp.ID("continue")))
	assert.Equal(t, "Not connected.", text(t, ctx, "connection"))
	if st != nil {
		_, _, ok := st.secretFields(t, "demo-account")
		assert.False(t, ok, "the secret is deleted on disconnect")
		assert.Equal(t, "REVOKED", st.record(t, "demo-account")["status"])
	}

	assertCleanRun(t, d, mock, scan)
}

// checkConnected checks the stores after a connect: the secret at the
// expected name with the notes' fields, and a record holding only the
// reference and display metadata.
func checkConnected(t *testing.T, st stores, account string) {
	t.Helper()
	fields, ref, ok := st.secretFields(t, account)
	require.True(t, ok, "secret parlae/pms/sikka/%s", account)
	want := mocksikka.DefaultPractices()[0]
	assert.Equal(t, want.OfficeID, fields["officeId"])
	assert.Equal(t, want.SecretKey, fields["secretKey"])
	assert.Equal(t, "Happy Dental Clinic", fields["practiceName"])
	assert.Equal(t, "1", fields["practiceId"])
	assert.Equal(t, "Dentrix", fields["pmsType"])
	assert.NotEmpty(t, fields["requestKey"])
	assert.NotEmpty(t, fields["refreshKey"])
	expiry, err := time.Parse(time.RFC3339Nano, fields["tokenExpiry"])
	if assert.NoError(t, err) {
		assert.WithinDuration(t, time.Now().Add(24*time.Hour), expiry, 5*time.Minute)
	}

	row := st.record(t, account)
	require.NotNil(t, row, "pms_integrations row of %s", account)
	assert.Equal(t, "ACTIVE", row["status"])
	assert.Equal(t, "SIKKA", row["provider"])
	assert.Equal(t, want.OfficeID, row["office_id"])
	assert.Equal(t, ref, row["secret_ref"])
	assert.Equal(t, "Happy Dental Clinic", row["practice_name"])
	assert.Equal(t, "Dentrix", row["pms_type"])
	for col, v := range row {
		for _, secret := range []string{fields["secretKey"], fields["requestKey"], fields["refreshKey"]} {
			assert.NotContains(t, v, secret, "column %s holds a secret", col)
		}
	}
	for _, col := range st.recordColumns(t) {
		assert.NotRegexp(t, `(?i)(secret_key|request_key|refresh_key|token)$`, col, "the table keeps no credential column")
	}
}

// assertCleanRun fails unless the flow issued codes and keys, none of which
// (nor the app key or a practice's secret key) reached the demo's log or any
// URL or page the browser got, and every log line went through the JSON
// logger.
func assertCleanRun(t *testing.T, d *demo, mock *mockSikka, scan *leakScan) {
	t.Helper()
	require.NotEmpty(t, d.logs.String())
	require.NotEmpty(t, mock.issuedCodes(), "the flow issued codes")
	require.NotEmpty(t, mock.issuedKeys(), "the flow issued keys")
	t.Logf("leak scan: %d texts", assertNoLeaks(t, d, mock, scan))
	assertLogJSON(t, d)
}
