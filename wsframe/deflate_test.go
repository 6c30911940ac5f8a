package wsframe

import (
	"bytes"
	"compress/flate"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"
)

// compress is an independent permessage-deflate encoder (RFC 7692 section
// 7.2.1) for building client messages: a fresh stdlib writer, sync flush, tail removed.
func compress(tb testing.TB, p []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		tb.Fatal(err)
	}
	w.Write(p)
	w.Flush()
	b := buf.Bytes()
	if !bytes.HasSuffix(b, []byte{0, 0, 0xff, 0xff}) {
		tb.Fatalf("sync flush did not end with 00 00 ff ff")
	}
	return b[:len(b)-4]
}

// decompress is an independent permessage-deflate decoder for checking frames.
func decompress(tb testing.TB, z []byte) []byte {
	tb.Helper()
	r := flate.NewReader(bytes.NewReader(append(bytes.Clone(z), deflateTail...)))
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		tb.Fatalf("inflate: %v", err)
	}
	return out.Bytes()
}

func TestFrameDeflated(t *testing.T) {
	compressible := []byte(strings.Repeat("hello wsgate, ", 100))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rand.Uint32())
	}
	tests := []struct {
		name       string
		op         ws.OpCode
		payload    []byte
		compressed bool
	}{
		{"compressible text", ws.OpText, compressible, true},
		{"compressible binary", ws.OpBinary, compressible, true},
		{"under DeflateMinSize", ws.OpText, compressible[:DeflateMinSize-1], false},
		{"incompressible", ws.OpBinary, random, false},
		{"control frame", ws.OpPing, compressible[:125], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFrame(tt.op, tt.payload)
			d := f.Deflated()
			if !tt.compressed {
				if &d[0] != &f.Bytes()[0] {
					t.Fatal("Deflated did not return the plain frame")
				}
				return
			}
			h, n, err := ParseHeader(d)
			if err != nil {
				t.Fatal(err)
			}
			if !h.Fin || h.Rsv != 4 || h.OpCode != tt.op || h.Masked || int(h.Length) != len(d)-n {
				t.Fatalf("header %+v", h)
			}
			if len(d) >= len(f.Bytes()) {
				t.Fatalf("compressed frame %d bytes, plain %d", len(d), len(f.Bytes()))
			}
			if got := decompress(t, d[n:]); !bytes.Equal(got, tt.payload) {
				t.Fatal("payload does not round-trip")
			}
			if again := f.Deflated(); &again[0] != &d[0] {
				t.Fatal("Deflated compressed twice")
			}
		})
	}
}

func TestFrameDeflatedConcurrent(t *testing.T) {
	f := NewFrame(ws.OpText, []byte(strings.Repeat("abc", 1000)))
	results := make([][]byte, 16)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = f.Deflated() }()
	}
	wg.Wait()
	for _, r := range results {
		if &r[0] != &results[0][0] {
			t.Fatal("concurrent callers got different compressed frames")
		}
	}
}

