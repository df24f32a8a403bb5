package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/mocksikka"
)

// The frontend messages of a connect by office id.
const (
	wrongKeyText      = "The office ID or secret key is not correct."
	notAuthorizedText = "This practice has not authorized Parlae on Sikka yet."
	// officeWrongKey is the wrong secret key the person types; no log,
	// URL or page may show it.
	officeWrongKey = "wrong-secret-key-e2e-Jm2Wq8Tz4Xc6"
)

// The office-id form of the setup page connects a practice onboarded
// through the Sikka Marketplace: on the embedded defaults (the in-process
// mock lists its default offices for the default app), and on real
// PostgreSQL and Vault.

func TestOfficeFormMemory(t *testing.T) {
	d := startDemo(t, nil)
	walkOfficeForm(t, d, nil, nil)
}

func TestOfficeFormPostgresVault(t *testing.T) {
	w := newWorld(t, worldOpts{})
	d := w.start(t, nil)
	walkOfficeForm(t, d, w.mock, w.directStores(t))
}

// walkOfficeForm types office ids and secret keys into the setup page's
// form like a person: a wrong key, an office that did not authorize the
// app, then the right key, which connects. mock is nil for the demo's
// in-process mock.
func walkOfficeForm(t *testing.T, d *demo, mock *mockSikka, st stores) {
	ctx := newChromium(t)
	scan := newLeakScan()
	loaded := func() { t.Helper(); loadedScanned(t, ctx, scan) }
	submit := func(officeID, secretKey string) {
		t.Helper()
		do(t, ctx,
			chromedp.WaitVisible(chromedp.ID("office-form")),
			chromedp.SendKeys(chromedp.ID("office-id"), officeID), // each page comes fresh from a redirect
			chromedp.SendKeys(chromedp.ID("secret-key"), secretKey))
		// Unmark this page, so that loaded waits for the next one.
		_, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.loaded = ""`))
		require.NoError(t, err)
		do(t, ctx, chromedp.Click(chromedp.ID("connect-office")))
		// Until the next page has read the status (an evaluation that meets
		// the navigation fails, and is tried again).
		deadline := time.Now().Add(30 * time.Second)
		for {
			evalCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ok, err := chromedp.Run(evalCtx, chromedp.Evaluate[bool](`!!document.body && document.body.dataset.loaded === "true"`))
			cancel()
			if err == nil && ok {
				break
			}
			require.True(t, time.Now().Before(deadline), "the page after the form did not load: %v", err)
			time.Sleep(100 * time.Millisecond)
		}
		loaded()
	}

	do(t, ctx, chromedp.Navigate(d.URL))
	loaded()
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("connect")), chromedp.WaitVisible(chromedp.ID("office-form")))

	submit(mocksikka.DefaultOfficeID, officeWrongKey)
	assert.Equal(t, wrongKeyText, text(t, ctx, "message"))
	screenshot(t, ctx, "wrong-key")

	submit("D00000", mocksikka.DefaultSecretKey)
	assert.Equal(t, notAuthorizedText, text(t, ctx, "message"))

	submit(mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
	assert.Contains(t, text(t, ctx, "message"), successText)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(loc, "/agent/setup/pms?status=success"), loc)
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("disconnect")), chromedp.WaitNotVisible(chromedp.ID("office-form")),
		chromedp.WaitNotVisible(chromedp.ID("connect")))
	assert.Equal(t, "Connected to Happy Dental Clinic (Dentrix)", text(t, ctx, "connection"))
	screenshot(t, ctx, "connected")
	if st != nil {
		checkConnected(t, st, "demo-account")
	}

	scan.secrets("wrong secret key typed", officeWrongKey)
	if mock != nil {
		require.NotEmpty(t, mock.issuedKeys(), "the connect issued keys")
		t.Logf("leak scan: %d texts", assertNoLeaks(t, d, mock, scan))
	} else {
		t.Logf("leak scan: %d texts", assertNoLeaksInProcess(t, d, scan))
	}
	assertLogJSON(t, d)
}

// Hostile input: 50 concurrent wrong secret keys for one account, sent to
// two demo replicas on one PostgreSQL schema and Vault prefix: exactly 5 are
// checked and refused (invalid_credentials), the other 45 are refused as
// too many without being checked, the right key is then refused too, and no
// key typed reaches a log.
func TestOfficeFormWrongKeysAcrossReplicas(t *testing.T) {
	s := newWorld(t, worldOpts{})
	ds := startReplicas(t, s, 2)
	const n = 50
	outcomes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			loc, err := postOfficeKey(t, ds[i%2], "attacked-account", mocksikka.DefaultOfficeID, fmt.Sprint(officeWrongKey, i))
			if assert.NoError(t, err) {
				outcomes[i] = loc
			}
		}()
	}
	close(start)
	wg.Wait()
	count := map[string]int{}
	for _, o := range outcomes {
		count[o]++
	}
	assert.Equal(t, map[string]int{
		"/agent/setup/pms?status=error&reason=invalid_credentials": 5,
		"/agent/setup/pms?status=error&reason=too_many_attempts":   n - 5,
	}, count)
	loc, err := postOfficeKey(t, ds[0], "attacked-account", mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
	require.NoError(t, err)
	assert.Equal(t, "/agent/setup/pms?status=error&reason=too_many_attempts", loc, "the right key too, for now")
	assert.Equal(t, 5, s.mock.Count("GET /v4/authorized_practices/"+mocksikka.DefaultOfficeID, ""), "only the checked attempts reached Sikka")

	scan := newLeakScan()
	for i := range n {
		scan.secrets("wrong secret key typed", fmt.Sprint(officeWrongKey, i))
	}
	scan.text("the other replica's log", ds[1].logs.String())
	t.Logf("leak scan: %d texts", assertNoLeaks(t, ds[0], s.mock, scan))
}
