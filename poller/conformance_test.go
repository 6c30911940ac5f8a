package poller_test

// End-to-end RFC 6455 conformance of the poller over real sockets: raw frames
// written with gobwas/ws encodings on a plain net.Conn, every server frame read
// back with ws.ReadHeader and checked against the send-side rules. Cases are
// named by the rule and, where one exists, the Autobahn|Testsuite case id.

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/wsframe"
)

// confMaxMessage is the MaxMessage of the frame-level test servers.
const confMaxMessage = 64 << 10

// failCase is a client that breaks a receive-side rule. Its chunks are
// written one Write each; the LAST chunk holds the offending bytes, and what
// would follow them is never sent. The server must answer with a Close
// carrying want, then close TCP, both promptly.
type failCase struct {
	name   string
	chunks [][]byte
	want   ws.StatusCode
}

// inOneWrite is a failCase's chunks when everything goes in one write.
func inOneWrite(frames ...cframe) [][]byte { return [][]byte{enc(frames...)} }

// afterLead is a failCase's chunks when valid frames go first, in their own write.
func afterLead(first []cframe, bad ...cframe) [][]byte {
	return [][]byte{enc(first...), enc(bad...)}
}

func repeatByte(b byte, n int) string { return strings.Repeat(string(b), n) }

// kosme is "κόσμε", the Greek word Autobahn's UTF-8 cases are built on.
const kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

func failCases() []failCase {
	hello := []cframe{textF("Hello")}
	open := []cframe{fragF(ws.OpText, false, "fragment1")} // leaves a text message open
	cs := []failCase{
		// Masking (RFC 6455 section 5.1, 5.3).
		{"unmasked text (RFC 6455 5.1)", inOneWrite(cframe{fin: true, op: ws.OpText, payload: []byte("Hello"), unmasked: true}), 1002},
		{"unmasked ping", inOneWrite(cframe{fin: true, op: ws.OpPing, payload: []byte("x"), unmasked: true}), 1002},
		{"unmasked close", inOneWrite(cframe{fin: true, op: ws.OpClose, payload: closeBody(1000, ""), unmasked: true}), 1002},
		{"unmasked continuation of a masked message", afterLead(open, cframe{fin: true, op: ws.OpContinuation, payload: []byte("x"), unmasked: true}), 1002},

		// RSV bits without a negotiated extension (section 5.2).
		{"3.1 RSV=1 text", inOneWrite(cframe{fin: true, rsv: 1, op: ws.OpText, payload: []byte("Hello")}), 1002},
		{"3.2 RSV=2 text after a text, then ping", afterLead(hello, cframe{fin: true, rsv: 2, op: ws.OpText, payload: []byte("Hello")}, pingF("after")), 1002},
		{"3.3 RSV=3 text, one write with a text before and a ping after", inOneWrite(textF("Hello"), cframe{fin: true, rsv: 3, op: ws.OpText, payload: []byte("Hello")}, pingF("after")), 1002},
		{"3.4 RSV=4 (RSV1) text, octet-wise", chunks(enc(cframe{fin: true, rsv: 4, op: ws.OpText, payload: []byte("Hello")}, pingF("after")), 1, 2), 1002},
		{"3.5 RSV=5 binary", inOneWrite(cframe{fin: true, rsv: 5, op: ws.OpBinary, payload: []byte{0, 1, 2}}), 1002},
		{"3.6 RSV=6 ping", inOneWrite(cframe{fin: true, rsv: 6, op: ws.OpPing, payload: []byte("Hello")}), 1002},
		{"3.7 RSV=7 close", inOneWrite(cframe{fin: true, rsv: 7, op: ws.OpClose, payload: closeBody(1000, "")}), 1002},
		{"RSV1 on a continuation frame", afterLead(open, cframe{fin: true, rsv: 4, op: ws.OpContinuation, payload: []byte("x")}), 1002},

		// Control frames: payload <= 125 bytes, FIN=1 (section 5.5).
		{"2.5 ping with a 126-byte payload", inOneWrite(pingF(repeatByte('*', 126)), pingF("after")), 1002},
		{"pong with a 126-byte payload", inOneWrite(pongF(repeatByte('*', 126))), 1002},
		{"ping with a 64-bit length, header only", inOneWrite(cframe{fin: true, op: ws.OpPing, length: 1 << 16}), 1002},
		{"5.1 ping fragmented into 2 fragments", inOneWrite(fragF(ws.OpPing, false, "fragment1"), contF(true, "fragment2")), 1002},
		{"5.2 pong fragmented into 2 fragments", inOneWrite(fragF(ws.OpPong, false, "fragment1"), contF(true, "fragment2")), 1002},
		{"close with FIN=0", inOneWrite(cframe{op: ws.OpClose, payload: closeBody(1000, "")}), 1002},
		{"ping with FIN=0 between fragments", afterLead(open, cframe{op: ws.OpPing, payload: []byte("x")}), 1002},

		// Fragmentation (section 5.4).
		{"5.9 continuation FIN=1 with no message open", inOneWrite(contF(true, "fragment1"), textF("Hello"), pingF("after")), 1002},
		{"5.12 continuation FIN=0 with no message open", inOneWrite(contF(false, "fragment1"), textF("Hello")), 1002},
		{"5.15 continuation after a completed fragmented message", inOneWrite(fragF(ws.OpText, false, "fragment1"), contF(true, "fragment2"), contF(false, "fragment3"), textF("fragment4")), 1002},
		{"continuation after an unfragmented message", afterLead(hello, contF(true, "x")), 1002},
		{"5.18 text frame while a fragmented message is open", inOneWrite(fragF(ws.OpText, false, "fragment1"), fragF(ws.OpText, true, "fragment2")), 1002},
		{"binary frame while a text message is open", afterLead(open, binF([]byte{1, 2, 3})), 1002},
		{`text "ping" while a message is open`, afterLead(open, textF("ping")), 1002},

		// Invalid UTF-8 in text (sections 5.6, 8.1), failing fast.
		{"6.3.1 invalid UTF-8 text", inOneWrite(textF(kosme + "\xed\xa0\x80edited")), 1007},
		{"6.3.2 fail fast: fragmented on code points, the bad one is fragment 6", func() [][]byte {
			var first []cframe
			for _, s := range []string{"\xce\xba", "\xe1\xbd\xb9", "\xcf\x83", "\xce\xbc", "\xce\xb5"} {
				if first == nil {
					first = append(first, fragF(ws.OpText, false, s))
				} else {
					first = append(first, contF(false, s))
				}
			}
			return afterLead(first, contF(false, "\xed\xa0\x80")) // "edited" never sent
		}(), 1007},
		{"6.4.1 fail fast: fragment 2 of 3 holds F4 90 80 80", afterLead([]cframe{fragF(ws.OpText, false, kosme)}, contF(false, "\xf4\x90\x80\x80")), 1007},
		{"6.4.2 fail fast: code point split across fragments", afterLead([]cframe{fragF(ws.OpText, false, kosme+"\xf4")}, contF(false, "\x90")), 1007},
		{"6.4.3 fail fast: one frame, bad bytes in TCP chunk 2 of 3", func() [][]byte {
			b := enc(textF(kosme + "\xf4\x90\x80\x80edited"))
			h := len(b) - len(kosme) - 10
			return chunks(b, h+len(kosme), h+len(kosme)+4)
		}(), 1007},
		{"6.4.4 fail fast: one frame, code point split across TCP chunks", func() [][]byte {
			b := enc(textF(kosme + "\xf4\x90\x80\x80edited"))
			h := len(b) - len(kosme) - 10
			return chunks(b, h+len(kosme)+1, h+len(kosme)+2)
		}(), 1007},
		{"fail fast: invalid byte in the first fragment, message never finished", inOneWrite(fragF(ws.OpText, false, "ok\xff")), 1007},
		{"fail fast: invalid bytes in the first TCP chunk of a 60000-byte frame", func() [][]byte {
			b := enc(textF("abc\xc0\xaf" + repeatByte('a', 60000-5)))
			return chunks(b, 8+16) // 16-bit length + mask = 8 header bytes
		}(), 1007},
		{"fail fast: surrogate prefix ED A0 ending the first TCP chunk of a 60000-byte frame", func() [][]byte {
			b := enc(textF("abc\xed\xa0\x80" + repeatByte('a', 60000-6)))
			return chunks(b, 8+5) // ends after ED A0: already impossible
		}(), 1007},
		{"message ends inside a code point", inOneWrite(textF(kosme + "\xce")), 1007},
		{"fragmented message ends inside a code point", inOneWrite(fragF(ws.OpText, false, kosme), contF(true, "\xe1\xbd")), 1007},
		{"code point beyond U+10FFFF (F4 90 80 80)", inOneWrite(textF("\xf4\x90\x80\x80")), 1007},
		{"6.8.1 five-byte sequence F8 88 80 80 80", inOneWrite(textF("\xf8\x88\x80\x80\x80")), 1007},
		{"6.12.1 lone continuation byte", inOneWrite(textF("\x80")), 1007},
		{"6.16.1 impossible byte FE", inOneWrite(textF("\xfe")), 1007},
		{"6.17.1 overlong '/' C0 AF", inOneWrite(textF("\xc0\xaf")), 1007},
		{"6.17.2 overlong '/' E0 80 AF", inOneWrite(textF("\xe0\x80\xaf")), 1007},
		{"6.17.3 overlong '/' F0 80 80 AF", inOneWrite(textF("\xf0\x80\x80\xaf")), 1007},
		{"6.18.1 maximum overlong C1 BF", inOneWrite(textF("\xc1\xbf")), 1007},
		{"6.19.1 overlong NUL C0 80", inOneWrite(textF("\xc0\x80")), 1007},
		{"6.20.1 surrogate U+D800", inOneWrite(textF("\xed\xa0\x80")), 1007},
		{"6.20.7 surrogate U+DFFF", inOneWrite(textF("\xed\xbf\xbf")), 1007},
		{"6.21.1 surrogate pair U+D800 U+DC00", inOneWrite(textF("\xed\xa0\x80\xed\xb0\x80")), 1007},

		// Length encodings (section 5.2).
		{"16-bit length for a 5-byte payload", inOneWrite(cframe{fin: true, op: ws.OpText, payload: []byte("Hello"), lenBits: 16}), 1002},
		{"16-bit length for a 125-byte payload", inOneWrite(cframe{fin: true, op: ws.OpBinary, payload: make([]byte, 125), lenBits: 16}), 1002},
		{"64-bit length for a 5-byte payload", inOneWrite(cframe{fin: true, op: ws.OpText, payload: []byte("Hello"), lenBits: 64}), 1002},
		{"64-bit length 65535, header only", inOneWrite(cframe{fin: true, op: ws.OpBinary, length: 65535, lenBits: 64}), 1002},
		{"64-bit length with its top bit set, header only", inOneWrite(cframe{fin: true, op: ws.OpBinary, lenBits: 64, rawLen64: 1<<63 | 5}), 1002},

		// Message size limit, decided from the header (section 10.4).
		{"text of 1 MiB over MaxMessage, header only", inOneWrite(cframe{fin: true, op: ws.OpText, length: 1 << 20}), 1009},
		{"binary one byte over MaxMessage, header only", inOneWrite(cframe{fin: true, op: ws.OpBinary, length: confMaxMessage + 1}), 1009},
		{"binary of 2^40 bytes, header only", inOneWrite(cframe{fin: true, op: ws.OpBinary, length: 1 << 40}), 1009},
		{"fragments adding up over MaxMessage, last header only", afterLead([]cframe{fragF(ws.OpBinary, false, repeatByte('x', 40000))}, cframe{fin: true, op: ws.OpContinuation, length: 30000}), 1009},
		{"65 fragments of 1 KiB: the 65th crosses MaxMessage", func() [][]byte {
			var first []cframe
			for i := range confMaxMessage / 1024 {
				op := ws.OpContinuation
				if i == 0 {
					op = ws.OpText
				}
				first = append(first, fragF(op, false, repeatByte('a', 1024)))
			}
			return afterLead(first, contF(true, "a"))
		}(), 1009},

		// Close payloads (sections 5.5.1, 7.4).
		{"7.3.2 close with a 1-byte payload", inOneWrite(closeF([]byte{0x03})), 1002},
		{"7.3.6 close with a 124-byte reason (payload 126)", inOneWrite(closeF(closeBody(1000, repeatByte('*', 124)))), 1002},
		{"7.5.1 close reason not UTF-8", inOneWrite(closeF(closeBody(1000, kosme+"\xed\xa0\x80edited"))), 1007},
	}
	for _, c := range []struct {
		id   string
		code uint16
	}{
		{"7.9.1", 0}, {"7.9.2", 999}, {"7.9.3", 1004}, {"7.9.4", 1005}, {"7.9.5", 1006},
		{"", 1015}, {"7.9.6", 1016}, {"7.9.7", 1100}, {"7.9.8", 2000}, {"7.9.9", 2999},
		{"7.13.1", 5000}, {"", 65535},
	} {
		name := strings.TrimSpace(fmt.Sprintf("%s close code %d is invalid", c.id, c.code))
		cs = append(cs, failCase{name, inOneWrite(closeF(closeBody(c.code, ""))), 1002})
	}
	// Reserved opcodes 3-7 and 11-15 (section 5.2), after a valid text and
	// followed by a ping that must not be answered.
	for op := ws.OpCode(3); op <= 15; op++ {
		if !op.IsReserved() {
			continue
		}
		id := fmt.Sprintf("4.1.%d", op-2)
		if op >= 11 {
			id = fmt.Sprintf("4.2.%d", op-10)
		}
		cs = append(cs, failCase{
			fmt.Sprintf("%s reserved opcode %d", id, op),
			afterLead(hello, cframe{fin: true, op: op, payload: []byte("reserved")}, pingF("after")),
			1002,
		})
	}
	return cs
}

