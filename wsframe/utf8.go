package wsframe

import "unicode/utf8"

// UTF8 validates UTF-8 incrementally, for text that arrives in pieces
// (RFC 6455 section 5.6 and 8.1: a text message is UTF-8 as a whole, its
// fragments and TCP chunks may split a character). It fails fast: Write
// reports false as soon as the bytes written so far cannot be the start of
// valid UTF-8. It agrees with utf8.Valid on the concatenation of everything
// written, however it is split: surrogates (U+D800-U+DFFF), overlong forms and
// values over U+10FFFF are invalid, non-characters such as U+FFFE are valid.
//
// The zero value is ready to use. Its state is four bytes.
type UTF8 struct {
	need   uint8 // continuation bytes still expected for the current character
	lo, hi uint8 // range of the next continuation byte
	bad    bool  // sticky: the input can no longer become valid
}

// Write adds p to the text validated so far. It reports false once the text
// cannot be a prefix of valid UTF-8, and from then on until Reset.
func (v *UTF8) Write(p []byte) bool {
	if v.bad {
		return false
	}
	// Finish a character split by the previous write.
	for v.need > 0 && len(p) > 0 {
		if !v.step(p[0]) {
			return false
		}
		p = p[1:]
	}
	if len(p) == 0 {
		return true
	}
	// The bulk goes through utf8.Valid, which is much faster than a byte
	// at a time on ASCII; only a character cut by the end of p goes through
	// the state machine.
	cut := completePrefix(p)
	if !utf8.Valid(p[:cut]) {
		v.bad = true
		return false
	}
	for _, c := range p[cut:] {
		if !v.step(c) {
			return false
		}
	}
	return true
}

// Complete reports whether the text written so far is valid UTF-8 that does
// not end inside a character: whether a message could end here.
func (v *UTF8) Complete() bool { return !v.bad && v.need == 0 }

// Reset forgets everything written, for the next message.
func (v *UTF8) Reset() { *v = UTF8{} }

// step feeds one byte to the state machine (Unicode 15, table 3-7 "Well-Formed
// UTF-8 Byte Sequences"), setting bad when c makes the text invalid.
func (v *UTF8) step(c byte) bool {
	if v.need > 0 {
		if c < v.lo || c > v.hi {
			v.bad = true
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xbf
		return true
	}
	switch {
	case c < 0x80:
		return true
	case c < 0xc2: // continuation byte, or C0/C1 which start only overlong forms
		v.bad = true
		return false
	case c < 0xe0:
		v.need, v.lo, v.hi = 1, 0x80, 0xbf
	case c == 0xe0: // E0 80..9F would be overlong
		v.need, v.lo, v.hi = 2, 0xa0, 0xbf
	case c == 0xed: // ED A0..BF would be a surrogate
		v.need, v.lo, v.hi = 2, 0x80, 0x9f
	case c < 0xf0:
		v.need, v.lo, v.hi = 2, 0x80, 0xbf
	case c == 0xf0: // F0 80..8F would be overlong
		v.need, v.lo, v.hi = 3, 0x90, 0xbf
	case c < 0xf4:
		v.need, v.lo, v.hi = 3, 0x80, 0xbf
	case c == 0xf4: // F4 90.. would be over U+10FFFF
		v.need, v.lo, v.hi = 3, 0x80, 0x8f
	default:
		v.bad = true
		return false
	}
	return true
}

// completePrefix returns the length of p without a character cut by its end:
// p[:cut] holds whole characters (or is invalid) and p[cut:] is the start of
// a character, at most three bytes. len(p) > 0.
func completePrefix(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		c := p[i]
		if utf8.RuneStart(c) {
			if i+seqLen(c) > len(p) {
				return i
			}
			return len(p)
		}
	}
	return len(p)
}

// seqLen returns the length of the sequence that leading byte c announces.
// Bytes that never lead a valid sequence count as 1 so utf8.Valid rejects them.
func seqLen(c byte) int {
	switch {
	case c < 0xc0:
		return 1
	case c < 0xe0:
		return 2
	case c < 0xf0:
		return 3
	case c < 0xf8:
		return 4
	default:
		return 1
	}
}
