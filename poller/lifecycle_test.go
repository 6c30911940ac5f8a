package poller_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/poller"
)

// TestOnCloseNeverBeforeOnOpen shuts the server down while OnOpen is still
// running: the connection must get OnClose after OnOpen, never before (a
// registry would otherwise keep a dead entry).
func TestOnCloseNeverBeforeOnOpen(t *testing.T) {
	var mu sync.Mutex
	var events []string
	inOpen := make(chan struct{})
	s := startConfServer(t, poller.Config{
		OnOpen: func(c *poller.Conn) error {
			close(inOpen)
			time.Sleep(100 * time.Millisecond) // a slow registration
			mu.Lock()
			events = append(events, "open")
			mu.Unlock()
			return nil
		},
		OnClose: func(c *poller.Conn, cl poller.Closure) {
			mu.Lock()
			events = append(events, "close "+cl.Reason.String())
			mu.Unlock()
		},
	})
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(upgradeRequest("/", newKey()).bytes()); err != nil {
		t.Fatal(err)
	}
	<-inOpen
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0] != "open" || events[1] != "close shutdown" {
		t.Fatalf("events %v, want [open close shutdown]", events)
	}
}
