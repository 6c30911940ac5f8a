//go:build linux

package bench

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gobwas/ws"
)

func FuzzParseHeader(f *testing.F) {
	for _, seed := range [][]byte{
		{0x81, 0x05}, {0x82, 0x7e, 0x01, 0x00}, {0x81, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0},
		{0x81, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, {0x89, 0x85, 1, 2, 3, 4}, {0x81}, {},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok, err := parseHeader(b)
		r := bytes.NewReader(b)
		want, wantErr := ws.ReadHeader(r)
		consumed := len(b) - r.Len()
		switch {
		case errors.Is(wantErr, io.EOF) || errors.Is(wantErr, io.ErrUnexpectedEOF):
			if ok || err != nil {
				t.Fatalf("%x: got ok=%v err=%v, want need-more", b, ok, err)
			}
		case wantErr != nil:
			if err == nil {
				t.Fatalf("%x: got no error, gobwas says %v", b, wantErr)
			}
		default:
			if !ok || err != nil || h.fin != want.Fin || h.rsv != want.Rsv || h.opcode != byte(want.OpCode) ||
				h.masked != want.Masked || h.length != want.Length || h.size != consumed {
				t.Fatalf("%x: got %+v ok=%v err=%v, gobwas %+v", b, h, ok, err, want)
			}
		}
		// Every prefix of a complete header is "need more".
		if ok {
			for i := range h.size {
				if _, ok, err := parseHeader(b[:i]); ok || err != nil {
					t.Fatalf("%x: prefix %d: ok=%v err=%v, want need-more", b, i, ok, err)
				}
			}
		}
	})
}

func TestAppendClientFrame(t *testing.T) {
	for _, n := range []int{0, 4, 125, 126, 65535, 65536} {
		payload := bytes.Repeat([]byte{'x'}, n)
		b := appendClientFrame(nil, opText, payload, [4]byte{1, 2, 3, 4})
		fr, err := ws.ReadFrame(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		if err := ws.CheckHeader(fr.Header, ws.StateServerSide); err != nil {
			t.Errorf("len %d: a server would reject the header: %v", n, err)
		}
		fr = ws.UnmaskFrameInPlace(fr)
		if !fr.Header.Fin || fr.Header.OpCode != ws.OpText || !bytes.Equal(fr.Payload, payload) {
			t.Errorf("len %d: frame %+v does not round-trip", n, fr.Header)
		}
		if bytes.Count(payload, []byte{'x'}) != n {
			t.Errorf("len %d: payload was modified", n)
		}
	}
}

func TestCheckUpgradeResponse(t *testing.T) {
	key := newKey([16]byte{1, 2, 3})
	// The accept value for this key, computed independently by gobwas/ws's
	// server side.
	var req bytes.Buffer
	req.Write(appendUpgradeRequest(nil, &target{host: "h", path: "/"}, &key))
	var resp bytes.Buffer
	if _, err := (ws.Upgrader{}).Upgrade(struct {
		io.Reader
		io.Writer
	}{&req, &resp}); err != nil {
		t.Fatalf("gobwas rejects our request: %v", err)
	}
	good := resp.String()
	tests := []struct {
		name, head string
		want       error
	}{
		{"gobwas answer", good, nil},
		{"lower-case header", "HTTP/1.1 101 x\r\nsec-websocket-accept: " + acceptFrom(good) + "\r\n\r\n", nil},
		{"wrong status", "HTTP/1.1 503 Busy\r\n\r\n", errBadStatus},
		{"missing accept", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\n\r\n", errBadAccept},
		{"wrong accept", "HTTP/1.1 101 x\r\nSec-WebSocket-Accept: AAAA\r\n\r\n", errBadAccept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkUpgradeResponse([]byte(tt.head), &key); err != tt.want {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func acceptFrom(resp string) string {
	for line := range bytes.Lines([]byte(resp)) {
		if v, ok := bytes.CutPrefix(line, []byte("Sec-WebSocket-Accept: ")); ok {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range []message{{1, 0, 0}, {1732550000123456789, 4294967295, 2147483647}, {5, 17, 3}} {
		for _, size := range []int{1, 64, 300} {
			b := appendMessage(nil, m, size)
			if len(b) < size {
				t.Errorf("len %d < size %d", len(b), size)
			}
			got, ok := parseMessage(b)
			if !ok || got != m {
				t.Errorf("parse(%q) = %+v %v, want %+v", b, got, ok, m)
			}
		}
	}
	for _, bad := range []string{"", "pong", "t=1 s=2", "t=x s=1 k=1 ", "t=1 s=99999999999 k=1 ", "s=1 t=1 k=1 "} {
		if _, ok := parseMessage([]byte(bad)); ok {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}

func TestSeqWindow(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint32
		want []seqResult
		got  uint32
	}{
		{"in order", []uint32{0, 1, 2}, []seqResult{seqNew, seqNew, seqNew}, 3},
		{"duplicate", []uint32{0, 1, 1, 0}, []seqResult{seqNew, seqNew, seqDup, seqDup}, 2},
		{"reordered", []uint32{1, 0, 3, 2, 2}, []seqResult{seqNew, seqNew, seqNew, seqNew, seqDup}, 4},
		{"gap then fill", []uint32{5, 0, 4}, []seqResult{seqNew, seqNew, seqNew}, 3},
		{"far behind", []uint32{1000, 1}, []seqResult{seqNew, seqOld}, 2},
		{"window reuse", []uint32{0, 256, 0}, []seqResult{seqNew, seqNew, seqOld}, 3},
		{"edge of the window", []uint32{3, 258, 3}, []seqResult{seqNew, seqNew, seqDup}, 2},
		{"just past the window", []uint32{3, 259, 3}, []seqResult{seqNew, seqNew, seqOld}, 3},
		{"stale slot cleared", []uint32{1, 200, 257, 1}, []seqResult{seqNew, seqNew, seqNew, seqOld}, 4},
		{"cleared slot is new", []uint32{0, 100, 50, 257}, []seqResult{seqNew, seqNew, seqNew, seqNew}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w seqWindow
			for i, s := range tt.seqs {
				if r := w.add(s); r != tt.want[i] {
					t.Errorf("add(%d) #%d = %d, want %d", s, i, r, tt.want[i])
				}
			}
			if w.got != tt.got {
				t.Errorf("got = %d, want %d", w.got, tt.got)
			}
		})
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte("t=1 s=2 k=3 ...."))
	f.Add([]byte("t=18446744073709551615 s=1 k=1 "))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := parseMessage(b)
		if !ok {
			return
		}
		if back, ok := parseMessage(appendMessage(nil, m, 0)); !ok || back != m {
			t.Fatalf("%q parsed as %+v, which does not round-trip (%+v)", b, m, back)
		}
	})
}
