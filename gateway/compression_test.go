package gateway_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/poller"
)

// dialDeflate connects a gorilla client that offers permessage-deflate and
// reports whether the server accepted it.
func (g *testGateway) dialDeflate(t *testing.T) (*websocket.Conn, string, bool) {
	t.Helper()
	d := websocket.Dialer{EnableCompression: true}
	c, resp, err := d.Dial(g.wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	_, id, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return c, string(id), strings.Contains(ext, "permessage-deflate")
}

func TestCompressionNegotiatedAndSharedFrames(t *testing.T) {
	g := startGateway(t)
	zc, zid, ok := g.dialDeflate(t)
	if !ok {
		t.Fatal("permessage-deflate not negotiated")
	}
	pc, pid := g.dial(t)                                            // offers nothing: gets plain frames
	big := strings.Repeat(`{"symbol":"ACME","price":101.25}`, 2000) // 64 KB, compressible
	before := g.number(t, "/stats", "bytes_sent")
	if out := g.mustPost(t, "/send/all", map[string]any{"data": big}); out["sent"] != 2.0 {
		t.Fatalf("sent %v", out["sent"])
	}
	for _, c := range []*websocket.Conn{zc, pc} {
		if got := readText(t, c); got != big {
			t.Fatalf("payload differs (%d bytes, want %d)", len(got), len(big))
		}
	}
	// The plain client took ~64 KB; the compressed copy must be far smaller.
	if sent := g.number(t, "/stats", "bytes_sent") - before; sent > len(big)+len(big)/4 {
		t.Fatalf("%d bytes written for one compressed and one plain copy of %d bytes", sent, len(big))
	}
	// Small messages go uncompressed and still arrive intact; the client may
	// compress what it sends.
	zc.EnableWriteCompression(true)
	zc.WriteMessage(websocket.TextMessage, []byte("ping"))
	if got := readText(t, zc); got != "pong" {
		t.Fatalf("compressed ping: got %q", got)
	}
	g.mustPost(t, "/send/client", map[string]any{"client_ids": []string{zid, pid}, "data": "héllo 你好 🎉"})
	for _, c := range []*websocket.Conn{zc, pc} {
		if got := readText(t, c); got != "héllo 你好 🎉" {
			t.Fatalf("got %q", got)
		}
	}
}

func TestCompressionOff(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.DisableCompression = true })
	if _, _, ok := g.dialDeflate(t); ok {
		t.Fatal("permessage-deflate negotiated with -compression=false")
	}
}

func TestCompressedZipBombIsClosedWith1009(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.MaxMessage = 65536 })
	c, id, _ := g.dialDeflate(t)
	c.EnableWriteCompression(true)
	if err := c.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte{0}, 16<<20)); err != nil {
		t.Fatal(err)
	}
	g.expectClose(t, c, id, websocket.CloseMessageTooBig, poller.ReasonProtocolError)
	if heap := g.number(t, "/stats?gc=1", "heap_inuse_bytes"); heap > 32<<20 {
		t.Fatalf("heap %d MiB after a 16 MiB zip bomb", heap>>20)
	}
}

func TestInboundRateLimitClosesWith1008(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.MaxInboundRate = 50 })
	flood, floodID := g.dial(t)
	calm, _ := g.dial(t)
	go func() {
		for range 500 {
			if flood.WriteMessage(websocket.TextMessage, []byte("spam")) != nil {
				return
			}
		}
	}()
	g.expectClose(t, flood, floodID, websocket.ClosePolicyViolation, poller.ReasonRateLimit)
	calm.WriteMessage(websocket.TextMessage, []byte("ping"))
	if got := readText(t, calm); got != "pong" {
		t.Fatalf("calm client got %q", got)
	}
	if n := g.number(t, "/stats", "rate_limit_closes"); n != 1 {
		t.Fatalf("rate_limit_closes = %d", n)
	}
}
