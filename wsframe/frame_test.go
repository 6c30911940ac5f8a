package wsframe

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/gobwas/ws"
)

// checkServerFrameBytes reads b as a client would with gobwas/ws and checks
// what strict clients check on server frames: one final frame, no mask, no
// RSV bits, the minimal length encoding, control frames within 125 bytes. It
// returns the header.
func checkServerFrameBytes(tb testing.TB, b []byte) ws.Header {
	tb.Helper()
	r := bytes.NewReader(b)
	h, err := ws.ReadHeader(r)
	if err != nil {
		tb.Fatalf("ws.ReadHeader: %v", err)
	}
	err = ws.CheckHeader(h, ws.StateClientSide)
	if err != nil {
		tb.Fatalf("ws.CheckHeader: %v (header %+v)", err, h)
	}
	if !h.Fin || h.Masked || h.Rsv != 0 {
		tb.Fatalf("header %+v: want FIN, no mask, no RSV", h)
	}
	if hl := len(b) - r.Len(); hl != ws.HeaderSize(h) {
		tb.Fatalf("header of %d bytes for length %d, minimal is %d", hl, h.Length, ws.HeaderSize(h))
	}
	if int64(r.Len()) != h.Length {
		tb.Fatalf("%d payload bytes after the header, header says %d", r.Len(), h.Length)
	}
	return h
}

func TestAppendFrame(t *testing.T) {
	ops := []ws.OpCode{ws.OpText, ws.OpBinary, ws.OpPing, ws.OpPong, ws.OpClose}
	for _, op := range ops {
		for _, size := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
			if op.IsControl() && size > 125 {
				continue
			}
			t.Run(fmt.Sprintf("op=%d/size=%d", op, size), func(t *testing.T) {
				payload := bytes.Repeat([]byte("a"), size)
				out := AppendFrame([]byte("xy"), op, payload)
				if string(out[:2]) != "xy" {
					t.Fatal("AppendFrame lost dst")
				}
				out = out[2:]
				h := checkServerFrameBytes(t, out)
				if h.OpCode != op || h.Length != int64(size) || !bytes.Equal(out[len(out)-size:], payload) {
					t.Fatalf("header %+v", h)
				}
				// The frame as gobwas encodes it, byte for byte.
				var want bytes.Buffer
				_ = ws.WriteFrame(&want, ws.NewFrame(op, true, payload))
				if !bytes.Equal(out, want.Bytes()) {
					t.Fatal("encoding differs from gobwas/ws")
				}
				// ParseHeader reads it back.
				ph, n, err := ParseHeader(out)
				if err != nil || ph != h || n != len(out)-size {
					t.Fatalf("ParseHeader = (%+v, %d, %v)", ph, n, err)
				}
			})
		}
	}
}

func TestAppendFramePanics(t *testing.T) {
	tests := []struct {
		name string
		op   ws.OpCode
		size int
	}{
		{"ping over 125 bytes", ws.OpPing, 126},
		{"close over 125 bytes", ws.OpClose, 200},
		{"continuation", ws.OpContinuation, 1},
		{"reserved opcode", 3, 1},
		{"reserved control opcode", 11, 1},
		{"not an opcode", 16, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, f := range map[string]func(){
				"AppendFrame": func() { AppendFrame(nil, tc.op, make([]byte, tc.size)) },
				"NewFrame":    func() { NewFrame(tc.op, make([]byte, tc.size)) },
			} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%s did not panic", name)
						}
					}()
					f()
				}()
			}
		})
	}
}

func TestNewFrame(t *testing.T) {
	for _, size := range []int{0, 100, 126, 70000} {
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			payload := pattern(size)
			f := NewFrame(ws.OpBinary, payload)
			want := AppendFrame(nil, ws.OpBinary, payload)
			if !bytes.Equal(f.Bytes(), want) {
				t.Fatal("Bytes differ from AppendFrame")
			}
			if f.Op() != ws.OpBinary || f.PayloadLen() != size {
				t.Fatalf("Op %d PayloadLen %d", f.Op(), f.PayloadLen())
			}
			if cap(f.Bytes()) != len(f.Bytes()) {
				t.Fatalf("Bytes has spare capacity %d: an append by one writer would be seen by others", cap(f.Bytes())-len(f.Bytes()))
			}
			for i := range payload {
				payload[i] ^= 0xff
			}
			if !bytes.Equal(f.Bytes(), want) {
				t.Fatal("NewFrame did not copy the payload")
			}
			h := checkServerFrameBytes(t, f.Bytes())
			if h.Length != int64(size) {
				t.Fatalf("length %d", h.Length)
			}
		})
	}
}

// TestFrameConcurrentWrites writes one Frame to many writers at once; -race
// reports any write to the shared bytes.
func TestFrameConcurrentWrites(t *testing.T) {
	f := NewFrame(ws.OpText, []byte("broadcast"))
	done := make(chan []byte)
	for range 8 {
		go func() {
			var b bytes.Buffer
			for range 100 {
				_, _ = b.Write(f.Bytes())
			}
			_, _ = io.Copy(io.Discard, bytes.NewReader(f.Bytes()))
			done <- b.Bytes()
		}()
	}
	for range 8 {
		if got := <-done; !bytes.Equal(got, bytes.Repeat(f.Bytes(), 100)) {
			t.Fatal("writers saw different bytes")
		}
	}
}

func TestFrameAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	payload := pattern(4096)
	dst := make([]byte, 0, 4096+10)
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendFrame(dst[:0], ws.OpBinary, payload)
	})
	if allocs != 0 {
		t.Errorf("AppendFrame into a sized buffer: %v allocations, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		_ = NewFrame(ws.OpBinary, payload)
	})
	if allocs > 2 {
		t.Errorf("NewFrame: %v allocations, want at most 2", allocs)
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			payload := pattern(size)
			dst := make([]byte, 0, size+10)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				dst = AppendFrame(dst[:0], ws.OpText, payload)
			}
		})
	}
}

func BenchmarkNewFrame(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			payload := pattern(size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				f := NewFrame(ws.OpText, payload)
				if f.PayloadLen() != size {
					b.Fatal("bad frame")
				}
			}
		})
	}
}

func BenchmarkAppendClose(b *testing.B) {
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendClose(dst[:0], ws.StatusGoingAway, "server shutting down")
	}
}
