package wsgatejs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/internal/browsertest"
	"github.com/wsgate/wsgate/internal/gatewaytest"
	wsgatejs "github.com/wsgate/wsgate/js"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/wsframe"
)

// harness is the test page: it imports wsgate.js as an application would and
// queues every event of a WsGate by type, for h.take to hand out in order.
const harness = `<!doctype html><meta charset="utf-8"><title>wsgate.js test</title>
<script type="module">
import { WsGate } from "/wsgate.js";
const queues = {}, waiters = {};
const types = ["connecting", "connected", "message", "disconnected", "error"];
for (const t of types) { queues[t] = []; waiters[t] = []; }
function record(type, detail) {
  if (type === "message") detail = detail.data instanceof ArrayBuffer
    ? { binary: Array.from(new Uint8Array(detail.data)) } : { text: detail.data };
  if (type === "error") detail = { error: String(detail.error) };
  h.seen[type]++;
  const w = waiters[type].shift();
  if (w) w(detail); else queues[type].push(detail);
}
window.h = {
  gw: null, tokens: 0, seen: Object.fromEntries(types.map((t) => [t, 0])),
  start(url, opts) {
    if (opts.withToken) opts.getToken = async () => "tok-" + ++h.tokens;
    delete opts.withToken;
    h.gw = new WsGate(url, opts);
    for (const t of types) h.gw.addEventListener(t, (e) => record(t, e.detail));
    h.gw.connect();
  },
  // take resolves with the oldest event of type not taken yet, waiting up to ms for one.
  take(type, ms) {
    if (queues[type].length) return Promise.resolve(queues[type].shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no " + type + " event within " + ms + " ms")), ms);
      waiters[type].push((d) => { clearTimeout(timer); resolve(d); });
    });
  },
};
document.title = "ready";
</script>`

// options are the WsGate options the tests use: short enough for a test.
type options struct {
	PingInterval int  `json:"pingInterval,omitempty"`
	PongTimeout  int  `json:"pongTimeout,omitempty"`
	MinDelay     int  `json:"minDelay"`
	MaxDelay     int  `json:"maxDelay"`
	WithToken    bool `json:"withToken,omitempty"`
}

var fast = options{MinDelay: 20, MaxDelay: 100}

type connected struct {
	ClientID string `json:"clientId"`
}

type disconnected struct {
	Code          int      `json:"code"`
	Reason        string   `json:"reason"`
	WillReconnect bool     `json:"willReconnect"`
	Delay         *float64 `json:"delay"`
}

type message struct {
	Text   *string `json:"text"`
	Binary []byte  `json:"binary"`
}

// page is a tab with the harness loaded, its console watched.
type page struct {
	t       *testing.T
	ctx     context.Context
	console *browsertest.Console
}

// openPage opens a tab of the browser of bctx on the harness.
func openPage(t *testing.T, bctx context.Context) *page {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, harness)
			return
		}
		wsgatejs.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx, _ := browsertest.NewTab(t, bctx)
	p := &page{t: t, ctx: ctx, console: browsertest.WatchConsole(t, ctx)}
	t.Cleanup(func() { p.console.ExpectClean(t) })
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.Poll[chromedp.Void](`document.title === "ready"`, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("loading the harness: %v", err)
	}
	return p
}

// start makes the page's WsGate and connects it to url.
func (p *page) start(url string, o options) {
	p.t.Helper()
	b, _ := json.Marshal(o)
	p.eval(fmt.Sprintf("h.start(%q, %s)", url, b), nil)
}

// eval runs js (awaiting a promise) and decodes its value into out (nil: ignored).
func (p *page) eval(js string, out any) {
	p.t.Helper()
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", js, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			p.t.Fatalf("%s: %s: %v", js, raw, err)
		}
	}
}

