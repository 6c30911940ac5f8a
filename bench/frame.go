//go:build linux

package bench

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"

	"github.com/gobwas/ws"
)

// Opcodes (RFC 6455 section 5.2).
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// maxFrameLen bounds one server frame; a longer one fails the connection, so
// a client never buffers more than this.
const maxFrameLen = 16 << 20

// frameHeader is a parsed frame header (RFC 6455 section 5.2).
type frameHeader struct {
	fin    bool
	rsv    byte
	opcode byte
	masked bool
	length int64
	size   int // bytes of header, including the masking key
}

// parseHeader parses the frame header at the start of b without copying.
// ok is false when b holds only part of a header ("need more"). err is
// errFrameLength when the 64-bit length has its most significant bit set
// (section 5.2).
func parseHeader(b []byte) (h frameHeader, ok bool, err error) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.fin = b[0]&0x80 != 0
	h.rsv = (b[0] & 0x70) >> 4
	h.opcode = b[0] & 0x0f
	h.masked = b[1]&0x80 != 0
	h.size = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		h.size += 2
	case 127:
		h.size += 8
	default:
		h.length = int64(l)
	}
	if h.masked {
		h.size += 4
	}
	if len(b) < h.size {
		return h, false, nil
	}
	switch b[1] & 0x7f {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		if b[2]&0x80 != 0 {
			return h, false, errFrameLength
		}
		h.length = int64(binary.BigEndian.Uint64(b[2:10]))
	}
	return h, true, nil
}

// appendClientFrame appends one final (FIN) client frame with opcode op and
// payload to dst, masked with mask as every client frame must be (RFC 6455
// section 5.3). payload is not modified.
func appendClientFrame(dst []byte, op byte, payload []byte, mask [4]byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	ws.Cipher(dst[start:], mask, 0)
	return dst
}

// keyLen is the length of a base64 Sec-WebSocket-Key (16 random bytes).
const keyLen = 24

// newKey encodes 16 random bytes as a Sec-WebSocket-Key (section 4.1).
func newKey(random [16]byte) (k [keyLen]byte) {
	base64.StdEncoding.Encode(k[:], random[:])
	return k
}

// appendUpgradeRequest appends the opening handshake request (RFC 6455
// section 4.1) for t with key to dst.
func appendUpgradeRequest(dst []byte, t *target, key *[keyLen]byte) []byte {
	dst = append(dst, "GET "...)
	dst = append(dst, t.path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, t.host...)
	dst = append(dst, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key[:]...)
	return append(dst, "\r\n\r\n"...)
}

// acceptGUID is the fixed GUID of RFC 6455 section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// checkUpgradeResponse checks a complete response head (through the empty
// line): status 101 and a Sec-WebSocket-Accept that matches key (RFC 6455
// section 4.1, client requirements 1 and 4). It returns errBadStatus or
// errBadAccept.
func checkUpgradeResponse(head []byte, key *[keyLen]byte) error {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101")) {
		return errBadStatus
	}
	h := sha1.New()
	h.Write(key[:])
	h.Write([]byte(acceptGUID))
	var want [28]byte
	base64.StdEncoding.Encode(want[:], h.Sum(nil))
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Accept")) {
			if bytes.Equal(bytes.TrimSpace(value), want[:]) {
				return nil
			}
			return errBadAccept
		}
	}
	return errBadAccept
}

// idLen is the length of the client id the gateway sends first: a UUID in
// its 36-character text form.
const idLen = 36
