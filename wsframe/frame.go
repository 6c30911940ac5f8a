package wsframe

import (
	"sync"

	"github.com/gobwas/ws"
)

// AppendFrame appends a server-to-client frame with the given opcode and
// payload to dst and returns the extended buffer (RFC 6455 section 5.2): FIN
// set, no RSV bits, not masked (section 5.1), the length in its minimal
// encoding. It does not allocate when dst has room for the frame: at most
// 10 header bytes plus the payload.
//
// op must be OpText, OpBinary, OpClose, OpPing or OpPong, and a control
// payload must be at most 125 bytes; AppendFrame panics otherwise, as these are
// programming errors. It does not validate UTF-8: a text payload must be valid
// UTF-8 or strict clients fail the connection with 1007. For Close frames
// prefer [AppendClose], which builds a valid payload.
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	checkServerFrame(op, len(payload))
	return append(appendHeader(dst, op, len(payload)), payload...)
}

// Frame is a server-to-client frame encoded once, to be written to any number
// of connections: server frames are not masked, so every connection gets the
// same bytes. A Frame is immutable after NewFrame (its compressed form is
// computed once, on demand) and safe for concurrent use. Make Frames with
// NewFrame: the zero Frame is not usable.
type Frame struct {
	b           []byte // header then payload; never written after NewFrame
	deflateOnce sync.Once
	deflated    []byte // written once under deflateOnce; see Deflated
}

// NewFrame encodes a final frame with the given opcode and payload, as
// [AppendFrame] does, and panics on the same programming errors. It copies
// payload, which the caller may reuse at once. It makes two allocations: the
// Frame and one buffer holding the header and the payload.
func NewFrame(op ws.OpCode, payload []byte) *Frame {
	checkServerFrame(op, len(payload))
	b := make([]byte, 0, serverHeaderLen(len(payload))+len(payload))
	return &Frame{b: AppendFrame(b, op, payload)}
}

// Bytes returns the encoded frame, header and payload. The slice is shared by
// every caller and must not be modified; it stays valid as long as it is
// referenced.
func (f *Frame) Bytes() []byte { return f.b }

// Op returns the frame's opcode.
func (f *Frame) Op() ws.OpCode { return ws.OpCode(f.b[0] & bitsOp) }

// PayloadLen returns the length of the frame's payload, without its header.
func (f *Frame) PayloadLen() int { return len(f.b) - headerLen(f.b[1]) }

// checkServerFrame panics unless op and a payload of n bytes make a frame
// that this package may send.
func checkServerFrame(op ws.OpCode, n int) {
	switch op {
	case ws.OpText, ws.OpBinary:
	case ws.OpClose, ws.OpPing, ws.OpPong:
		if n > ws.MaxControlFramePayloadSize {
			panic("wsframe: control frame payload over 125 bytes")
		}
	default:
		panic("wsframe: opcode is not text, binary, close, ping or pong")
	}
}

// Payload returns the frame's payload, without its header: a view of the
// shared encoding that must not be modified.
func (f *Frame) Payload() []byte { return f.b[len(f.b)-f.PayloadLen():] }
