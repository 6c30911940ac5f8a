package wsframe

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// Bits of the first two header bytes (RFC 6455 section 5.2).
const (
	bitFin    = 0x80 // byte 0
	bitsRsv   = 0x70 // byte 0: RSV1, RSV2, RSV3
	bitsOp    = 0x0f // byte 0
	bitMasked = 0x80 // byte 1
	bitsLen   = 0x7f // byte 1: 7-bit length or 126 (16-bit follows) or 127 (64-bit follows)

	max7  = 125 // largest length in the 7-bit field
	len16 = 126
	len64 = 127
)

// ParseHeader parses the frame header at the start of b (RFC 6455 section 5.2)
// without blocking and without allocating. n is the header's length in bytes:
// the payload starts at b[n]. When b holds only part of a header it returns
// ErrNeedMore, whatever those bytes are.
//
// It applies the structural rules only: a length in its minimal encoding
// (ErrNonMinimalLength) and a 64-bit length with its top bit clear
// (ErrLengthOverflow). It does not apply the rules that depend on the role
// or the connection's state (masking, RSV bits, opcodes, control frames,
// fragmentation): [Decoder] does. On error h is zero and n is 0.
func ParseHeader(b []byte) (h ws.Header, n int, err error) {
	if len(b) < ws.MinHeaderSize {
		return h, 0, ErrNeedMore
	}
	n = headerLen(b[1])
	if len(b) < n {
		return h, 0, ErrNeedMore
	}
	i := 2
	switch l := b[1] & bitsLen; l {
	case len16:
		v := binary.BigEndian.Uint16(b[2:])
		if v <= max7 {
			return h, 0, ErrNonMinimalLength
		}
		h.Length = int64(v)
		i += 2
	case len64:
		v := binary.BigEndian.Uint64(b[2:])
		if v>>63 != 0 {
			return h, 0, ErrLengthOverflow
		}
		if v <= 0xffff {
			return h, 0, ErrNonMinimalLength
		}
		h.Length = int64(v)
		i += 8
	default:
		h.Length = int64(l)
	}
	h.Fin = b[0]&bitFin != 0
	h.Rsv = (b[0] & bitsRsv) >> 4
	h.OpCode = ws.OpCode(b[0] & bitsOp)
	h.Masked = b[1]&bitMasked != 0
	if h.Masked {
		copy(h.Mask[:], b[i:])
	}
	return h, n, nil
}

// headerLen returns the length of the header whose second byte is b1.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & bitsLen {
	case len16:
		n += 2
	case len64:
		n += 8
	}
	if b1&bitMasked != 0 {
		n += 4
	}
	return n
}

// serverHeaderLen returns the length of an unmasked header for a payload of
// n bytes.
func serverHeaderLen(n int) int {
	switch {
	case n <= max7:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return 10
	}
}

// appendHeader appends the header of a final, unmasked frame without RSV
// bits, with the minimal encoding of n (RFC 6455 section 5.2).
func appendHeader(dst []byte, op ws.OpCode, n int) []byte {
	b0 := bitFin | byte(op)
	switch {
	case n <= max7:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, b0, len16), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, b0, len64), uint64(n))
	}
}
