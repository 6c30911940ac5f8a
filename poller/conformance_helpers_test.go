package poller_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/google/uuid"

	"github.com/wsgate/wsgate/poller"
)

// Bounds of the conformance tests.
const (
	// confIOTimeout bounds every read and write, so a server that never
	// answers fails the test instead of hanging it.
	confIOTimeout = 5 * time.Second
	// confFailBound is how soon, after the write of the offending bytes,
	// the server must send its Close and close TCP ("fail the WebSocket
	// connection", RFC 6455 section 7.1.7: well under a second).
	confFailBound = 100 * time.Millisecond
	// confMaxFrame caps the payload the test client accepts from the server.
	confMaxFrame = 1 << 24
)

// confServer is a poller.Server on an ephemeral loopback port that remembers
// its open connections by client id, so tests can push to them.
type confServer struct {
	*poller.Server
	addr string

	mu    sync.Mutex
	conns map[string]*poller.Conn // guarded by mu; connections between OnOpen and OnClose
}

// startConfServer starts a server with cfg (Addr and Logger are set here) and
// shuts it down when the test ends, checking that Serve returns.
func startConfServer(tb testing.TB, cfg poller.Config) *confServer {
	tb.Helper()
	s := &confServer{conns: make(map[string]*poller.Conn)}
	cfg.Addr = "127.0.0.1:0"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	onOpen, onClose := cfg.OnOpen, cfg.OnClose
	cfg.OnOpen = func(c *poller.Conn) error {
		s.mu.Lock()
		s.conns[c.ID()] = c
		s.mu.Unlock()
		if onOpen != nil {
			return onOpen(c)
		}
		return nil
	}
	cfg.OnClose = func(c *poller.Conn, cl poller.Closure) {
		s.mu.Lock()
		delete(s.conns, c.ID())
		s.mu.Unlock()
		if _, dup := ends.LoadOrStore(c.ID(), cl); dup {
			tb.Errorf("second OnClose for %s (%v)", c.ID(), cl)
		}
		if onClose != nil {
			onClose(c, cl)
		}
	}
	srv, err := poller.New(cfg)
	if err != nil {
		tb.Fatalf("poller.New: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
		select {
		case err := <-served:
			if err != nil {
				tb.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			tb.Errorf("Serve did not return after Shutdown")
		}
	})
	s.Server = srv
	s.addr = srv.Addr().String()
	return s
}

// ends records how every connection of every confServer ended, by client id,
// as OnClose reported it.
var ends sync.Map // client id -> poller.Closure

// expectEnd waits for OnClose of client id and checks its reason and, unless
// code is noCode, its code.
func expectEnd(tb testing.TB, id string, r poller.Reason, code ws.StatusCode) {
	tb.Helper()
	var cl poller.Closure
	confEventually(tb, "OnClose of client "+id, func() bool {
		v, ok := ends.Load(id)
		if ok {
			cl = v.(poller.Closure)
		}
		return ok
	})
	if cl.Reason != r || (code != noCode && cl.Code != uint16(code)) {
		tb.Errorf("client %s ended with %v %d, want %v %d", id, cl.Reason, cl.Code, r, code)
	}
}

// conn returns the open connection with client id, waiting for OnOpen: the
// server may send the id frame before it calls OnOpen.
func (s *confServer) conn(tb testing.TB, id string) *poller.Conn {
	tb.Helper()
	var c *poller.Conn
	confEventually(tb, "OnOpen of client "+id, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		c = s.conns[id]
		return c != nil
	})
	return c
}

