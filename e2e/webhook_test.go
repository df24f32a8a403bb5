package e2e

// Sikka's webhooks in the browser: the demo's in-process mock sends them to
// the demo's own receiver, and the setup page shows the last data refresh
// without a reload.

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
)

// A practice connected through the normal flow; then a Data_Refresh
// triggered on the demo's mock shows as the last refresh on the open setup
// page, and a second one changes it, both without a reload.
func TestWebhookUpdatesLastRefresh(t *testing.T) {
	const key = "e2e-callback-key-9d2b7a"
	d := startDemo(t, nil, "-webhook-keys", key) // no -sikka-url: the mock runs in-process
	mockURL, _ := demoLogRecord(t, d, "sikka-demo: serving")["sikka"].(string)
	require.NotEmpty(t, mockURL, "the demo logs its in-process mock's URL")

	ctx := newChromium(t)
	do(t, ctx, chromedp.Navigate(d.URL))
	waitPageLoaded(t, ctx)
	answerConsent(t, ctx, "allow")
	waitPageLoaded(t, ctx)
	assert.Contains(t, text(t, ctx, "message"), successText)
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("disconnect")), chromedp.WaitNotVisible(chromedp.ID("data-refresh")))
	page, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)

	first := triggerDataRefresh(t, ctx, mockURL, "")
	assert.Contains(t, text(t, ctx, "last-refresh"), mocksikka.DefaultPractices()[0].PMSVersion)
	screenshot(t, ctx, "last-refresh")
	second := triggerDataRefresh(t, ctx, mockURL, first)
	t1, err1 := time.Parse(time.RFC3339Nano, first)
	t2, err2 := time.Parse(time.RFC3339Nano, second)
	require.NoError(t, err1)
	require.NoError(t, err2)
	assert.True(t, t2.After(t1), "the later refresh: %s, then %s", first, second)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, page, loc, "no navigation: the page polled the status")

	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	scan := newLeakScan()
	scan.secrets("webhook callback key", key)
	scan.text("the setup page", html)
	assertNoLeaksInProcess(t, d, scan)
	assertLogJSON(t, d)
}

// triggerDataRefresh asks the mock's admin API for a Data_Refresh of the
// default office, waits until the setup page's last-refresh element shows a
// time other than prev (its datetime attribute, RFC 3339) with some text,
// and returns that time.
func triggerDataRefresh(t *testing.T, ctx context.Context, mockURL, prev string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, mockURL+"/_mock/webhooks/trigger",
		strings.NewReader(`{"event":"Data_Refresh","office_id":"`+mocksikka.DefaultOfficeID+`"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusAccepted, res.StatusCode, "trigger: %s", body)

	// The page reads the status every 5 s; 30 s is plenty.
	stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	at, err := chromedp.Run(stepCtx, chromedp.Poll[string](`(function () {
		var p = document.getElementById("data-refresh"), t = document.getElementById("last-refresh");
		return !p.hidden && t.textContent.trim() !== "" && t.dateTime !== `+"`"+prev+"`"+` && t.dateTime;
	})()`, chromedp.WithPollingInterval(100*time.Millisecond)))
	require.NoError(t, err, "the setup page never showed the new refresh")
	got, err := time.Parse(time.RFC3339Nano, at)
	require.NoError(t, err, "datetime %q", at)
	assert.WithinDuration(t, time.Now(), got, time.Minute)
	return at
}
