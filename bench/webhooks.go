//go:build linux

package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// WebhookStats is the "webhooks" part of wsgate's GET /stats: events by
// type, then by result (delivered, dropped, accepted, failed, ...), batches
// retried, and the bytes queued. In a Result, Events and Retries are the
// change over the measured phase and QueueBytes the largest seen.
type WebhookStats struct {
	Events     map[string]map[string]int64 `json:"events"`
	Retries    int64                       `json:"retries"`
	QueueBytes int64                       `json:"queue_bytes"`
}

// sub returns the counts of s minus those of an earlier snapshot o, with
// s's QueueBytes; results that did not change are left out.
func (s *WebhookStats) sub(o *WebhookStats) *WebhookStats {
	d := &WebhookStats{Events: map[string]map[string]int64{}, Retries: s.Retries - o.Retries, QueueBytes: s.QueueBytes}
	for typ, results := range s.Events {
		for r, n := range results {
			if n -= o.Events[typ][r]; n != 0 {
				if d.Events[typ] == nil {
					d.Events[typ] = map[string]int64{}
				}
				d.Events[typ][r] = n
			}
		}
	}
	return d
}

// gatewaySample is what the webhook scenarios read from GET /stats:
// Handshaking counts the clients between their upgrade request and their
// answer (with a connect webhook: waiting for the backend).
type gatewaySample struct {
	Goroutines  int64         `json:"goroutines"`
	Handshaking int64         `json:"handshaking"`
	CPUSeconds  float64       `json:"cpu_seconds"`
	Webhooks    *WebhookStats `json:"webhooks"`
}

// gatewaySample reads the gateway's goroutines and webhook stats; Webhooks
// is nil when the gateway posts none.
func (env *runEnv) gatewaySample() (gatewaySample, error) {
	var s gatewaySample
	err := env.api.getJSON("/stats", &s)
	return s, err
}

// Range is the smallest and largest of a quantity sampled during a phase,
// with its values just before and after it (-1 when not sampled).
type Range struct {
	Before  int64 `json:"before"`
	Min     int64 `json:"min"`
	Max     int64 `json:"max"`
	After   int64 `json:"after"`
	Samples int   `json:"samples"`
}

// add records one sample.
func (r *Range) add(v int64) {
	if r.Samples == 0 || v < r.Min {
		r.Min = v
	}
	r.Max = max(r.Max, v)
	r.Samples++
}

// watched is what watch saw: the gateway's goroutines, its clients in
// handshake, its webhook queue's largest size (-1: no webhooks), and, from
// the first sample to the last, the CPU time it used and what its webhooks
// did (nil without webhooks).
type watched struct {
	Goroutines  Range
	Handshaking Range
	MaxQueue    int64
	CPUSeconds  float64
	Webhooks    *WebhookStats
}

// watch samples the gateway every interval until stop is called. Sampling
// errors are skipped: a server without wsgate's /stats yields no samples.
func (env *runEnv) watch(every time.Duration) (stop func() watched) {
	w := watched{Goroutines: Range{Before: -1, After: -1}, Handshaking: Range{Before: -1, After: -1}, MaxQueue: -1}
	record := func(s gatewaySample) {
		w.Goroutines.add(s.Goroutines)
		w.Handshaking.add(s.Handshaking)
		if s.Webhooks != nil {
			w.MaxQueue = max(w.MaxQueue, s.Webhooks.QueueBytes)
		}
	}
	var first gatewaySample
	if s, err := env.gatewaySample(); err == nil {
		w.Goroutines.Before, w.Handshaking.Before, first = s.Goroutines, s.Handshaking, s
		record(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if s, err := env.gatewaySample(); err == nil {
				record(s)
			}
		}
	})
	return func() watched {
		cancel()
		wg.Wait()
		if s, err := env.gatewaySample(); err == nil {
			w.Goroutines.After, w.Handshaking.After, w.CPUSeconds = s.Goroutines, s.Handshaking, s.CPUSeconds-first.CPUSeconds
			record(s)
			if s.Webhooks != nil && first.Webhooks != nil {
				w.Webhooks = s.Webhooks.sub(first.Webhooks)
				w.Webhooks.QueueBytes = w.MaxQueue
			}
		}
		return w
	}
}

// text renders s as "connect accepted=9 failed=1; message delivered=5;
// retries 0; queue peak 1.2 KiB" (types and results in name order; in a
// Result, QueueBytes is the peak).
func (s *WebhookStats) text() string {
	var parts []string
	for _, typ := range slices.Sorted(maps.Keys(s.Events)) {
		var rs []string
		for _, r := range slices.Sorted(maps.Keys(s.Events[typ])) {
			rs = append(rs, fmt.Sprintf("%s=%d", r, s.Events[typ][r]))
		}
		parts = append(parts, typ+" "+strings.Join(rs, " "))
	}
	parts = append(parts, fmt.Sprintf("retries %d", s.Retries), "queue peak "+bytesText(float64(s.QueueBytes)))
	return strings.Join(parts, "; ")
}