// eventually polls cond every 5 ms until it holds, failing the test after confIOTimeout.
func confEventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(confIOTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- opening handshake, by hand ----

// wsGUID is the GUID of RFC 6455 section 1.3.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// newKey returns a fresh Sec-WebSocket-Key: 16 random bytes in base64.
func newKey() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// acceptFor computes Sec-WebSocket-Accept for key (RFC 6455 section 4.2.2),
// independently of gobwas/ws.
func acceptFor(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// httpHead is an HTTP request head: the request line, then header lines.
type httpHead []string

// upgradeRequest is a valid opening handshake for path with key.
func upgradeRequest(path, key string) httpHead {
	return httpHead{
		"GET " + path + " HTTP/1.1",
		"Host: 127.0.0.1",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Key: " + key,
		"Sec-WebSocket-Version: 13",
	}
}

// line replaces the request line.
func (r httpHead) line(l string) httpHead {
	out := slices.Clone(r)
	out[0] = l
	return out
}

// set replaces every header line named name (case-insensitively) with
// "name: value", or appends it when there is none.
func (r httpHead) set(name, value string) httpHead {
	out := r.without(name)
	return append(out, name+": "+value)
}

// add appends header lines as given ("Name: value").
func (r httpHead) add(lines ...string) httpHead {
	return append(slices.Clone(r), lines...)
}

// without drops the header lines named name (case-insensitively).
func (r httpHead) without(name string) httpHead {
	out := httpHead{r[0]}
	for _, l := range r[1:] {
		k, _, _ := strings.Cut(l, ":")
		if !strings.EqualFold(strings.TrimSpace(k), name) {
			out = append(out, l)
		}
	}
	return out
}

// bytes encodes the head with CRLFs and the terminating blank line.
func (r httpHead) bytes() []byte {
	return []byte(strings.Join(r, "\r\n") + "\r\n\r\n")
}

// httpAnswer is what the server wrote back to an HTTP request, read by hand.
type httpAnswer struct {
	statusLine string // "" when the server wrote nothing before closing or timing out
	status     int
	header     http.Header
	body       []byte // bytes after the head, up to the close (not read after a 101)
	closed     bool   // the server closed TCP (read returned io.EOF or ECONNRESET)
	readErr    error  // the error that ended reading, unless it was the close
	elapsed    time.Duration
}

// dialConf opens a TCP connection to addr, closed when the test ends.
func dialConf(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	nc, err := net.DialTimeout("tcp", addr, confIOTimeout)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	tb.Cleanup(func() { nc.Close() })
	return nc
}

// readHead reads an HTTP response head (status line and header lines up to
// the blank line) from br by hand.
func readHead(br *bufio.Reader) (statusLine string, status int, header http.Header, err error) {
	header = make(http.Header)
	first := true
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if first && line == "" {
				return "", 0, header, err
			}
			return statusLine, status, header, fmt.Errorf("incomplete HTTP head %q: %w", statusLine+line, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if first {
			first = false
			statusLine = line
			proto, rest, _ := strings.Cut(line, " ")
			code, _, _ := strings.Cut(rest, " ")
			if status, err = strconv.Atoi(code); err != nil || !strings.HasPrefix(proto, "HTTP/1.") || len(code) != 3 {
				return statusLine, 0, header, fmt.Errorf("bad status line %q", line)
			}
			continue
		}
		if line == "" {
			return statusLine, status, header, nil
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return statusLine, status, header, fmt.Errorf("bad header line %q", line)
		}
		header.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
}

// isClosed reports whether err from a read means the peer closed TCP.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// exchange writes raw as the first bytes of a fresh connection and reads the
// answer: the head, then (unless it is a 101) everything up to the server's
// close, waiting at most wait.
func exchangeRaw(tb testing.TB, addr string, raw []byte, wait time.Duration) (httpAnswer, *bufio.Reader, net.Conn) {
	tb.Helper()
	nc := dialConf(tb, addr)
	nc.SetDeadline(time.Now().Add(wait))
	start := time.Now()
	nc.Write(raw) // the server may close before taking it all: the answer tells
	br := bufio.NewReader(nc)
	var a httpAnswer
	var err error
	a.statusLine, a.status, a.header, err = readHead(br)
	if err == nil && a.status != http.StatusSwitchingProtocols {
		a.body, err = io.ReadAll(br)
		if err == nil {
			err = io.EOF
		}
	}
	switch {
	case err == nil:
	case isClosed(err):
		a.closed = true
	default:
		a.readErr = err
	}
	a.elapsed = time.Since(start)
	return a, br, nc
}

// hasToken reports whether the comma-separated header values hold token,
// case-insensitively.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// extensionNames returns the extension names in Sec-WebSocket-Extensions values.
func extensionNames(values []string) []string {
	var names []string
	for _, v := range values {
		for ext := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(ext, ";")
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

// checkUpgradeAnswer checks a 101 answer against RFC 6455 section 4.2.2 for a
// request with key that offered the extensions in offered (their
// Sec-WebSocket-Extensions values) and no subprotocol the server may pick.
func checkUpgradeAnswer(tb testing.TB, a httpAnswer, key string, offered []string) {
	tb.Helper()
	if a.status != http.StatusSwitchingProtocols {
		tb.Fatalf("want 101, got %q (closed %v, err %v, body %q)", a.statusLine, a.closed, a.readErr, a.body)
	}
	if !hasToken(a.header.Values("Upgrade"), "websocket") {
		tb.Errorf("101 without Upgrade: websocket: %v", a.header)
	}
	if !hasToken(a.header.Values("Connection"), "upgrade") {
		tb.Errorf("101 without Connection: Upgrade: %v", a.header)
	}
	if got, want := a.header.Values("Sec-Websocket-Accept"), acceptFor(key); len(got) != 1 || got[0] != want {
		tb.Errorf("Sec-WebSocket-Accept = %q, want [%q]", got, want)
	}
	if p := a.header.Values("Sec-Websocket-Protocol"); len(p) > 0 {
		tb.Errorf("101 selects subprotocol %q, which the server does not speak", p)
	}
	offer := extensionNames(offered)
	for _, name := range extensionNames(a.header.Values("Sec-Websocket-Extensions")) {
		if !slices.Contains(offer, name) {
			tb.Errorf("101 answers extension %q the client did not offer (offered %q)", name, offered)
		}
	}
}

// ---- client frames ----

// cframe describes a client frame. Zero values are the usual case: masked,
// no RSV bits, minimal length encoding, FIN=0 unless set.
type cframe struct {
	fin      bool
	rsv      byte // RSV1 RSV2 RSV3 as the three low bits, as ws.Header.Rsv
	op       ws.OpCode
	payload  []byte
	unmasked bool
	// length, when set, is the declared payload length; payload may then be
	// shorter (the rest is never sent) or longer.
	length int64
	// lenBits forces the length field: 16 or 64 for a 16- or 64-bit
	// extended length even if a shorter one fits (non-minimal encoding).
	lenBits int
	// rawLen64, with lenBits 64, is written as the 64-bit length as is
	// (to set its top bit).
	rawLen64 uint64
}

// Constructors of the frames the tests use most.
func textF(s string) cframe  { return cframe{fin: true, op: ws.OpText, payload: []byte(s)} }
func binF(p []byte) cframe   { return cframe{fin: true, op: ws.OpBinary, payload: p} }
func pingF(s string) cframe  { return cframe{fin: true, op: ws.OpPing, payload: []byte(s)} }
func pongF(s string) cframe  { return cframe{fin: true, op: ws.OpPong, payload: []byte(s)} }
func closeF(p []byte) cframe { return cframe{fin: true, op: ws.OpClose, payload: p} }
func contF(fin bool, s string) cframe {
	return cframe{fin: fin, op: ws.OpContinuation, payload: []byte(s)}
}
func fragF(op ws.OpCode, fin bool, s string) cframe {
	return cframe{fin: fin, op: op, payload: []byte(s)}
}

// closeBody is a close payload: code then reason.
func closeBody(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// encode writes f as a client would: the header with gobwas/ws (or by hand
// for the non-minimal encodings gobwas cannot write), then the payload
// masked with a fresh key (ws.Cipher).
func encode(f cframe) []byte {
	length := int64(len(f.payload))
	if f.length != 0 {
		length = f.length
	}
	h := ws.Header{Fin: f.fin, Rsv: f.rsv, OpCode: f.op, Masked: !f.unmasked, Length: length}
	if h.Masked {
		h.Mask = ws.NewMask()
		for h.Mask == [4]byte{} { // a zero key would hide an unmasking bug
			h.Mask = ws.NewMask()
		}
	}
	var buf bytes.Buffer
	if f.lenBits == 0 {
		ws.WriteHeader(&buf, h) // a bytes.Buffer never fails
	} else {
		b0 := byte(f.op) | f.rsv<<4
		if f.fin {
			b0 |= 0x80
		}
		var b1 byte
		if h.Masked {
			b1 = 0x80
		}
		switch f.lenBits {
		case 16:
			buf.Write([]byte{b0, b1 | 126})
			binary.Write(&buf, binary.BigEndian, uint16(length))
		case 64:
			buf.Write([]byte{b0, b1 | 127})
			v := uint64(length)
			if f.rawLen64 != 0 {
				v = f.rawLen64
			}
			binary.Write(&buf, binary.BigEndian, v)
		default:
			panic("lenBits must be 16 or 64")
		}
		if h.Masked {
			buf.Write(h.Mask[:])
		}
	}
	p := bytes.Clone(f.payload)
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	buf.Write(p)
	return buf.Bytes()
}

// enc concatenates the encodings of frames.
func enc(frames ...cframe) []byte {
	var b []byte
	for _, f := range frames {
		b = append(b, encode(f)...)
	}
	return b
}

// chunks cuts b at the given offsets and DROPS what follows the last one:
// chunks(b, 3, 10) is [b[:3], b[3:10]]. With no offsets it is [b].
func chunks(b []byte, at ...int) [][]byte {
	if len(at) == 0 {
		return [][]byte{b}
	}
	var out [][]byte
	prev := 0
	for _, i := range at {
		out = append(out, b[prev:i])
		prev = i
	}
	return out
}

// octets cuts b into one-byte chunks, to be written one per TCP segment.
func octets(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// ---- the raw client ----

// wsClient is an upgraded raw TCP connection: frames are written with
// gobwas/ws encodings and read with ws.ReadHeader, every server frame checked
// against the send-side rules.
type wsClient struct {
	tb      testing.TB
	nc      net.Conn
	br      *bufio.Reader
	id      string
	deflate bool // permessage-deflate was negotiated: RSV1 is allowed on data frames

	serverPings int // server Ping frames skipped by readFrame
}

// openWS does the opening handshake by hand on a fresh connection to s (path
// "/" unless s requires one; extra header lines are added to the request),
// checks the 101 answer, and reads and checks the id frame.
func openWS(tb testing.TB, addr, path string, extra ...string) *wsClient {
	tb.Helper()
	return openWSPipelined(tb, addr, path, nil, extra...)
}

// openWSPipelined is openWS with frames written in the same Write as the
// request, right after its head.
func openWSPipelined(tb testing.TB, addr, path string, frames []byte, extra ...string) *wsClient {
	tb.Helper()
	key := newKey()
	req := upgradeRequest(path, key).add(extra...)
	a, br, nc := exchangeRaw(tb, addr, append(req.bytes(), frames...), confIOTimeout)
	var offered []string
	for _, l := range extra {
		if k, v, _ := strings.Cut(l, ":"); strings.EqualFold(strings.TrimSpace(k), "Sec-WebSocket-Extensions") {
			offered = append(offered, v)
		}
	}
	checkUpgradeAnswer(tb, a, key, offered)
	nc.SetDeadline(time.Time{})
	c := &wsClient{tb: tb, nc: nc, br: br}
	c.deflate = slices.Contains(extensionNames(a.header.Values("Sec-Websocket-Extensions")), "permessage-deflate")
	h, p, err := c.readFrame()
	if err != nil {
		tb.Fatalf("reading the id frame: %v", err)
	}
	if h.OpCode != ws.OpText || len(p) != 36 {
		tb.Fatalf("first frame: op %v payload %q, want a text frame with a 36-char client id", h.OpCode, p)
	}
	if _, err := uuid.Parse(string(p)); err != nil {
		tb.Fatalf("client id %q is not a UUID: %v", p, err)
	}
	c.id = string(p)
	return c
}

// write writes b in one Write.
func (c *wsClient) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(confIOTimeout))
	_, err := c.nc.Write(b)
	return err
}

// mustWrite writes b in one Write and fails the test if that fails.
func (c *wsClient) mustWrite(b []byte) {
	c.tb.Helper()
	if err := c.write(b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// writeChunks writes each chunk with its own Write, pausing 1 ms in between
// so that they travel in separate TCP segments. It stops at the first error.
func (c *wsClient) writeChunks(cs [][]byte) error {
	for i, b := range cs {
		if i > 0 {
			time.Sleep(time.Millisecond)
		}
		if err := c.write(b); err != nil {
			return err
		}
	}
	return nil
}

// readFrame reads the next server frame, skipping the server's own Ping
// frames (PingInterval), and checks what RFC 6455 requires of server frames:
// not masked, no RSV bits without an extension, control frames final and at
// most 125 bytes, lengths minimally encoded, text valid UTF-8, close payloads
// valid. Violations are reported with Errorf (safe from any goroutine).
func (c *wsClient) readFrame() (ws.Header, []byte, error) {
	for {
		h, p, err := c.readAnyFrame()
		if err == nil && h.OpCode == ws.OpPing && len(p) == 0 {
			c.serverPings++
			continue
		}
		return h, p, err
	}
}

func (c *wsClient) readAnyFrame() (ws.Header, []byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(confIOTimeout))
	b, err := c.br.Peek(2)
	if err != nil {
		return ws.Header{}, nil, err
	}
	switch b[1] & 0x7f {
	case 126:
		if b, err = c.br.Peek(4); err == nil && binary.BigEndian.Uint16(b[2:]) <= 125 {
			c.tb.Errorf("server frame % x: 16-bit length %d is not minimal", b, binary.BigEndian.Uint16(b[2:]))
		}
	case 127:
		if b, err = c.br.Peek(10); err == nil && binary.BigEndian.Uint64(b[2:]) <= 0xffff {
			c.tb.Errorf("server frame % x: 64-bit length %d is not minimal", b, binary.BigEndian.Uint64(b[2:]))
		}
	}
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return h, nil, err
	}
	state := ws.StateClientSide
	if c.deflate && h.Rsv == 4 && h.OpCode.IsData() && h.OpCode != ws.OpContinuation {
		state |= ws.StateExtended // RFC 7692: RSV1 marks a compressed message
	}
	if err := ws.CheckHeader(h, state); err != nil {
		c.tb.Errorf("server frame breaks RFC 6455: %v (header %+v)", err, h)
	}
	if h.Length > confMaxFrame {
		return h, nil, fmt.Errorf("server frame of %d bytes", h.Length)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return h, nil, err
	}
	switch h.OpCode {
	case ws.OpText:
		if h.Rsv == 0 && !utf8.Valid(p) {
			c.tb.Errorf("server text frame is not UTF-8: %q", p)
		}
	case ws.OpClose:
		if len(p) == 1 {
			c.tb.Errorf("server close payload of 1 byte")
		}
		if len(p) >= 2 {
			code := ws.StatusCode(binary.BigEndian.Uint16(p))
			if !validWireCode(code) {
				c.tb.Errorf("server close code %d is not valid on the wire", code)
			}
			if !utf8.Valid(p[2:]) {
				c.tb.Errorf("server close reason is not UTF-8: %q", p[2:])
			}
		}
	}
	return h, p, nil
}

// validWireCode reports whether code may be sent in a Close frame (RFC 6455
// section 7.4 and the IANA registry).
func validWireCode(code ws.StatusCode) bool {
	return 1000 <= code && code <= 1003 || 1007 <= code && code <= 1014 || 3000 <= code && code <= 4999
}

// describe renders a frame for failure messages.
func describeFrame(h ws.Header, p []byte) string {
	if h.OpCode == ws.OpClose && len(p) >= 2 {
		return fmt.Sprintf("Close %d %q", binary.BigEndian.Uint16(p), p[2:])
	}
	if len(p) > 64 {
		return fmt.Sprintf("%s, %d bytes %q...", opName(h.OpCode), len(p), p[:64])
	}
	return fmt.Sprintf("%s %q", opName(h.OpCode), p)
}

// opName names an opcode for failure messages.
func opName(op ws.OpCode) string {
	switch op {
	case ws.OpContinuation:
		return "Continuation"
	case ws.OpText:
		return "Text"
	case ws.OpBinary:
		return "Binary"
	case ws.OpClose:
		return "Close"
	case ws.OpPing:
		return "Ping"
	case ws.OpPong:
		return "Pong"
	}
	return fmt.Sprintf("opcode %d", op)
}

// expectFrame reads the next frame and fails unless it is op with payload.
func (c *wsClient) expectFrame(op ws.OpCode, payload []byte) {
	c.tb.Helper()
	h, p, err := c.readFrame()
	if err != nil {
		c.tb.Fatalf("want %s %q, read failed: %v", opName(op), payload, err)
	}
	if h.OpCode != op || !bytes.Equal(p, payload) || !h.Fin {
		c.tb.Fatalf("want %s %q, got %s (fin %v)", opName(op), payload, describeFrame(h, p), h.Fin)
	}
}

// roundTrip checks that the connection is open and that nothing is pending
// before the answer: it sends a Ping with a fresh payload and the next frame
// must be its Pong.
func (c *wsClient) roundTrip() {
	c.tb.Helper()
	probe := "probe-" + uuid.NewString()[:8]
	c.mustWrite(encode(pingF(probe)))
	c.expectFrame(ws.OpPong, []byte(probe))
}

// expectSilence fails the test if the server sends anything but its own
// empty Pings (PingInterval) within d.
func (c *wsClient) expectSilence(d time.Duration) {
	c.tb.Helper()
	deadline := time.Now().Add(d)
	for {
		c.nc.SetReadDeadline(deadline)
		b, err := c.br.Peek(2)
		switch {
		case err == nil && b[0] == 0x80|byte(ws.OpPing) && b[1] == 0:
			c.br.Discard(2)
			c.serverPings++
		case err == nil:
			c.tb.Fatalf("the server sent % x before the offending bytes", b)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return
		default:
			c.tb.Fatalf("the connection ended before the offending bytes: %v", err)
		}
	}
}

// noCode is the want of expectClose for an acknowledgment of a Close without
// a code: an empty close payload or 1000 both do.
const noCode ws.StatusCode = ws.StatusNoStatusRcvd

// expectClose reads the next frame, which must be a Close with code want,
// then waits for the server to close TCP with no frame in between, and checks
// that OnClose reported reason r with that code. It returns how long after t0
// the Close and the TCP close came.
func (c *wsClient) expectClose(want ws.StatusCode, r poller.Reason, t0 time.Time) (toClose, toEOF time.Duration) {
	c.tb.Helper()
	h, p, err := c.readFrame()
	toClose = time.Since(t0)
	if err != nil {
		c.tb.Fatalf("want Close %d, read failed: %v", want, err)
	}
	if h.OpCode != ws.OpClose {
		c.tb.Fatalf("want Close %d, got %s", want, describeFrame(h, p))
	}
	var code ws.StatusCode = ws.StatusNoStatusRcvd
	if len(p) >= 2 {
		code = ws.StatusCode(binary.BigEndian.Uint16(p))
	}
	if code != want && !(want == noCode && code == ws.StatusNormalClosure) {
		c.tb.Errorf("Close code %d (payload %q), want %d", code, p, want)
	}
	toEOF = c.expectTCPClose(t0)
	expectEnd(c.tb, c.id, r, want)
	return toClose, toEOF
}

// expectTCPClose reads until the server closes TCP; any frame is an error.
// It returns the time since t0.
func (c *wsClient) expectTCPClose(t0 time.Time) time.Duration {
	c.tb.Helper()
	for {
		h, p, err := c.readAnyFrame()
		if err == nil {
			c.tb.Errorf("frame after the server's Close: %s", describeFrame(h, p))
			continue
		}
		if !isClosed(err) {
			c.tb.Fatalf("server did not close TCP after its Close: %v", err)
		}
		return time.Since(t0)
	}
}

// ---- timing statistics ----

// durations collects latency samples.
type durations []time.Duration

func (d durations) median() time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func (d durations) max() time.Duration {
	if len(d) == 0 {
		return 0
	}
	return slices.Max(d)
}

func (d durations) String() string {
	return fmt.Sprintf("median %.2f ms, max %.2f ms over %d",
		float64(d.median())/float64(time.Millisecond), float64(d.max())/float64(time.Millisecond), len(d))
}
