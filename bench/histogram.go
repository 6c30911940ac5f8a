//go:build linux

package bench

import (
	"encoding/json"
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram layout: values are microseconds, exact below 64 us, then 32
// buckets per power of two, so a bucket is at most 1/32 (about 3%) of its
// value wide. Values above histMaxUS land in the last bucket.
const (
	histExact   = 64
	histSub     = histExact / 2
	histMaxUS   = 1<<40 - 1 // about 12.7 days
	histBuckets = (bitsLenMax-6)*histSub + histExact
	bitsLenMax  = 40
)

// bucketOf returns the bucket index of a value in microseconds.
func bucketOf(us uint64) int {
	if us < histExact {
		return int(us)
	}
	if us > histMaxUS {
		us = histMaxUS
	}
	e := bits.Len64(us) - 6
	return e*histSub + int(us>>e)
}

// bucketBounds returns the smallest and largest value of bucket i.
func bucketBounds(i int) (lo, hi uint64) {
	if i < histExact {
		return uint64(i), uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i - e*histSub)
	return m << e, (m+1)<<e - 1
}

// Histogram is a snapshot of durations counted in log-linear buckets of
// microseconds; a percentile read from it is within about 3% of the true
// value (exact below 64 us). Min and Max are exact for a recorded snapshot and
// bucket bounds for a difference (Sub). The zero value is empty. A Histogram
// is a plain value: not safe for concurrent mutation; recording goes through
// a recorder.
type Histogram struct {
	Count   uint64
	SumUS   uint64
	MinUS   uint64
	MaxUS   uint64
	Buckets [histBuckets]uint64
}

// Quantile returns the value at quantile q in [0, 1]: the midpoint of the
// bucket holding the ceil(q*Count)-th smallest value, clamped to [Min, Max].
// It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.Count)))
	rank = min(max(rank, 1), h.Count)
	var seen uint64
	for i, n := range h.Buckets {
		seen += n
		if seen < rank {
			continue
		}
		lo, hi := bucketBounds(i)
		v := min(max(lo+(hi-lo)/2, h.MinUS), h.MaxUS)
		return time.Duration(v) * time.Microsecond
	}
	return time.Duration(h.MaxUS) * time.Microsecond
}

// Mean returns the arithmetic mean, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.Count == 0 {
		return 0
	}
	return time.Duration(h.SumUS/h.Count) * time.Microsecond
}

// Add merges o into h.
func (h *Histogram) Add(o *Histogram) {
	if o.Count == 0 {
		return
	}
	if h.Count == 0 || o.MinUS < h.MinUS {
		h.MinUS = o.MinUS
	}
	h.MaxUS = max(h.MaxUS, o.MaxUS)
	h.Count += o.Count
	h.SumUS += o.SumUS
	for i, n := range o.Buckets {
		h.Buckets[i] += n
	}
}

// Sub returns what was recorded in h after the earlier snapshot prev of the
// same recorder. Min and Max of the result are the bounds of its lowest and
// highest non-empty buckets.
func (h *Histogram) Sub(prev *Histogram) Histogram {
	var d Histogram
	d.Count = h.Count - prev.Count
	d.SumUS = h.SumUS - prev.SumUS
	first := -1
	for i := range h.Buckets {
		d.Buckets[i] = h.Buckets[i] - prev.Buckets[i]
		if d.Buckets[i] == 0 {
			continue
		}
		if first < 0 {
			first = i
		}
		_, d.MaxUS = bucketBounds(i)
	}
	if first >= 0 {
		d.MinUS, _ = bucketBounds(first)
		d.MinUS = max(d.MinUS, h.MinUS)
		d.MaxUS = min(d.MaxUS, h.MaxUS)
	}
	return d
}

// histogramJSON is the wire form: only non-empty buckets, as [index, count].
type histogramJSON struct {
	Count   uint64      `json:"count"`
	SumUS   uint64      `json:"sum_us"`
	MinUS   uint64      `json:"min_us"`
	MaxUS   uint64      `json:"max_us"`
	Buckets [][2]uint64 `json:"buckets"`
}

// MarshalJSON writes the non-empty buckets only.
func (h Histogram) MarshalJSON() ([]byte, error) {
	w := histogramJSON{Count: h.Count, SumUS: h.SumUS, MinUS: h.MinUS, MaxUS: h.MaxUS, Buckets: [][2]uint64{}}
	for i, n := range h.Buckets {
		if n != 0 {
			w.Buckets = append(w.Buckets, [2]uint64{uint64(i), n})
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON wrote; bucket indexes out of range are
// an error.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var w histogramJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*h = Histogram{Count: w.Count, SumUS: w.SumUS, MinUS: w.MinUS, MaxUS: w.MaxUS}
	for _, p := range w.Buckets {
		if p[0] >= histBuckets {
			return errHistogramBucket
		}
		h.Buckets[p[0]] += p[1]
	}
	return nil
}

// recorder collects durations from many goroutines with atomic adds and no
// locks; Snapshot may run concurrently with record.
type recorder struct {
	count   atomic.Uint64
	sum     atomic.Uint64
	min     atomic.Uint64 // 0 means no value yet; values are stored +1
	max     atomic.Uint64
	buckets [histBuckets]atomic.Uint64
}

// record adds one duration; negative durations (clock steps) count as 0.
func (r *recorder) record(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	r.buckets[bucketOf(us)].Add(1)
	r.sum.Add(us)
	for m := r.min.Load(); m == 0 || us+1 < m; m = r.min.Load() {
		if r.min.CompareAndSwap(m, us+1) {
			break
		}
	}
	for m := r.max.Load(); us > m; m = r.max.Load() {
		if r.max.CompareAndSwap(m, us) {
			break
		}
	}
	r.count.Add(1)
}

// snapshot copies the current counts. Under concurrent recording the copy
// may miss values that are being added; it never holds torn buckets.
func (r *recorder) snapshot() Histogram {
	var h Histogram
	for i := range r.buckets {
		h.Buckets[i] = r.buckets[i].Load()
		h.Count += h.Buckets[i]
	}
	h.SumUS = r.sum.Load()
	if m := r.min.Load(); m > 0 {
		h.MinUS = m - 1
	}
	h.MaxUS = r.max.Load()
	return h
}
