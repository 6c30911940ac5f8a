package wsframe

import (
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// DefaultMaxMessage is the message size limit of a Decoder whose MaxMessage
// is 0.
const DefaultMaxMessage = 64 << 10

// minBuffer is the smallest reassembly buffer the Decoder allocates, unless
// the frame being buffered is smaller.
const minBuffer = 64

// Message is one complete inbound data message or control frame.
type Message struct {
	// Op is OpText, OpBinary, OpPing, OpPong or OpClose; it is 0 when
	// Decoder.Next completed nothing.
	Op ws.OpCode
	// Payload is the unmasked payload: the whole message for text and
	// binary, the frame's payload for control frames. See Decoder.Next for
	// how long it stays valid.
	Payload []byte
}

// Decoder is the streaming decoder of the frames one client sends to the
// server (RFC 6455 section 5). It takes the connection's bytes in arbitrary
// chunks and never waits for more: what a chunk leaves incomplete (a header,
// a payload, a fragmented message) is kept until the next call.
//
// The zero value is ready to use. A Decoder is used by one goroutine at a
// time. Between messages it holds no heap memory; while a message spans
// chunks or fragments it holds a reassembly buffer that grows with the bytes
// that actually arrived, at most to the limit.
type Decoder struct {
	// MaxMessage is the largest data message accepted, in payload bytes
	// summed over its fragments; 0 (or less) means DefaultMaxMessage. A
	// larger one fails with ErrTooLarge as soon as the header that crosses
	// the limit is read.
	MaxMessage int
	// Deflate is set when permessage-deflate (RFC 7692) was negotiated: a
	// message whose first frame has RSV1 set is then inflated before it is
	// returned, and MaxMessage applies to the inflated size too.
	Deflate bool

	compressed bool                   // the open data message is compressed (its first frame had RSV1)
	hdr        [ws.MaxHeaderSize]byte // header bytes received so far
	nhdr       uint8                  // len of hdr in use; 0 when no header is partly received
	inFrame    bool                   // the current frame's header is read, its payload is not complete
	fin        bool                   // the current frame's FIN bit
	op         ws.OpCode              // the current frame's opcode
	msgOp      ws.OpCode              // opcode of the open data message; 0 when none is open
	closed     bool                   // a Close was returned: ignore everything after it
	text       UTF8                   // validator of the open text message
	mask       [4]byte                // the current frame's masking key
	pos        int64                  // payload bytes of the current frame consumed
	remain     int64                  // payload bytes of the current frame still to come
	buf        []byte                 // open message's payload so far, then a buffered control frame's payload
	err        error                  // sticky error
}

// Next consumes bytes of b until it completes one message or control frame,
// or until b is exhausted. It never blocks and never needs b to hold a whole
// frame: what remains incomplete is kept in the Decoder (a partial header is
// copied, a partial payload is unmasked into the reassembly buffer and, for
// text, validated as UTF-8 so that invalid text fails at once).
//
// It returns the completed message, n the number of bytes of b consumed, and
// err. When nothing completed, m.Op is 0, err is nil and n is len(b): feed
// the next bytes. Otherwise call Next again with b[n:].
//
// Next unmasks a payload that is whole in b in place, so it may modify
// b[:n]. m.Payload then aliases b; a message that spanned chunks or fragments
// is in the Decoder's buffer instead. Either way m.Payload is valid until the
// next call of Next or Reset (and, when it aliases b, while b's bytes are), so
// copy what must outlive it. Control frames (RFC 6455 section 5.5) are
// returned as soon as they complete, also between the fragments of a data
// message, which stays open. Close payloads are validated with [ParseClose]
// before the Close is returned, so ParseClose(m.Payload) of a returned Close
// does not fail. Pings and pongs are returned, not answered.
//
// An error is a protocol violation (see [CloseCode]); after it Next returns
// the same error and consumes nothing. After Next returned a Close the peer
// may send nothing more (RFC 6455 section 5.5.1): Next then discards b and
// returns no message. In both cases the caller should stop feeding.
func (d *Decoder) Next(b []byte) (m Message, n int, err error) {
	if d.err != nil {
		return Message{}, 0, d.err
	}
	if d.closed {
		return Message{}, len(b), nil
	}
	for {
		if !d.inFrame {
			k, err := d.readHeader(b[n:])
			n += k
			if err != nil {
				return Message{}, n, d.fail(err)
			}
			if !d.inFrame {
				return Message{}, n, nil // n == len(b)
			}
		}

		rest := b[n:]
		if d.pos == 0 && d.remain <= int64(len(rest)) && d.wholeFrameIsMessage() {
			// The frame is whole in b and is a whole message: unmask it
			// in place and return it without copying.
			p := rest[:d.remain:d.remain]
			n += len(p)
			ws.Cipher(p, d.mask, 0)
			m, err := d.endWhole(p)
			if err != nil {
				return Message{}, n, d.fail(err)
			}
			return m, n, nil
		}

		k := int(min(d.remain, int64(len(rest))))
		n += k
		if k > 0 {
			err := d.buffer(rest[:k])
			if err != nil {
				return Message{}, n, d.fail(err)
			}
		}
		if d.remain > 0 {
			return Message{}, n, nil // n == len(b)
		}
		m, err := d.endBuffered()
		if err != nil {
			return Message{}, n, d.fail(err)
		}
		if m.Op != 0 {
			return m, n, nil
		}
		// A fragment ended and the message is still open: next header.
	}
}

// Reset returns the Decoder to its zero state for a new connection, keeping
// MaxMessage and Deflate. It releases the reassembly buffer.
func (d *Decoder) Reset() {
	*d = Decoder{MaxMessage: d.MaxMessage, Deflate: d.Deflate}
}

func (d *Decoder) fail(err error) error {
	d.err = err
	d.buf = nil
	return err
}

// close records that a valid Close was received: nothing after it counts,
// and a message left open is abandoned.
func (d *Decoder) close() {
	d.closed = true
	d.msgOp = 0
	d.buf = nil
}

func (d *Decoder) maxMessage() int {
	if d.MaxMessage <= 0 {
		return DefaultMaxMessage
	}
	return d.MaxMessage
}

// readHeader consumes header bytes from b. It returns the bytes consumed;
// d.inFrame is set when the header is complete. Most headers are parsed in
// place; one that b cuts short is copied into d.hdr and completed by the next
// calls.
func (d *Decoder) readHeader(b []byte) (int, error) {
	if d.nhdr == 0 {
		if len(b) >= 2 {
			err := d.checkRole(b[0], b[1])
			if err != nil {
				return 0, err
			}
		}
		h, k, err := ParseHeader(b)
		if err == ErrNeedMore {
			d.nhdr = uint8(copy(d.hdr[:], b))
			return len(b), nil
		}
		if err != nil {
			return 0, err
		}
		return k, d.begin(h)
	}

	k := 0
	if d.nhdr < 2 {
		k = copy(d.hdr[d.nhdr:2], b)
		d.nhdr += uint8(k)
		if d.nhdr < 2 {
			return k, nil
		}
	}
	err := d.checkRole(d.hdr[0], d.hdr[1])
	if err != nil {
		return k, err
	}
	size := headerLen(d.hdr[1])
	c := copy(d.hdr[d.nhdr:size], b[k:])
	d.nhdr += uint8(c)
	k += c
	if int(d.nhdr) < size {
		return k, nil
	}
	d.nhdr = 0
	h, _, err := ParseHeader(d.hdr[:size])
	if err != nil {
		return k, err
	}
	return k, d.begin(h)
}

// checkRole applies the rules that the first two header bytes decide for a
// frame a server receives, in this order (RFC 6455 sections 5.1-5.5): RSV
// bits, reserved opcodes, masking, control frames, fragmentation. It runs as
// soon as two bytes are there, so such a frame fails before the rest of its
// header arrives. It has no side effects.
func (d *Decoder) checkRole(b0, b1 byte) error {
	op := ws.OpCode(b0 & bitsOp)
	switch {
	case b0&bitsRsv != 0 && !(d.Deflate && b0&bitsRsv == bitRsv1 && op.IsData() && op != ws.OpContinuation):
		return ErrReservedBits
	case op.IsReserved():
		return ErrReservedOpCode
	case b1&bitMasked == 0:
		return ErrUnmasked
	case op.IsControl() && b0&bitFin == 0:
		return ErrControlFragmented
	case op.IsControl() && b1&bitsLen > ws.MaxControlFramePayloadSize:
		return ErrControlTooLong
	case op == ws.OpContinuation && d.msgOp == 0:
		return ErrUnexpectedContinuation
	case op != ws.OpContinuation && op.IsData() && d.msgOp != 0:
		return ErrExpectedContinuation
	}
	return nil
}

// begin starts the payload of the frame whose header is h, checking the
// message size limit before any payload is buffered.
func (d *Decoder) begin(h ws.Header) error {
	if h.OpCode.IsData() {
		if h.Length > int64(d.maxMessage()-len(d.buf)) {
			return ErrTooLarge
		}
		if h.OpCode != ws.OpContinuation {
			d.msgOp = h.OpCode
			d.compressed = h.Rsv1()
			d.text.Reset()
		}
	}
	d.inFrame = true
	d.fin = h.Fin
	d.op = h.OpCode
	d.mask = h.Mask
	d.pos = 0
	d.remain = h.Length
	return nil
}

// wholeFrameIsMessage reports whether the current frame is a message by itself:
// a control frame, or an unfragmented data message.
func (d *Decoder) wholeFrameIsMessage() bool {
	return d.op.IsControl() || (d.fin && d.op != ws.OpContinuation)
}

// endWhole finishes a frame that arrived whole and is a message by itself; p
// is its unmasked payload.
func (d *Decoder) endWhole(p []byte) (Message, error) {
	d.inFrame = false
	switch {
	case d.op.IsData() && d.compressed:
		d.msgOp = 0
		out, err := inflate(d.op, p, d.maxMessage())
		return Message{Op: d.op, Payload: out}, err
	case d.op == ws.OpText:
		if !utf8.Valid(p) {
			return Message{}, ErrInvalidUTF8
		}
	case d.op == ws.OpClose:
		_, _, err := ParseClose(p)
		if err != nil {
			return Message{}, err
		}
		d.close()
	}
	if d.op.IsData() {
		d.msgOp = 0
	}
	return Message{Op: d.op, Payload: p}, nil
}

// buffer unmasks the masked payload bytes p into the reassembly buffer (after
// the open message for a control frame) and validates text as it arrives.
func (d *Decoder) buffer(p []byte) error {
	d.grow(len(p))
	start := len(d.buf)
	d.buf = append(d.buf, p...)
	q := d.buf[start:]
	ws.Cipher(q, d.mask, int(d.pos&3))
	d.pos += int64(len(p))
	d.remain -= int64(len(p))
	if d.op.IsData() && d.msgOp == ws.OpText && !d.compressed && !d.text.Write(q) {
		return ErrInvalidUTF8
	}
	return nil
}

// grow makes room for n more bytes in d.buf. It doubles the buffer, so the
// buffer is at most about twice the bytes that arrived: it never trusts the
// length a peer declares to allocate. It does not grow past the end of the
// current frame when that frame ends the message, nor past the limit.
func (d *Decoder) grow(n int) {
	need := len(d.buf) + n
	if need <= cap(d.buf) {
		return
	}
	c := max(2*cap(d.buf), minBuffer)
	if d.op.IsControl() || d.fin {
		c = min(c, len(d.buf)+int(d.remain))
	} else {
		c = min(c, d.maxMessage())
	}
	c = max(c, need)
	b := make([]byte, len(d.buf), c)
	copy(b, d.buf)
	d.buf = b
}

// endBuffered finishes a frame whose payload went through the buffer. It
// returns a message with Op 0 when the frame was a fragment that does not end
// its message.
func (d *Decoder) endBuffered() (Message, error) {
	d.inFrame = false
	if d.op.IsControl() {
		start := len(d.buf) - int(d.pos)
		p := d.buf[start:len(d.buf):len(d.buf)]
		if d.op == ws.OpClose {
			_, _, err := ParseClose(p)
			if err != nil {
				return Message{}, err
			}
			d.close()
		}
		if d.msgOp == 0 || d.closed {
			d.buf = nil
		} else {
			d.buf = d.buf[:start]
		}
		return Message{Op: d.op, Payload: p}, nil
	}
	if !d.fin {
		return Message{}, nil
	}
	m := Message{Op: d.msgOp, Payload: d.buf}
	d.msgOp = 0
	d.buf = nil
	if d.compressed {
		out, err := inflate(m.Op, m.Payload, d.maxMessage())
		return Message{Op: m.Op, Payload: out}, err
	}
	if m.Op == ws.OpText && !d.text.Complete() {
		return Message{}, ErrInvalidUTF8
	}
	return m, nil
}