// TestRFC6455FailTheConnection drives every receive-side rule violation and
// checks the server fails the connection: a Close with the right code, then
// TCP closed by the server, each within confFailBound (median of three runs)
// after the offending write. Meanwhile a healthy client on the same server
// keeps receiving pushes, answering server pings and getting its pongs: one
// bad client costs one connection.
func TestRFC6455FailTheConnection(t *testing.T) {
	s := startConfServer(t, poller.Config{MaxMessage: confMaxMessage, PingInterval: 100 * time.Millisecond})
	healthy := startHealthy(t, s)

	const reps = 3
	var allClose, allEOF, fromStart durations
	for _, tc := range failCases() {
		t.Run(tc.name, func(t *testing.T) {
			var toClose, toEOF durations
			for range reps {
				c := openWS(t, s.addr, "/")
				if err := c.writeChunks(tc.chunks[:len(tc.chunks)-1]); err != nil {
					t.Fatalf("writing the valid lead: %v", err)
				}
				if len(tc.chunks) > 1 {
					c.expectSilence(2 * time.Millisecond) // the lead alone must not fail it
				}
				start := time.Now()
				if err := c.write(tc.chunks[len(tc.chunks)-1]); err != nil {
					t.Fatalf("writing the offending bytes: %v", err)
				}
				written := time.Since(start)
				dc, de := c.expectClose(tc.want, poller.ReasonProtocolError, start)
				if t.Failed() {
					return
				}
				// On loopback the answer often lands while the write
				// syscall is still returning: after-write times clamp at 0.
				toClose, toEOF = append(toClose, max(dc-written, 0)), append(toEOF, max(de-written, 0))
				fromStart = append(fromStart, de)
			}
			t.Logf("after the write returned: Close %v; TCP close %v", toClose, toEOF)
			if toClose.median() > confFailBound || toEOF.median() > confFailBound {
				t.Errorf("failing the connection took too long: Close %v, TCP close %v, want under %v", toClose, toEOF, confFailBound)
			}
			if toEOF.max() > time.Second {
				t.Errorf("a TCP close took %v, want well under a second", toEOF.max())
			}
			allClose, allEOF = append(allClose, toClose...), append(allEOF, toEOF...)
		})
	}
	t.Logf("fail timing over all cases, after the write returned: Close %v; TCP close %v", allClose, allEOF)
	t.Logf("fail timing over all cases, from the start of the write to the TCP close: %v", fromStart)

	healthy.stopAndCheck(t)
	confEventually(t, "every failed connection released and closed", func() bool {
		st := s.Stats()
		return st.Connections == 0 && st.Handshaking == 0
	})
}

