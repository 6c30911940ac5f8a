package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/internal/gatewaytest"
	"github.com/wsgate/wsgate/internal/webhooktest"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/webhook"
)

var jwtSecret = []byte("0123456789abcdef0123456789abcdef")

// token signs claims with jwtSecret (HS256).
func token(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(jwtSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func withAuth(c *gateway.Config) { c.Auth = auth.Config{Secret: jwtSecret} }

// withWebhook posts every client event type but those left out to rc.
func withWebhook(rc *webhooktest.Receiver, events ...string) func(*gateway.Config) {
	return func(c *gateway.Config) {
		c.Webhook = webhook.Config{URL: rc.URL, Secrets: []string{webhooktest.Secret}, Events: events, Timeout: 2 * time.Second}
	}
}

// info is GET /client/info's uid, groups and session as one string.
func (g *testGateway) info(t testing.TB, id string) string {
	t.Helper()
	status, out := g.call(t, http.MethodGet, "/client/info?client_id="+id, "")
	if status != http.StatusOK {
		t.Fatalf("client info %s: %d %v", id, status, out)
	}
	b, _ := json.Marshal([]any{out["uid"], out["groups"], out["session"]})
	return string(b)
}

// TestJWTAtHandshake: a valid token's sub, groups and session are the
// client's before its id frame reaches it; every bad token gets a 401 with
// a short reason, no upgrade, and is counted by kind.
func TestJWTAtHandshake(t *testing.T) {
	var logs gatewaytest.Buffer
	g := startGateway(t, withAuth, func(c *gateway.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	exp := time.Now().Add(time.Hour).Unix()
	good := token(t, jwt.MapClaims{"sub": "alice", "groups": []string{"room-1", "staff"}, "session": map[string]any{"plan": "pro"}, "exp": exp})
	c, id, _, _ := g.dialWith(t, "token="+good, nil)
	if c == nil {
		t.Fatal("a valid token was refused")
	}
	if got, want := g.info(t, id), `["alice",["room-1","staff"],{"plan":"pro"}]`; got != want {
		t.Fatalf("client right after its id frame: %s, want %s", got, want)
	}
	if c, id, _, _ := g.dialWith(t, "", http.Header{"Authorization": {"Bearer " + token(t, jwt.MapClaims{"sub": "bob"})}}); c == nil || g.info(t, id) != `["bob",[],{}]` {
		t.Fatal("a Bearer header token was not applied")
	}

	otherKey, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x"}).SignedString([]byte("another key, 32 bytes long......"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "x"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, query, kind string }{
		{"missing", "", "missing"},
		{"expired", "token=" + token(t, jwt.MapClaims{"sub": "x", "exp": time.Now().Add(-time.Hour).Unix()}), "expired"},
		{"not yet valid", "token=" + token(t, jwt.MapClaims{"sub": "x", "nbf": time.Now().Add(time.Hour).Unix()}), "not_yet_valid"},
		{"wrong key", "token=" + otherKey, "signature"},
		{"alg none", "token=" + none, "algorithm"},
		{"garbage", "token=abc.def.ghi", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, status, body := g.dialWith(t, tc.query, nil)
			if c != nil || status != http.StatusUnauthorized || body == "" {
				t.Fatalf("dial: conn %v, HTTP %d %q; want a 401 with a reason", c != nil, status, body)
			}
			if tok := strings.TrimPrefix(tc.query, "token="); tok != "" && strings.Contains(body, tok) {
				t.Fatalf("the 401 body quotes the token: %q", body)
			}
		})
	}
	if strings.Contains(logs.String(), "eyJ") {
		t.Fatalf("a token reached the log:\n%s", logs.String())
	}
	_, out := g.call(t, http.MethodGet, "/stats", "")
	failures, _ := out["auth_failures"].(map[string]any)
	mfs := g.scrape(t, nil)
	for _, kind := range []string{"missing", "expired", "not_yet_valid", "signature", "algorithm", "malformed"} {
		if failures[kind] != float64(1) {
			t.Errorf("auth_failures[%s] = %v, want 1 (%v)", kind, failures[kind], failures)
		}
		if v := value(mfs, "wsgate_auth_failures_total", "kind="+kind); v != 1 {
			t.Errorf("wsgate_auth_failures_total{kind=%q} = %v, want 1", kind, v)
		}
	}
}

// TestTokenExpiryCloses4001: a client whose token expires is closed with
// 4001, counted as a server close.
func TestTokenExpiryCloses4001(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { withAuth(c); c.Auth.Leeway = time.Millisecond })
	exp := time.Now().Add(2 * time.Second).Truncate(time.Second) // exp has whole seconds
	c, id, _, _ := g.dialWith(t, "token="+token(t, jwt.MapClaims{"sub": "u", "exp": exp.Unix()}), nil)
	if c == nil {
		t.Fatal("refused")
	}
	g.expectClose(t, c, id, int(gateway.CloseTokenExpired), poller.ReasonServerClose)
	if early := time.Until(exp); early > 0 {
		t.Fatalf("closed %v before the token expired", early)
	}
}

// TestWebhookEventsOfAClient: node.started, then a client's connected, its
// messages (never the ping heartbeat) with the session set meanwhile, and
// its disconnected with who closed it, all signed and in order.
func TestWebhookEventsOfAClient(t *testing.T) {
	rc := webhooktest.New(t, nil)
	g := startGateway(t, withAuth, withWebhook(rc, "connected", "message", "disconnected"))
	c, id, _, _ := g.dialWith(t, "token="+token(t, jwt.MapClaims{"sub": "carol", "groups": "room-9"}), nil)
	if c == nil {
		t.Fatal("refused")
	}
	c.WriteMessage(websocket.TextMessage, []byte("hello"))
	c.WriteMessage(websocket.TextMessage, []byte("ping"))
	if got := readText(t, c); got != "pong" {
		t.Fatalf("ping answered %q", got)
	}
	g.mustPost(t, "/client/session", map[string]any{"client_id": id, "session": map[string]any{"cart": 2}})
	c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	eventually(t, "the second message event", func() bool { return len(rc.Events()) == 4 })
	g.mustPost(t, "/client/close", map[string]any{"client_id": id, "code": 4100, "reason": "bye"})
	eventually(t, "disconnected", func() bool { return len(rc.Events()) == 5 })

	want := []string{"node.started", "connected " + id, "message " + id + " hello", "message " + id, "disconnected " + id}
	if got := rc.Summary(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	ev := rc.Events()
	if ev[1]["uid"] != "carol" || fmt.Sprint(ev[1]["groups"]) != "[room-9]" || ev[1]["node"] != ev[0]["node"] || ev[1]["remote_addr"] == "" {
		t.Errorf("connected event %v", ev[1])
	}
	if ev[3]["data_base64"] != "AQID" || fmt.Sprint(ev[3]["session"]) != "map[cart:2]" {
		t.Errorf("binary message event %v: want its data and the session set before it", ev[3])
	}
	if d := ev[4]; d["code"] != float64(4100) || d["reason"] != "server_close" || d["by"] != "api" || fmt.Sprint(d["session"]) != "map[cart:2]" {
		t.Errorf("disconnected event %v", d)
	}
	var mfs map[string]*dto.MetricFamily
	eventually(t, "the sender counting the last delivery", func() bool {
		mfs = g.scrape(t, nil)
		return value(mfs, "wsgate_webhook_events_total", "type=disconnected", "result=delivered") == 1
	})
	for _, c := range []struct {
		typ  string
		want float64
	}{{"node.started", 1}, {"connected", 1}, {"message", 2}, {"disconnected", 1}} {
		if v := value(mfs, "wsgate_webhook_events_total", "type="+c.typ, "result=delivered"); v != c.want {
			t.Errorf("wsgate_webhook_events_total{type=%q,result=delivered} = %v, want %v", c.typ, v, c.want)
		}
	}
	if v := value(mfs, "wsgate_webhook_queue_bytes"); v != 0 {
		t.Errorf("wsgate_webhook_queue_bytes = %v after delivery", v)
	}
	ids := map[any]bool{}
	for _, e := range ev {
		ids[e["id"]] = true
	}
	if len(ids) != len(ev) {
		t.Errorf("event ids are not unique: %v", ids)
	}
}

// TestConnectWebhook: the backend's answer decides each upgrade, and what
// it grants is the client's before its id frame.
func TestConnectWebhook(t *testing.T) {
	answer := func(r *http.Request, events []map[string]any) (int, string) {
		if events[0]["type"] != "connect" {
			return 204, ""
		}
		switch q := events[0]["query"]; q {
		case "who=dave":
			return 200, `{"uid":"dave","groups":["vip"],"session":{"tier":3}}`
		case "who=erin":
			return 204, ""
		case "who=mallory":
			return 403, "banned"
		default:
			return 500, ""
		}
	}
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail-open=%v", failOpen), func(t *testing.T) {
			rc := webhooktest.New(t, answer)
			g := startGateway(t, withAuth, withWebhook(rc, "connect"), func(c *gateway.Config) { c.Webhook.ConnectFailOpen = failOpen })
			tok := token(t, jwt.MapClaims{"sub": "from-token", "groups": []string{"lobby"}, "session": map[string]any{"tier": 1}})
			c, id, _, _ := g.dialWith(t, "who=dave&token="+tok, nil)
			if c == nil || g.info(t, id) != `["dave",["lobby","vip"],{"tier":3}]` {
				t.Fatalf("200 answer not applied before the id frame (conn %v)", c != nil)
			}
			if c, id, _, _ := g.dialWith(t, "who=erin&token="+tok, nil); c == nil || g.info(t, id) != `["from-token",["lobby"],{"tier":1}]` {
				t.Fatal("204 did not accept with the token's grants")
			}
			if c, _, status, body := g.dialWith(t, "who=mallory&token="+tok, nil); c != nil || status != 403 || body != "banned" {
				t.Fatalf("403 answer: conn %v, HTTP %d %q", c != nil, status, body)
			}
			c, _, status, _ := g.dialWith(t, "who=fails&token="+tok, nil)
			if failOpen != (c != nil) || (!failOpen && status != http.StatusServiceUnavailable) {
				t.Fatalf("backend 500 with fail-open=%v: conn %v, HTTP %d", failOpen, c != nil, status)
			}
			for _, e := range rc.Events() {
				if strings.Contains(fmt.Sprint(e), tok) {
					t.Fatalf("an event carries the token: %v", e)
				}
			}
		})
	}
}

