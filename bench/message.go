//go:build linux

package bench

import "strconv"

// A bench message is the text "t=<unix ns> s=<seq> k=<stream> " padded with
// '.' to the requested size. t is the send time (taken just before the API
// call), s the message's sequence number within its stream, k the stream:
// the group, uid or client the message was addressed to (0 for broadcasts).
// Only JSON-safe ASCII is used, so the text goes into a JSON string as is.

// message is a parsed bench message.
type message struct {
	sentNS int64
	seq    uint32
	stream int32
}

// appendMessage appends a bench message of at least size bytes to dst.
func appendMessage(dst []byte, m message, size int) []byte {
	start := len(dst)
	dst = append(dst, "t="...)
	dst = strconv.AppendInt(dst, m.sentNS, 10)
	dst = append(dst, " s="...)
	dst = strconv.AppendUint(dst, uint64(m.seq), 10)
	dst = append(dst, " k="...)
	dst = strconv.AppendInt(dst, int64(m.stream), 10)
	dst = append(dst, ' ')
	for len(dst)-start < size {
		dst = append(dst, '.')
	}
	return dst
}

// parseMessage parses a bench message without allocating; ok is false for
// any other text.
func parseMessage(b []byte) (m message, ok bool) {
	var t, s, k uint64
	if b, ok = field(b, 't', &t); !ok {
		return m, false
	}
	if b, ok = field(b, 's', &s); !ok || s > 1<<32-1 {
		return m, false
	}
	if _, ok = field(b, 'k', &k); !ok || k > 1<<31-1 || t > 1<<63-1 {
		return m, false
	}
	return message{sentNS: int64(t), seq: uint32(s), stream: int32(k)}, true
}

// field parses "<name>=<digits> " at the start of b into v and returns the
// rest after the space.
func field(b []byte, name byte, v *uint64) ([]byte, bool) {
	if len(b) < 4 || b[0] != name || b[1] != '=' {
		return b, false
	}
	var n uint64
	for i := 2; i < len(b) && i < 22; i++ {
		c := b[i]
		if c == ' ' && i > 2 {
			*v = n
			return b[i+1:], true
		}
		if c < '0' || c > '9' {
			return b, false
		}
		n = n*10 + uint64(c-'0')
	}
	return b, false
}
