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

// TestOpenFailureLeavesNoGhost: when OnOpen fails the poller never calls
// OnClose (OnOpen did not take the connection), so the gateway removes the
// registry entry itself: the closed client is not counted and its uid is
// not online.
func TestOpenFailureLeavesNoGhost(t *testing.T) {
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

// TestConnectSkipsClientsGone: clients that hung up (or timed out) while
// waiting in line for the connect webhook are not asked about: under a
// reconnect storm the backend gets no questions nobody waits for.
func TestConnectSkipsClientsGone(t *testing.T) {
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

// TestConnectAnswerOverGroupLimitRefused: a connect answer whose groups,
// added to the token's, exceed -max-groups-per-client is an unusable answer,
// refused before the upgrade (503 with -webhook-connect-fail closed), not a
// client upgraded and then closed 1011 (which clients retry at once).
func TestConnectAnswerOverGroupLimitRefused(t *testing.T) {
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

// TestNodeStartedBeforeConnect: node.started is the first event of a
// node's start, connect questions included, even when it has to be retried:
// a backend is never told to forget a node's clients after it granted one.
func TestNodeStartedBeforeConnect(t *testing.T) {
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
