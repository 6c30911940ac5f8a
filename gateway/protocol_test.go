package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/poller"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestFirstFrameIsClientID(t *testing.T) {
	g := startGateway(t)
	seen := map[string]bool{}
	for range 5 {
		_, id := g.dial(t)
		if !uuidRE.MatchString(id) {
			t.Fatalf("id %q is not a UUID", id)
		}
		if seen[id] {
			t.Fatalf("id %s issued twice", id)
		}
		seen[id] = true
	}
}

func TestTextPingGetsPong(t *testing.T) {
	g := startGateway(t)
	c, _ := g.dial(t)
	for range 3 {
		if err := c.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		if got := readText(t, c); got != "pong" {
			t.Fatalf("got %q, want pong", got)
		}
	}
	// Other messages are read and ignored: the next answer is still the pong.
	c.WriteMessage(websocket.TextMessage, []byte("hello"))
	c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	c.WriteMessage(websocket.TextMessage, []byte("ping"))
	if got := readText(t, c); got != "pong" {
		t.Fatalf("got %q, want pong", got)
	}
}

func TestControlPingGetsPongWithPayload(t *testing.T) {
	g := startGateway(t)
	c, _ := g.dial(t)
	got := make(chan string, 1)
	c.SetPongHandler(func(p string) error { got <- p; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("abc-123"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go c.ReadMessage() // pong handlers run inside reads
	select {
	case p := <-got:
		if p != "abc-123" {
			t.Fatalf("pong payload %q, want abc-123", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
}

func TestHeartbeatTimeoutClosesSilentClient(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.HeartbeatTimeout = 400 * time.Millisecond })
	silent, silentID := g.dial(t)
	talker, _ := g.dial(t)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // talker keeps pinging, so it must survive
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				talker.WriteMessage(websocket.TextMessage, []byte("ping"))
			}
		}
	}()
	start := time.Now()
	g.expectClose(t, silent, silentID, 4000, poller.ReasonHeartbeatTimeout)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("closed after %v, before the 400ms timeout", d)
	}
	if got := readText(t, talker); got != "pong" {
		t.Fatalf("talker got %q", got)
	}
	eventually(t, "count 1", func() bool { return g.number(t, "/client/count", "count") == 1 })
}

func TestServerPingsAreSent(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) {
		c.WS.PingInterval, c.WS.HeartbeatTimeout = 100*time.Millisecond, 2*time.Second
	})
	c, _ := g.dial(t)
	pings := make(chan struct{}, 10)
	c.SetPingHandler(func(string) error { pings <- struct{}{}; return nil })
	go c.ReadMessage()
	for range 2 {
		select {
		case <-pings:
		case <-time.After(3 * time.Second):
			t.Fatal("no server ping")
		}
	}
}

func TestHandshakeTimeoutClosesStalledUpgrade(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.HandshakeTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", g.WSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")) // never finished
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("read data from a stalled handshake")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection still open 3s after a 300ms handshake timeout")
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("closed after %v, before the timeout", d)
	}
	eventually(t, "handshake timeout counted", func() bool { return g.number(t, "/stats", "handshake_timeouts") == 1 })
}

func TestHandshakeRejections(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.AllowedOrigins, c.WS.Path = []string{"https://ok.example"}, "/ws" })
	tests := []struct {
		name   string
		req    string
		status int
	}{
		{"plain HTTP GET", "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"wrong method", "POST /ws HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"wrong path", upgradeReq("/other", ""), 404},
		{"wrong origin", upgradeReq("/ws", "Origin: https://evil.example\r\n"), 403},
		{"bad version", strings.Replace(upgradeReq("/ws", ""), "Version: 13", "Version: 8", 1), 426},
		{"TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},
		{"header too large", "GET /ws HTTP/1.1\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n", 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawStatus(t, g, tt.req); got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
		})
	}
	t.Run("allowed origin upgrades", func(t *testing.T) {
		if got := rawStatus(t, g, upgradeReq("/ws", "Origin: https://OK.example\r\n")); got != 101 {
			t.Fatalf("status %d, want 101", got)
		}
	})
}

