//go:build linux

package bench

import (
	"testing"
)

// BenchmarkDelivery measures the harness's own per-delivery work: frame
// header, message parse and duplicate check (no syscalls). It must not
// allocate.
func BenchmarkDelivery(b *testing.B) {
	frame := appendMessage(nil, message{sentNS: 1732550000123456789, seq: 0, stream: 7}, 64)
	frame = append([]byte{0x81, byte(len(frame))}, frame...)
	var w seqWindow
	b.ReportAllocs()
	var seq uint32
	for b.Loop() {
		h, ok, err := parseHeader(frame)
		if !ok || err != nil {
			b.Fatal("bad header")
		}
		m, ok := parseMessage(frame[h.size:])
		if !ok {
			b.Fatal("bad message")
		}
		w.add(m.seq + seq)
		seq++
	}
}

// BenchmarkClientFrame measures building one masked heartbeat frame.
func BenchmarkClientFrame(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendClientFrame(buf[:0], opText, pingText, [4]byte{1, 2, 3, 4})
	}
}
