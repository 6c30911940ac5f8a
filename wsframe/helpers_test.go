package wsframe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// frame describes a client frame for tests. The zero value of each field is
// the usual case: masked, no RSV bits, FIN=0 unless set.
type frame struct {
	fin      bool
	rsv      byte
	op       ws.OpCode
	unmasked bool
	payload  []byte
}

// testMask is not symmetric and has no zero byte, so a wrong mask offset shows.
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame encodes f as a client would, with gobwas/ws: a minimal header
// and, unless f.unmasked, a masked payload.
func clientFrame(tb testing.TB, f frame) []byte {
	tb.Helper()
	h := ws.Header{
		Fin:    f.fin,
		Rsv:    f.rsv,
		OpCode: f.op,
		Masked: !f.unmasked,
		Length: int64(len(f.payload)),
	}
	if h.Masked {
		h.Mask = testMask
	}
	var buf bytes.Buffer
	err := ws.WriteHeader(&buf, h)
	if err != nil {
		tb.Fatalf("ws.WriteHeader: %v", err)
	}
	p := bytes.Clone(f.payload)
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	buf.Write(p)
	return buf.Bytes()
}

// stream concatenates the encoding of frames.
func stream(tb testing.TB, frames ...frame) []byte {
	tb.Helper()
	var b []byte
	for _, f := range frames {
		b = append(b, clientFrame(tb, f)...)
	}
	return b
}

// Constructors for the frames tests use most.
func text(s string) frame { return frame{fin: true, op: ws.OpText, payload: []byte(s)} }
func binMsg(n int) frame  { return frame{fin: true, op: ws.OpBinary, payload: pattern(n)} }
func ping(s string) frame { return frame{fin: true, op: ws.OpPing, payload: []byte(s)} }
func pong(s string) frame { return frame{fin: true, op: ws.OpPong, payload: []byte(s)} }
func closeFrame(p []byte) frame {
	return frame{fin: true, op: ws.OpClose, payload: p}
}
func fragment(op ws.OpCode, fin bool, s string) frame {
	return frame{fin: fin, op: op, payload: []byte(s)}
}

// closePayload encodes a close code and reason.
func closePayload(code ws.StatusCode, reason string) []byte {
	return append(binary16(uint16(code)), reason...)
}

func binary16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// pattern returns n bytes that are not all alike.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// rawMasked builds a masked frame by hand, with the length field exactly as
// given (lenField is the 7-bit field, ext the extended length bytes), to
// produce headers that encoders refuse to write.
func rawMasked(b0, lenField byte, ext []byte, payload []byte) []byte {
	b := []byte{b0, 0x80 | lenField}
	b = append(b, ext...)
	b = append(b, testMask[:]...)
	p := bytes.Clone(payload)
	ws.Cipher(p, testMask, 0)
	return append(b, p...)
}

// msg is a decoded message with its payload copied.
type msg struct {
	op      ws.OpCode
	payload string
}

func (m msg) String() string {
	p := m.payload
	if len(p) > 40 {
		p = fmt.Sprintf("%.40q...(%d bytes)", p, len(p))
	} else {
		p = fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf("{op=%d %s}", m.op, p)
}

func msgs(ms ...msg) []msg { return ms }

// decodeChunks feeds chunks to a new Decoder with the given limit, calling
// Next until each chunk is consumed, and returns the messages and the first
// error. The chunks are modified (unmasked in place). It checks Next's
// contract on the way: a call that completes nothing consumes everything, and
// a call that completes a message consumes at least one byte.
func decodeChunks(tb testing.TB, maxMessage int, chunks [][]byte) ([]msg, error) {
	tb.Helper()
	return decodeWith(tb, &Decoder{MaxMessage: maxMessage}, chunks)
}

// decodeWith is decodeChunks with a Decoder the caller configured.
func decodeWith(tb testing.TB, d *Decoder, chunks [][]byte) ([]msg, error) {
	tb.Helper()
	var out []msg
	for _, c := range chunks {
		for len(c) > 0 {
			m, n, err := d.Next(c)
			if err != nil {
				_, _, again := d.Next(c)
				if again != err {
					tb.Fatalf("error is not sticky: got %v then %v", err, again)
				}
				return out, err
			}
			if n < 0 || n > len(c) {
				tb.Fatalf("Next consumed %d of %d bytes", n, len(c))
			}
			if m.Op == 0 && n != len(c) {
				tb.Fatalf("Next completed nothing but consumed %d of %d bytes", n, len(c))
			}
			if m.Op != 0 {
				out = append(out, msg{op: m.Op, payload: string(m.Payload)})
			}
			c = c[n:]
		}
	}
	return out, nil
}

// splitAt cuts a copy of b into chunks of the given lengths, cycling through
// them. Zero lengths make empty chunks; lens must hold a positive length.
func splitAt(b []byte, lens []int) [][]byte {
	b = bytes.Clone(b)
	var chunks [][]byte
	for i := 0; len(b) > 0; i++ {
		n := min(lens[i%len(lens)], len(b))
		chunks = append(chunks, b[:n])
		b = b[n:]
	}
	return chunks
}

// whole returns b as one chunk, copied.
func whole(b []byte) [][]byte { return [][]byte{bytes.Clone(b)} }

// byteByByte returns b one byte per chunk, copied.
func byteByByte(b []byte) [][]byte { return splitAt(b, []int{1}) }

// randomSplits returns b cut at random points, copied.
func randomSplits(b []byte, r *rand.Rand) [][]byte {
	lens := make([]int, 1+r.IntN(8))
	for i := range lens {
		lens[i] = r.IntN(2 + len(b)/2)
	}
	lens = append(lens, 1) // always progress
	return splitAt(b, lens)
}

// sameMsgs reports whether two message sequences are equal.
func sameMsgs(a, b []msg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }
