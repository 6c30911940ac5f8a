package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/poller"
)

// soakDuration is how long TestSoakHostileAndNormalClients runs: 10s by default,
// WSGATE_SOAK (a Go duration, at most 2m) to change it.
func soakDuration(t *testing.T) time.Duration {
	d := 10 * time.Second
	if v := os.Getenv("WSGATE_SOAK"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 || d > 2*time.Minute {
			t.Fatalf("WSGATE_SOAK=%q: want a duration up to 2m", v)
		}
	}
	return d
}

// hostile is one kind of bad client: it runs one attack on a fresh TCP
// connection and returns when the server has dealt with it (or its deadline passed).
type hostile struct {
	name   string
	attack func(addr string)
}

// rawUpgrade opens a TCP connection and completes the opening handshake,
// returning the connection positioned after the id frame.
func rawUpgrade(addr string) (net.Conn, error) {
	conn, err := dialTCP(addr)
	if err != nil {
		return nil, err
	}
	br, _, err := (ws.Dialer{}).Upgrade(conn, mustParseURL("ws://"+addr+"/"))
	if err != nil {
		conn.Close()
		return nil, err
	}
	bc := &bufferedConn{Conn: conn, r: conn}
	if br != nil { // the dialer read past the 101 answer
		bc.r = io.MultiReader(br, conn)
	}
	if _, err := ws.ReadFrame(bc); err != nil { // the id frame
		conn.Close()
		return nil, err
	}
	return bc, nil
}

// bufferedConn is a net.Conn whose reads start with bytes a handshake reader
// had already buffered.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialTCP opens a plain TCP connection with a 3 s deadline for everything.
func dialTCP(addr string) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.SetDeadline(time.Now().Add(3 * time.Second))
	}
	return conn, err
}

