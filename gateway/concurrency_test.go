package gateway_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/poller"

	"github.com/wsgate/wsgate/wsframe"
)

// TestConcurrentSendsToOneClient sends to one connection from many goroutines at
// once (in-process and through the API). The connection must get every message
// exactly once, each sender's messages in order, and the process must not crash.
// Run it without -race too: netpoll's race build hides writer bugs.
func TestConcurrentSendsToOneClient(t *testing.T) {
	g := startGateway(t)
	c, id := g.dial(t)
	const senders, perSender, apiSenders, perAPISender = 32, 200, 4, 50
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				f := wsframe.NewFrame(ws.OpText, fmt.Appendf(nil, "%d:%d", s, i))
				if n, err := g.Hub().SendClients(context.Background(), []string{id}, f); err != nil || n.Sent != 1 {
					t.Errorf("sender %d message %d not queued", s, i)
					return
				}
			}
		}()
	}
	for s := senders; s < senders+apiSenders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perAPISender {
				g.mustPost(t, "/send/client", map[string]any{"client_id": id, "data": fmt.Sprintf("%d:%d", s, i)})
			}
		}()
	}
	next := make(map[int]int)
	total := senders*perSender + apiSenders*perAPISender
	for n := 0; n < total; n++ {
		msg := readText(t, c)
		var s, i int
		if _, err := fmt.Sscanf(msg, "%d:%d", &s, &i); err != nil {
			t.Fatalf("unexpected message %q", msg)
		}
		if i != next[s] {
			t.Fatalf("sender %d: got message %d, want %d (lost, duplicated or reordered)", s, i, next[s])
		}
		next[s]++
	}
	wg.Wait()
	c.WriteMessage(websocket.TextMessage, []byte("ping"))
	if got := readText(t, c); got != "pong" {
		t.Fatalf("extra message %q after all %d", got, total)
	}
}

// TestChurnLeavesNoEntries connects, binds, joins and disconnects clients in
// every way at once while sends run; afterwards no client, uid or group remains.
func TestChurnLeavesNoEntries(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.HeartbeatTimeout = 500 * time.Millisecond })
	const clients = 120
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() { // background sends to everything
		for {
			select {
			case <-stop:
				return
			default:
			}
			g.post(t, "/send/all", map[string]any{"data": "all"})
			g.post(t, "/send/group", map[string]any{"groups": []string{"g0", "g1", "everyone"}, "data": "grp"})
			g.post(t, "/send/uid", map[string]any{"uids": []string{"u0", "u1"}, "data": "uid"})
		}
	}()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := websocket.DefaultDialer.Dial(g.wsURL, nil)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			defer c.Close()
			_, idb, err := c.ReadMessage()
			if err != nil {
				t.Errorf("id: %v", err)
				return
			}
			id := string(idb)
			go func() { // drain so sends never make it a slow consumer
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}()
			uid := "u" + strconv.Itoa(i%7)
			// Binding and joining race the disconnect below.
			var ops sync.WaitGroup
			ops.Add(2)
			go func() {
				defer ops.Done()
				g.post(t, "/uid/bind", map[string]any{"client_id": id, "uid": uid})
				g.post(t, "/group/join", map[string]any{"client_id": id, "groups": []string{"g" + strconv.Itoa(i%3), "everyone"}})
			}()
			go func() {
				defer ops.Done()
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				switch i % 4 {
				case 0: // abrupt TCP close
					c.UnderlyingConn().Close()
				case 1: // API close
					g.post(t, "/client/close", map[string]any{"client_id": id})
				case 2: // uid close (may take siblings with it)
					g.post(t, "/uid/close", map[string]any{"uid": uid})
					g.post(t, "/client/close", map[string]any{"client_id": id})
				case 3: // polite close from the client
					c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
				}
			}()
			ops.Wait()
		}()
	}
	wg.Wait()
	// Stragglers (e.g. a close that raced the bind) go by heartbeat at the latest.
	eventually(t, "every client gone", func() bool { return g.number(t, "/client/count", "count") == 0 })
	close(stop)
	for _, q := range []string{"/uid/count", "/group/total"} {
		if n := g.number(t, q, "count"); n != 0 {
			t.Errorf("GET %s = %d after churn, want 0", q, n)
		}
	}
	if n := g.number(t, "/stats", "connections"); n != 0 {
		t.Errorf("stats connections = %d, want 0", n)
	}
	eventually(t, "sockets closed", func() bool { return g.number(t, "/stats", "handshaking") == 0 })
}

// TestSlowConsumerIsClosed: a client that stops reading is closed once its
// queue passes -send-queue; a reading client gets every message; memory stays bounded.
func TestSlowConsumerIsClosed(t *testing.T) {
	g := startGateway(t) // default 1 MiB queue: 16 messages of slack for the reader
	dialer := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
	stalled, _, err := dialer.Dial(g.wsURL, nil) // never reads after this
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	_, stalledID, err := stalled.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	reader, _ := g.dial(t)
	const messages = 200
	payload := strings.Repeat("x", 64<<10)
	got := make(chan error, 1)
	go func() {
		for i := range messages {
			reader.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, p, err := reader.ReadMessage()
			if err != nil {
				got <- fmt.Errorf("message %d: %w", i, err)
				return
			}
			if want := strconv.Itoa(i) + ":"; !strings.HasPrefix(string(p), want) || len(p) != len(payload)+len(want) {
				got <- fmt.Errorf("message %d: wrong payload %.20q", i, p)
				return
			}
		}
		got <- nil
	}()
	for i := range messages {
		g.mustPost(t, "/send/all", map[string]any{"data": strconv.Itoa(i) + ":" + payload})
	}
	if err := <-got; err != nil {
		t.Fatalf("reading client: %v; stats %v", err, g.mustGet(t, "/stats"))
	}
	if n := g.number(t, "/stats", "slow_consumer_closes"); n != 1 {
		t.Fatalf("slow_consumer_closes = %d, want 1", n)
	}
	g.expectEnd(t, string(stalledID), poller.ReasonSlowConsumer, int(poller.CodeAbnormal))
	if heap := g.number(t, "/stats?gc=1", "heap_inuse_bytes"); heap > 64<<20 {
		t.Fatalf("heap in use %d MiB after %d MiB pushed to a stalled client", heap>>20, messages*64>>10)
	}
	if n := g.number(t, "/client/count", "count"); n != 1 {
		t.Fatalf("count = %d, want only the reading client", n)
	}
}

// TestShutdownSendsGoingAway: on shutdown every client gets Close 1001.
func TestShutdownSendsGoingAway(t *testing.T) {
	g := startGateway(t)
	var clients []*websocket.Conn
	var ids []string
	for range 20 {
		c, id := g.dial(t)
		clients, ids = append(clients, c), append(ids, id)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- g.Shutdown(ctx)
	}()
	for i, c := range clients {
		g.expectClose(t, c, ids[i], websocket.CloseGoingAway, poller.ReasonShutdown)
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, _, err := websocket.DefaultDialer.Dial(g.wsURL, nil); err == nil {
		t.Fatal("dial succeeded after shutdown")
	}
}
