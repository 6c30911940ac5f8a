package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, which .ci/run installs.
const ChromiumPath = "/usr/bin/chromium"

// Timeout bounds everything a test does in the browser Start gives it.
const Timeout = 60 * time.Second

// ScreenshotDirEnv names the variable that makes Screenshot also write its
// PNG into that directory (make screenshots sets it to docs/img). Give an
// absolute path: a relative one is relative to the test's package directory.
const ScreenshotDirEnv = "WSGATE_SCREENSHOT_DIR"

// Start starts headless Chromium for t and returns the context of its first
// tab, to run chromedp actions in; chromedp.NewContext on it opens more tabs
// in the same browser. The browser stops when t ends, and every action in it
// must be done within Timeout of the start. Start skips t when Chromium is
// missing, unless CI=true, where it fails t.
func Start(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: .ci/run installs Debian's chromium", ChromiumPath)
		}
		t.Skipf("%s is not installed (apt-get install chromium); CI runs this test", ChromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // starts the browser; no timeout on this one
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, Timeout)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// NewTab opens another tab in the browser of ctx (a context from Start or
// NewTab) and returns its context. Cancelling it closes the tab; the tab
// also closes when t ends.
func NewTab(t *testing.T, ctx context.Context) (tab context.Context, closeTab context.CancelFunc) {
	t.Helper()
	tab, closeTab = chromedp.NewContext(ctx)
	if err := chromedp.Do(tab); err != nil { // opens the tab
		closeTab()
		t.Fatalf("opening a tab: %v", err)
	}
	t.Cleanup(closeTab)
	return tab, closeTab
}

// Console records what a tab's page reported as going wrong: calls of
// console.error and exceptions nothing caught (unhandled promise rejections
// included). Entries of the browser's own log are left out: a test that
// breaks connections on purpose makes Chromium log network errors that are
// not the page's.
type Console struct {
	mu       sync.Mutex
	problems []string // guarded by mu
}

// WatchConsole starts recording the console of the tab of ctx (which must be
// open: a context from Start or NewTab). Messages from before the call are
// not seen, so call it before navigating. Recording stops when t ends.
func WatchConsole(t *testing.T, ctx context.Context) *Console {
	t.Helper()
	ctx, stop := context.WithCancel(ctx)
	messages := chromedp.Console(ctx) // subscribes now
	c := &Console{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source == "") {
				c.mu.Lock()
				c.problems = append(c.problems, m.String())
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	return c
}

// Problems is what the page reported so far, oldest first.
func (c *Console) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}

// ExpectClean fails t for every problem the page reported so far.
func (c *Console) ExpectClean(t *testing.T) {
	t.Helper()
	for _, p := range c.Problems() {
		t.Errorf("page console: %s", p)
	}
}

// Screenshot captures the whole page of the tab of ctx as name+".png" in
// t.ArtifactDir(), and also in the directory $WSGATE_SCREENSHOT_DIR names
// when that is set. It returns the path in t.ArtifactDir().
func Screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{t.ArtifactDir()}
	if d := os.Getenv(ScreenshotDirEnv); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
	}
	t.Logf("screenshot %s written to %v", name, dirs)
	return filepath.Join(dirs[0], name+".png")
}
