package wsframe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/gobwas/ws"
)

type decodeCase struct {
	name string
	in   []byte
	max  int // Decoder.MaxMessage
	want []msg
	err  error
	code ws.StatusCode // CloseCode(err)
}

// decodeCases covers every receive-side rule (RFC 6455 section 5), named by
// rule and, where one matches, by the Autobahn test case.
func decodeCases(t testing.TB) []decodeCase {
	const (
		textOp = ws.OpText
		binOp  = ws.OpBinary
		cont   = ws.OpContinuation
	)
	const big = 1 << 20
	kosme := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5" // κόσμε
	// Autobahn 6.3.1: κόσμε, a surrogate (U+D800), "edited".
	invalidKosme := kosme + "\xed\xa0\x80" + "edited"

	cases := []decodeCase{
		// 1.x framing of text and binary messages, lengths in all three encodings.
		{name: "1.1.1 empty text", in: stream(t, text("")), want: msgs(msg{textOp, ""})},
		{name: "1.1.2 text 125 bytes, 7-bit length", in: stream(t, text(repeat("*", 125))), want: msgs(msg{textOp, repeat("*", 125)})},
		{name: "1.1.3 text 126 bytes, 16-bit length", in: stream(t, text(repeat("*", 126))), want: msgs(msg{textOp, repeat("*", 126)})},
		{name: "1.1.4 text 127 bytes", in: stream(t, text(repeat("*", 127))), want: msgs(msg{textOp, repeat("*", 127)})},
		{name: "1.1.6 text 65535 bytes, 16-bit length", in: stream(t, text(repeat("*", 65535))), max: big, want: msgs(msg{textOp, repeat("*", 65535)})},
		{name: "1.1.7 text 65536 bytes, 64-bit length", in: stream(t, text(repeat("*", 65536))), max: big, want: msgs(msg{textOp, repeat("*", 65536)})},
		{name: "1.2.1 empty binary", in: stream(t, binMsg(0)), want: msgs(msg{binOp, ""})},
		{name: "1.2.3 binary 126 bytes", in: stream(t, binMsg(126)), want: msgs(msg{binOp, string(pattern(126))})},
		{name: "1.2.8 binary 65536 bytes", in: stream(t, binMsg(65536)), max: big, want: msgs(msg{binOp, string(pattern(65536))})},
		{name: "1.x several messages in one chunk", in: stream(t, text("a"), binMsg(3), text("bc")), want: msgs(msg{textOp, "a"}, msg{binOp, "\x00\x07\x0e"}, msg{textOp, "bc"})},

		// 2.x pings and pongs: returned, not answered; unsolicited pongs too.
		{name: "2.1 empty ping", in: stream(t, ping("")), want: msgs(msg{ws.OpPing, ""})},
		{name: "2.2 ping with text payload", in: stream(t, ping("Hello, world!")), want: msgs(msg{ws.OpPing, "Hello, world!"})},
		{name: "2.3 ping with binary payload", in: stream(t, frame{fin: true, op: ws.OpPing, payload: []byte{0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0, 0xff}}), want: msgs(msg{ws.OpPing, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"})},
		{name: "2.4 ping 125 bytes", in: stream(t, ping(repeat("\xfe", 125))), want: msgs(msg{ws.OpPing, repeat("\xfe", 125)})},
		{name: "2.5 ping 126 bytes: control too long", in: stream(t, ping(repeat("\xfe", 126))), err: ErrControlTooLong, code: 1002},
		{name: "2.x pong 126 bytes: control too long", in: stream(t, pong(repeat("x", 126))), err: ErrControlTooLong, code: 1002},
		{name: "2.x close 126 bytes: control too long", in: stream(t, closeFrame(closePayload(1000, repeat("x", 124)))), err: ErrControlTooLong, code: 1002},
		{name: "2.8 unsolicited pong", in: stream(t, pong("unsolicited")), want: msgs(msg{ws.OpPong, "unsolicited"})},
		{name: "2.10 ten pings", in: stream(t, ping("0"), ping("1"), ping("2"), ping("3"), ping("4"), ping("5"), ping("6"), ping("7"), ping("8"), ping("9")),
			want: msgs(msg{ws.OpPing, "0"}, msg{ws.OpPing, "1"}, msg{ws.OpPing, "2"}, msg{ws.OpPing, "3"}, msg{ws.OpPing, "4"}, msg{ws.OpPing, "5"}, msg{ws.OpPing, "6"}, msg{ws.OpPing, "7"}, msg{ws.OpPing, "8"}, msg{ws.OpPing, "9"})},

		// 3.x RSV bits without a negotiated extension.
		{name: "3.1 RSV1 on text", in: stream(t, frame{fin: true, op: textOp, rsv: ws.Rsv(true, false, false), payload: []byte("x")}), err: ErrReservedBits, code: 1002},
		{name: "3.2 RSV2 on text after a valid text", in: stream(t, text("ok"), frame{fin: true, op: textOp, rsv: ws.Rsv(false, true, false)}), want: msgs(msg{textOp, "ok"}), err: ErrReservedBits, code: 1002},
		{name: "3.3 RSV3 on text", in: stream(t, frame{fin: true, op: textOp, rsv: ws.Rsv(false, false, true)}), err: ErrReservedBits, code: 1002},
		{name: "3.5 RSV1|RSV3 on binary", in: stream(t, frame{fin: true, op: binOp, rsv: ws.Rsv(true, false, true)}), err: ErrReservedBits, code: 1002},
		{name: "3.6 RSV on ping", in: stream(t, frame{fin: true, op: ws.OpPing, rsv: ws.Rsv(false, true, true)}), err: ErrReservedBits, code: 1002},
		{name: "3.7 RSV on close", in: stream(t, frame{fin: true, op: ws.OpClose, rsv: ws.Rsv(true, true, true)}), err: ErrReservedBits, code: 1002},
		{name: "3.x RSV on continuation", in: stream(t, fragment(textOp, false, "a"), frame{fin: true, rsv: 1}), err: ErrReservedBits, code: 1002},

		// 4.x reserved opcodes: see the loop below.
		{name: "4.1.3 reserved opcode after a ping", in: stream(t, ping("p"), frame{fin: true, op: 5}), want: msgs(msg{ws.OpPing, "p"}), err: ErrReservedOpCode, code: 1002},

		// 5.x fragmentation.
		{name: "5.1 fragmented ping", in: stream(t, frame{op: ws.OpPing, payload: []byte("frag")}, frame{fin: true, payload: []byte("ment")}), err: ErrControlFragmented, code: 1002},
		{name: "5.2 fragmented pong", in: stream(t, frame{op: ws.OpPong, payload: []byte("frag")}), err: ErrControlFragmented, code: 1002},
		{name: "5.x fragmented close", in: stream(t, frame{op: ws.OpClose}), err: ErrControlFragmented, code: 1002},
		{name: "5.3 text in two fragments", in: stream(t, fragment(textOp, false, "frag"), fragment(cont, true, "ment")), want: msgs(msg{textOp, "fragment"})},
		{name: "5.5 text in one-byte fragments", in: stream(t, fragment(textOp, false, "f"), fragment(cont, false, "r"), fragment(cont, false, "a"), fragment(cont, false, "g"), fragment(cont, true, "s")), want: msgs(msg{textOp, "frags"})},
		{name: "5.6 ping between fragments is returned first", in: stream(t, fragment(textOp, false, "frag"), ping("ping"), fragment(cont, true, "ment")), want: msgs(msg{ws.OpPing, "ping"}, msg{textOp, "fragment"})},
		{name: "5.7 pong between fragments", in: stream(t, fragment(binOp, false, "ab"), pong("pong"), fragment(cont, true, "cd")), want: msgs(msg{ws.OpPong, "pong"}, msg{binOp, "abcd"})},
		{name: "5.9 continuation with no message open", in: stream(t, fragment(cont, true, "x")), err: ErrUnexpectedContinuation, code: 1002},
		{name: "5.10 non-final continuation with no message open", in: stream(t, fragment(cont, false, "x"), fragment(textOp, true, "y")), err: ErrUnexpectedContinuation, code: 1002},
		{name: "5.15 continuation after a complete message", in: stream(t, fragment(textOp, false, "a"), fragment(cont, true, "b"), fragment(cont, true, "c")), want: msgs(msg{textOp, "ab"}), err: ErrUnexpectedContinuation, code: 1002},
		{name: "5.16 text frame while a fragmented message is open", in: stream(t, fragment(textOp, false, "a"), fragment(textOp, true, "b")), err: ErrExpectedContinuation, code: 1002},
		{name: "5.x binary frame while a fragmented text is open", in: stream(t, fragment(textOp, false, "a"), binMsg(1)), err: ErrExpectedContinuation, code: 1002},
		{name: "5.19 pings and pongs between five fragments", in: stream(t, fragment(textOp, false, "1"), ping("a"), fragment(cont, false, "2"), pong("b"), fragment(cont, false, "3"), ping("c"), fragment(cont, false, "4"), fragment(cont, true, "5")),
			want: msgs(msg{ws.OpPing, "a"}, msg{ws.OpPong, "b"}, msg{ws.OpPing, "c"}, msg{textOp, "12345"})},
		{name: "5.x empty fragments", in: stream(t, fragment(textOp, false, ""), fragment(cont, false, ""), fragment(cont, true, "")), want: msgs(msg{textOp, ""})},
		{name: "5.x long binary in fragments with a ping", in: stream(t, frame{op: binOp, payload: pattern(3000)}, ping("x"), frame{fin: true, payload: pattern(1000)}),
			want: msgs(msg{ws.OpPing, "x"}, msg{binOp, string(pattern(3000)) + string(pattern(1000))})},
		{name: "5.x message after a fragmented one", in: stream(t, fragment(binOp, false, "a"), fragment(cont, true, "b"), text("c")), want: msgs(msg{binOp, "ab"}, msg{textOp, "c"})},

		// 6.x UTF-8 of text messages: incremental across fragments, fail fast.
		{name: "6.2.1 valid UTF-8 in one frame", in: stream(t, text("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!")), want: msgs(msg{textOp, "Hello-µ@ßöäüàá-UTF-8!!"})},
		{name: "6.2.3 valid UTF-8 in one-byte fragments", in: byteFragments(t, kosme), want: msgs(msg{textOp, kosme})},
		{name: "6.3.1 invalid UTF-8 in one frame", in: stream(t, text(invalidKosme)), err: ErrInvalidUTF8, code: 1007},
		{name: "6.3.2 invalid UTF-8 in one-byte fragments", in: byteFragments(t, invalidKosme), err: ErrInvalidUTF8, code: 1007},
		{name: "6.4.1 invalid UTF-8 in the first fragment", in: stream(t, fragment(textOp, false, kosme), fragment(cont, false, "\xf4\x90\x80\x80"), fragment(cont, true, "edited")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x character split between fragments", in: stream(t, fragment(textOp, false, "\xe2\x82"), fragment(cont, true, "\xac")), want: msgs(msg{textOp, "€"})},
		{name: "6.x bad continuation in next fragment", in: stream(t, fragment(textOp, false, "\xe2\x82"), fragment(cont, true, "(")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x message ends inside a character", in: stream(t, fragment(textOp, false, "a\xe2"), fragment(cont, true, "\x82")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x unfragmented text ends inside a character", in: stream(t, text("a\xf0\x9f\x98")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x surrogate U+D800", in: stream(t, text("\xed\xa0\x80")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x surrogate U+DFFF", in: stream(t, text("\xed\xbf\xbf")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x overlong slash C0 AF", in: stream(t, text("\xc0\xaf")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x overlong slash E0 80 AF", in: stream(t, text("\xe0\x80\xaf")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x overlong slash F0 80 80 AF", in: stream(t, text("\xf0\x80\x80\xaf")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x over U+10FFFF", in: stream(t, text("\xf4\x90\x80\x80")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x five-byte sequence", in: stream(t, text("\xf8\x88\x80\x80\x80")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x bytes FE FF", in: stream(t, text("\xfe\xff")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x lone continuation byte", in: stream(t, text("a\x80b")), err: ErrInvalidUTF8, code: 1007},
		{name: "6.x non-characters U+FFFE U+FFFF are valid", in: stream(t, text("\xef\xbf\xbe\xef\xbf\xbf")), want: msgs(msg{textOp, "\ufffe\uffff"})},
		{name: "6.x U+10FFFF and U+D7FF U+E000 are valid", in: stream(t, text("\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80")), want: msgs(msg{textOp, "\U0010ffff\ud7ff\ue000"})},
		{name: "6.x binary is not validated", in: stream(t, frame{fin: true, op: binOp, payload: []byte("\xed\xa0\x80\xff")}), want: msgs(msg{binOp, "\xed\xa0\x80\xff"})},

		// 7.x close frames.
		{name: "7.1.1 close with no payload", in: stream(t, closeFrame(nil)), want: msgs(msg{ws.OpClose, ""})},
		{name: "7.1.2 text after close is ignored", in: stream(t, closeFrame(closePayload(1000, "")), text("ignored")), want: msgs(msg{ws.OpClose, "\x03\xe8"})},
		{name: "7.1.3 ping after close is ignored", in: stream(t, closeFrame(nil), ping("ignored")), want: msgs(msg{ws.OpClose, ""})},
		{name: "7.1.4 garbage after close is ignored", in: append(stream(t, closeFrame(nil)), 0xff, 0x00, 0x13), want: msgs(msg{ws.OpClose, ""})},
		{name: "7.1.5 close between fragments ends the message", in: stream(t, fragment(textOp, false, "frag"), closeFrame(closePayload(1000, "")), fragment(cont, true, "ment")), want: msgs(msg{ws.OpClose, "\x03\xe8"})},
		{name: "7.3.2 close with one byte", in: stream(t, closeFrame([]byte{0x03})), err: ErrBadClosePayload, code: 1002},
		{name: "7.3.3 close with code only", in: stream(t, closeFrame(closePayload(1000, ""))), want: msgs(msg{ws.OpClose, "\x03\xe8"})},
		{name: "7.3.4 close with code and reason", in: stream(t, closeFrame(closePayload(1000, "Hello World!"))), want: msgs(msg{ws.OpClose, "\x03\xe8Hello World!"})},
		{name: "7.3.5 close with 123-byte reason", in: stream(t, closeFrame(closePayload(1000, repeat("*", 123)))), want: msgs(msg{ws.OpClose, "\x03\xe8" + repeat("*", 123)})},
		{name: "7.3.6 close with 124-byte reason", in: stream(t, closeFrame(closePayload(1000, repeat("*", 124)))), err: ErrControlTooLong, code: 1002},
		{name: "7.5.1 close reason not UTF-8", in: stream(t, closeFrame(closePayload(1000, invalidKosme))), err: ErrInvalidUTF8, code: 1007},
		{name: "7.x close unmasked", in: stream(t, frame{fin: true, op: ws.OpClose, unmasked: true}), err: ErrUnmasked, code: 1002},

		// 9.x and RFC 6455 section 10.4: the message size limit.
		{name: "9.x message at the limit", in: stream(t, binMsg(100)), max: 100, want: msgs(msg{binOp, string(pattern(100))})},
		{name: "9.x frame over the limit", in: stream(t, binMsg(101)), max: 100, err: ErrTooLarge, code: 1009},
		{name: "9.x fragments add up over the limit", in: stream(t, frame{op: textOp, payload: []byte(repeat("a", 60))}, frame{fin: true, payload: []byte(repeat("b", 41))}), max: 100, err: ErrTooLarge, code: 1009},
		{name: "9.x fragments add up to the limit", in: stream(t, frame{op: textOp, payload: []byte(repeat("a", 60))}, ping("p"), frame{fin: true, payload: []byte(repeat("b", 40))}), max: 100,
			want: msgs(msg{ws.OpPing, "p"}, msg{textOp, repeat("a", 60) + repeat("b", 40)})},
		{name: "9.x control frames do not count toward the limit", in: stream(t, frame{op: textOp, payload: []byte("0123456789")}, ping(repeat("p", 125)), frame{fin: true}), max: 10,
			want: msgs(msg{ws.OpPing, repeat("p", 125)}, msg{textOp, "0123456789"})},
		{name: "9.x default limit is 64 KiB", in: stream(t, binMsg(DefaultMaxMessage+1)), err: ErrTooLarge, code: 1009},
		{name: "9.x default limit accepts 64 KiB", in: stream(t, binMsg(DefaultMaxMessage)), want: msgs(msg{binOp, string(pattern(DefaultMaxMessage))})},

		// RFC 6455 section 5.1 and 5.3: client frames are masked.
		{name: "5.1 unmasked text", in: stream(t, frame{fin: true, op: textOp, unmasked: true, payload: []byte("x")}), err: ErrUnmasked, code: 1002},
		{name: "5.1 unmasked ping", in: stream(t, frame{fin: true, op: ws.OpPing, unmasked: true}), err: ErrUnmasked, code: 1002},
		{name: "5.1 unmasked continuation", in: stream(t, fragment(textOp, false, "a"), frame{fin: true, unmasked: true}), err: ErrUnmasked, code: 1002},

		// RFC 6455 section 5.2: minimal length encoding, 64-bit top bit.
		{name: "5.2 16-bit length 125 is not minimal", in: rawMasked(0x82, 126, binary16(125), pattern(125)), err: ErrNonMinimalLength, code: 1002},
		{name: "5.2 16-bit length 0 is not minimal", in: rawMasked(0x82, 126, binary16(0), nil), err: ErrNonMinimalLength, code: 1002},
		{name: "5.2 64-bit length 65535 is not minimal", in: rawMasked(0x82, 127, binary.BigEndian.AppendUint64(nil, 65535), pattern(65535)), max: big, err: ErrNonMinimalLength, code: 1002},
		{name: "5.2 64-bit length 1 is not minimal", in: rawMasked(0x81, 127, binary.BigEndian.AppendUint64(nil, 1), []byte("x")), err: ErrNonMinimalLength, code: 1002},
		{name: "5.2 64-bit length with top bit set", in: rawMasked(0x82, 127, binary.BigEndian.AppendUint64(nil, 1<<63|1<<20), nil), err: ErrLengthOverflow, code: 1002},
		{name: "5.2 64-bit length at most 2^63-1 is over the limit", in: rawMasked(0x82, 127, binary.BigEndian.AppendUint64(nil, 1<<63-1), nil), max: big, err: ErrTooLarge, code: 1009},
	}

	// 4.x reserved opcodes, for data (3-7) and control (11-15) frames.
	for op := ws.OpCode(3); op <= 15; op++ {
		if !op.IsReserved() {
			continue
		}
		id := "4.1.x"
		if op.IsControl() {
			id = "4.2.x"
		}
		cases = append(cases, decodeCase{
			name: fmt.Sprintf("%s reserved opcode %d", id, op),
			in:   stream(t, frame{fin: true, op: op, payload: []byte("r")}),
			err:  ErrReservedOpCode,
			code: 1002,
		})
	}

	// 7.7.x and 7.9.x close codes: valid ones are returned, invalid ones fail.
	for _, c := range validCodes {
		cases = append(cases, decodeCase{
			name: fmt.Sprintf("7.7.x close code %d is valid", c),
			in:   stream(t, closeFrame(closePayload(c, "bye"))),
			want: msgs(msg{ws.OpClose, string(closePayload(c, "bye"))}),
		})
	}
	for _, c := range invalidCodes {
		cases = append(cases, decodeCase{
			name: fmt.Sprintf("7.9.x close code %d is invalid", c),
			in:   stream(t, closeFrame(closePayload(c, ""))),
			err:  ErrBadClosePayload,
			code: 1002,
		})
	}
	return cases
}

// byteFragments encodes s as a text message with one byte per fragment.
func byteFragments(tb testing.TB, s string) []byte {
	tb.Helper()
	var fs []frame
	for i := range len(s) {
		op := ws.OpContinuation
		if i == 0 {
			op = ws.OpText
		}
		fs = append(fs, frame{fin: i == len(s)-1, op: op, payload: []byte{s[i]}})
	}
	return stream(tb, fs...)
}

// TestDecoderRules feeds every case whole, byte by byte and in random
// splits: each must give the same messages and error.
func TestDecoderRules(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range decodeCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			code := CloseCode(tc.err)
			if tc.err != nil && code != tc.code {
				t.Fatalf("CloseCode(%v) = %d, want %d", tc.err, code, tc.code)
			}
			feeds := map[string][][]byte{
				"whole":        whole(tc.in),
				"byte-by-byte": byteByByte(tc.in),
			}
			if len(tc.in) > 1<<16 {
				feeds["byte-by-byte"] = splitAt(tc.in, []int{1, 2, 3, 1000, 7})
			}
			for i := range 8 {
				feeds[fmt.Sprintf("random-%d", i)] = randomSplits(tc.in, r)
			}
			for feed, chunks := range feeds {
				got, err := decodeChunks(t, tc.max, chunks)
				if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
					t.Errorf("%s: error %v, want %v", feed, err, tc.err)
				}
				if !sameMsgs(got, tc.want) {
					t.Errorf("%s: messages\n got %v\nwant %v", feed, got, tc.want)
				}
			}
		})
	}
}

// TestDecoderControlBetweenFragments checks that a ping that arrives between
// two fragments is returned at once, before the message completes.
func TestDecoderControlBetweenFragments(t *testing.T) {
	var d Decoder
	first := clientFrame(t, fragment(ws.OpText, false, "Hello, "))
	m, n, err := d.Next(first)
	if err != nil || m.Op != 0 || n != len(first) {
		t.Fatalf("first fragment: Next = (%v, %d, %v), want nothing completed and all consumed", m.Op, n, err)
	}
	pingFrame := clientFrame(t, ping("are you there?"))
	m, n, err = d.Next(pingFrame)
	if err != nil || m.Op != ws.OpPing || string(m.Payload) != "are you there?" || n != len(pingFrame) {
		t.Fatalf("ping: Next = (%v, %q, %d, %v), want the ping", m.Op, m.Payload, n, err)
	}
	last := clientFrame(t, fragment(ws.OpContinuation, true, "world"))
	m, n, err = d.Next(last)
	if err != nil || m.Op != ws.OpText || string(m.Payload) != "Hello, world" || n != len(last) {
		t.Fatalf("last fragment: Next = (%v, %q, %d, %v), want the text", m.Op, m.Payload, n, err)
	}

	// The same with the ping split across chunks, its bytes buffered after
	// the open message's bytes.
	d.Reset()
	in := stream(t, fragment(ws.OpBinary, false, "abc"), ping("ping"), fragment(ws.OpContinuation, true, "def"))
	cut := len(clientFrame(t, fragment(ws.OpBinary, false, "abc"))) + 4 // inside the ping's mask
	m, n, err = d.Next(in[:cut])
	if err != nil || m.Op != 0 || n != cut {
		t.Fatalf("first chunk: Next = (%v, %d, %v)", m.Op, n, err)
	}
	rest := in[cut:]
	m, n, err = d.Next(rest)
	if err != nil || m.Op != ws.OpPing || string(m.Payload) != "ping" {
		t.Fatalf("second chunk: Next = (%v, %q, %v), want the ping", m.Op, m.Payload, err)
	}
	m, _, err = d.Next(rest[n:])
	if err != nil || m.Op != ws.OpBinary || string(m.Payload) != "abcdef" {
		t.Fatalf("after the ping: Next = (%v, %q, %v), want the binary", m.Op, m.Payload, err)
	}
}

// TestDecoderTooLargeFromHeader checks that 1009 is decided from the header,
// before any of the payload arrives.
func TestDecoderTooLargeFromHeader(t *testing.T) {
	t.Run("single frame", func(t *testing.T) {
		d := Decoder{MaxMessage: 1000}
		in := clientFrame(t, binMsg(1<<20))
		hlen := 2 + 8 + 4
		_, n, err := d.Next(in[:hlen])
		if !errors.Is(err, ErrTooLarge) || CloseCode(err) != 1009 {
			t.Fatalf("Next(header) error = %v (code %d), want ErrTooLarge (1009)", err, CloseCode(err))
		}
		if n > hlen {
			t.Fatalf("consumed %d bytes, more than the header", n)
		}
		if d.buf != nil {
			t.Fatalf("buffered %d bytes of a rejected frame", cap(d.buf))
		}
	})
	t.Run("header byte by byte", func(t *testing.T) {
		d := Decoder{MaxMessage: 1000}
		in := clientFrame(t, binMsg(1001))
		for i := range 2 + 2 + 4 {
			_, _, err := d.Next(in[i : i+1])
			last := i == 2+2+4-1
			if last != (err != nil) {
				t.Fatalf("header byte %d: error %v", i, err)
			}
			if last && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want ErrTooLarge", err)
			}
		}
	})
	t.Run("continuation crosses the limit", func(t *testing.T) {
		d := Decoder{MaxMessage: 1000}
		first := clientFrame(t, frame{op: ws.OpBinary, payload: pattern(600)})
		_, _, err := d.Next(first)
		if err != nil {
			t.Fatal(err)
		}
		second := clientFrame(t, frame{fin: true, payload: pattern(401)})
		_, _, err = d.Next(second[:2+2+4])
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v, want ErrTooLarge", err)
		}
	})
}

// TestDecoderUTF8FailFast checks that invalid text fails as soon as the
// bytes received cannot start valid UTF-8, inside a frame that is not
// complete yet.
func TestDecoderUTF8FailFast(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		chunks []int // chunk lengths; the last chunk must fail
	}{
		{
			name:   "invalid byte in the first chunk of a long frame",
			in:     clientFrame(t, text("valid text \xff"+repeat("x", 1000))),
			chunks: []int{4 + 4 + 12},
		},
		{
			name:   "surrogate split across chunks",
			in:     clientFrame(t, text("abc\xed\xa0\x80"+repeat("x", 1000))),
			chunks: []int{4 + 4 + 4, 1},
		},
		{
			name:   "overlong lead byte, frame cut after it",
			in:     clientFrame(t, text("\xc0more")),
			chunks: []int{2 + 4 + 1},
		},
		{
			name:   "first fragment invalid, the rest not sent",
			in:     stream(t, fragment(ws.OpText, false, "abc\xf5"), fragment(ws.OpContinuation, true, "d")),
			chunks: []int{2 + 4 + 4},
		},
		{
			name: "invalid byte in a continuation, message not complete",
			in: stream(t,
				fragment(ws.OpText, false, "\xe2\x82"),
				frame{payload: []byte("\xac\xe0\x80" + repeat("x", 200))}),
			chunks: []int{2 + 4 + 2, 4 + 4 + 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			in := bytes.Clone(tc.in)
			for i, l := range tc.chunks {
				m, n, err := d.Next(in[:l])
				in = in[l:]
				if i < len(tc.chunks)-1 {
					if err != nil || m.Op != 0 || n != l {
						t.Fatalf("chunk %d: Next = (%v, %d, %v), want nothing yet", i, m.Op, n, err)
					}
					continue
				}
				if !errors.Is(err, ErrInvalidUTF8) || CloseCode(err) != 1007 {
					t.Fatalf("chunk %d: error %v (code %d), want ErrInvalidUTF8 (1007)", i, err, CloseCode(err))
				}
			}
			if len(in) == 0 {
				t.Fatal("the test fed the whole frame: the failure was not early")
			}
		})
	}
}

// TestDecoderValidPrefixWaits checks that a chunk that ends inside a valid
// character does not fail.
func TestDecoderValidPrefixWaits(t *testing.T) {
	var d Decoder
	in := clientFrame(t, text("\xf0\x9f\x98\x80")) // U+1F600
	for i := range len(in) - 1 {
		m, _, err := d.Next(in[i : i+1])
		if err != nil || m.Op != 0 {
			t.Fatalf("byte %d: Next = (%v, %v), want nothing yet", i, m.Op, err)
		}
	}
	m, _, err := d.Next(in[len(in)-1:])
	if err != nil || m.Op != ws.OpText || string(m.Payload) != "\U0001F600" {
		t.Fatalf("last byte: Next = (%v, %q, %v), want the text", m.Op, m.Payload, err)
	}
}

// TestDecoderPayloadAliasesInput checks that a message that arrives whole is
// unmasked in place and not copied, and that a split one is not.
func TestDecoderPayloadAliasesInput(t *testing.T) {
	var d Decoder
	in := stream(t, text("hello"), ping("p"), binMsg(300))
	var got []Message
	for b := in; len(b) > 0; {
		m, n, err := d.Next(b)
		if err != nil {
			t.Fatal(err)
		}
		if !inside(m.Payload, in) {
			t.Errorf("%v payload does not alias the input", m.Op)
		}
		if cap(m.Payload) != len(m.Payload) {
			t.Errorf("%v payload has capacity %d beyond its length %d", m.Op, cap(m.Payload), len(m.Payload))
		}
		got = append(got, m)
		b = b[n:]
	}
	if len(got) != 3 || string(got[0].Payload) != "hello" || string(got[1].Payload) != "p" || !bytes.Equal(got[2].Payload, pattern(300)) {
		t.Fatalf("messages %v", got)
	}

	d.Reset()
	in = clientFrame(t, text("hello"))
	_, _, _ = d.Next(in[:7])
	m, _, err := d.Next(in[7:])
	if err != nil || string(m.Payload) != "hello" {
		t.Fatalf("split: Next = (%q, %v)", m.Payload, err)
	}
	if inside(m.Payload, in) {
		t.Error("payload of a split frame aliases the input")
	}
}

// inside reports whether p lies within b's memory.
func inside(p, b []byte) bool {
	if len(p) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	q := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return q >= start && q+uintptr(len(p)) <= start+uintptr(len(b))
}

// TestDecoderIdleHoldsNoBuffer checks that between messages the Decoder
// holds no heap memory, whatever path the last message took, and that its
// state is small.
func TestDecoderIdleHoldsNoBuffer(t *testing.T) {
	size := unsafe.Sizeof(Decoder{})
	t.Logf("Decoder: %d bytes", size)
	if size > 96 {
		t.Errorf("Decoder is %d bytes, want at most 96 (500k idle connections)", size)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{name: "split text", in: stream(t, text(repeat("x", 5000)))},
		{name: "fragmented binary", in: stream(t, frame{op: ws.OpBinary, payload: pattern(2000)}, frame{fin: true, payload: pattern(3000)})},
		{name: "ping between fragments", in: stream(t, frame{op: ws.OpText, payload: []byte("ab")}, ping("p"), frame{fin: true, payload: []byte("cd")})},
		{name: "split ping", in: stream(t, ping(repeat("p", 125)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var done int
			for _, c := range splitAt(tc.in, []int{7, 1000}) {
				for len(c) > 0 {
					m, n, err := d.Next(c)
					if err != nil {
						t.Fatal(err)
					}
					c = c[n:]
					if m.Op.IsData() && m.Op != 0 {
						done++
					}
				}
			}
			if done != 1 && !bytes.Contains([]byte(tc.name), []byte("ping")) {
				t.Fatalf("completed %d messages, want 1", done)
			}
			if d.buf != nil || d.nhdr != 0 || d.inFrame || d.msgOp != 0 {
				t.Fatalf("idle decoder holds state: buf cap %d, nhdr %d, inFrame %v, msgOp %d", cap(d.buf), d.nhdr, d.inFrame, d.msgOp)
			}
		})
	}
}

// TestDecoderBufferGrowsWithArrivals checks that the reassembly buffer
// follows the bytes that arrived, not the length the peer declared.
func TestDecoderBufferGrowsWithArrivals(t *testing.T) {
	const declared = 60000
	d := Decoder{MaxMessage: declared}
	in := clientFrame(t, binMsg(declared))
	const hlen = 2 + 2 + 4
	fed := hlen + 10
	_, _, err := d.Next(in[:fed])
	if err != nil {
		t.Fatal(err)
	}
	if cap(d.buf) > minBuffer {
		t.Fatalf("after 10 payload bytes of %d declared the buffer holds %d bytes", declared, cap(d.buf))
	}
	for fed < hlen+1000 {
		_, _, err = d.Next(in[fed : fed+10])
		if err != nil {
			t.Fatal(err)
		}
		fed += 10
	}
	if cap(d.buf) > 2*1000 {
		t.Fatalf("after 1000 payload bytes the buffer holds %d bytes", cap(d.buf))
	}
	m, _, err := d.Next(in[fed:])
	if err != nil || !bytes.Equal(m.Payload, pattern(declared)) {
		t.Fatalf("Next = (%d bytes, %v)", len(m.Payload), err)
	}
	if cap(m.Payload) > declared {
		t.Fatalf("buffer grew to %d bytes for a %d-byte message", cap(m.Payload), declared)
	}
}

// TestDecoderStickyError checks that after an error Next consumes nothing and
// returns the same error, and that Reset clears it.
func TestDecoderStickyError(t *testing.T) {
	var d Decoder
	bad := clientFrame(t, frame{fin: true, op: ws.OpText, unmasked: true})
	_, _, err := d.Next(bad)
	if !errors.Is(err, ErrUnmasked) {
		t.Fatalf("error %v, want ErrUnmasked", err)
	}
	good := clientFrame(t, text("ok"))
	m, n, err := d.Next(good)
	if !errors.Is(err, ErrUnmasked) || n != 0 || m.Op != 0 {
		t.Fatalf("after error: Next = (%v, %d, %v), want (0, 0, ErrUnmasked)", m.Op, n, err)
	}
	d.Reset()
	m, _, err = d.Next(good)
	if err != nil || string(m.Payload) != "ok" {
		t.Fatalf("after Reset: Next = (%q, %v)", m.Payload, err)
	}
}

// TestDecoderAfterClose checks that bytes after a Close are consumed and
// ignored, even invalid ones.
func TestDecoderAfterClose(t *testing.T) {
	var d Decoder
	in := stream(t, closeFrame(closePayload(1001, "going away")))
	m, n, err := d.Next(in)
	if err != nil || m.Op != ws.OpClose || n != len(in) {
		t.Fatalf("Next = (%v, %d, %v), want the close", m.Op, n, err)
	}
	code, reason, err := ParseClose(m.Payload)
	if err != nil || code != 1001 || string(reason) != "going away" {
		t.Fatalf("ParseClose = (%d, %q, %v)", code, reason, err)
	}
	junk := []byte{0x00, 0xff, 0x81}
	m, n, err = d.Next(junk)
	if err != nil || m.Op != 0 || n != len(junk) {
		t.Fatalf("after close: Next = (%v, %d, %v), want everything discarded", m.Op, n, err)
	}
}

// TestDecoderEmptyInput checks that Next on no bytes completes nothing,
// including in the middle of a header and of a payload.
func TestDecoderEmptyInput(t *testing.T) {
	var d Decoder
	in := clientFrame(t, text("hello"))
	for _, cut := range []int{0, 1, 3, 6, 8} {
		d.Reset()
		m, n, err := d.Next(in[:cut])
		if err != nil || m.Op != 0 || n != cut {
			t.Fatalf("cut %d: Next = (%v, %d, %v)", cut, m.Op, n, err)
		}
		m, n, err = d.Next(nil)
		if err != nil || m.Op != 0 || n != 0 {
			t.Fatalf("cut %d: Next(nil) = (%v, %d, %v)", cut, m.Op, n, err)
		}
	}
}

// TestDecoderMaskOffsets checks unmasking across chunks at every mask offset.
func TestDecoderMaskOffsets(t *testing.T) {
	payload := pattern(37)
	in := clientFrame(t, frame{fin: true, op: ws.OpBinary, payload: payload})
	for cut := 2; cut < len(in); cut++ {
		for cut2 := cut; cut2 < len(in); cut2 += 5 {
			chunks := [][]byte{bytes.Clone(in[:cut]), bytes.Clone(in[cut:cut2]), bytes.Clone(in[cut2:])}
			got, err := decodeChunks(t, 0, chunks)
			if err != nil || len(got) != 1 || got[0].payload != string(payload) {
				t.Fatalf("cuts %d,%d: %v %v", cut, cut2, got, err)
			}
		}
	}
}

func TestDecoderAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, size := range []int{0, 64, 4096} {
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			// A zero mask keeps the input valid however often it is unmasked.
			in := zeroMaskedText(size)
			var d Decoder
			allocs := testing.AllocsPerRun(100, func() {
				m, _, err := d.Next(in)
				if err != nil || m.Op != ws.OpText {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("Next on a whole %d-byte frame: %v allocations, want 0", size, allocs)
			}
		})
	}
}

// zeroMaskedText returns a masked text frame of n ASCII bytes whose masking
// key is zero: unmasking it in place leaves it unchanged, so benchmarks can
// feed it again and again and still pay for the unmasking.
func zeroMaskedText(n int) []byte {
	var buf bytes.Buffer
	h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Length: int64(n)}
	_ = ws.WriteHeader(&buf, h)
	buf.Write(bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n])
	return buf.Bytes()
}

func TestCloseCode(t *testing.T) {
	tests := []struct {
		err  error
		want ws.StatusCode
	}{
		{nil, ws.StatusNormalClosure},
		{ErrUnmasked, ws.StatusProtocolError},
		{ErrReservedBits, ws.StatusProtocolError},
		{ErrReservedOpCode, ws.StatusProtocolError},
		{ErrControlTooLong, ws.StatusProtocolError},
		{ErrControlFragmented, ws.StatusProtocolError},
		{ErrUnexpectedContinuation, ws.StatusProtocolError},
		{ErrExpectedContinuation, ws.StatusProtocolError},
		{ErrNonMinimalLength, ws.StatusProtocolError},
		{ErrLengthOverflow, ws.StatusProtocolError},
		{ErrTooLarge, ws.StatusMessageTooBig},
		{ErrInvalidUTF8, ws.StatusInvalidFramePayloadData},
		{ErrBadClosePayload, ws.StatusProtocolError},
		{ErrNeedMore, ws.StatusProtocolError},
		{fmt.Errorf("conn 7: %w", ErrTooLarge), ws.StatusMessageTooBig},
		{fmt.Errorf("conn 7: %w", ErrInvalidUTF8), ws.StatusInvalidFramePayloadData},
		{errors.New("something else"), ws.StatusProtocolError},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.err), func(t *testing.T) {
			if got := CloseCode(tc.err); got != tc.want {
				t.Fatalf("CloseCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

// FuzzDecoderSplit checks that any input cut at any points decodes to the
// same messages and error as the input fed whole, and fed byte by byte.
// cuts gives the chunk lengths, cycled.
func FuzzDecoderSplit(f *testing.F) {
	for i, tc := range decodeCases(f) {
		if len(tc.in) <= 1024 {
			f.Add(tc.in, []byte{byte(i % 7), 3, byte(i)})
		}
	}
	f.Add(stream(f, fragment(ws.OpText, false, "héllo"), ping("p"), fragment(ws.OpContinuation, true, "wörld")), []byte{9, 1, 200})
	f.Add(stream(f, binMsg(250)), []byte{14})           // over the fuzz limit
	f.Add(stream(f, text("a\xed\xa0\x80b")), []byte{7}) // fail fast inside a frame
	f.Fuzz(func(t *testing.T, data []byte, cuts []byte) {
		const maxMessage = 200
		lens := []int{1}
		if len(cuts) > 0 {
			lens = lens[:0]
			for _, c := range cuts {
				lens = append(lens, int(c))
			}
			lens = append(lens, 1)
		}
		want, wantErr := decodeChunks(t, maxMessage, whole(data))
		feeds := map[string][][]byte{"split": splitAt(data, lens)}
		if len(data) <= 4096 {
			feeds["byte-by-byte"] = byteByByte(data)
		}
		for name, chunks := range feeds {
			got, err := decodeChunks(t, maxMessage, chunks)
			if err != wantErr || !sameMsgs(got, want) {
				t.Fatalf("%s: (%v, %v), whole: (%v, %v)", name, got, err, want, wantErr)
			}
		}
		for _, m := range want {
			if m.op == ws.OpText && !utf8.ValidString(m.payload) {
				t.Fatalf("text message is not UTF-8: %v", m)
			}
			if m.op.IsControl() && len(m.payload) > 125 || len(m.payload) > maxMessage {
				t.Fatalf("message over its limit: %v", m)
			}
		}
	})
}

func BenchmarkDecoderNext(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("op=text/size=%d/chunk=whole", size), func(b *testing.B) {
			in := zeroMaskedText(size)
			var d Decoder
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				m, n, err := d.Next(in)
				if err != nil || n != len(in) || len(m.Payload) != size {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("op=binary/size=%d/chunk=whole", size), func(b *testing.B) {
			in := clientFrame(b, binMsg(size))
			var d Decoder
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				// Unmasking twice restores the masked bytes: binary is not
				// validated, so the same input serves every iteration.
				m, n, err := d.Next(in)
				if err != nil || n != len(in) || len(m.Payload) != size {
					b.Fatal(err)
				}
			}
		})
	}
	// A frame that spans TCP chunks goes through the reassembly buffer, which
	// is allocated per message and released when it completes.
	b.Run("op=text/size=4096/chunk=1460", func(b *testing.B) {
		in := clientFrame(b, text(strings.Repeat("0123456789abcdef", 256)))
		chunks := splitAt(in, []int{1460})
		var d Decoder
		b.SetBytes(4096)
		b.ReportAllocs()
		for b.Loop() {
			var m Message
			for _, c := range chunks {
				var err error
				m, _, err = d.Next(c) // the buffered path leaves c untouched
				if err != nil {
					b.Fatal(err)
				}
			}
			if len(m.Payload) != 4096 {
				b.Fatal("no message")
			}
		}
	})
}