// drain reads until the server closes the connection or the deadline passes.
func drain(conn net.Conn) {
	buf := make([]byte, 4096)
	for {
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}

func maskedFrame(fin bool, op ws.OpCode, p []byte) []byte {
	var buf bytes.Buffer
	f := ws.NewFrame(op, fin, bytes.Clone(p))
	ws.WriteFrame(&buf, ws.MaskFrame(f))
	return buf.Bytes()
}

var hostiles = []hostile{
	{"slowloris handshake", func(addr string) {
		conn, err := dialTCP(addr)
		if err != nil {
			return
		}
		defer conn.Close()
		for _, b := range []byte("GET / HTTP/1.1\r\nHost: x\r\n") {
			if _, err := conn.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		drain(conn)
	}},
	{"garbage and TLS hello", func(addr string) {
		conn, err := dialTCP(addr)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\x00\xff"))
		drain(conn)
	}},
	{"oversized header", func(addr string) {
		conn, err := dialTCP(addr)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte("GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 64<<10)))
		drain(conn)
	}},
	{"protocol violations", func(addr string) {
		for _, bad := range [][]byte{
			ws.MustCompileFrame(ws.NewTextFrame([]byte("unmasked"))),
			maskedFrame(true, ws.OpText, []byte{0xff, 0xfe}),
			maskedFrame(true, ws.OpCode(3), nil),
			maskedFrame(true, ws.OpContinuation, []byte("stray")),
		} {
			conn, err := rawUpgrade(addr)
			if err != nil {
				return
			}
			conn.Write(bad)
			drain(conn)
			conn.Close()
		}
	}},
	{"flood", func(addr string) {
		conn, err := rawUpgrade(addr)
		if err != nil {
			return
		}
		defer conn.Close()
		go drain(conn)
		frame := maskedFrame(true, ws.OpText, []byte("flood"))
		for range 5000 {
			if _, err := conn.Write(frame); err != nil {
				return
			}
		}
	}},
	{"reset mid-frame", func(addr string) {
		conn, err := rawUpgrade(addr)
		if err != nil {
			return
		}
		f := maskedFrame(true, ws.OpBinary, make([]byte, 1000))
		conn.Write(f[:500])
		conn.(*bufferedConn).Conn.(*net.TCPConn).SetLinger(0) // RST instead of FIN
		conn.Close()
	}},
	{"never reads", func(addr string) {
		conn, err := dialTCP(addr)
		if err != nil {
			return
		}
		conn.(*net.TCPConn).SetReadBuffer(4096)
		if _, _, err := (ws.Dialer{}).Upgrade(conn, mustParseURL("ws://"+addr+"/")); err != nil {
			conn.Close()
			return
		}
		time.Sleep(2 * time.Second) // the pushes pile up; the server must cut it off
		conn.Close()
	}},
	{"zip bomb", func(addr string) {
		d := websocket.Dialer{EnableCompression: true, HandshakeTimeout: time.Second}
		c, _, err := d.Dial("ws://"+addr+"/", nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.EnableWriteCompression(true)
		c.SetWriteDeadline(time.Now().Add(3 * time.Second))
		c.WriteMessage(websocket.BinaryMessage, make([]byte, 8<<20))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}},
}

// TestSoakHostileAndNormalClients mixes every hostile client with normal ones
// while the API broadcasts numbered messages: normal clients must receive every
// message exactly once and in order, and memory must come back near baseline.
func TestSoakHostileAndNormalClients(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	g := startGateway(t, func(c *gateway.Config) {
		c.WS.MaxInboundRate, c.WS.SendQueue, c.WS.HandshakeTimeout = 200, 131072, 500*time.Millisecond
	})
	baseline := g.number(t, "/stats?gc=1", "heap_inuse_bytes")
	addr := g.WSAddr().String()
	deadline := time.Now().Add(soakDuration(t))

	const normals = 20
	type result struct {
		received int
		err      error
	}
	results := make(chan result, normals)
	var ready sync.WaitGroup
	for range normals {
		ready.Add(1)
		go func() {
			c, _, err := websocket.DefaultDialer.Dial(g.wsURL, nil)
			if err != nil {
				ready.Done()
				results <- result{err: err}
				return
			}
			defer c.Close()
			c.ReadMessage() // id
			ready.Done()
			next := 0
			for {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, p, err := c.ReadMessage()
				if err != nil {
					results <- result{next, fmt.Errorf("after %d messages: %w", next, err)}
					return
				}
				if string(p) == "end" {
					results <- result{next, nil}
					return
				}
				seq, err := strconv.Atoi(strings.SplitN(string(p), ":", 2)[0])
				if err != nil || seq != next {
					results <- result{next, fmt.Errorf("got %.20q, want message %d", p, next)}
					return
				}
				next++
			}
		}()
	}
	ready.Wait()

	var attacks atomic.Int64
	var wg sync.WaitGroup
	for _, h := range hostiles {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					h.attack(addr)
					attacks.Add(1)
				}
			}()
		}
	}
	sent := 0
	pad := strings.Repeat("p", 200)
	for time.Now().Before(deadline) {
		g.mustPost(t, "/send/all", map[string]any{"data": strconv.Itoa(sent) + ":" + pad})
		sent++
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	g.mustPost(t, "/send/all", map[string]any{"data": "end"})
	for range normals {
		r := <-results
		if r.err != nil {
			t.Errorf("normal client: %v", r.err)
		} else if r.received != sent {
			t.Errorf("normal client got %d of %d messages", r.received, sent)
		}
	}
	t.Logf("%d broadcasts, %d hostile attacks; stats %v", sent, attacks.Load(), g.mustGet(t, "/stats"))
	eventually(t, "hostile connections to close", func() bool { return g.number(t, "/client/count", "count") == 0 })
	// Every end has the reason its kind of client earns, and only those.
	closes := g.Stats().Closes
	for _, r := range []poller.Reason{poller.ReasonHandshakeTimeout, poller.ReasonHandshakeFailure,
		poller.ReasonProtocolError, poller.ReasonRateLimit, poller.ReasonPeerGone} {
		if closes[r.String()] == 0 {
			t.Errorf("no end with reason %v; closes %v", r, closes)
		}
	}
	for _, r := range []poller.Reason{poller.ReasonServerClose, poller.ReasonShutdown, poller.ReasonServerFull,
		poller.ReasonRefused, poller.ReasonInternal, poller.ReasonHeartbeatTimeout} {
		if closes[r.String()] != 0 {
			t.Errorf("%d ends with reason %v; closes %v", closes[r.String()], r, closes)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil && g.number(t, "/stats?gc=1", "heap_inuse_bytes") > baseline+16<<20 {
		time.Sleep(100 * time.Millisecond)
	}
	if heap := g.number(t, "/stats?gc=1", "heap_inuse_bytes"); heap > baseline+16<<20 {
		t.Errorf("heap in use %d MiB after the soak, baseline %d MiB", heap>>20, baseline>>20)
	}
}

func mustParseURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
