package wsframe

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// permessage-deflate (RFC 7692) with no context takeover in either direction:
// every message is an independent DEFLATE stream, so one compressed payload is
// valid for every connection that negotiated the extension.

// DeflateMinSize is the smallest payload Frame.Deflated compresses: below it,
// the DEFLATE block overhead and the CPU are not worth it.
const DeflateMinSize = 128

// bitRsv1 marks a compressed message's first frame (RFC 7692 section 6).
const bitRsv1 = 0x40

// deflateTail is what a sync flush ends with; RFC 7692 section 7.2.1 removes it
// on the wire and section 7.2.2 restores it before inflating. The final empty
// stored block after it makes the reader end with io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// Deflated returns the frame compressed with permessage-deflate (RSV1 set), to
// send to connections that negotiated the extension. It compresses once, on
// the first call, and returns the same shared bytes afterwards; it returns
// Bytes() instead when the frame is a control frame, its payload is under
// DeflateMinSize, or compression would not make it smaller. Safe for
// concurrent use; callers must not modify the result.
func (f *Frame) Deflated() []byte {
	f.deflateOnce.Do(func() {
		f.deflated = f.b
		if !f.Op().IsData() || f.PayloadLen() < DeflateMinSize {
			return
		}
		if d := deflateFrame(f.Op(), f.b[len(f.b)-f.PayloadLen():]); d != nil {
			f.deflated = d
		}
	})
	return f.deflated
}

// deflaters pools compressors: a flate.Writer holds about 1 MiB of state.
var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // BestSpeed is a valid level: no error
	return &deflater{w: w}
}}

type deflater struct {
	w   *flate.Writer
	out bytes.Buffer
}

// deflateFrame returns a compressed final frame of payload p, or nil when it
// would not be smaller than the plain one.
func deflateFrame(op ws.OpCode, p []byte) []byte {
	d := deflaters.Get().(*deflater)
	defer deflaters.Put(d)
	d.out.Reset()
	d.w.Reset(&d.out)
	d.w.Write(p) // a bytes.Buffer never fails
	d.w.Flush()
	z := d.out.Bytes()
	z = z[:len(z)-4] // the sync flush's 00 00 ff ff (RFC 7692 section 7.2.1)
	if len(z) >= len(p) {
		return nil
	}
	b := appendHeader(make([]byte, 0, serverHeaderLen(len(z))+len(z)), op, len(z))
	b[0] |= bitRsv1
	return append(b, z...)
}

// inflaters pools decompressors.
var inflaters = sync.Pool{New: func() any {
	return &inflater{r: flate.NewReader(bytes.NewReader(nil))}
}}

type inflater struct {
	r   io.ReadCloser // also a flate.Resetter
	src bytes.Reader
	mr  multiReader
}

// multiReader reads a compressed payload and then deflateTail, without the
// allocation of io.MultiReader.
type multiReader struct {
	payload *bytes.Reader
	tail    bytes.Reader
}

func (m *multiReader) Read(p []byte) (int, error) {
	if n, _ := m.payload.Read(p); n > 0 {
		return n, nil
	}
	return m.tail.Read(p)
}

// inflate decompresses the payload of a compressed message (RFC 7692 section
// 7.2.2) into a new slice. A result over limit bytes fails with ErrTooLarge as
// soon as the limit is passed, so a small "zip bomb" never expands in memory;
// corrupt data fails with ErrBadCompression; a text message must inflate to
// valid UTF-8.
func inflate(op ws.OpCode, p []byte, limit int) ([]byte, error) {
	in := inflaters.Get().(*inflater)
	defer inflaters.Put(in)
	in.src.Reset(p)
	in.mr.payload = &in.src
	in.mr.tail.Reset(deflateTail)
	if err := in.r.(flate.Resetter).Reset(&in.mr, nil); err != nil {
		return nil, ErrBadCompression
	}
	out := make([]byte, 0, min(max(2*len(p), 256), limit+1))
	for {
		if len(out) == cap(out) {
			if len(out) > limit {
				return nil, ErrTooLarge
			}
			out = append(out, 0)[:len(out)] // grow
			out = out[:len(out):min(cap(out), limit+1)]
		}
		n, err := in.r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if len(out) > limit {
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, ErrBadCompression
		}
	}
	if op == ws.OpText && !utf8.Valid(out) {
		return nil, ErrInvalidUTF8
	}
	return out, nil
}
