package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// do runs browser actions with a per-step timeout (the browser is already
// started, so a timeout is safe here).
func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(stepCtx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("browser step failed at %s: %v", loc, err)
	}
}

func text(t *testing.T, ctx context.Context, sel chromedp.ID) string {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(stepCtx, chromedp.Text(sel))
	require.NoError(t, err)
	return strings.TrimSpace(s)
}

// waitPageLoaded waits until the setup page has read the status JSON.
func waitPageLoaded(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("actions")))
	stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(stepCtx, chromedp.Poll[bool](`document.body.dataset.loaded === "true"`))
	require.NoError(t, err, "the setup page did not load the status")
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(stepCtx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := filepath.Join(artifactDir(t), strings.ReplaceAll(t.Name(), "/", "_")+"_"+name+".png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// walkFlow clicks through the whole flow like a person: connect and allow,
// deny on a second account, the practice already taken, then disconnect.
// After each step it checks what the stores hold, when it can see them.
func walkFlow(t *testing.T, d *demo, mock *mockSikka, st stores) {
	ctx := newBrowser(t)
	scan := newLeakScan()
	// loaded waits for the setup page and keeps what the browser got (its
	// URL and its HTML) for the leak scan.
	loaded := func() {
		t.Helper()
		waitPageLoaded(t, ctx)
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		require.NoError(t, err)
		scan.text("browser URL", loc)
		scan.text("page at "+loc, html)
	}

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
	do(t, ctx, chromedp.Click(chromedp.ID("connect")))
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("deny")))
	do(t, ctx, chromedp.Click(chromedp.ID("deny")))
	loaded()
	assert.Equal(t, cancelledText, text(t, ctx, "message"))

	// 3. It allows the practice the first account holds: already connected.
	do(t, ctx, chromedp.Click(chromedp.ID("connect")))
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("allow")))
	do(t, ctx, chromedp.Click(chromedp.ID("allow")))
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

	assertNoLeaks(t, d, mock, scan)
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

// assertNoLeaks fails if the demo's log, or any URL or page the browser
// got, holds a code the mock issued, a key it handed out, a practice's
// secret key or the app key; and if any log line bypassed the JSON logger.
func assertNoLeaks(t *testing.T, d *demo, mock *mockSikka, scan *leakScan) {
	t.Helper()
	logs := d.logs.String()
	require.NotEmpty(t, logs)
	require.NotEmpty(t, mock.issuedCodes(), "the flow issued codes")
	require.NotEmpty(t, mock.issuedKeys(), "the flow issued keys")
	scan.mockSecrets(mock)
	scan.text("demo log", logs)
	t.Logf("leak scan: %d texts", scan.check(t))
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		assert.True(t, json.Valid([]byte(line)), "log line is not JSON: %q", line)
	}
}