// TestConnectWaitHoldsNoGoroutine: clients waiting for a slow backend's
// connect answer hold no goroutine each; all get in once it answers.
func TestConnectWaitHoldsNoGoroutine(t *testing.T) {
	gate := webhooktest.NewGate()
	rc := webhooktest.New(t, gate.Wait)
	g := startGateway(t, withWebhook(rc, "connect"), func(c *gateway.Config) {
		c.Webhook.ConnectConcurrency = 8
		c.Webhook.Timeout = 30 * time.Second
		c.WS.HandshakeTimeout = 30 * time.Second
	})
	eventually(t, "node.started at the gate", func() bool { return rc.Requests() == 0 && runtime.NumGoroutine() > 0 })
	before := runtime.NumGoroutine()
	const waiting = 300
	conns := make([]net.Conn, waiting)
	for i := range conns {
		nc, err := net.Dial("tcp", g.WSAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		conns[i] = nc
	}
	time.Sleep(300 * time.Millisecond) // let every handshake reach the hook
	if grown := runtime.NumGoroutine() - before; grown > 60 {
		t.Fatalf("%d clients waiting for the backend grew the goroutines by %d", waiting, grown)
	}
	gate.Open()
	for i, nc := range conns {
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		line, err := bufio.NewReader(nc).ReadString('\n')
		if err != nil || !strings.Contains(line, "101") {
			t.Fatalf("client %d: %q %v", i, line, err)
		}
	}
}

// TestSessionAPI: /client/session's answers for bad input, unknown clients
// and data over -max-session, each leaving the session unchanged.
func TestSessionAPI(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.Registry.MaxSessionBytes = 64 })
	_, id := g.dial(t)
	g.mustPost(t, "/client/session", map[string]any{"client_id": id, "session": map[string]any{"a": 1, "b": "x"}})
	g.mustPost(t, "/client/session", map[string]any{"client_id": id, "session": map[string]any{"b": nil, "c": true}, "merge": true})
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"client_id":"` + id + `","session":[1]}`, 400},
		{`{"client_id":"` + id + `","session":null}`, 400},
		{`{"client_id":"` + id + `"}`, 400},
		{`{"client_id":"` + id + `","session":{"big":"` + strings.Repeat("x", 64) + `"}}`, 413},
		{`{"client_id":"` + id + `","session":{},"uid":"u"}`, 400},
		{`{"client_id":"00000000-0000-4000-8000-000000000000","session":{}}`, 404},
	} {
		if status, out := g.call(t, http.MethodPost, "/client/session", tc.body); status != tc.status || out["error"] == nil {
			t.Errorf("%s: %d %v, want %d with an error", tc.body, status, out, tc.status)
		}
	}
	if got := g.info(t, id); got != `["",[],{"a":1,"c":true}]` {
		t.Fatalf("session %s after the refused calls", got)
	}
}
