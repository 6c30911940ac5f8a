package browsertest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wsgate/wsgate/internal/browsertest"
)

// TestConsoleAndScreenshotInChromium checks that a Console records what a
// page's script got wrong and nothing else, and that Screenshot writes a PNG
// where it says.
func TestConsoleAndScreenshotInChromium(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>console</title><body style="background:#2d6cdf">
<script>
console.log("fine"); console.warn("a warning is fine");
console.error("boom");
Promise.reject(new Error("unhandled"));
setTimeout(() => { throw new Error("uncaught"); });
setTimeout(() => { document.title = "done"; }, 50);
</script>`)
	}))
	defer srv.Close()
	ctx := browsertest.Start(t)
	console := browsertest.WatchConsole(t, ctx)
	err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.Poll[chromedp.Void](`document.title === "done"`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"error: boom", "exception: Uncaught (in promise) Error: unhandled", "exception: Uncaught Error: uncaught"}
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = console.Problems(); len(got) >= len(want) { // the events come asynchronously
			break
		}
	}
	slices.Sort(got) // the rejection and the throw may come in either order
	if !slices.Equal(got, want) {
		t.Fatalf("problems %q, want %q", got, want)
	}

	path := browsertest.Screenshot(t, ctx, "console")
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || filepath.Dir(path) != t.ArtifactDir() {
		t.Fatalf("screenshot at %s (%d bytes) is not a PNG in the artifact directory", path, len(png))
	}
}
