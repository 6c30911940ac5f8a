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

// gatewaySample is what the webhook scenarios read from GET /stats.
type gatewaySample struct {
	Goroutines int64         `json:"goroutines"`
	Webhooks   *WebhookStats `json:"webhooks"`
}

// gatewaySample reads the gateway's goroutines and webhook stats; Webhooks
// is nil when the gateway posts none.
func (env *runEnv) gatewaySample() (gatewaySample, error) {
	var s gatewaySample
	err := env.api.getJSON("/stats", &s)
	return s, err
}

// Range is the smallest and largest of a quantity sampled during a phase,
// with its values just before and after it.
type Range struct {
	Before  int64 `json:"before"`
	Min     int64 `json:"min"`
	Max     int64 `json:"max"`
	After   int64 `json:"after"`
	Samples int   `json:"samples"`
}

// watch samples the gateway every interval until stop is called, which
// returns the goroutine range and the webhook queue's largest size (-1
// for either when GET /stats gave none). Sampling errors are skipped: a
// server without wsgate's /stats simply yields no samples.
func (env *runEnv) watch(every time.Duration) (stop func() (goroutines Range, maxQueue int64)) {
	g := Range{Before: -1, After: -1}
	maxQueue := int64(-1)
	record := func(s gatewaySample) {
		if g.Samples == 0 || s.Goroutines < g.Min {
			g.Min = s.Goroutines
		}
		g.Max = max(g.Max, s.Goroutines)
		g.Samples++
		if s.Webhooks != nil {
			maxQueue = max(maxQueue, s.Webhooks.QueueBytes)
		}
	}
	if s, err := env.gatewaySample(); err == nil {
		g.Before = s.Goroutines
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
	return func() (Range, int64) {
		cancel()
		wg.Wait()
		if s, err := env.gatewaySample(); err == nil {
			g.After = s.Goroutines
			record(s)
		}
		return g, maxQueue
	}
}

// text renders s as "connect accepted=9 failed=1; message delivered=5;
// retries 0; queue peak 1.2 KiB" (types and results in name order).
func (s *WebhookStats) text() string {
	var parts []string
	for _, typ := range slices.Sorted(maps.Keys(s.Events)) {
		var rs []string
		for _, r := range slices.Sorted(maps.Keys(s.Events[typ])) {
			rs = append(rs, fmt.Sprintf("%s=%d", r, s.Events[typ][r]))
		}
		parts = append(parts, typ+" "+strings.Join(rs, " "))
	}
	parts = append(parts, fmt.Sprintf("retries %d", s.Retries), "queue "+bytesText(float64(s.QueueBytes)))
	return strings.Join(parts, "; ")
}
