package webhook

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// BenchmarkMessageEvent is the gateway's cost per message event before it
// is queued: the JSON encoding of the event with its client snapshot.
func BenchmarkMessageEvent(b *testing.B) {
	s, err := New(Config{URL: "http://127.0.0.1:1/", Secrets: []string{testSecret}, Node: "n1", Events: ClientTypes})
	if err != nil {
		b.Fatal(err)
	}
	c := &Client{ID: "5b0c3f4e-8a0e-4d55-9a4e-0d6f4c1f9a01", UID: "user-42", Groups: []string{"room-1", "room-2"},
		Session: json.RawMessage(`{"plan":"pro"}`), RemoteAddr: "127.0.0.2:40123"}
	for _, size := range []int{64, 1024} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			data := bytes.Repeat([]byte("x"), size)
			var n int
			b.ReportAllocs()
			for b.Loop() {
				n = len(s.messageEvent(c, true, data))
			}
			b.ReportMetric(float64(n), "bytes/event")
		})
	}
}

// BenchmarkSignBatch is the signing cost of a full batch (maxBatchEvents
// message events of 64 bytes), reported per event.
func BenchmarkSignBatch(b *testing.B) {
	s, err := New(Config{URL: "http://127.0.0.1:1/", Secrets: []string{testSecret}, Node: "n1", Events: ClientTypes})
	if err != nil {
		b.Fatal(err)
	}
	ev := s.messageEvent(&Client{ID: "5b0c3f4e-8a0e-4d55-9a4e-0d6f4c1f9a01", RemoteAddr: "127.0.0.2:40123"}, true, bytes.Repeat([]byte("x"), 64))
	body := append(bytes.Repeat(append(ev, ','), maxBatchEvents), "]}"...)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		signature(s.keys, "n1-m1", 1700000000, body)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/maxBatchEvents, "ns/event")
}
