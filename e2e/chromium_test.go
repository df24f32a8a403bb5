package e2e

// Headless Chromium (chromedp) for the browser flows, and where their
// screenshots go.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromiumPath is Debian's Chromium, which scripts/test.sh installs.
const chromiumPath = "/usr/bin/chromium"

// newChromium starts a headless Chromium with a profile of its own, for one
// test. The first action starts it; that one must not carry a timeout.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found: run scripts/test.sh, which installs Debian's chromium", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1024, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "starting Chromium")
	return ctx
}

// artifactDir is where screenshots go (not committed): $SIKKA_ARTIFACTS, or
// artifacts/ at the repository root.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("SIKKA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
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

// answerConsent clicks Connect on the loaded setup page and answers the
// mock's consent page with the button answer ("allow" or "deny"). The
// browser then goes back to the setup page, which the caller waits for
// (waitPageLoaded or loadedScanned).
func answerConsent(t *testing.T, ctx context.Context, answer string) {
	t.Helper()
	do(t, ctx, chromedp.Click(chromedp.ID("connect")))
	do(t, ctx, chromedp.WaitVisible(chromedp.ID(answer)))
	do(t, ctx, chromedp.Click(chromedp.ID(answer)))
}

// loadedScanned waits for the setup page (waitPageLoaded) and keeps what
// the browser got, its URL and its HTML, for the leak scan.
func loadedScanned(t *testing.T, ctx context.Context, scan *leakScan) {
	t.Helper()
	waitPageLoaded(t, ctx)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	scan.text("browser URL", loc)
	scan.text("page at "+loc, html)
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