// healthyClient is a well-behaved client that runs during the failure cases.
type healthyClient struct {
	c        *wsClient
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup // writer and pusher
	read     chan struct{}  // closed when the reader ends

	mu                      sync.Mutex
	pingsSent, ticksSent    int           // guarded by mu
	pongs, textPongs, ticks int           // guarded by mu; answers and pushes received, in order
	serverPings             int           // guarded by mu
	maxGap                  time.Duration // guarded by mu; longest time without a frame
	lastFrame               time.Time     // guarded by mu
	closeCode               int           // guarded by mu; 0 until the server's Close
	problems                []string      // guarded by mu
}

// startHealthy connects a client that every 20 ms sends a Ping and a text
// "ping", answers the server's pings, and receives a push every 10 ms.
func startHealthy(t *testing.T, s *confServer) *healthyClient {
	t.Helper()
	h := &healthyClient{c: openWS(t, s.addr, "/"), stop: make(chan struct{}), read: make(chan struct{})}
	sc := s.conn(t, h.c.id)
	h.lastFrame = time.Now()
	go h.reader()
	t.Cleanup(func() { // on every path, so no goroutine outlives the test
		h.stopOnce.Do(func() { close(h.stop) })
		h.wg.Wait()
		h.c.nc.Close()
		<-h.read
	})
	h.wg.Add(2)
	go h.every(20*time.Millisecond, &h.pingsSent, func(n int) error { // writer
		return h.c.write(enc(pingF("h-"+strconv.Itoa(n)), textF("ping")))
	})
	go h.every(10*time.Millisecond, &h.ticksSent, func(n int) error { // pusher, through the server's Conn.Send
		if !sc.Send(wsframe.NewFrame(ws.OpText, []byte("tick-"+strconv.Itoa(n)))) {
			return fmt.Errorf("Send of tick %d refused", n)
		}
		return nil
	})
	return h
}

// every runs step(n) each period, with n counted in *sent (guarded by mu),
// until stop or the first error, which it records as a problem.
func (h *healthyClient) every(period time.Duration, sent *int, step func(n int) error) {
	defer h.wg.Done()
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-tick.C:
		}
		h.mu.Lock()
		n := *sent
		*sent++
		h.mu.Unlock()
		if err := step(n); err != nil {
			h.problem("%v", err)
			return
		}
	}
}

func (h *healthyClient) problem(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.problems = append(h.problems, fmt.Sprintf(format, args...))
}

func (h *healthyClient) reader() {
	defer close(h.read)
	for {
		hd, p, err := h.c.readAnyFrame()
		if err != nil {
			h.problem("read: %v", err)
			return
		}
		h.mu.Lock()
		now := time.Now()
		h.maxGap = max(h.maxGap, now.Sub(h.lastFrame))
		h.lastFrame = now
		switch {
		case hd.OpCode == ws.OpPing:
			h.serverPings++
			h.mu.Unlock()
			if err := h.c.write(encode(pongF(string(p)))); err != nil {
				h.problem("answering a server ping: %v", err)
			}
			continue
		case hd.OpCode == ws.OpPong && string(p) == "h-"+strconv.Itoa(h.pongs):
			h.pongs++
		case hd.OpCode == ws.OpText && string(p) == "pong":
			h.textPongs++
		case hd.OpCode == ws.OpText && string(p) == "tick-"+strconv.Itoa(h.ticks):
			h.ticks++
		case hd.OpCode == ws.OpClose:
			if len(p) >= 2 {
				h.closeCode = int(binary.BigEndian.Uint16(p))
			} else {
				h.closeCode = int(noCode)
			}
			h.mu.Unlock()
			return
		default:
			h.problems = append(h.problems, "unexpected frame "+describeFrame(hd, p))
		}
		h.mu.Unlock()
	}
}

// stopAndCheck stops the traffic, waits until every ping and push sent was
// answered or delivered, in order, then closes the client normally.
func (h *healthyClient) stopAndCheck(t *testing.T) {
	t.Helper()
	confEventually(t, "the healthy client to answer 3 server pings", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.serverPings >= 3 || len(h.problems) > 0
	})
	h.stopOnce.Do(func() { close(h.stop) })
	h.wg.Wait()
	confEventually(t, "the healthy client's last pongs and pushes", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.problems) > 0 || h.closeCode != 0 ||
			h.pongs == h.pingsSent && h.textPongs == h.pingsSent && h.ticks == h.ticksSent
	})
	h.mu.Lock()
	t.Logf("healthy client: %d pings and %d text pings answered, %d pushes received in order, %d server pings answered, longest silence %v",
		h.pongs, h.textPongs, h.ticks, h.serverPings, h.maxGap)
	if len(h.problems) > 0 || h.closeCode != 0 {
		t.Errorf("healthy client disturbed by the failing ones: problems %q, close code %d", h.problems, h.closeCode)
	}
	if h.pingsSent < 5 || h.ticksSent < 10 || h.serverPings < 2 {
		t.Errorf("healthy client ran too briefly to tell: %d pings, %d pushes, %d server pings", h.pingsSent, h.ticksSent, h.serverPings)
	}
	if h.maxGap > time.Second {
		t.Errorf("healthy client went %v without a frame", h.maxGap)
	}
	h.mu.Unlock()
	t0 := time.Now()
	h.c.mustWrite(enc(closeF(closeBody(1000, ""))))
	<-h.read
	if h.closeCode != 1000 {
		t.Errorf("healthy client's Close answered with %d, want 1000", h.closeCode)
	}
	h.c.expectTCPClose(t0)
	expectEnd(t, h.c.id, poller.ReasonPeerClose, 1000)
}

// okCase is valid traffic: after chunks are written, the server must send
// exactly want (and nothing that fails the connection).
type okCase struct {
	name   string
	chunks [][]byte
	want   []sframe
}

// sframe is an expected server frame.
type sframe struct {
	op      ws.OpCode
	payload string
}

var textPong = sframe{ws.OpText, "pong"}

func pongOf(s string) sframe { return sframe{ws.OpPong, s} }

// fragmentsOf splits s into text fragments of the given sizes (the last one
// takes the rest), ending the message.
func fragmentsOf(s string, sizes ...int) []cframe {
	var out []cframe
	for i, n := range append(sizes, len(s)) {
		n = min(n, len(s))
		op := ws.OpContinuation
		if i == 0 {
			op = ws.OpText
		}
		last := i == len(sizes)
		out = append(out, fragF(op, last, s[:n]))
		s = s[n:]
	}
	return out
}

// perByte splits s into one text fragment per byte.
func perByte(s string) []cframe {
	sizes := make([]int, len(s)-1)
	for i := range sizes {
		sizes[i] = 1
	}
	return fragmentsOf(s, sizes...)
}

