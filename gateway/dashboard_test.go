package gateway_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/internal/browsertest"
)

// js evaluates expr in the page until ok accepts its value (every 100 ms,
// for up to 15 s) and returns it.
func js(t *testing.T, ctx context.Context, what, expr string, ok func(string) bool) string {
	t.Helper()
	var last string
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last, err = chromedp.Run(ctx, chromedp.Evaluate[string](expr)); err == nil && ok(last) {
			return last
		}
	}
	t.Fatalf("dashboard: timed out waiting for %s: last %q, err %v", what, last, err)
	return ""
}

// tileValue is the raw number behind a tile of the page.
func tileValue(id string) string {
	return fmt.Sprintf(`document.getElementById(%q).dataset.value || ""`, id)
}

// TestDashboardInChromium loads GET / in headless Chromium: no console
// errors or exceptions, and its connection, uid and group tiles come to show
// what /stats says once clients connected, bound and joined. It saves a
// screenshot in the test's artifact directory and, when
// WSGATE_SCREENSHOT_DIR is set, drives 45 s of traffic first and
// saves it there too as dashboard.png (docs/img/dashboard.png is made so).
func TestDashboardInChromium(t *testing.T) {
	g := startGateway(t)
	ctx := startBrowser(t)
	errs := browsertest.WatchConsole(t, ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 800), chromedp.Navigate(g.apiURL+"/")); err != nil {
		t.Fatal(err)
	}
	js(t, ctx, "the first update", `document.body.dataset.ready || ""`, func(v string) bool { return v == "1" })

	ids := make([]string, 5)
	for i := range ids {
		_, ids[i] = g.dial(t)
	}
	g.mustPost(t, "/uid/bind", map[string]any{"client_id": ids[0], "uid": "user-1"})
	g.mustPost(t, "/uid/bind", map[string]any{"client_id": ids[1], "uid": "user-2"})
	g.mustPost(t, "/group/join", map[string]any{"client_id": ids[2], "groups": []string{"room-1", "room-2", "room-3"}})
	stats := g.mustGet(t, "/stats")
	for _, tile := range []struct{ id, field string }{{"v-connections", "connections"}, {"v-uids", "uids"}, {"v-groups", "groups"}} {
		want := strconv.Itoa(int(stats[tile.field].(float64)))
		js(t, ctx, tile.id+" = "+want, tileValue(tile.id), func(v string) bool { return v == want })
	}

	shoot := func() { browsertest.Screenshot(t, ctx, "dashboard") }
	if os.Getenv(browsertest.ScreenshotDirEnv) != "" {
		driveTraffic(t, g, 45*time.Second, shoot) // startBrowser gives the page 60 s in all
	} else {
		time.Sleep(1500 * time.Millisecond) // two more updates on the charts
		shoot()
	}
	errs.ExpectClean(t)
}

// TestDashboardAsksForTheToken: with an API token the page loads, asks for
// the token, says so when a wrong one is given, and with the right one
// shows the data (and keeps the token in the tab's sessionStorage only).
func TestDashboardAsksForTheToken(t *testing.T) {
	const token = "dash-t0ken"
	g := startGateway(t, func(c *gateway.Config) { c.API.Token = token })
	ctx := startBrowser(t)
	errs := browsertest.WatchConsole(t, ctx)
	g.dial(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(g.apiURL+"/")); err != nil {
		t.Fatal(err)
	}
	shown := `getComputedStyle(document.getElementById("auth")).display`
	js(t, ctx, "the token form", shown, func(v string) bool { return v != "none" })
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), "wrong"), chromedp.Click(chromedp.CSS("#auth button"))); err != nil {
		t.Fatal(err)
	}
	js(t, ctx, "the refusal", `document.getElementById("auth-err").textContent`, func(v string) bool { return v == "That token was refused." })
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("token"), token), chromedp.Click(chromedp.CSS("#auth button"))); err != nil {
		t.Fatal(err)
	}
	js(t, ctx, "the connection count", tileValue("v-connections"), func(v string) bool { return v == "1" })
	js(t, ctx, "the form hidden", shown, func(v string) bool { return v == "none" })
	js(t, ctx, "the token kept in the tab", `sessionStorage.getItem("wsgate-api-token") + "/" + localStorage.length`, func(v string) bool { return v == token+"/0" })
	errs.ExpectClean(t)
}

