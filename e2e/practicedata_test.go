package e2e

// The connection in use, in the browser: the setup page's "Practice data"
// panel reads the practice through the account's HTTP client, and books a
// test appointment as a writeback.

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
)

// A practice connected through the consent page: the panel shows the mock's
// patient count and five upcoming appointments, and its button books a test
// appointment that shows "Pending…" and then "Completed" (the in-process
// mock's SPU writes it after -writeback-delay, 3 s by default).
func TestPracticeDataPanel(t *testing.T) {
	d := startDemo(t, nil) // no -sikka-url: the mock runs in-process

	ctx := newChromium(t)
	do(t, ctx, chromedp.Navigate(d.URL))
	waitPageLoaded(t, ctx)
	do(t, ctx, chromedp.WaitNotVisible(chromedp.ID("practice-data")))
	answerConsent(t, ctx, "allow")
	waitPageLoaded(t, ctx)
	assert.Contains(t, text(t, ctx, "message"), successText)

	do(t, ctx, chromedp.WaitVisible(chromedp.ID("practice-data")))
	poll(t, ctx, `document.getElementById("practice-data").dataset.loaded === "true"`, "the panel never loaded")
	assert.Equal(t, strconv.Itoa(mocksikka.DefaultDataPatients), text(t, ctx, "patient-count"))
	before := appointmentItems(t, ctx)
	require.Len(t, before, 5, "five upcoming appointments")
	for i, a := range before {
		assert.Regexp(t, `^.+ · .+ · \d+ min$`, a.text, "item %d: when · patient · length", i)
		if i > 0 {
			assert.LessOrEqual(t, before[i-1].start, a.start, "earliest first")
		}
		assert.GreaterOrEqual(t, a.start, time.Now().UTC().Add(-time.Minute).Format("2006-01-02T15:04"), "upcoming")
	}
	do(t, ctx, chromedp.WaitNotVisible(chromedp.ID("practice-error")))
	screenshot(t, ctx, "practice-data")

	do(t, ctx, chromedp.Click(chromedp.ID("book-test")))
	poll(t, ctx, `document.getElementById("booking-status").textContent.indexOf("Pending…") === 0`,
		"the booking never showed as pending")
	screenshot(t, ctx, "booking-pending")
	poll(t, ctx, `document.getElementById("booking-status").dataset.state === "completed"`,
		"the booking never completed")
	assert.Equal(t, "Completed", text(t, ctx, "booking-status"))
	// The panel read the practice again: still five, the booked one among
	// them when it is one of the next five.
	booked, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("booking-status").dataset.start`))
	require.NoError(t, err)
	require.NotEmpty(t, booked)
	poll(t, ctx, `document.querySelectorAll("#appointments li").length === 5`, "the panel lost its appointments")
	if booked <= before[4].start {
		poll(t, ctx, `!!document.querySelector('#appointments li[data-start="`+booked+`"]')`,
			"the booked appointment at "+booked+" is not listed")
	}
	screenshot(t, ctx, "booking-completed")

	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	practiceJSON, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`fetch("/demo/practice-data").then(function (r) { return r.text(); })`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.Contains(t, practiceJSON, `"patients":`+strconv.Itoa(mocksikka.DefaultDataPatients))
	scan := newLeakScan()
	scan.text("the setup page", html)
	scan.text("/demo/practice-data", practiceJSON)
	assertNoLeaksInProcess(t, d, scan)
	assertLogJSON(t, d)
}

// appointmentItem is an item of the panel's list.
type appointmentItem struct{ start, text string }

func appointmentItems(t *testing.T, ctx context.Context) []appointmentItem {
	t.Helper()
	items, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]string](
		`Array.from(document.querySelectorAll("#appointments li")).map(function (li) {
			return {start: li.dataset.start, text: li.textContent};
		})`))
	require.NoError(t, err)
	out := make([]appointmentItem, len(items))
	for i, it := range items {
		out[i] = appointmentItem{it["start"], strings.TrimSpace(it["text"])}
	}
	return out
}

// poll waits, 30 s at most, until the page's expression is true.
func poll(t *testing.T, ctx context.Context, expr, msg string) {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(stepCtx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond)))
	require.NoError(t, err, msg)
}