// chopsOf cuts b into chunks of n bytes.
func chopsOf(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func okCases() []okCase {
	binPayload := "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
	tenPings := func() ([]cframe, []sframe) {
		var fs []cframe
		var want []sframe
		for i := range 10 {
			p := "payload-" + strconv.Itoa(i)
			fs = append(fs, pingF(p))
			want = append(want, pongOf(p))
		}
		return fs, want
	}
	pings, pongs := tenPings()
	cs := []okCase{
		// Data messages of every length encoding, up to MaxMessage.
		{"1.1.1 empty text", inOneWrite(textF("")), nil},
		{"1.1.2 text of 125 bytes", inOneWrite(textF(repeatByte('*', 125))), nil},
		{"1.1.3 text of 126 bytes", inOneWrite(textF(repeatByte('*', 126))), nil},
		{"1.1.4 text of 127 bytes", inOneWrite(textF(repeatByte('*', 127))), nil},
		{"1.1.5 text of 128 bytes", inOneWrite(textF(repeatByte('*', 128))), nil},
		{"1.1.6 text of 65535 bytes", inOneWrite(textF(repeatByte('*', 65535))), nil},
		{"1.1.7 text of 65536 bytes (exactly MaxMessage)", inOneWrite(textF(repeatByte('*', 65536))), nil},
		{"1.1.8 text of 65536 bytes in 997-byte chops", chopsOf(enc(textF(repeatByte('*', 65536))), 997), nil},
		{"1.2.1 empty binary", inOneWrite(binF(nil)), nil},
		{"1.2.3 binary of 126 bytes", inOneWrite(binF(bytes.Repeat([]byte{0xfe}, 126))), nil},
		{"1.2.7 binary of 65536 bytes", inOneWrite(binF(bytes.Repeat([]byte{0xfe}, 65536))), nil},
		{`text "ping" gets "pong"`, inOneWrite(textF("ping")), []sframe{textPong}},
		{`text "ping" octet-wise`, octets(enc(textF("ping"))), []sframe{textPong}},

		// Ping and pong (section 5.5.2, 5.5.3).
		{"2.1 ping without payload", inOneWrite(pingF("")), []sframe{pongOf("")}},
		{"2.2 ping with a text payload", inOneWrite(pingF("Hello, world!")), []sframe{pongOf("Hello, world!")}},
		{"2.3 ping with a binary payload", inOneWrite(pingF(binPayload)), []sframe{pongOf(binPayload)}},
		{"2.4 ping with a 125-byte payload", inOneWrite(pingF(repeatByte('*', 125))), []sframe{pongOf(repeatByte('*', 125))}},
		{"2.6 ping with a 125-byte payload, octet-wise", octets(enc(pingF(repeatByte('*', 125)))), []sframe{pongOf(repeatByte('*', 125))}},
		{"2.7 unsolicited pong without payload", inOneWrite(pongF("")), nil},
		{"2.8 unsolicited pong with payload", inOneWrite(pongF("unsolicited")), nil},
		{"2.9 unsolicited pong, then ping", inOneWrite(pongF("unsolicited"), pingF("ping payload")), []sframe{pongOf("ping payload")}},
		{"2.10 ten pings", inOneWrite(pings...), pongs},
		{"2.11 ten pings, octet-wise", octets(enc(pings...)), pongs},

		// Fragmentation (section 5.4), control frames in between.
		{"5.3 text in 2 fragments", inOneWrite(fragmentsOf("fragment1fragment2", 9)...), nil},
		{"5.4 text in 2 fragments, octet-wise", octets(enc(fragmentsOf("fragment1fragment2", 9)...)), nil},
		{"5.6 text in 2 fragments, ping in between", inOneWrite(fragF(ws.OpText, false, "fragment1"), pingF("ping payload"), contF(true, "fragment2")), []sframe{pongOf("ping payload")}},
		{"5.7 text in 2 fragments, ping in between, octet-wise", octets(enc(fragF(ws.OpText, false, "fragment1"), pingF("ping payload"), contF(true, "fragment2"))), []sframe{pongOf("ping payload")}},
		{"text in 2 fragments, ping in between, in 5-byte chops", chopsOf(enc(fragF(ws.OpText, false, "fragment1"), pingF("ping payload"), contF(true, "fragment2")), 5), []sframe{pongOf("ping payload")}},
		{"5.19 text in 5 fragments, pings after fragments 2 and 4", inOneWrite(
			fragF(ws.OpText, false, "fragment1"), contF(false, "fragment2"), pingF("pongme 1!"),
			contF(false, "fragment3"), contF(false, "fragment4"), pingF("pongme 2!"), contF(true, "fragment5"),
		), []sframe{pongOf("pongme 1!"), pongOf("pongme 2!")}},
		{"binary in 3 fragments, unsolicited pong in between", inOneWrite(fragF(ws.OpBinary, false, "a"), pongF("x"), contF(false, "b"), contF(true, "c")), nil},
		{"empty fragments", inOneWrite(fragF(ws.OpText, false, ""), contF(false, ""), contF(true, "")), nil},
		{`fragmented "ping" gets "pong" when it completes`, inOneWrite(fragmentsOf("ping", 2)...), []sframe{textPong}},
		{`"ping" in 4 fragments with a Ping between each`, inOneWrite(fragF(ws.OpText, false, "p"), pingF("1"), contF(false, "i"), pingF("2"), contF(false, "n"), pingF("3"), contF(true, "g")),
			[]sframe{pongOf("1"), pongOf("2"), pongOf("3"), textPong}},
		{"64 fragments of 1 KiB (exactly MaxMessage)", inOneWrite(fragmentsOf(repeatByte('a', 65536), slicesOf(1024, 63)...)...), nil},

		// Valid UTF-8, split anywhere (sections 5.6, 8.1).
		{"6.2.1 valid UTF-8, one frame", inOneWrite(textF("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!")), nil},
		{"6.2.2 valid UTF-8, fragmented on code points", inOneWrite(fragmentsOf("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!", 6, 2, 1, 2, 2, 2, 2, 2)...), nil},
		{"6.2.3 valid UTF-8, one fragment per byte", inOneWrite(perByte("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!")...), nil},
		{"valid UTF-8 with a 4-byte code point, one frame octet-wise", octets(enc(textF(kosme + "\xf0\x9f\x98\x80"))), nil},
		{"kosme, one fragment per byte, octet-wise", octets(enc(perByte(kosme)...)), nil},
		{"4-byte code point split over 4 fragments", inOneWrite(perByte("\xf0\x9f\x98\x80")...), nil},
		{"6.22.1 non-character U+FFFE", inOneWrite(textF("\xef\xbf\xbe")), nil},
		{"6.22.2 non-character U+FFFF", inOneWrite(textF("\xef\xbf\xbf")), nil},
		{"U+FFFF split across fragments", inOneWrite(perByte("\xef\xbf\xbf")...), nil},
		{"non-character U+FDD0", inOneWrite(textF("\xef\xb7\x90")), nil},
		{"U+10FFFF, the last code point", inOneWrite(textF("\xf4\x8f\xbf\xbf")), nil},
		{"U+FFFD", inOneWrite(textF("\xef\xbf\xbd")), nil},
		{"U+D7FF and U+E000 around the surrogates", inOneWrite(textF("\xed\x9f\xbf\xee\x80\x80")), nil},
	}
	return cs
}

// slicesOf returns n copies of size.
func slicesOf(size, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = size
	}
	return out
}

// TestRFC6455ValidTrafficIsAccepted checks that valid frames, split across
// fragments and TCP writes in every way, are accepted and answered: each case
// ends with a Ping whose Pong must be the next frame after the expected ones.
func TestRFC6455ValidTrafficIsAccepted(t *testing.T) {
	s := startConfServer(t, poller.Config{MaxMessage: confMaxMessage})
	for _, tc := range okCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := openWS(t, s.addr, "/")
			if err := c.writeChunks(tc.chunks); err != nil {
				t.Fatalf("write: %v", err)
			}
			for _, w := range tc.want {
				c.expectFrame(w.op, []byte(w.payload))
			}
			c.roundTrip()
		})
	}
}