func upgradeReq(path, extra string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// rawStatus writes req on a fresh TCP connection and returns the HTTP status.
func rawStatus(t *testing.T, g *testGateway, req string) int {
	t.Helper()
	conn, err := net.Dial("tcp", g.WSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no HTTP answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestMaxConnsRejectsWith503(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.MaxConns = 2 })
	a, idA := g.dial(t)
	g.dial(t)
	_, resp, err := websocket.DefaultDialer.Dial(g.wsURL, nil)
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("third dial: err %v, resp %v; want 503", err, resp)
	}
	if n := g.Stats().Closes[poller.ReasonServerFull.String()]; n != 1 {
		t.Fatalf("%d ends with reason server_full, want 1", n)
	}
	a.Close() // a slot frees up once the server sees the close
	g.expectEnd(t, idA, poller.ReasonPeerGone, int(poller.CodeAbnormal))
	eventually(t, "a slot to free", func() bool { return g.number(t, "/client/count", "count") == 1 })
	g.dial(t)
}

func TestInboundLimitsAndProtocolErrors(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.MaxMessage = 1024 })
	tests := []struct {
		name   string
		send   func(*websocket.Conn) error
		code   int
		reason poller.Reason
	}{
		{"message over max-message", func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.BinaryMessage, make([]byte, 2000))
		}, websocket.CloseMessageTooBig, poller.ReasonProtocolError},
		{"invalid UTF-8 text", func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte{0xff, 0xfe})
		}, websocket.CloseInvalidFramePayloadData, poller.ReasonProtocolError},
		{"client close is echoed", func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(3001, "bye"))
		}, 3001, poller.ReasonPeerClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, id := g.dial(t)
			if err := tt.send(c); err != nil {
				t.Fatal(err)
			}
			g.expectClose(t, c, id, tt.code, tt.reason)
		})
	}
	eventually(t, "all closed", func() bool { return g.number(t, "/client/count", "count") == 0 })
}

// TestCloseSurvivesClientStillSending: a client that keeps writing after the
// frame that fails it must still be able to write on and then read the server's
// Close. A server that closes TCP with unread input makes the kernel answer with
// a reset: the client's writes fail and clients such as Python's websockets then
// report 1006 without ever reading the Close.
func TestCloseSurvivesClientStillSending(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.WS.MaxMessage = 65536 })
	for i := range 5 {
		conn, err := rawUpgrade(g.WSAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		big := maskedFrame(true, ws.OpText, make([]byte, 1<<20)) // over -max-message
		for off := 0; off < len(big); off += 64 << 10 {
			if _, err := conn.Write(big[off:min(off+64<<10, len(big))]); err != nil {
				t.Fatalf("connection %d: write at %d failed (%v): the server reset instead of lingering", i, off, err)
			}
			time.Sleep(time.Millisecond)
		}
		for range 20 {
			if _, err := conn.Write(maskedFrame(true, ws.OpText, []byte("ping"))); err != nil {
				t.Fatalf("connection %d: ping write failed: %v", i, err)
			}
		}
		f, err := ws.ReadFrame(conn)
		if err != nil || f.Header.OpCode != ws.OpClose {
			t.Fatalf("connection %d: want the Close frame, got %+v, %v", i, f.Header, err)
		}
		if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusMessageTooBig {
			t.Fatalf("connection %d: close code %d, want 1009", i, code)
		}
		if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("connection %d: after the Close want EOF (server shut down its side), got %v", i, err)
		}
	}
	if n := g.Stats().Closes[poller.ReasonProtocolError.String()]; n != 5 {
		t.Fatalf("%d ends with reason protocol_error, want 5", n)
	}
}
