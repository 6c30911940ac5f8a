package metrics

import (
	"testing"
	"time"
)

// BenchmarkObserveRequest is what metrics add to every API request.
func BenchmarkObserveRequest(b *testing.B) {
	r := New()
	b.ReportAllocs()
	for b.Loop() {
		r.ObserveRequest("/send/client", 200, 40*time.Microsecond)
	}
}