// TestRFC6455ControlFramesBetweenFragments checks that a Ping between the
// fragments of an open message is answered at once, before the message
// completes, and that the message then completes normally (section 5.4: a
// fragmented "ping" text gets its "pong" only when its last fragment comes).
func TestRFC6455ControlFramesBetweenFragments(t *testing.T) {
	s := startConfServer(t, poller.Config{MaxMessage: confMaxMessage})

	t.Run("5.6 ping answered before the message completes", func(t *testing.T) {
		c := openWS(t, s.addr, "/")
		c.mustWrite(enc(fragF(ws.OpText, false, "pi"), pingF("mid-1")))
		c.expectFrame(ws.OpPong, []byte("mid-1")) // the message is still open
		c.mustWrite(enc(contF(false, ""), pingF("mid-2")))
		c.expectFrame(ws.OpPong, []byte("mid-2"))
		c.mustWrite(enc(contF(true, "ng")))
		c.expectFrame(ws.OpText, []byte("pong")) // the message "ping" completed
		c.roundTrip()
	})
	t.Run("ping split across TCP writes between fragments", func(t *testing.T) {
		c := openWS(t, s.addr, "/")
		b := enc(pingF("split ping"))
		c.mustWrite(append(enc(fragF(ws.OpText, false, "pi")), b[:3]...))
		time.Sleep(2 * time.Millisecond)
		c.mustWrite(b[3:])
		c.expectFrame(ws.OpPong, []byte("split ping"))
		c.mustWrite(enc(contF(true, "ng")))
		c.expectFrame(ws.OpText, []byte("pong"))
	})
	t.Run("ping inside a large fragmented binary message", func(t *testing.T) {
		c := openWS(t, s.addr, "/")
		c.mustWrite(enc(fragF(ws.OpBinary, false, repeatByte('b', 30000)), pingF("mid")))
		c.expectFrame(ws.OpPong, []byte("mid"))
		c.mustWrite(enc(contF(true, repeatByte('b', 30000))))
		c.roundTrip()
	})
	t.Run("ping while a frame's payload is only partly sent is answered after it", func(t *testing.T) {
		// A control frame cannot interrupt a frame, only a message: its
		// bytes would be payload. The Pong comes once the frame is complete.
		c := openWS(t, s.addr, "/")
		b := enc(fragF(ws.OpText, false, "pi"))
		c.mustWrite(b[:len(b)-1])
		time.Sleep(2 * time.Millisecond)
		c.mustWrite(append(b[len(b)-1:], enc(pingF("after the fragment"))...))
		c.expectFrame(ws.OpPong, []byte("after the fragment"))
		c.mustWrite(enc(contF(true, "ng")))
		c.expectFrame(ws.OpText, []byte("pong"))
	})
}

// TestRFC6455CloseHandshake checks the closing handshake (sections 5.5.1, 7):
// valid codes are echoed, an empty Close is answered, nothing after the
// client's Close is processed, and the server closes TCP promptly.
func TestRFC6455CloseHandshake(t *testing.T) {
	s := startConfServer(t, poller.Config{MaxMessage: confMaxMessage})
	type closeCase struct {
		name   string
		chunks [][]byte
		before []sframe // frames the server answers before its Close
		want   ws.StatusCode
	}
	cases := []closeCase{
		{"7.3.1 close with an empty payload", inOneWrite(closeF(nil)), nil, noCode},
		{"7.3.3 close 1000 without reason", inOneWrite(closeF(closeBody(1000, ""))), nil, 1000},
		{"7.3.4 close 1000 with a reason", inOneWrite(closeF(closeBody(1000, "Hello World!"))), nil, 1000},
		{"7.3.5 close with a 123-byte reason", inOneWrite(closeF(closeBody(1000, repeatByte('*', 123)))), nil, 1000},
		{"close with a UTF-8 reason", inOneWrite(closeF(closeBody(1001, kosme))), nil, 1001},
		{"close octet-wise", octets(enc(closeF(closeBody(3001, "bye")))), nil, 3001},
		{`7.1.1 text "ping" then close`, inOneWrite(textF("ping"), closeF(closeBody(1000, ""))), []sframe{textPong}, 1000},
		{"7.1.2 close then close", inOneWrite(closeF(closeBody(1000, "")), closeF(closeBody(1001, ""))), nil, 1000},
		{"7.1.3 close then ping in the same write: no pong", inOneWrite(closeF(closeBody(1000, "")), pingF("after close")), nil, 1000},
		{`7.1.4 close then text "ping" in the same write: no "pong"`, inOneWrite(closeF(closeBody(1000, "")), textF("ping")), nil, 1000},
		{"7.1.5 fragment, close, last fragment", inOneWrite(fragF(ws.OpText, false, "fragment1"), closeF(closeBody(1000, "")), contF(true, "fragment2")), nil, 1000},
		{"close between the fragments of a message", inOneWrite(fragF(ws.OpText, false, "pi"), closeF(closeBody(1000, "")), contF(true, "ng")), nil, 1000},
		{"close then an invalid frame: still 1000, not 1002", inOneWrite(closeF(closeBody(1000, "")), cframe{fin: true, op: ws.OpText, payload: []byte("x"), unmasked: true}), nil, 1000},
		{"close then invalid UTF-8: still 1000, not 1007", inOneWrite(closeF(closeBody(1000, "")), textF("\xff")), nil, 1000},
		{"ping then close: pong first", inOneWrite(pingF("before"), closeF(closeBody(1000, ""))), []sframe{pongOf("before")}, 1000},
	}
	for _, c := range []struct {
		id   string
		code uint16
	}{
		{"7.7.1", 1000}, {"7.7.2", 1001}, {"7.7.3", 1002}, {"7.7.4", 1003}, {"7.7.5", 1007},
		{"7.7.6", 1008}, {"7.7.7", 1009}, {"7.7.8", 1010}, {"7.7.9", 1011}, {"", 1012},
		{"", 1013}, {"", 1014}, {"7.7.10", 3000}, {"7.7.11", 3999}, {"7.7.12", 4000}, {"7.7.13", 4999},
	} {
		name := strings.TrimSpace(fmt.Sprintf("%s close code %d is echoed", c.id, c.code))
		cases = append(cases, closeCase{name, inOneWrite(closeF(closeBody(c.code, "reason"))), nil, ws.StatusCode(c.code)})
	}
	var allEOF durations
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := openWS(t, s.addr, "/")
			if err := c.writeChunks(tc.chunks); err != nil {
				t.Fatalf("write: %v", err)
			}
			t0 := time.Now()
			for _, w := range tc.before {
				c.expectFrame(w.op, []byte(w.payload))
			}
			_, toEOF := c.expectClose(tc.want, poller.ReasonPeerClose, t0)
			allEOF = append(allEOF, toEOF)
			if toEOF > time.Second {
				t.Errorf("server closed TCP %v after the client's Close, want promptly", toEOF)
			}
		})
	}
	t.Logf("TCP close after the client's Close: %v", allEOF)
	if allEOF.median() > confFailBound {
		t.Errorf("TCP close after the client's Close: %v, want a median under %v", allEOF, confFailBound)
	}

	t.Run("close, then a ping in a later write: no pong", func(t *testing.T) {
		c := openWS(t, s.addr, "/")
		c.mustWrite(enc(closeF(closeBody(1000, ""))))
		time.Sleep(time.Millisecond)
		c.write(enc(pingF("late"), textF("ping"))) // may fail: the server may have closed already
		c.expectClose(1000, poller.ReasonPeerClose, time.Now())
	})
}

// TestRFC6455ServerFramesAreWellFormed pushes frames of every length encoding
// through Conn.Send and closes from the server side, checking what a strict
// client checks (readFrame): unmasked, RSV 0, minimal lengths, valid close codes.
func TestRFC6455ServerFramesAreWellFormed(t *testing.T) {
	s := startConfServer(t, poller.Config{MaxMessage: confMaxMessage})
	c := openWS(t, s.addr, "/")
	sc := s.conn(t, c.id)
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 200000} {
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
			p := bytes.Repeat([]byte{'z'}, n)
			if !sc.Send(wsframe.NewFrame(op, p)) {
				t.Fatalf("Send %v of %d bytes refused", op, n)
			}
			c.expectFrame(op, p)
		}
	}
	if !sc.Send(wsframe.NewFrame(ws.OpPing, []byte("server ping"))) {
		t.Fatal("Send ping refused")
	}
	h, p, err := c.readAnyFrame()
	if err != nil || h.OpCode != ws.OpPing || string(p) != "server ping" {
		t.Fatalf("want the server's ping, got %s, %v", describeFrame(h, p), err)
	}
	c.roundTrip()

	for _, tc := range []struct {
		name string
		code uint16
		want ws.StatusCode
	}{
		{"server close 4321", 4321, 4321},
		{"server close with 1005 sends no code", 1005, noCode},
		{"server close with 1006 sends no code", 1006, noCode},
		{"server close with 0 sends no code", 0, noCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openWS(t, s.addr, "/")
			sc := s.conn(t, c.id)
			t0 := time.Now()
			sc.Close(tc.code, "server says bye \xff") // the invalid reason must not reach the wire
			c.expectClose(tc.want, poller.ReasonServerClose, t0)
		})
	}
}

