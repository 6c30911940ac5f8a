//go:build linux

package bench

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestBucketBoundsCoverEveryValue(t *testing.T) {
	prevHi := uint64(0)
	for i := range histBuckets {
		lo, hi := bucketBounds(i)
		if i > 0 && lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: bounds [%d, %d] map to %d, %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if lo >= histExact && float64(hi-lo+1)/float64(lo) > 1.0/histSub+1e-9 {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its value", i, lo, hi, histSub)
		}
		prevHi = hi
	}
	if bucketOf(math.MaxUint64) != histBuckets-1 {
		t.Errorf("huge values must land in the last bucket")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"single", []time.Duration{7 * time.Millisecond}, 0.99, 7 * time.Millisecond},
		{"exact below 64us", []time.Duration{10 * time.Microsecond, 20 * time.Microsecond, 30 * time.Microsecond}, 0.5, 20 * time.Microsecond},
		{"uniform p50", uniform(10000), 0.50, 5000 * time.Microsecond},
		{"uniform p90", uniform(10000), 0.90, 9000 * time.Microsecond},
		{"uniform p99", uniform(10000), 0.99, 9900 * time.Microsecond},
		{"q=1 is the max", uniform(10000), 1, 10000 * time.Microsecond},
		{"q=0 is the min", uniform(10000), 0, 1 * time.Microsecond},
		{"negative counts as 0", []time.Duration{-time.Second}, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			for _, v := range tt.values {
				r.record(v)
			}
			h := r.snapshot()
			got := h.Quantile(tt.q)
			if d := math.Abs(float64(got - tt.want)); d > float64(tt.want)/histSub+float64(time.Microsecond) {
				t.Errorf("Quantile(%v) = %v, want %v within %.1f%%", tt.q, got, tt.want, 100.0/histSub)
			}
		})
	}
}

func uniform(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Microsecond
	}
	return out
}

func TestHistogramAddSubJSON(t *testing.T) {
	var r recorder
	for _, v := range uniform(100) {
		r.record(v)
	}
	first := r.snapshot()
	for i := range 100 {
		r.record(time.Duration(1000+i) * time.Millisecond)
	}
	second := r.snapshot()
	d := second.Sub(&first)
	if d.Count != 100 || d.MinUS < 990_000 || d.MaxUS < 1_099_000 {
		t.Errorf("Sub: count %d min %d max %d, want the second 100 values", d.Count, d.MinUS, d.MaxUS)
	}
	var sum Histogram
	sum.Add(&first)
	sum.Add(&d)
	if sum.Count != second.Count || sum.Buckets != second.Buckets || sum.MinUS != 1 {
		t.Errorf("Add(first, Sub) != second")
	}
	b, err := json.Marshal(second)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != second {
		t.Errorf("JSON round trip changed the histogram")
	}
	if err := json.Unmarshal([]byte(`{"buckets":[[99999,1]]}`), &back); err == nil {
		t.Errorf("out-of-range bucket accepted")
	}
}
