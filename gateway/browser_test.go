package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wsgate/wsgate/internal/browsertest"
)

// startBrowser starts headless Chromium for the test (see browsertest.Start).
func startBrowser(t *testing.T) context.Context { return browsertest.Start(t) }

// TestAPIRefusesCrossOriginPageInChromium runs a real browser: a page served
// from another origin tries what a malicious site would (a no-cors text/plain
// POST, a form post, a CORS JSON POST) and reaches nothing, while a page on
// the API's own origin can push.
func TestAPIRefusesCrossOriginPageInChromium(t *testing.T) {
	g := startGateway(t)
	ctx := startBrowser(t) // stopped first: its idle connections would hold the API's shutdown
	c, id := g.dial(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>elsewhere</title>
<iframe name="sink"></iframe>
<form id="f" method="POST" action="%s/send/all" target="sink" enctype="text/plain">
<input name='{"data":"form","x":"' value='"}'></form>`, g.apiURL)
	}))
	defer page.Close()

	attack := fmt.Sprintf(`(async () => {
  const api = %q, body = JSON.stringify({client_id: %q, data: "evil"});
  const out = [];
  try { await fetch(api + "/send/client", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body}); out.push("no-cors sent"); }
  catch (e) { out.push("no-cors: " + e); }
  try { const r = await fetch(api + "/send/client", {method: "POST", headers: {"Content-Type": "application/json"}, body}); out.push("cors " + r.status); }
  catch (e) { out.push("cors blocked"); }
  document.getElementById("f").submit();
  await new Promise(r => setTimeout(r, 500));
  return out.join("; ");
})()`, g.apiURL, id)
	if err := chromedp.Do(ctx, chromedp.Navigate(page.URL)); err != nil {
		t.Fatalf("cross-origin page: %v", err)
	}
	result, err := chromedp.Run(ctx, chromedp.Evaluate[string](attack, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("cross-origin page: %v", err)
	}
	t.Logf("cross-origin page: %s", result)

	// The same browser on the API's own origin pushes fine.
	own := fmt.Sprintf(`fetch("/send/client", {method: "POST", headers: {"Content-Type": "application/json"},
  body: JSON.stringify({client_id: %q, data: "same-origin"})}).then(r => r.status)`, id)
	if err := chromedp.Do(ctx, chromedp.Navigate(g.apiURL+"/healthz")); err != nil {
		t.Fatalf("same-origin page: %v", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](own, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("same-origin page: %v", err)
	}
	if status != 200 {
		t.Fatalf("same-origin fetch: status %d, want 200", status)
	}
	// The first message the client gets is the same-origin one: every
	// cross-origin attempt was refused before it.
	if got := readText(t, c); got != "same-origin" {
		t.Fatalf("client got %q first: a cross-origin request got through", got)
	}
	if st := g.mustGet(t, "/stats"); st["frames_sent"].(float64) != 2 { // the id frame and the one push
		t.Errorf("frames_sent %v, want 2", st["frames_sent"])
	}
}