// take waits (up to 8 s) for the page's next event of type and decodes its detail.
func take[T any](p *page, typ string) T {
	p.t.Helper()
	var v T
	p.eval(fmt.Sprintf("h.take(%q, 8000)", typ), &v)
	return v
}

// str evaluates a JS expression whose value is a string.
func (p *page) str(js string) string {
	p.t.Helper()
	var s string
	p.eval(js, &s)
	return s
}

// seen is how many events of type the page got so far.
func (p *page) seen(typ string) int {
	p.t.Helper()
	var n int
	p.eval(fmt.Sprintf("h.seen[%q]", typ), &n)
	return n
}

// connect waits for the next "connected" and checks the gateway knows the id.
func (p *page) connect(g *gatewaytest.Gateway) string {
	p.t.Helper()
	id := take[connected](p, "connected").ClientID
	if _, err := g.Hub().ClientInfo(context.Background(), id); err != nil {
		p.t.Fatalf("connected with id %q, which the gateway does not know: %v", id, err)
	}
	if st := p.str("h.gw.state"); st != "open" {
		p.t.Fatalf("state %q after connected, want open", st)
	}
	return id
}

// closeClient closes client id from the gateway's side with code.
func closeClient(t *testing.T, g *gatewaytest.Gateway, id string, code uint16, reason string) {
	t.Helper()
	if err := g.Hub().CloseClient(context.Background(), id, code, reason); err != nil {
		t.Fatalf("CloseClient %s: %v", id, err)
	}
}

// expectDisconnected waits for the next "disconnected" and checks its code and willReconnect.
func (p *page) expectDisconnected(code int, willReconnect bool) disconnected {
	p.t.Helper()
	d := take[disconnected](p, "disconnected")
	if d.Code != code || d.WillReconnect != willReconnect {
		p.t.Fatalf("disconnected %+v, want code %d willReconnect %v", d, code, willReconnect)
	}
	if !willReconnect && d.Delay != nil {
		p.t.Fatalf("disconnected %+v: a delay without a reconnect", d)
	}
	return d
}

// expectQuiet checks, over a window longer than the backoff's cap, that the
// page makes no new attempt and the gateway gets no client.
func (p *page) expectQuiet(g *gatewaytest.Gateway, connectings int) {
	p.t.Helper()
	time.Sleep(time.Duration(5*fast.MaxDelay) * time.Millisecond) // proving an absence: no event to poll for
	if n := p.seen("connecting"); n != connectings {
		p.t.Fatalf("%d connecting events, want %d: the client tried again", n, connectings)
	}
	if n := g.Stats().Connections; n != 0 {
		p.t.Fatalf("the gateway has %d connections, want 0", n)
	}
}

