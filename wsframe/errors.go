package wsframe

import (
	"errors"

	"github.com/gobwas/ws"
)

// Errors returned by [ParseHeader], [Decoder.Next] and [ParseClose]. Every one
// but ErrNeedMore means the peer broke RFC 6455 and the connection must be
// failed; [CloseCode] gives the close code to fail it with.
var (
	// ErrNeedMore is returned by ParseHeader when b holds an incomplete header.
	// It is not a protocol error: feed more bytes.
	ErrNeedMore = errors.New("wsframe: incomplete frame header")

	// ErrUnmasked: a client frame without a mask (5.1, 5.3).
	ErrUnmasked = errors.New("wsframe: client frame is not masked")
	// ErrReservedBits: RSV1, RSV2 or RSV3 set with no extension negotiated (5.2).
	ErrReservedBits = errors.New("wsframe: reserved bits set without a negotiated extension")
	// ErrReservedOpCode: opcode 3-7 or 11-15 (5.2).
	ErrReservedOpCode = errors.New("wsframe: reserved opcode")
	// ErrControlTooLong: a control frame with a payload over 125 bytes (5.5).
	ErrControlTooLong = errors.New("wsframe: control frame payload over 125 bytes")
	// ErrControlFragmented: a control frame with FIN=0 (5.5).
	ErrControlFragmented = errors.New("wsframe: fragmented control frame")
	// ErrUnexpectedContinuation: a continuation frame with no message open (5.4).
	ErrUnexpectedContinuation = errors.New("wsframe: continuation frame with no message open")
	// ErrExpectedContinuation: a text or binary frame while a fragmented message is open (5.4).
	ErrExpectedContinuation = errors.New("wsframe: data frame while a fragmented message is open")
	// ErrNonMinimalLength: a payload length not in its minimal encoding (5.2).
	ErrNonMinimalLength = errors.New("wsframe: payload length not minimally encoded")
	// ErrLengthOverflow: a 64-bit payload length with its most significant bit set (5.2).
	ErrLengthOverflow = errors.New("wsframe: 64-bit payload length has its top bit set")
	// ErrTooLarge: a message whose fragments add up to more than the limit (10.4).
	ErrTooLarge = errors.New("wsframe: message over the size limit")
	// ErrInvalidUTF8: a text message or close reason that is not UTF-8 (5.6, 8.1).
	ErrInvalidUTF8 = errors.New("wsframe: invalid UTF-8 in text message or close reason")
	// ErrBadCompression: a compressed message (RFC 7692) that does not inflate.
	ErrBadCompression = errors.New("wsframe: corrupt permessage-deflate data")
	// ErrBadClosePayload: a close payload of one byte or with a code that is
	// invalid on the wire (5.5.1, 7.4).
	ErrBadClosePayload = errors.New("wsframe: invalid close frame payload")
)

// CloseCode returns the status code (RFC 6455 section 7.4.1) to send in the
// Close frame that fails a connection after err. It is the one place where
// errors map to close codes:
//
//	nil                              1000 normal closure
//	ErrTooLarge                      1009 message too big
//	ErrInvalidUTF8                   1007 invalid frame payload data
//	ErrBadCompression                1007 invalid frame payload data
//	every other error                1002 protocol error
//
// Errors are matched with errors.Is, so wrapped errors map like the sentinel
// they wrap. ErrNeedMore and errors from outside this package map to 1002.
func CloseCode(err error) ws.StatusCode {
	switch {
	case err == nil:
		return ws.StatusNormalClosure
	case errors.Is(err, ErrTooLarge):
		return ws.StatusMessageTooBig
	case errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrBadCompression):
		return ws.StatusInvalidFramePayloadData
	default:
		return ws.StatusProtocolError
	}
}
