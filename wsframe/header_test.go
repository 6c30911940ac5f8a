package wsframe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/gobwas/ws"
)

func TestParseHeader(t *testing.T) {
	mask := testMask
	tests := []struct {
		name string
		in   []byte
		want ws.Header
		n    int
		err  error
	}{
		{name: "empty", in: nil, err: ErrNeedMore},
		{name: "one byte", in: []byte{0x81}, err: ErrNeedMore},
		{name: "unmasked 7-bit", in: []byte{0x81, 0x05}, want: ws.Header{Fin: true, OpCode: ws.OpText, Length: 5}, n: 2},
		{name: "masked 7-bit", in: append([]byte{0x82, 0x80 | 125}, mask[:]...), want: ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: 125}, n: 6},
		{name: "masked, mask cut", in: append([]byte{0x82, 0x80 | 1}, mask[:3]...), err: ErrNeedMore},
		{name: "16-bit length", in: []byte{0x02, 126, 0x00, 126}, want: ws.Header{OpCode: ws.OpBinary, Length: 126}, n: 4},
		{name: "16-bit length cut", in: []byte{0x02, 126, 0x00}, err: ErrNeedMore},
		{name: "16-bit max", in: []byte{0x02, 126, 0xff, 0xff}, want: ws.Header{OpCode: ws.OpBinary, Length: 65535}, n: 4},
		{name: "16-bit non-minimal 125", in: []byte{0x02, 126, 0x00, 125}, err: ErrNonMinimalLength},
		{name: "64-bit length", in: []byte{0x02, 127, 0, 0, 0, 0, 0, 1, 0, 0}, want: ws.Header{OpCode: ws.OpBinary, Length: 65536}, n: 10},
		{name: "64-bit masked", in: append([]byte{0x82, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mask[:]...), want: ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: 1<<63 - 1}, n: 14},
		{name: "64-bit cut", in: []byte{0x02, 127, 0, 0, 0, 0, 0, 1, 0}, err: ErrNeedMore},
		{name: "64-bit non-minimal 65535", in: []byte{0x02, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, err: ErrNonMinimalLength},
		{name: "64-bit non-minimal 0", in: []byte{0x02, 127, 0, 0, 0, 0, 0, 0, 0, 0}, err: ErrNonMinimalLength},
		{name: "64-bit top bit", in: []byte{0x02, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, err: ErrLengthOverflow},
		{name: "64-bit top bit, mask cut", in: []byte{0x02, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, err: ErrNeedMore},
		{name: "rsv and reserved opcode are not its business", in: []byte{0x7f, 0x00}, want: ws.Header{Rsv: 7, OpCode: 0xf}, n: 2},
		{name: "trailing payload ignored", in: []byte{0x89, 0x02, 'h', 'i'}, want: ws.Header{Fin: true, OpCode: ws.OpPing, Length: 2}, n: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseHeader(tc.in)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if h != tc.want || n != tc.n {
				t.Fatalf("ParseHeader = (%+v, %d), want (%+v, %d)", h, n, tc.want, tc.n)
			}
		})
	}
}

// TestParseHeaderPrefixes checks that every proper prefix of a header is
// ErrNeedMore.
func TestParseHeaderPrefixes(t *testing.T) {
	for _, size := range []int{0, 125, 126, 65535, 65536} {
		for _, masked := range []bool{false, true} {
			h := ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: masked, Mask: testMask, Length: int64(size)}
			if !masked {
				h.Mask = [4]byte{}
			}
			var buf bytes.Buffer
			_ = ws.WriteHeader(&buf, h)
			b := buf.Bytes()
			for i := range len(b) {
				_, _, err := ParseHeader(b[:i])
				if err != ErrNeedMore {
					t.Fatalf("size %d masked %v, %d of %d bytes: error %v, want ErrNeedMore", size, masked, i, len(b), err)
				}
			}
			got, n, err := ParseHeader(b)
			if err != nil || got != h || n != len(b) {
				t.Fatalf("size %d masked %v: ParseHeader = (%+v, %d, %v), want (%+v, %d)", size, masked, got, n, err, h, len(b))
			}
		}
	}
}

// FuzzParseHeader compares ParseHeader with gobwas/ws ReadHeader on the same
// bytes. ReadHeader does not check the minimal length encoding, so where
// ParseHeader reports ErrNonMinimalLength ReadHeader must succeed with a
// length that has a shorter encoding.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x81})
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	f.Add([]byte{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4})
	f.Add([]byte{0x82, 0x7e, 0x00, 0x7d})
	f.Add([]byte{0x02, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Add([]byte{0x02, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff})
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add([]byte{0x7f, 0x7f, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		r := bytes.NewReader(b)
		gh, gerr := ws.ReadHeader(r)
		gn := len(b) - r.Len()
		short := gerr == io.EOF || gerr == io.ErrUnexpectedEOF
		switch {
		case err == ErrNeedMore:
			if !short {
				t.Fatalf("%x: ErrNeedMore, gobwas: %+v, %v", b, gh, gerr)
			}
			if n != 0 || h != (ws.Header{}) {
				t.Fatalf("%x: ErrNeedMore with (%+v, %d)", b, h, n)
			}
		case short:
			t.Fatalf("%x: gobwas needs more (%v), ParseHeader = (%+v, %d, %v)", b, gerr, h, n, err)
		case err == ErrLengthOverflow:
			if gerr != ws.ErrHeaderLengthMSB {
				t.Fatalf("%x: ErrLengthOverflow, gobwas: %+v, %v", b, gh, gerr)
			}
		case gerr != nil:
			t.Fatalf("%x: gobwas error %v, ParseHeader = (%+v, %d, %v)", b, gerr, h, n, err)
		case err == ErrNonMinimalLength:
			if ws.HeaderSize(gh) >= gn {
				t.Fatalf("%x: ErrNonMinimalLength, but gobwas read %d bytes for length %d", b, gn, gh.Length)
			}
		case err != nil:
			t.Fatalf("%x: unexpected error %v", b, err)
		default:
			if h != gh || n != gn || n != ws.HeaderSize(h) {
				t.Fatalf("%x: ParseHeader = (%+v, %d), gobwas (%+v, %d)", b, h, n, gh, gn)
			}
		}
	})
}

func BenchmarkParseHeader(b *testing.B) {
	for _, size := range []int{64, 4096, 1 << 20} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			var buf bytes.Buffer
			_ = ws.WriteHeader(&buf, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: testMask, Length: int64(size)})
			hdr := buf.Bytes()
			b.ReportAllocs()
			for b.Loop() {
				h, _, err := ParseHeader(hdr)
				if err != nil || h.Length != int64(size) {
					b.Fatal(err)
				}
			}
		})
	}
}
