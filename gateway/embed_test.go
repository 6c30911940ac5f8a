package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/wsframe"
)

// TestTwoGatewaysInOneProcess embeds two gateways in this test process, on
// their own ephemeral ports, and drives both: each has its own clients,
// registry and counters, a push through one never reaches the other's
// clients, Go code can push through Hub, and stopping one leaves the other
// serving.
func TestTwoGatewaysInOneProcess(t *testing.T) {
	a, b := startGateway(t), startGateway(t)
	if a.WSAddr().String() == b.WSAddr().String() || a.APIAddr().String() == b.APIAddr().String() {
		t.Fatalf("the gateways share an address: %v %v", a.WSAddr(), b.WSAddr())
	}
	ca, idA := a.dial(t)
	cb, idB := b.dial(t)
	cb2, _ := b.dial(t)
	if n := a.number(t, "/client/count", "count"); n != 1 {
		t.Fatalf("gateway a counts %d clients, want 1", n)
	}
	if n := b.number(t, "/client/count", "count"); n != 2 {
		t.Fatalf("gateway b counts %d clients, want 2", n)
	}
	if out := a.mustPost(t, "/send/all", map[string]any{"data": "for a"}); out["sent"] != 1.0 {
		t.Fatalf("a /send/all: %v", out)
	}
	if got := readText(t, ca); got != "for a" {
		t.Fatalf("a's client got %q", got)
	}
	// b's client id is unknown to a.
	if status, _ := a.post(t, "/send/client", map[string]any{"client_id": idB, "data": "x"}); status != http.StatusOK {
		t.Fatalf("a /send/client to b's client: %d", status)
	}
	sent, err := b.Hub().SendClients(context.Background(), []string{idB}, wsframe.NewFrame(ws.OpText, []byte("from Go")))
	if err != nil || sent.Sent != 1 {
		t.Fatalf("b Hub().SendClients: %+v, %v", sent, err)
	}
	if got := readText(t, cb); got != "from Go" {
		t.Fatalf("b's client got %q, want the Go push (and nothing a sent)", got)
	}
	if err := a.Hub().BindUID(context.Background(), idB, "u"); err == nil {
		t.Fatal("gateway a bound a client of gateway b")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	a.expectClose(t, ca, idA, 1001, poller.ReasonShutdown)
	if out := b.mustPost(t, "/send/all", map[string]any{"data": "b lives"}); out["sent"] != 2.0 {
		t.Fatalf("b /send/all after a stopped: %v", out)
	}
	if got := readText(t, cb); got != "b lives" {
		t.Fatalf("b's client got %q", got)
	}
	if got := readText(t, cb2); got != "b lives" {
		t.Fatalf("b's second client got %q", got)
	}
}
