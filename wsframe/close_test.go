package wsframe

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Close codes by RFC 6455 section 7.4 (and the IANA registry for 1012-1014).
var (
	validCodes = []ws.StatusCode{
		1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
		3000, 3999, 4000, 4999,
	}
	invalidCodes = []ws.StatusCode{
		0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
		5000, 65535,
	}
)

func TestParseClose(t *testing.T) {
	type result struct {
		code   ws.StatusCode
		reason string
		err    error
	}
	tests := []struct {
		name string
		in   []byte
		want result
	}{
		{name: "empty: no status", in: nil, want: result{code: 1005}},
		{name: "one byte", in: []byte{0x03}, want: result{err: ErrBadClosePayload}},
		{name: "126 bytes: over the control frame limit", in: closePayload(1000, strings.Repeat("r", 124)), want: result{err: ErrBadClosePayload}},
		{name: "code only", in: closePayload(1000, ""), want: result{code: 1000}},
		{name: "code and reason", in: closePayload(1001, "bye"), want: result{code: 1001, reason: "bye"}},
		{name: "123-byte reason", in: closePayload(4000, strings.Repeat("r", 123)), want: result{code: 4000, reason: strings.Repeat("r", 123)}},
		{name: "multibyte reason", in: closePayload(1000, "κόσμε"), want: result{code: 1000, reason: "κόσμε"}},
		{name: "reason not UTF-8", in: closePayload(1000, "\xce\xba\xed\xa0\x80"), want: result{err: ErrInvalidUTF8}},
		{name: "reason cut inside a character", in: closePayload(1000, "\xce"), want: result{err: ErrInvalidUTF8}},
		{name: "invalid code with invalid reason: code first", in: closePayload(1005, "\xff"), want: result{err: ErrBadClosePayload}},
	}
	for _, c := range validCodes {
		tests = append(tests, struct {
			name string
			in   []byte
			want result
		}{name: fmt.Sprintf("valid code %d", c), in: closePayload(c, "x"), want: result{code: c, reason: "x"}})
	}
	for _, c := range invalidCodes {
		tests = append(tests, struct {
			name string
			in   []byte
			want result
		}{name: fmt.Sprintf("invalid code %d", c), in: closePayload(c, ""), want: result{err: ErrBadClosePayload}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, err := ParseClose(tc.in)
			got := result{code: code, reason: string(reason), err: err}
			if got != tc.want {
				t.Fatalf("ParseClose(%x) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// wantCloseValid is the close payload rule spelled out independently of
// ParseClose, for the fuzzer.
func wantCloseValid(p []byte) (ok bool, err error) {
	if len(p) == 0 {
		return true, nil
	}
	if len(p) == 1 || len(p) > 125 {
		return false, ErrBadClosePayload
	}
	code := int(p[0])<<8 | int(p[1])
	valid := false
	for _, c := range validCodeRanges {
		if c[0] <= code && code <= c[1] {
			valid = true
		}
	}
	if !valid {
		return false, ErrBadClosePayload
	}
	if !utf8.Valid(p[2:]) {
		return false, ErrInvalidUTF8
	}
	return true, nil
}

var validCodeRanges = [][2]int{{1000, 1003}, {1007, 1014}, {3000, 4999}}

func FuzzParseClose(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x03})
	f.Add(closePayload(1000, ""))
	f.Add(closePayload(1001, "going away"))
	f.Add(closePayload(1005, ""))
	f.Add(closePayload(1006, "x"))
	f.Add(closePayload(1015, ""))
	f.Add(closePayload(2999, ""))
	f.Add(closePayload(3000, "κόσμε"))
	f.Add(closePayload(4999, ""))
	f.Add(closePayload(5000, ""))
	f.Add(closePayload(1000, "\xed\xa0\x80"))
	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, err := ParseClose(p)
		ok, wantErr := wantCloseValid(p)
		if (err == nil) != ok || !errors.Is(err, wantErr) && wantErr != nil {
			t.Fatalf("ParseClose(%x) error %v, want %v", p, err, wantErr)
		}
		if !ok {
			if code != 0 || reason != nil {
				t.Fatalf("ParseClose(%x) = (%d, %q) with error %v", p, code, reason, err)
			}
			return
		}
		if len(p) == 0 {
			if code != ws.StatusNoStatusRcvd || len(reason) != 0 {
				t.Fatalf("ParseClose(empty) = (%d, %q)", code, reason)
			}
			return
		}
		if int(code) != int(p[0])<<8|int(p[1]) || !bytes.Equal(reason, p[2:]) {
			t.Fatalf("ParseClose(%x) = (%d, %q)", p, code, reason)
		}
		// What ParseClose accepts, AppendClose sends back unchanged.
		out := AppendClose(nil, code, string(reason))
		h, n, err := ParseHeader(out)
		if err != nil || h.OpCode != ws.OpClose || !bytes.Equal(out[n:], p) {
			t.Fatalf("AppendClose(%d, %q) = %x", code, reason, out)
		}
	})
}

func TestAppendClose(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes, two per character
	tests := []struct {
		name    string
		code    ws.StatusCode
		reason  string
		payload []byte
	}{
		{name: "normal", code: 1000, reason: "", payload: closePayload(1000, "")},
		{name: "with reason", code: 1001, reason: "shutting down", payload: closePayload(1001, "shutting down")},
		{name: "123-byte reason kept", code: 4000, reason: strings.Repeat("r", 123), payload: closePayload(4000, strings.Repeat("r", 123))},
		{name: "124-byte reason cut", code: 4000, reason: strings.Repeat("r", 124), payload: closePayload(4000, strings.Repeat("r", 123))},
		{name: "reason cut at a character boundary", code: 1008, reason: long, payload: closePayload(1008, strings.Repeat("é", 61))},
		{name: "4-byte characters cut", code: 1008, reason: strings.Repeat("😀", 40), payload: closePayload(1008, strings.Repeat("😀", 30))},
		{name: "reason not UTF-8 left out", code: 1011, reason: "bad \xff", payload: closePayload(1011, "")},
		{name: "1005 never on the wire", code: 1005, reason: "x", payload: nil},
		{name: "1006 never on the wire", code: 1006, reason: "", payload: nil},
		{name: "1015 never on the wire", code: 1015, reason: "", payload: nil},
		{name: "0 never on the wire", code: 0, reason: "", payload: nil},
		{name: "5000 never on the wire", code: 5000, reason: "", payload: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := AppendClose([]byte("prefix"), tc.code, tc.reason)
			if !bytes.HasPrefix(out, []byte("prefix")) {
				t.Fatal("AppendClose lost dst")
			}
			out = out[len("prefix"):]
			h := checkServerFrameBytes(t, out)
			if h.OpCode != ws.OpClose {
				t.Fatalf("opcode %d", h.OpCode)
			}
			p := out[len(out)-int(h.Length):]
			if !bytes.Equal(p, tc.payload) {
				t.Fatalf("payload %q, want %q", p, tc.payload)
			}
			if _, _, err := ParseClose(p); err != nil {
				t.Fatalf("ParseClose of our own close: %v", err)
			}
		})
	}
}

func TestAppendCloseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	dst := make([]byte, 0, 128)
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendClose(dst[:0], ws.StatusGoingAway, "server shutting down")
	})
	if allocs != 0 {
		t.Fatalf("AppendClose: %v allocations, want 0", allocs)
	}
}
