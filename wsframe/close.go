package wsframe

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// maxCloseReason is the longest reason that fits in a close payload: a control
// payload is at most 125 bytes (RFC 6455 section 5.5), 2 of which are the code.
const maxCloseReason = ws.MaxControlFramePayloadSize - 2

// ParseClose validates the payload of a Close frame (RFC 6455 section 5.5.1)
// and returns its status code and reason. The reason aliases p.
//
//   - An empty payload is valid and means no status: (1005, nil, nil).
//   - A payload of one byte, or of more than 125 bytes (the limit of every
//     control frame, section 5.5), is ErrBadClosePayload.
//   - A code that is invalid on the wire is ErrBadClosePayload: 0-999, 1004,
//     1005, 1006, 1015, 1016-2999 and 5000 and over. The valid ones are
//     1000-1003, 1007-1014 (1012-1014 are registered with IANA) and 3000-4999
//     (section 7.4).
//   - A reason that is not UTF-8 is ErrInvalidUTF8.
//
// On error code is 0 and reason nil.
func ParseClose(p []byte) (code ws.StatusCode, reason []byte, err error) {
	switch len(p) {
	case 0:
		return ws.StatusNoStatusRcvd, nil, nil
	case 1:
		return 0, nil, ErrBadClosePayload
	}
	if len(p) > ws.MaxControlFramePayloadSize {
		return 0, nil, ErrBadClosePayload
	}
	code = ws.StatusCode(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return 0, nil, ErrBadClosePayload
	}
	if !utf8.Valid(p[2:]) {
		return 0, nil, ErrInvalidUTF8
	}
	return code, p[2:], nil
}

// validCloseCode reports whether code may appear in a Close frame
// (RFC 6455 section 7.4.1, 7.4.2, and the IANA registry for 1012-1014).
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case 1000 <= code && code <= 1003,
		1007 <= code && code <= 1014,
		3000 <= code && code <= 4999:
		return true
	default:
		return false
	}
}

// AppendClose appends a server Close frame to dst and returns the extended
// buffer. It does not allocate when dst has room for 2+2+len(reason) bytes.
//
// The payload is the code followed by the reason, which is cut at a character
// boundary to keep the payload within 125 bytes (RFC 6455 section 5.5). A
// reason that is not UTF-8 is left out rather than sent. A code that is not
// valid on the wire (see [ParseClose]), in particular 1005 (no status) and
// 1006 (abnormal closure), is never sent: the frame then has an empty payload,
// which the peer reads as 1005, and the reason is left out too. So echoing the
// code ParseClose returned for an empty close payload echoes an empty payload.
func AppendClose(dst []byte, code ws.StatusCode, reason string) []byte {
	if !validCloseCode(code) {
		return appendHeader(dst, ws.OpClose, 0)
	}
	if len(reason) > maxCloseReason {
		i := maxCloseReason
		for i > 0 && !utf8.RuneStart(reason[i]) {
			i--
		}
		reason = reason[:i]
	}
	if !utf8.ValidString(reason) {
		reason = ""
	}
	dst = appendHeader(dst, ws.OpClose, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}