func TestJSClientInChromium(t *testing.T) {
	bctx := browsertest.Start(t)

	t.Run("id and pushed messages", func(t *testing.T) {
		g := gatewaytest.Start(t)
		p := openPage(t, bctx)
		p.start(g.WSURL, options{PingInterval: 50, PongTimeout: 2000, MinDelay: fast.MinDelay, MaxDelay: fast.MaxDelay})
		if a := take[struct{ Attempt int }](p, "connecting"); a.Attempt != 0 {
			t.Fatalf("first attempt numbered %d, want 0", a.Attempt)
		}
		id := p.connect(g)
		if got := p.str("h.gw.clientId"); got != id {
			t.Fatalf("clientId %q, want the connected id %q", got, id)
		}
		// Pings go out and their pongs come back, none of them a "message".
		gatewaytest.Eventually(t, "three pings", func() bool { return g.Stats().MessagesReceived >= 3 })
		send := func(f *wsframe.Frame) {
			if n, err := g.Hub().SendClients(context.Background(), []string{id}, f); err != nil || n.Sent != 1 {
				t.Fatalf("SendClients: %+v, %v", n, err)
			}
		}
		send(wsframe.NewFrame(ws.OpText, []byte("hello from Go")))
		send(wsframe.NewFrame(ws.OpBinary, []byte{0, 1, 254, 255}))
		body := fmt.Sprintf(`{"client_id":%q,"data":{"via":"api"}}`, id)
		resp, err := http.Post(g.APIURL+"/send/client", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST /send/client: %v %v", resp, err)
		}
		resp.Body.Close()

		if m := take[message](p, "message"); m.Text == nil || *m.Text != "hello from Go" {
			t.Fatalf("first message %+v, want the text push", m)
		}
		if m := take[message](p, "message"); m.Text != nil || string(m.Binary) != "\x00\x01\xfe\xff" {
			t.Fatalf("second message %+v, want the binary push as an ArrayBuffer", m)
		}
		if m := take[message](p, "message"); m.Text == nil || *m.Text != `{"via":"api"}` {
			t.Fatalf("third message %+v, want the API push", m)
		}
		if n := p.seen("message"); n != 3 {
			t.Fatalf("%d messages, want the 3 pushed (a pong or the id was delivered)", n)
		}
		var sent bool
		p.eval(`h.gw.send("hi")`, &sent)
		if !sent {
			t.Fatal("send while open returned false")
		}
		p.eval(`h.gw.close()`, nil)
		p.expectDisconnected(1000, false)
		var after []any
		p.eval(`[h.gw.state, h.gw.clientId, h.gw.send("late")]`, &after)
		if fmt.Sprint(after) != "[closed <nil> false]" {
			t.Fatalf("after close(): state, clientId, send = %v, want closed, null, false", after)
		}
		gatewaytest.Eventually(t, "the gateway to see the client go", func() bool { return g.Stats().Connections == 0 })
	})

	t.Run("reconnects after the server closes", func(t *testing.T) {
		g := gatewaytest.Start(t)
		p := openPage(t, bctx)
		p.start(g.WSURL, fast)
		id := p.connect(g)
		for _, code := range []uint16{1012, 4000, 1001, 1011} {
			closeClient(t, g, id, code, "test")
			if d := p.expectDisconnected(int(code), true); d.Reason != "test" || d.Delay == nil || *d.Delay > float64(fast.MaxDelay) {
				t.Fatalf("disconnected %+v: want reason test and a delay within maxDelay", d)
			}
			next := p.connect(g)
			if next == id {
				t.Fatalf("after %d: reconnected with the same id %s", code, id)
			}
			id = next
		}
	})

	t.Run("terminal codes do not reconnect", func(t *testing.T) {
		g := gatewaytest.Start(t)
		p := openPage(t, bctx)
		for i, code := range []uint16{1000, 1008} {
			p.eval(`h.gw && h.gw.close()`, nil)
			p.start(g.WSURL, fast)
			id := p.connect(g)
			closeClient(t, g, id, code, "go away")
			p.expectDisconnected(int(code), false)
			if st := p.str("h.gw.state"); st != "closed" {
				t.Fatalf("after %d: state %q, want closed", code, st)
			}
			p.expectQuiet(g, i+1)
		}
	})

	t.Run("heartbeat loss reconnects within pongTimeout", func(t *testing.T) {
		g := gatewaytest.Start(t)
		px := startProxy(t, g.WSAddr().String())
		p := openPage(t, bctx)
		const pingInterval, pongTimeout = 100, 400
		p.start("ws://"+px.addr()+"/", options{PingInterval: pingInterval, PongTimeout: pongTimeout, MinDelay: fast.MinDelay, MaxDelay: fast.MaxDelay})
		p.connect(g)
		gatewaytest.Eventually(t, "pings through the proxy", func() bool { return g.Stats().MessagesReceived >= 3 })
		px.blackhole(true)
		holed := time.Now()
		p.expectDisconnected(4000, true)
		// The client gives up pongTimeout after its first unanswered ping, which
		// went out at most pingInterval after the hole opened (1 s of slack for
		// a loaded machine; a TCP timeout would take minutes).
		took := time.Since(holed)
		if took < (pongTimeout-pingInterval)*time.Millisecond || took > (pingInterval+pongTimeout+1000)*time.Millisecond {
			t.Fatalf("gave up %v after the network died, want pongTimeout after the first unanswered ping", took)
		}
		// Once the network heals, the next attempt gets through.
		px.blackhole(false)
		p.connect(g)
	})

	t.Run("4001 reconnects with a fresh token", func(t *testing.T) {
		var mu sync.Mutex
		var tokens []string
		g := gatewaytest.Start(t, func(c *gateway.Config) {
			c.OnHandshake = func(h *poller.Handshake) {
				tok := strings.TrimPrefix(h.Query, "token=")
				mu.Lock()
				tokens = append(tokens, tok)
				mu.Unlock()
				if !strings.HasPrefix(tok, "tok-") {
					h.Refuse(http.StatusUnauthorized, "no token")
					return
				}
				h.Accept(tok)
			}
		})
		p := openPage(t, bctx)
		o := fast
		o.WithToken = true
		p.start(g.WSURL, o)
		id := p.connect(g)
		closeClient(t, g, id, 4001, "token expired")
		p.expectDisconnected(4001, true)
		p.connect(g)
		var calls int
		p.eval("h.tokens", &calls)
		mu.Lock()
		defer mu.Unlock()
		if calls != 2 || fmt.Sprint(tokens) != "[tok-1 tok-2]" {
			t.Fatalf("getToken called %d times, gateway saw tokens %v: want 2 calls and [tok-1 tok-2]", calls, tokens)
		}
	})

	t.Run("close while connecting", func(t *testing.T) {
		g := gatewaytest.Start(t)
		px := startProxy(t, g.WSAddr().String())
		px.blackhole(true) // TCP is accepted, the handshake never answered
		p := openPage(t, bctx)
		p.start("ws://"+px.addr()+"/", options{PongTimeout: 5000, MinDelay: fast.MinDelay, MaxDelay: fast.MaxDelay})
		take[struct{ Attempt int }](p, "connecting")
		gatewaytest.Eventually(t, "the browser's TCP connection", func() bool { return px.accepted.Load() == 1 })
		if st := p.str("h.gw.state"); st != "connecting" {
			t.Fatalf("state %q with the handshake unanswered, want connecting", st)
		}
		p.eval("h.gw.close()", nil)
		p.expectDisconnected(1000, false)
		if st := p.str("h.gw.state"); st != "closed" {
			t.Fatalf("state %q after close(), want closed", st)
		}
		px.blackhole(false)
		p.expectQuiet(g, 1)
		if n := px.accepted.Load(); n != 1 {
			t.Fatalf("%d TCP connections reached the proxy, want 1", n)
		}
		if n := p.seen("disconnected"); n != 1 {
			t.Fatalf("%d disconnected events, want 1", n)
		}
	})

	t.Run("offline and online", func(t *testing.T) {
		g := gatewaytest.Start(t)
		p := openPage(t, bctx)
		p.start(g.WSURL, fast)
		id := p.connect(g)
		p.eval(`dispatchEvent(new Event("offline"))`, nil)
		if d := p.expectDisconnected(1001, true); d.Delay != nil {
			t.Fatalf("offline: %+v, want no delay: it waits to be online", d)
		}
		gatewaytest.Eventually(t, "the gateway to see the client go", func() bool { return g.Stats().Connections == 0 })
		p.expectQuiet(g, 1)
		p.eval(`dispatchEvent(new Event("online"))`, nil)
		if a := take[struct{ Attempt int }](p, "connecting"); a.Attempt != 0 {
			t.Fatalf("online: attempt %d, want 0 (at once, backoff reset)", a.Attempt)
		}
		if next := p.connect(g); next == id {
			t.Fatalf("online: same id %s again", id)
		}
	})
}