// TestRFC7692PermessageDeflateRSV checks RSV1 when the client offers
// permessage-deflate (RFC 7692): allowed only on the first frame of a data
// message and only if the server accepted the offer; RSV2/RSV3 never.
func TestRFC7692PermessageDeflateRSV(t *testing.T) {
	s := startConfServer(t, poller.Config{MaxMessage: confMaxMessage})
	const offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
	deflate := func(p []byte) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestSpeed)
		w.Write(p)
		w.Flush()
		return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
	}
	c := openWS(t, s.addr, "/", offer)
	if !c.deflate {
		t.Log("server declined permessage-deflate: RSV1 must fail the connection")
		c.mustWrite(enc(cframe{fin: true, rsv: 4, op: ws.OpText, payload: deflate([]byte("ping"))}))
		c.expectClose(1002, poller.ReasonProtocolError, time.Now())
		return
	}
	t.Run(`compressed "ping" gets "pong"`, func(t *testing.T) {
		c := openWS(t, s.addr, "/", offer)
		c.mustWrite(enc(cframe{fin: true, rsv: 4, op: ws.OpText, payload: deflate([]byte("ping"))}))
		h, p, err := c.readFrame()
		if err != nil || h.OpCode != ws.OpText {
			t.Fatalf("want the pong, got %s, %v", describeFrame(h, p), err)
		}
		if h.Rsv == 0 && string(p) != "pong" {
			t.Fatalf("want pong, got %q", p)
		}
		c.roundTrip()
	})
	t.Run("compressed fragmented message, RSV1 on the first frame only", func(t *testing.T) {
		c := openWS(t, s.addr, "/", offer)
		z := deflate([]byte("ping"))
		c.mustWrite(enc(cframe{rsv: 4, op: ws.OpText, payload: z[:2]}, pingF("mid"), contF(true, string(z[2:]))))
		c.expectFrame(ws.OpPong, []byte("mid"))
		h, p, err := c.readFrame()
		if err != nil || h.OpCode != ws.OpText {
			t.Fatalf("want the pong, got %s, %v", describeFrame(h, p), err)
		}
		c.roundTrip()
	})
	for _, tc := range []failCase{
		{"RSV1 on a continuation frame", inOneWrite(cframe{rsv: 4, op: ws.OpText, payload: deflate([]byte("pi"))}, cframe{fin: true, rsv: 4, op: ws.OpContinuation, payload: []byte("x")}), 1002},
		{"RSV1 on a ping", inOneWrite(cframe{fin: true, rsv: 4, op: ws.OpPing, payload: []byte("x")}), 1002},
		{"RSV2 on a text frame", inOneWrite(cframe{fin: true, rsv: 2, op: ws.OpText, payload: []byte("x")}), 1002},
		{"RSV1|RSV3 on a text frame", inOneWrite(cframe{fin: true, rsv: 5, op: ws.OpText, payload: deflate([]byte("x"))}), 1002},
		{"compressed text that inflates to invalid UTF-8", inOneWrite(cframe{fin: true, rsv: 4, op: ws.OpText, payload: deflate([]byte("ok\xed\xa0\x80"))}), 1007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openWS(t, s.addr, "/", offer)
			c.mustWrite(tc.chunks[0])
			c.expectClose(tc.want, poller.ReasonProtocolError, time.Now())
		})
	}
	t.Run("corrupt compressed data fails the connection", func(t *testing.T) {
		c := openWS(t, s.addr, "/", offer)
		c.mustWrite(enc(cframe{fin: true, rsv: 4, op: ws.OpBinary, payload: []byte{0xff, 0xff, 0xff, 0xff}}))
		h, p, err := c.readFrame()
		if err != nil || h.OpCode != ws.OpClose || len(p) < 2 {
			t.Fatalf("want a Close, got %s, %v", describeFrame(h, p), err)
		}
		code := binary.BigEndian.Uint16(p)
		if code != 1007 && code != 1002 {
			t.Errorf("Close %d, want 1007 or 1002", code)
		}
		c.expectTCPClose(time.Now())
		expectEnd(t, c.id, poller.ReasonProtocolError, ws.StatusCode(code))
	})
}

// TestRFC7692PermessageDeflateNegotiation checks the server's answers to
// permessage-deflate offers: an offer it cannot or will not accept is
// declined (RFC 7692 section 5: the upgrade goes on without it, or with a
// later offer), never an HTTP error; an accepted one is answered with valid
// parameters only (section 7.1).
func TestRFC7692PermessageDeflateNegotiation(t *testing.T) {
	s := startConfServer(t, poller.Config{MaxMessage: confMaxMessage})
	for _, tc := range []struct {
		offer      string
		acceptable bool // a server that compresses accepts it
	}{
		{"permessage-deflate", true},
		{"permessage-deflate; client_max_window_bits", true},
		{"permessage-deflate; client_max_window_bits=10", true},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover", true},
		{"permessage-deflate; server_max_window_bits=10", false},
		{"permessage-deflate; server_max_window_bits=10, permessage-deflate", true},
		{"x-webkit-deflate-frame", false},
		{"permessage-deflate; foo=bar", false},
		{"permessage-deflate; foo=bar, permessage-deflate", true},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", false},
		{"permessage-deflate; client_max_window_bits=7", false},
		{"permessage-deflate; server_max_window_bits", false},
	} {
		t.Run(tc.offer, func(t *testing.T) {
			key := newKey()
			req := upgradeRequest("/", key).set("Sec-WebSocket-Extensions", tc.offer).bytes()
			a, _, _ := exchangeRaw(t, s.addr, req, confIOTimeout)
			checkUpgradeAnswer(t, a, key, []string{tc.offer})
			answer := a.header.Values("Sec-Websocket-Extensions")
			if len(answer) == 0 {
				return // declined: always allowed
			}
			if !tc.acceptable {
				t.Errorf("offer %q accepted with %q, want it declined", tc.offer, answer)
			}
			if len(answer) != 1 || strings.Contains(answer[0], ",") {
				t.Fatalf("answer %q: want exactly one extension", answer)
			}
			params := strings.Split(answer[0], ";")
			if strings.TrimSpace(params[0]) != "permessage-deflate" {
				t.Fatalf("answer %q is not permessage-deflate", answer)
			}
			seen := map[string]bool{}
			for _, p := range params[1:] {
				name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
				if seen[name] {
					t.Errorf("answer %q repeats %s", answer, name)
				}
				seen[name] = true
				switch name {
				case "server_no_context_takeover", "client_no_context_takeover":
					if value != "" {
						t.Errorf("answer %q: %s takes no value", answer, name)
					}
				case "server_max_window_bits":
					if n, err := strconv.Atoi(value); err != nil || n < 8 || n > 15 {
						t.Errorf("answer %q: bad %s", answer, name)
					}
				case "client_max_window_bits":
					if !strings.Contains(tc.offer, "client_max_window_bits") {
						t.Errorf("answer %q has client_max_window_bits the offer did not have (RFC 7692 section 7.1.2.2)", answer)
					}
				default:
					t.Errorf("answer %q: unknown parameter %q", answer, name)
				}
			}
		})
	}
}

// ---- opening handshake ----

// handshakeCase is a raw opening handshake and the answer it must get.
type handshakeCase struct {
	name string
	raw  []byte
	key  string // for a 101: the key sent
	want []int  // acceptable statuses
	// check, if set, runs on the answer after the common checks.
	check func(t *testing.T, a httpAnswer)
}