// driveTraffic keeps a few hundred reading clients busy for d, for the
// screenshot: uids and groups, pushes of every kind, pings, clients leaving
// and coming, some closed by the API, some refused handshakes. It calls last
// while the traffic still flows, at the end.
func driveTraffic(t *testing.T, g *testGateway, d time.Duration, last func()) {
	t.Helper()
	var mu sync.Mutex
	conns := map[string]*websocket.Conn{}
	connect := func(i int) {
		c, id := g.dial(t)
		go func() { // reads until closed, so nobody is a slow consumer
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
		g.mustPost(t, "/uid/bind", map[string]any{"client_id": id, "uid": fmt.Sprintf("user-%d", i%180)})
		g.mustPost(t, "/group/join", map[string]any{"client_id": id, "groups": []string{fmt.Sprintf("room-%d", i%24), fmt.Sprintf("team-%d", i%7)}})
		mu.Lock()
		conns[id] = c
		mu.Unlock()
	}
	// anyConn picks a connection; take removes it from the pool.
	anyConn := func(take bool) (string, *websocket.Conn) {
		mu.Lock()
		defer mu.Unlock()
		for id, c := range conns {
			if take {
				delete(conns, id)
			}
			return id, c
		}
		return "", nil
	}
	n := 0
	for ; n < 150; n++ {
		connect(n)
	}
	defer last()
	end := time.Now().Add(d)
	for tick := 0; time.Now().Before(end); tick++ {
		time.Sleep(50 * time.Millisecond)
		g.mustPost(t, "/send/group", map[string]any{"group": fmt.Sprintf("room-%d", rand.IntN(24)), "data": map[string]any{"type": "chat", "n": tick}})
		g.mustPost(t, "/send/uid", map[string]any{"uid": fmt.Sprintf("user-%d", rand.IntN(180)), "data": "notification"})
		if tick%10 == 0 {
			g.mustPost(t, "/send/all", map[string]any{"data": "tick"})
			g.call(t, http.MethodGet, "/group/count?group=room-1", "")
		}
		if tick%4 == 0 && n < 400 { // the crowd grows
			connect(n)
			n++
		}
		for range 4 { // heartbeats (only this goroutine writes to the clients)
			if _, c := anyConn(false); c != nil {
				c.WriteMessage(websocket.TextMessage, []byte("ping"))
			}
		}
		if tick%15 == 0 { // one leaves by itself
			if _, c := anyConn(true); c != nil {
				c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			}
		}
		if tick%40 == 0 { // one is closed by the API
			if id, _ := anyConn(true); id != "" {
				g.post(t, "/client/close", map[string]any{"client_id": id, "code": 4001})
			}
		}
		if tick%60 == 0 { // a plain HTTP request on the WebSocket port (400), an unknown route (404)
			if conn, err := net.Dial("tcp", g.WSAddr().String()); err == nil {
				fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				conn.Read(make([]byte, 512))
				conn.Close()
			}
			g.callRaw(t, http.MethodGet, "/no-such-route", "", nil)
		}
	}
}

// TestDashboardShowsClusterNodes: on a node of a two-node cluster, the page
// lists both nodes with their connections.
func TestDashboardShowsClusterNodes(t *testing.T) {
	nats := startNATS(t, 0)
	a, b := startNode(t, nats.ClientURL(), "na"), startNode(t, nats.ClientURL(), "nb")
	waitNodes(t, []string{"na", "nb"}, a, b)
	b.dial(t)
	ctx := startBrowser(t)
	errs := browsertest.WatchConsole(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(a.apiURL+"/")); err != nil {
		t.Fatal(err)
	}
	rows := `[...document.querySelectorAll("#t-nodes tbody tr")].map(r => r.cells[0].textContent + "=" + r.cells[3].textContent).join(",")`
	js(t, ctx, "both nodes listed", rows, func(v string) bool { return v == "na (this)=0,nb=1" })
	js(t, ctx, "the cluster state", `document.getElementById("m-cluster").textContent`, func(v string) bool { return v == "cluster ok · 2 nodes" })
	errs.ExpectClean(t)
}
