package gateway_test

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/internal/webhooktest"
)

// TestReviewOpenFailureLeavesNoGhost: a connect answer whose groups fit
// the per-answer check but, added to the token's, exceed the registry's
// limit makes OnOpen fail. The poller then never calls OnClose (OnOpen did
// not take the connection), so the registry entry OnOpen added must be
// removed by the gateway itself: otherwise the closed client stays in
// /client/count and its uid stays online forever.
func TestReviewOpenFailureLeavesNoGhost(t *testing.T) {
	rc := webhooktest.New(t, func(r *http.Request, events []map[string]any) (int, string) {
		if events[0]["type"] == "connect" {
			return 200, `{"groups":["extra"]}`
		}
		return 204, ""
	})
	g := startGateway(t, withAuth, withWebhook(rc, "connect"), func(c *gateway.Config) { c.Registry.MaxGroupsPerClient = 2 })
	tok := token(t, jwt.MapClaims{"sub": "ghost", "groups": []string{"a", "b"}})
	c, resp, err := websocket.DefaultDialer.Dial(g.wsURL+"?token="+tok, nil)
	if err == nil {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
		c.Close()
	} else if resp == nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := g.number(t, "/client/count", "count"); n != 0 {
		t.Errorf("/client/count = %d after the only client was closed, want 0", n)
	}
	_, out := g.call(t, http.MethodGet, "/uid/online?uid=ghost", "")
	if out["online"] != false {
		t.Errorf("/uid/online?uid=ghost = %v after its client was closed, want false", out)
	}
}

// TestReviewConnectSkipsClientsGone: clients that hung up (or timed out)
// while waiting in line for the connect webhook are still asked about, one
// backend request each, long after they left. Under a reconnect storm the
// backlog (64 per worker) multiplies the backend's load with questions
// nobody waits for, and the backend sees connects it answers 200 to for
// clients that never arrive (counted "accepted").
func TestReviewConnectSkipsClientsGone(t *testing.T) {
	var mu sync.Mutex
	asked := 0
	rc := webhooktest.New(t, func(r *http.Request, events []map[string]any) (int, string) {
		if events[0]["type"] == "connect" {
			mu.Lock()
			asked++
			mu.Unlock()
			time.Sleep(150 * time.Millisecond)
		}
		return 204, ""
	})
	g := startGateway(t, withWebhook(rc, "connect"), func(c *gateway.Config) { c.Webhook.ConnectConcurrency = 1 })
	const clients = 12
	var conns []net.Conn
	for range clients {
		nc, err := net.Dial("tcp", g.WSAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		conns = append(conns, nc)
	}
	time.Sleep(100 * time.Millisecond) // every handshake reached the hook
	mu.Lock()
	before := asked
	mu.Unlock()
	for _, nc := range conns { // every client hangs up now
		nc.Close()
	}
	time.Sleep(clients * 150 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if after := asked - before; after > 2 {
		t.Fatalf("the backend was asked about %d clients that had hung up before their turn", after)
	}
}

// TestReviewConnectAnswerOverGroupLimitRefused: a connect answer whose
// groups, added to the token's, exceed -max-groups-per-client is checked
// only on its own; the client is upgraded, gets its id frame, and is then
// closed with 1011 "registration failed", which client libraries retry at
// once: a reconnect loop. It should be refused before the upgrade like any
// other unusable answer (503 with -webhook-connect-fail closed).
func TestReviewConnectAnswerOverGroupLimitRefused(t *testing.T) {
	rc := webhooktest.New(t, func(r *http.Request, events []map[string]any) (int, string) {
		if events[0]["type"] == "connect" {
			return 200, `{"groups":["extra"]}`
		}
		return 204, ""
	})
	g := startGateway(t, withAuth, withWebhook(rc, "connect"), func(c *gateway.Config) { c.Registry.MaxGroupsPerClient = 2 })
	tok := token(t, jwt.MapClaims{"sub": "u", "groups": []string{"a", "b"}})
	c, _, status, _ := g.dialWith(t, "token="+tok, nil)
	if c != nil {
		t.Fatalf("upgraded, then (code %d) closed: want HTTP 503 before the upgrade", readClose(t, c, 3*time.Second))
	}
	if status != http.StatusServiceUnavailable {
		t.Fatalf("HTTP %d, want 503", status)
	}
}

// TestReviewNodeStartedBeforeConnect: API.md says node.started "is posted
// before any other event of that node's start", but connect questions go
// out at once on the connect workers, not held behind it: after a restart
// (same -node-id) the backend can be asked about a client, and answer, and
// only then be told to forget every client of that node.
func TestReviewNodeStartedBeforeConnect(t *testing.T) {
	var mu sync.Mutex
	var order []string // events in the order the backend took them (2xx)
	failed := false
	rc := webhooktest.New(t, func(r *http.Request, events []map[string]any) (int, string) {
		typ, _ := events[0]["type"].(string)
		mu.Lock()
		defer mu.Unlock()
		if typ == "node.started" && !failed {
			failed = true
			return 503, "" // a backend that just restarted too: node.started is retried
		}
		order = append(order, typ)
		return 204, ""
	})
	g := startGateway(t, withWebhook(rc, "connect", "connected"))
	if c, _, status, _ := g.dialWith(t, "", nil); c == nil {
		t.Fatalf("refused: %d", status)
	}
	eventually(t, "three events", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 3 })
	mu.Lock()
	defer mu.Unlock()
	if order[0] != "node.started" {
		t.Fatalf("events answered in the order %q: node.started is not first", order)
	}
}