func TestDecoderDeflate(t *testing.T) {
	long := strings.Repeat("compressed message ", 200)
	zlong := func(tb testing.TB) []byte { return compress(tb, []byte(long)) }
	bomb := func(tb testing.TB) []byte { return compress(tb, make([]byte, 10<<20)) }
	tests := []struct {
		name    string
		deflate bool
		frames  func(tb testing.TB) []frame
		want    []msg
		err     error
	}{
		{"whole compressed text", true, func(tb testing.TB) []frame {
			return []frame{{fin: true, rsv: 4, op: ws.OpText, payload: zlong(tb)}}
		}, msgs(msg{ws.OpText, long}), nil},
		{"compressed binary", true, func(tb testing.TB) []frame {
			return []frame{{fin: true, rsv: 4, op: ws.OpBinary, payload: zlong(tb)}}
		}, msgs(msg{ws.OpBinary, long}), nil},
		{"fragmented, RSV1 on the first frame only, ping between", true, func(tb testing.TB) []frame {
			z := zlong(tb)
			return []frame{{rsv: 4, op: ws.OpText, payload: z[:10]}, ping("p"), {fin: true, op: ws.OpContinuation, payload: z[10:]}}
		}, msgs(msg{ws.OpPing, "p"}, msg{ws.OpText, long}), nil},
		{"uncompressed message on a deflate connection", true, func(tb testing.TB) []frame {
			return []frame{text("plain")}
		}, msgs(msg{ws.OpText, "plain"}), nil},
		{"RSV1 without the extension", false, func(tb testing.TB) []frame {
			return []frame{{fin: true, rsv: 4, op: ws.OpText, payload: zlong(tb)}}
		}, nil, ErrReservedBits},
		{"RSV1 on a continuation", true, func(tb testing.TB) []frame {
			return []frame{{op: ws.OpText, payload: []byte("a")}, {fin: true, rsv: 4, op: ws.OpContinuation, payload: []byte("b")}}
		}, nil, ErrReservedBits},
		{"RSV1 on a control frame", true, func(tb testing.TB) []frame {
			return []frame{{fin: true, rsv: 4, op: ws.OpPing}}
		}, nil, ErrReservedBits},
		{"RSV2 with the extension", true, func(tb testing.TB) []frame {
			return []frame{{fin: true, rsv: 2, op: ws.OpText, payload: []byte("x")}}
		}, nil, ErrReservedBits},
		{"zip bomb inflates past the limit: 1009", true, func(tb testing.TB) []frame {
			return []frame{{fin: true, rsv: 4, op: ws.OpBinary, payload: bomb(tb)}}
		}, nil, ErrTooLarge},
		{"corrupt deflate data: 1007", true, func(tb testing.TB) []frame {
			return []frame{{fin: true, rsv: 4, op: ws.OpBinary, payload: []byte{0xff, 0xff, 0xff, 0xff}}}
		}, nil, ErrBadCompression},
		{"compressed invalid UTF-8 text: 1007", true, func(tb testing.TB) []frame {
			return []frame{{fin: true, rsv: 4, op: ws.OpText, payload: compress(tb, []byte{'a', 0xff, 'b'})}}
		}, nil, ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := stream(t, tt.frames(t)...)
			for _, split := range []struct {
				name   string
				chunks [][]byte
			}{{"whole", whole(b)}, {"byte by byte", byteByByte(b)}} {
				got, err := decodeWith(t, &Decoder{MaxMessage: 64 << 10, Deflate: tt.deflate}, split.chunks)
				if !errors.Is(err, tt.err) || !sameMsgs(got, tt.want) {
					t.Fatalf("%s: got %v, %v; want %v, %v", split.name, got, err, tt.want, tt.err)
				}
			}
		})
	}
	if CloseCode(ErrBadCompression) != ws.StatusInvalidFramePayloadData {
		t.Fatal("ErrBadCompression must map to 1007")
	}
}

func BenchmarkFrameDeflated(b *testing.B) {
	payload := []byte(strings.Repeat(`{"type":"quote","symbol":"ACME","price":101.25}`, 80))
	b.Run("size=4KiB/first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewFrame(ws.OpText, payload).Deflated()
		}
	})
	b.Run("size=4KiB/shared", func(b *testing.B) {
		f := NewFrame(ws.OpText, payload)
		f.Deflated()
		b.ReportAllocs()
		for b.Loop() {
			f.Deflated()
		}
	})
}

func BenchmarkInflate(b *testing.B) {
	payload := []byte(strings.Repeat(`{"type":"quote","symbol":"ACME","price":101.25}`, 80))
	z := compress(b, payload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inflate(ws.OpText, z, 64<<10); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzInflate: inflating arbitrary bytes never panics and never returns more
// than the limit; what Frame.Deflated compresses inflates back to the payload.
func FuzzInflate(f *testing.F) {
	f.Add([]byte(strings.Repeat("hello ", 50)), []byte{0xff, 0x00})
	f.Add([]byte{}, []byte{0x00, 0x00, 0xff, 0xff})
	f.Add(bytes.Repeat([]byte{0}, 4096), []byte{0x4a, 0x4c, 0x04, 0x00})
	const limit = 1 << 12
	f.Fuzz(func(t *testing.T, payload, junk []byte) {
		if out, err := inflate(ws.OpBinary, junk, limit); err == nil && len(out) > limit {
			t.Fatalf("inflated %d bytes past the %d limit", len(out), limit)
		}
		fr := NewFrame(ws.OpBinary, payload)
		d := fr.Deflated()
		h, n, err := ParseHeader(d)
		if err != nil {
			t.Fatal(err)
		}
		if h.Rsv1() {
			out, err := inflate(ws.OpBinary, d[n:], len(payload))
			if err != nil || !bytes.Equal(out, payload) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