// handshakeCases are run against a server with Path "/ws", AllowedOrigins
// "https://Good.example" and MaxHeaderBytes 2048.
func handshakeCases() []handshakeCase {
	var cs []handshakeCase
	ok := func(name string, edit func(httpHead) httpHead) {
		key := newKey()
		cs = append(cs, handshakeCase{name: name, raw: edit(upgradeRequest("/ws", key)).bytes(), key: key, want: []int{101}})
	}
	bad := func(name string, edit func(httpHead) httpHead, want ...int) {
		cs = append(cs, handshakeCase{name: name, raw: edit(upgradeRequest("/ws", newKey())).bytes(), want: want})
	}
	same := func(r httpHead) httpHead { return r }

	ok("4.2.1 valid request", same)
	ok("Connection: keep-alive, Upgrade (Firefox)", func(r httpHead) httpHead { return r.set("Connection", "keep-alive, Upgrade") })
	ok("Connection: upgrade in lower case", func(r httpHead) httpHead { return r.set("Connection", "upgrade") })
	ok("Connection: UPGRADE,keep-alive", func(r httpHead) httpHead { return r.set("Connection", "UPGRADE,keep-alive") })
	ok("upgrade: WebSocket (lower-case name, mixed-case value)", func(r httpHead) httpHead { return r.without("Upgrade").add("upgrade: WebSocket") })
	ok("UPGRADE: WEBSOCKET", func(r httpHead) httpHead { return r.without("Upgrade").add("UPGRADE: WEBSOCKET") })
	ok("every header name in lower case", func(r httpHead) httpHead {
		out := httpHead{r[0]}
		for _, l := range r[1:] {
			k, v, _ := strings.Cut(l, ":")
			out = append(out, strings.ToLower(k)+":"+v)
		}
		return out
	})
	ok("no space after the colons, spaces after the values", func(r httpHead) httpHead {
		out := httpHead{r[0]}
		for _, l := range r[1:] {
			k, v, _ := strings.Cut(l, ": ")
			out = append(out, k+":"+v+"  ")
		}
		return out
	})
	ok("query string", func(r httpHead) httpHead { return r.line("GET /ws?token=abc HTTP/1.1") })
	ok("Origin allowed, matched case-insensitively", func(r httpHead) httpHead { return r.set("Origin", "https://good.EXAMPLE") })
	ok("subprotocols offered: none selected", func(r httpHead) httpHead { return r.set("Sec-WebSocket-Protocol", "chat, superchat") })
	ok("unknown extension offered: not answered", func(r httpHead) httpHead { return r.set("Sec-WebSocket-Extensions", "x-webkit-foo; bar=1") })
	ok("permessage-deflate offered: answered only with it", func(r httpHead) httpHead {
		return r.set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits, x-foo")
	})
	ok("head just under MaxHeaderBytes", func(r httpHead) httpHead {
		pad := 2048 - len(r.bytes()) - len("X-Pad: \r\n")
		return r.add("X-Pad: " + repeatByte('p', pad))
	})
	ok("Upgrade: websocket in a comma list", func(r httpHead) httpHead { return r.set("Upgrade", "h2c, websocket") })

	bad("POST", func(r httpHead) httpHead { return r.line("POST /ws HTTP/1.1") }, 405)
	bad("PUT", func(r httpHead) httpHead { return r.line("PUT /ws HTTP/1.1") }, 405)
	bad("HEAD", func(r httpHead) httpHead { return r.line("HEAD /ws HTTP/1.1") }, 405)
	bad("HTTP/1.0", func(r httpHead) httpHead { return r.line("GET /ws HTTP/1.0") }, 505, 400)
	bad("HTTP/2.0 request line", func(r httpHead) httpHead { return r.line("GET /ws HTTP/2.0") }, 505, 400)
	bad("no Upgrade", func(r httpHead) httpHead { return r.without("Upgrade") }, 400)
	bad("Upgrade: h2c", func(r httpHead) httpHead { return r.set("Upgrade", "h2c") }, 400)
	bad("no Connection", func(r httpHead) httpHead { return r.without("Connection") }, 400)
	bad("Connection: keep-alive", func(r httpHead) httpHead { return r.set("Connection", "keep-alive") }, 400)
	bad("Connection: upgrades (not the token)", func(r httpHead) httpHead { return r.set("Connection", "upgrades") }, 400)
	bad("no Host", func(r httpHead) httpHead { return r.without("Host") }, 400)
	bad("no Sec-WebSocket-Key", func(r httpHead) httpHead { return r.without("Sec-WebSocket-Key") }, 400)
	bad("empty Sec-WebSocket-Key", func(r httpHead) httpHead { return r.set("Sec-WebSocket-Key", "") }, 400)
	bad("Sec-WebSocket-Key of 15 bytes", func(r httpHead) httpHead { return r.set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA") }, 400)
	bad("Sec-WebSocket-Key of 32 bytes", func(r httpHead) httpHead {
		return r.set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	}, 400)
	for _, k := range []struct{ name, key string }{
		{"Sec-WebSocket-Key of 24 characters that are not base64", "!!!!!!!!!!!!!!!!!!!!!!!!"},
		{"Sec-WebSocket-Key of 24 base64 characters decoding to 18 bytes", "AAAAAAAAAAAAAAAAAAAAAAAA"},
		{"Sec-WebSocket-Key of 24 base64 characters decoding to 17 bytes", "AAAAAAAAAAAAAAAAAAAAAAA="},
	} {
		cs = append(cs, handshakeCase{name: k.name, raw: upgradeRequest("/ws", k.key).bytes(), want: []int{400}})
	}
	bad("no Sec-WebSocket-Version", func(r httpHead) httpHead { return r.without("Sec-WebSocket-Version") }, 400, 426)
	versionHeader := func(t *testing.T, a httpAnswer) {
		if got := a.header.Values("Sec-Websocket-Version"); len(got) != 1 || got[0] != "13" {
			t.Errorf("426 answer has Sec-WebSocket-Version %q, want [13]", got)
		}
	}
	for _, v := range []string{"8", "14", "7, 8"} {
		cs = append(cs, handshakeCase{
			name: "Sec-WebSocket-Version: " + v, raw: upgradeRequest("/ws", newKey()).set("Sec-WebSocket-Version", v).bytes(),
			want: []int{426}, check: versionHeader,
		})
	}
	bad("Origin not allowed", func(r httpHead) httpHead { return r.set("Origin", "https://evil.example") }, 403)
	bad("origin (lower-case name) not allowed", func(r httpHead) httpHead { return r.without("Origin").add("origin: https://evil.example") }, 403)
	bad("Origin that only has the allowed one as a prefix", func(r httpHead) httpHead { return r.set("Origin", "https://good.example.evil") }, 403)
	bad("Path /other", func(r httpHead) httpHead { return r.line("GET /other HTTP/1.1") }, 404)
	bad("Path /ws/", func(r httpHead) httpHead { return r.line("GET /ws/ HTTP/1.1") }, 404)
	bad("Path /", func(r httpHead) httpHead { return r.line("GET / HTTP/1.1") }, 404)
	bad("complete head over MaxHeaderBytes", func(r httpHead) httpHead { return r.add("X-Pad: " + repeatByte('p', 2100)) }, 431)
	bad("header line without a colon", func(r httpHead) httpHead { return r.add("NoColonHere") }, 400)

	raw := func(name string, b []byte, want ...int) {
		cs = append(cs, handshakeCase{name: name, raw: b, want: want})
	}
	for _, l := range []string{"GET  HTTP/1.1", "GET /ws HTTP/1.:", "GET /ws HTTP/01.1"} {
		cs = append(cs, handshakeCase{name: "request line " + strconv.Quote(l), raw: upgradeRequest("/ws", newKey()).line(l).bytes(), want: []int{400, 404, 505}})
	}
	{
		r := upgradeRequest("/ws", newKey()).add("Sec-WebSocket-Key: " + newKey())
		cs = append(cs, handshakeCase{name: "two Sec-WebSocket-Key headers", raw: r.bytes(), want: []int{400}})
	}
	raw("incomplete head over MaxHeaderBytes", []byte("GET /ws HTTP/1.1\r\nHost: x\r\nX-Pad: "+repeatByte('p', 3000)), 431)
	raw("plain HTTP GET", []byte("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n"), 400)
	raw("plain HTTP GET with keep-alive", []byte("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nUser-Agent: curl/8\r\n\r\n"), 400)
	raw("plain HTTP GET of another path", []byte("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 400, 404)
	raw("TLS ClientHello", tlsClientHello(), 400)
	raw("binary garbage", []byte{0x00, 0x01, 0xfe, 0xff, 0x13, 0x37, '\r', '\n', '\r', '\n'}, 400)
	raw("lower-case garbage", []byte("hello there\r\n\r\n"), 400)
	raw("upper-case garbage line", []byte("HELLO\r\n\r\n"), 400)
	raw("HTTP/0.9 style request line", []byte("GET /ws\r\n\r\n"), 400)
	raw("request line with a bad version", []byte("GET /ws HTTQ/1.1\r\nHost: x\r\n\r\n"), 400)
	return cs
}

// tlsClientHello is the start of a TLS 1.2 ClientHello record.
func tlsClientHello() []byte {
	return []byte{
		0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03,
		0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
		0x00, 0x00, 0x20, 0xcc, 0xa8, 0xcc, 0xa9, 0xc0, 0x2f, 0xc0, 0x30, 0xc0, 0x2b, 0xc0, 0x2c,
	}
}

// TestRFC6455OpeningHandshake sends raw opening handshakes (section 4.2.1)
// and checks the answer: a correct 101 for valid ones, an HTTP error status
// line and a closed connection (not a hang) for the rest.
func TestRFC6455OpeningHandshake(t *testing.T) {
	const timeout = 3 * time.Second // errors must close well before it
	s := startConfServer(t, poller.Config{
		Path:             "/ws",
		AllowedOrigins:   []string{"https://Good.example"},
		MaxHeaderBytes:   2048,
		HandshakeTimeout: timeout,
	})
	for _, tc := range handshakeCases() {
		t.Run(tc.name, func(t *testing.T) {
			a, br, nc := exchangeRaw(t, s.addr, tc.raw, timeout-time.Second)
			if !slices.Contains(tc.want, a.status) {
				t.Fatalf("sent %q\ngot status line %q (closed %v, err %v, body %q), want status %v", tc.raw, a.statusLine, a.closed, a.readErr, a.body, tc.want)
			}
			if a.status == http.StatusSwitchingProtocols {
				var offered []string
				if v := headerOf(tc.raw, "Sec-WebSocket-Extensions"); v != "" {
					offered = []string{v}
				}
				checkUpgradeAnswer(t, a, tc.key, offered)
				nc.SetDeadline(time.Time{})
				c := &wsClient{tb: t, nc: nc, br: br}
				c.deflate = len(a.header.Values("Sec-Websocket-Extensions")) > 0
				h, p, err := c.readFrame()
				if err != nil || h.OpCode != ws.OpText || len(p) != 36 {
					t.Fatalf("want the id frame, got %s, %v", describeFrame(h, p), err)
				}
				c.roundTrip()
				return
			}
			if !strings.HasPrefix(a.statusLine, "HTTP/1.1 ") {
				t.Errorf("status line %q, want HTTP/1.1", a.statusLine)
			}
			if !a.closed {
				t.Errorf("after %d the server did not close the connection within %v (err %v)", a.status, a.elapsed, a.readErr)
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

// headerOf returns the value of the first header line named name in a raw head.
func headerOf(raw []byte, name string) string {
	for _, l := range strings.Split(string(raw), "\r\n")[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestHandshakeFramesPipelinedAfterTheHead checks that frames sent in the
// same TCP write as the opening handshake, or split across it, are decoded
// after the upgrade, none lost.
func TestHandshakeFramesPipelinedAfterTheHead(t *testing.T) {
	s := startConfServer(t, poller.Config{MaxMessage: confMaxMessage})
	t.Run(`text "ping" and a Ping`, func(t *testing.T) {
		c := openWSPipelined(t, s.addr, "/", enc(textF("ping"), pingF("pipelined")))
		c.expectFrame(ws.OpText, []byte("pong"))
		c.expectFrame(ws.OpPong, []byte("pipelined"))
		c.roundTrip()
	})
	t.Run("a frame split between the head's write and the next", func(t *testing.T) {
		b := enc(pingF("split"))
		c := openWSPipelined(t, s.addr, "/", b[:3])
		c.mustWrite(b[3:])
		c.expectFrame(ws.OpPong, []byte("split"))
	})
	t.Run("a Close", func(t *testing.T) {
		c := openWSPipelined(t, s.addr, "/", enc(closeF(closeBody(1000, "")), textF("ping")))
		c.expectClose(1000, poller.ReasonPeerClose, time.Now())
	})
	t.Run("an unmasked frame", func(t *testing.T) {
		c := openWSPipelined(t, s.addr, "/", enc(cframe{fin: true, op: ws.OpText, payload: []byte("x"), unmasked: true}))
		c.expectClose(1002, poller.ReasonProtocolError, time.Now())
	})
}

// TestHandshakeMaxConns checks that at MaxConns upgrades get 503 and are
// closed while the connected clients keep working, and that a freed slot can
// be taken again.
func TestHandshakeMaxConns(t *testing.T) {
	s := startConfServer(t, poller.Config{MaxConns: 2})
	a, b := openWS(t, s.addr, "/"), openWS(t, s.addr, "/")
	for range 3 {
		r, _, _ := exchangeRaw(t, s.addr, upgradeRequest("/", newKey()).bytes(), 2*time.Second)
		if r.status != http.StatusServiceUnavailable || !r.closed {
			t.Fatalf("upgrade at MaxConns: status line %q, closed %v (err %v), want 503 and closed", r.statusLine, r.closed, r.readErr)
		}
	}
	if n := s.Stats().Closes[poller.ReasonServerFull.String()]; n != 3 {
		t.Errorf("%d ends with reason server_full, want 3", n)
	}
	for _, c := range []*wsClient{a, b} {
		c.roundTrip()
		c.mustWrite(enc(textF("ping")))
		c.expectFrame(ws.OpText, []byte("pong"))
		if !s.conn(t, c.id).Send(wsframe.NewFrame(ws.OpText, []byte("still here"))) {
			t.Fatalf("push to %s failed", c.id)
		}
		c.expectFrame(ws.OpText, []byte("still here"))
	}
	a.mustWrite(enc(closeF(closeBody(1000, ""))))
	a.expectClose(1000, poller.ReasonPeerClose, time.Now())
	confEventually(t, "the closed client's slot", func() bool { return s.Stats().Connections == 1 })
	openWS(t, s.addr, "/").roundTrip()
	b.roundTrip()
}

// TestHandshakeTimeout checks that a handshake that trickles one byte every
// 50 ms, or sends nothing, is closed at HandshakeTimeout, not later and not
// kept alive by the trickle.
func TestHandshakeTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := startConfServer(t, poller.Config{HandshakeTimeout: timeout})
	for _, tc := range []struct {
		name    string
		trickle bool
	}{
		{"one byte every 50 ms", true},
		{"no bytes at all", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := dialConf(t, s.addr)
			start := time.Now()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				if !tc.trickle {
					return
				}
				for _, b := range upgradeRequest("/", newKey()).bytes() {
					if _, err := nc.Write([]byte{b}); err != nil {
						return
					}
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
			}()
			nc.SetReadDeadline(time.Now().Add(timeout + 2*time.Second))
			var buf [512]byte
			n, err := nc.Read(buf[:])
			elapsed := time.Since(start)
			close(stop)
			<-done
			if n > 0 || !isClosed(err) {
				t.Fatalf("got %q, %v after %v; want the connection closed at the handshake timeout", buf[:n], err, elapsed)
			}
			t.Logf("closed after %v (HandshakeTimeout %v)", elapsed, timeout)
			if elapsed < timeout-timeout/10 || elapsed > timeout+500*time.Millisecond {
				t.Errorf("closed after %v, want about %v", elapsed, timeout)
			}
		})
	}
	if n := s.Stats().Closes[poller.ReasonHandshakeTimeout.String()]; n != 2 {
		t.Errorf("%d ends with reason handshake_timeout, want 2", n)
	}
	// The server still upgrades.
	openWS(t, s.addr, "/").roundTrip()
}
