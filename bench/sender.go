//go:build linux

package bench

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// sender sends bench messages through a /send/* endpoint and keeps, per
// stream, how many sequence numbers it handed out and how many of those
// sends failed. Streams are numbered 0..len(targets)-1; a stream with an
// empty target name is never picked.
type sender struct {
	api     *apiClient
	rpc     *rpcClient // when set, sends go through gRPC SendMessageToClient instead
	path    string     // /send/all, /send/group, /send/uid, /send/client
	field   string     // JSON field naming the target; "" for /send/all
	targets []string   // target name by stream; one "" entry for /send/all
	picks   []int32    // streams that may be picked

	seq    []atomic.Uint32 // next sequence number by stream
	failed []atomic.Uint32 // failed sends by stream

	calls      atomic.Uint64 // successful calls
	serverSent atomic.Uint64 // sum of the "sent" counts answered
	apiLatency recorder

	mu   sync.Mutex
	errs map[string]uint64 // failed calls by kind; guarded by mu
}

// newSender prepares sends to path; targets[k] names stream k for field.
// For /send/all pass field "" and targets []string{""}.
func newSender(api *apiClient, path, field string, targets []string) *sender {
	s := &sender{api: api, path: path, field: field, targets: targets,
		seq: make([]atomic.Uint32, len(targets)), failed: make([]atomic.Uint32, len(targets)),
		errs: map[string]uint64{}}
	for k, t := range targets {
		if t != "" || field == "" {
			s.picks = append(s.picks, int32(k))
		}
	}
	return s
}

// burst is one run of sends.
type burst struct {
	callers  int
	rate     float64       // calls per second in total; 0: as fast as the callers go
	count    int           // stop after this many calls; 0: no count bound
	duration time.Duration // stop starting calls after this long
	size     int           // message size in bytes
}

// burstResult says what one burst did.
type burstResult struct {
	Calls    uint64        // calls started
	Failed   uint64        // calls that failed
	Elapsed  time.Duration // first call start to last call end
	Latency  Histogram     // API call latency in this burst
	Achieved float64       // calls per second over the elapsed or, if longer, the planned time
}

// run sends until the count, the duration or ctx ends it. Calls are paced
// on a shared schedule (call i starts at start+i/rate); a caller that falls
// behind does not sleep, so the achieved rate shows when the API is the limit.
func (s *sender) run(ctx context.Context, b burst) burstResult {
	before := s.apiLatency.snapshot()
	failedBefore := s.failedTotal()
	start := time.Now()
	deadline := start.Add(b.duration)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(b.callers, 1) {
		wg.Go(func() {
			rng := newRand()
			var body, scratch []byte
			for {
				i := next.Add(1) - 1
				if b.count > 0 && i >= int64(b.count) {
					return
				}
				if b.rate > 0 {
					due := start.Add(time.Duration(float64(i) / b.rate * float64(time.Second)))
					if due.After(deadline) {
						return
					}
					sleepCtx(ctx, time.Until(due))
				}
				if ctx.Err() != nil || time.Now().After(deadline) {
					return
				}
				body, scratch = s.sendOne(s.picks[rng.IntN(len(s.picks))], b.size, body, scratch)
			}
		})
	}
	wg.Wait()
	r := burstResult{Elapsed: time.Since(start), Failed: s.failedTotal() - failedBefore}
	after := s.apiLatency.snapshot()
	r.Latency = after.Sub(&before)
	r.Calls = r.Latency.Count
	window := r.Elapsed // a paced burst is measured over its planned window at least
	if b.rate > 0 && b.count > 0 {
		window = max(window, time.Duration(float64(b.count)/b.rate*float64(time.Second)))
	}
	r.Achieved = float64(r.Calls) / window.Seconds()
	return r
}

// sendOne sends one message to stream k; body and scratch are the caller's
// reusable buffers.
func (s *sender) sendOne(k int32, size int, body, scratch []byte) ([]byte, []byte) {
	seq := s.seq[k].Add(1) - 1
	t0 := time.Now()
	if s.rpc != nil {
		body = appendMessage(body[:0], message{sentNS: t0.UnixNano(), seq: seq, stream: k}, size)
		sent, err := s.rpc.send(s.targets[k], body)
		s.apiLatency.record(time.Since(t0))
		s.account(k, sent, err)
		return body, scratch
	}
	body = append(body[:0], '{')
	if s.field != "" {
		body = append(body, '"')
		body = append(body, s.field...)
		body = append(body, `":"`...)
		body = append(body, s.targets[k]...)
		body = append(body, `",`...)
	}
	body = append(body, `"data":"`...)
	body = appendMessage(body, message{sentNS: t0.UnixNano(), seq: seq, stream: k}, size)
	body = append(body, `"}`...)
	sent, scratch, err := s.api.send(s.path, body, scratch)
	s.apiLatency.record(time.Since(t0))
	s.account(k, sent, err)
	return body, scratch
}

// account counts one call to stream k.
func (s *sender) account(k int32, sent int64, err error) {
	if err != nil {
		s.failed[k].Add(1)
		kind := "transport"
		if ce, ok := err.(interface{ kind() string }); ok {
			kind = ce.kind()
		}
		s.mu.Lock()
		s.errs[kind]++
		s.mu.Unlock()
		return
	}
	s.calls.Add(1)
	s.serverSent.Add(uint64(sent))
}

// totals returns the sequence numbers handed out and the failed sends, by
// stream, as the loss check wants them.
func (s *sender) totals() (sent, failed []uint32) {
	for k := range s.seq {
		sent = append(sent, s.seq[k].Load())
		failed = append(failed, s.failed[k].Load())
	}
	return sent, failed
}

func (s *sender) failedTotal() (n uint64) {
	for k := range s.failed {
		n += uint64(s.failed[k].Load())
	}
	return n
}

// errorCounts returns a copy of the failed calls by kind.
func (s *sender) errorCounts() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]uint64, len(s.errs))
	for k, v := range s.errs {
		m[k] = v
	}
	return m
}

// expected returns how many distinct deliveries stable clients should have
// had so far: for each stream, successful sends times its members.
func (s *sender) expected(members []int) uint64 {
	var n uint64
	sent, failed := s.totals()
	for k := range sent {
		n += uint64(sent[k]-failed[k]) * uint64(members[k])
	}
	return n
}

// targetName builds the run-unique name of a group or uid.
func targetName(tag, kind string, k int) string { return tag + kind + strconv.Itoa(k) }
