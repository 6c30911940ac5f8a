package wsframe

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// utf8Vectors are UTF-8 test vectors in the spirit of Autobahn's 6.x cases
// (from Markus Kuhn's UTF-8 decoder stress test): boundaries, overlongs,
// surrogates, non-characters, truncations.
var utf8Vectors = []struct {
	name string
	s    string
}{
	{"empty", ""},
	{"ascii", "Hello, world!"},
	{"kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"},
	{"first 1-byte U+0000", "\x00"},
	{"first 2-byte U+0080", "\xc2\x80"},
	{"first 3-byte U+0800", "\xe0\xa0\x80"},
	{"first 4-byte U+10000", "\xf0\x90\x80\x80"},
	{"last 1-byte U+007F", "\x7f"},
	{"last 2-byte U+07FF", "\xdf\xbf"},
	{"last 3-byte U+FFFF", "\xef\xbf\xbf"},
	{"U+FFFE", "\xef\xbf\xbe"},
	{"U+D7FF", "\xed\x9f\xbf"},
	{"U+E000", "\xee\x80\x80"},
	{"U+FFFD", "\xef\xbf\xbd"},
	{"U+10FFFF", "\xf4\x8f\xbf\xbf"},
	{"U+40000", "\xf1\x80\x80\x80"},
	{"U+FFFFF", "\xf3\xbf\xbf\xbf"},
	{"truncated F3", "\xf3\xbf"},
	{"U+110000", "\xf4\x90\x80\x80"},
	{"5-byte U+200000", "\xf8\x88\x80\x80\x80"},
	{"6-byte", "\xfc\x84\x80\x80\x80\x80"},
	{"lone continuation 80", "\x80"},
	{"lone continuation BF", "\xbf"},
	{"continuations after ascii", "a\x80\xbf"},
	{"lead bytes with spaces", "\xc0 \xc1 \xe0 "},
	{"truncated 2-byte", "\xc2"},
	{"truncated 3-byte", "\xe0\xa0"},
	{"truncated 4-byte", "\xf0\x90\x80"},
	{"truncated then ascii", "\xf0\x90\x80a"},
	{"FE", "\xfe"},
	{"FF", "\xff"},
	{"overlong / 2-byte", "\xc0\xaf"},
	{"overlong / 3-byte", "\xe0\x80\xaf"},
	{"overlong / 4-byte", "\xf0\x80\x80\xaf"},
	{"overlong max 2-byte", "\xc1\xbf"},
	{"overlong max 3-byte", "\xe0\x9f\xbf"},
	{"overlong max 4-byte", "\xf0\x8f\xbf\xbf"},
	{"surrogate U+D800", "\xed\xa0\x80"},
	{"surrogate U+DB7F", "\xed\xad\xbf"},
	{"surrogate U+DFFF", "\xed\xbf\xbf"},
	{"surrogate pair", "\xed\xa0\x80\xed\xb0\x80"},
	{"F5 lead", "\xf5\x80\x80\x80"},
	{"long valid mixed", strings.Repeat("aé€😀", 50)},
	{"long valid then invalid", strings.Repeat("aé€😀", 50) + "\xed\xa0\x80"},
}

// validPrefix reports whether s can be extended to valid UTF-8: it is valid
// whole characters followed by the proper start of one more character. It
// is the specification of UTF8.Write, written independently of it.
func validPrefix(s []byte) bool {
	for k := 0; k <= 3 && k <= len(s); k++ {
		head, tail := s[:len(s)-k], s[len(s)-k:]
		if utf8.Valid(head) && (k == 0 || runePrefix(tail)) {
			return true
		}
	}
	return false
}

// runePrefix reports whether t (1-3 bytes) is a proper prefix of the
// encoding of one character. Only the second byte of a sequence has a range
// narrower than 80-BF, so trying every second byte and padding with 80 finds
// a completion if there is one.
func runePrefix(t []byte) bool {
	var c [4]byte
	copy(c[:], t)
	for size := len(t) + 1; size <= 4; size++ {
		for x := 0x80; x <= 0xbf; x++ {
			c[len(t)] = byte(x)
			for i := len(t) + 1; i < size; i++ {
				c[i] = 0x80
			}
			if utf8.Valid(c[:size]) && utf8.RuneCount(c[:size]) == 1 {
				return true
			}
		}
	}
	return false
}

