package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/gatewaytest"
	"github.com/wsgate/wsgate/wsframe"
)

// TestListenPrintsIDAndPushes runs "wsbench listen"'s client against a real
// gateway: it prints the id, then each push (text and binary) and no pong
// although it pings every 20 ms, and returns nil when cancelled, after a
// Close 1000 the gateway records.
func TestListenPrintsIDAndPushes(t *testing.T) {
	g := gatewaytest.Start(t)
	var out gatewaytest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- listen(ctx, g.WSURL, 20*time.Millisecond, &out) }()

	var id string
	gatewaytest.Eventually(t, "the id line", func() bool {
		line, ok := strings.CutPrefix(out.String(), "client id: ")
		id = strings.TrimSuffix(line, "\n")
		return ok && strings.HasSuffix(line, "\n")
	})
	gatewaytest.Eventually(t, "three pings", func() bool { return g.Stats().MessagesReceived >= 3 })
	for _, f := range []*wsframe.Frame{
		wsframe.NewFrame(ws.OpText, []byte("hello")),
		wsframe.NewFrame(ws.OpBinary, []byte{0, 1, 0xfe}),
		wsframe.NewFrame(ws.OpText, []byte(`{"n":3}`)),
	} {
		if n, err := g.Hub().SendClients(context.Background(), []string{id}, f); err != nil || n.Sent != 1 {
			t.Fatalf("SendClients to %q: %+v, %v", id, n, err)
		}
	}
	want := "client id: " + id + "\nhello\n[binary 3 bytes] 0001fe\n{\"n\":3}\n"
	gatewaytest.Eventually(t, "the pushes", func() bool { return len(out.String()) >= len(want) })
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("listen after cancel: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("listen did not return after cancel")
	}
	gatewaytest.Eventually(t, "the gateway to see the client go", func() bool { return g.Stats().Connections == 0 })
	if n := g.Stats().Closes["peer_close"]; n != 1 {
		t.Errorf("closes %v: want one peer close (the client's 1000)", g.Stats().Closes)
	}
}

// TestListenReportsServerClose checks that the server's Close ends listen
// with that code.
func TestListenReportsServerClose(t *testing.T) {
	g := gatewaytest.Start(t)
	var out gatewaytest.Buffer
	done := make(chan error, 1)
	go func() { done <- listen(context.Background(), g.WSURL, time.Minute, &out) }()
	var id string
	gatewaytest.Eventually(t, "the id line", func() bool {
		line, ok := strings.CutPrefix(out.String(), "client id: ")
		id = strings.TrimSuffix(line, "\n")
		return ok && strings.HasSuffix(line, "\n")
	})
	if err := g.Hub().CloseClient(context.Background(), id, 4001, "token expired"); err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if err := <-done; !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "token expired" {
		t.Fatalf("listen returned %v, want the server's close 4001", err)
	}
}