// longestValidPrefix returns the length of the longest prefix of s that is a
// valid prefix. Being a valid prefix is inherited by shorter prefixes, so a
// binary search over validPrefix finds it.
func longestValidPrefix(s []byte) int {
	lo, hi := 0, len(s) // s[:lo] is a valid prefix; the answer is in [lo, hi]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if validPrefix(s[:mid]) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// checkUTF8Split writes s to a UTF8 in the given chunks and checks every
// answer against validPrefix and the end against utf8.Valid.
func checkUTF8Split(t *testing.T, s []byte, chunks [][]byte) {
	t.Helper()
	valid := longestValidPrefix(s)
	var v UTF8
	written := 0
	for _, c := range chunks {
		written += len(c)
		got := v.Write(c)
		if want := written <= valid; got != want {
			t.Fatalf("%x split %x: Write after %d bytes = %v, want %v", s, chunks, written, got, want)
		}
	}
	if got, want := v.Complete(), utf8.Valid(s); got != want {
		t.Fatalf("%x split %x: Complete = %v, utf8.Valid = %v", s, chunks, got, want)
	}
}

func TestUTF8(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range utf8Vectors {
		t.Run(tc.name, func(t *testing.T) {
			s := []byte(tc.s)
			checkUTF8Split(t, s, [][]byte{s})
			checkUTF8Split(t, s, splitAt(s, []int{1}))
			for i := range len(s) + 1 {
				checkUTF8Split(t, s, [][]byte{s[:i], s[i:]})
			}
			for range 20 {
				checkUTF8Split(t, s, randomSplits(s, r))
			}
		})
	}
}

// TestUTF8FailsAtFirstBadByte checks fail-fast byte by byte: Write turns
// false exactly at the first byte after which no continuation is valid.
func TestUTF8FailsAtFirstBadByte(t *testing.T) {
	tests := []struct {
		s   string
		bad int // index of the first byte that makes s invalid, -1 if none
	}{
		{"abc", -1},
		{"ab\xed\xa0\x80", 3},     // ED is fine, A0 makes a surrogate
		{"\xe0\x80", 1},           // overlong
		{"\xc0", 0},               // C0 starts only overlongs
		{"\xf4\x90", 1},           // over U+10FFFF
		{"\xf4\x8f\xbf", -1},      // truncated but a valid prefix
		{"\xe2\x82\xac\x80", 3},   // stray continuation
		{"\xe2\x82(", 2},          // ASCII inside a sequence
		{"\xef\xbf\xbe\xff", 3},   // U+FFFE fine, FF never
		{"\xf0\x9f\x98\x80x", -1}, // U+1F600
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.s), func(t *testing.T) {
			var v UTF8
			for i := range len(tc.s) {
				ok := v.Write([]byte{tc.s[i]})
				if want := tc.bad < 0 || i < tc.bad; ok != want {
					t.Fatalf("Write(byte %d = %#x) = %v, want %v", i, tc.s[i], ok, want)
				}
			}
			v.Reset()
			if !v.Write([]byte("ok")) || !v.Complete() {
				t.Fatal("Reset did not clear the state")
			}
		})
	}
}

// FuzzUTF8 checks that under any split UTF8 agrees with utf8.Valid on the
// whole input and that Write's answer is exactly "a valid prefix so far".
func FuzzUTF8(f *testing.F) {
	for _, v := range utf8Vectors {
		f.Add([]byte(v.s), []byte{1, 2, 3})
	}
	f.Add([]byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"), []byte{5, 0, 7})
	f.Add([]byte(strings.Repeat("x", 40)+"\xf0\x9f\x98"), []byte{39, 2})
	f.Fuzz(func(t *testing.T, s []byte, cuts []byte) {
		lens := []int{len(s) + 1}
		if len(cuts) > 0 {
			lens = lens[:0]
			for _, c := range cuts {
				lens = append(lens, int(c)%(len(s)+1))
			}
			lens = append(lens, 1)
		}
		checkUTF8Split(t, s, splitAt(s, lens))
	})
}

func BenchmarkUTF8Write(b *testing.B) {
	inputs := []struct {
		name string
		s    string
	}{
		{"ascii", strings.Repeat("0123456789abcdef", 256)},
		{"mixed", strings.Repeat("aé€😀", 409) + "aé€"}, // 4096 bytes
	}
	for _, in := range inputs {
		for _, chunk := range []int{4096, 1460} {
			p := []byte(in.s)
			b.Run(fmt.Sprintf("text=%s/size=%d/chunk=%d", in.name, len(p), chunk), func(b *testing.B) {
				b.SetBytes(int64(len(p)))
				b.ReportAllocs()
				for b.Loop() {
					var v UTF8
					for rest := p; len(rest) > 0; {
						n := min(chunk, len(rest))
						v.Write(rest[:n])
						rest = rest[n:]
					}
					if !v.Complete() {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}
