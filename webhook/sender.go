package webhook

import (
	"context"
	"errors"
	"hash/maphash"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wsgate/wsgate/internal/connset"
	"github.com/wsgate/wsgate/logging"
)

// laneCount is how many lanes post notices in parallel; a client's events
// all take the lane its id hashes to.
const laneCount = 4

// Backoff between attempts of a batch: a random wait in [0, min(maxBackoff,
// minBackoff * 2^attempt)] ("full jitter").
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// maxAnswerBytes bounds a backend's answer body.
const maxAnswerBytes = 64 << 10

// Sender posts one gateway's events to one backend. Create it with New,
// then Start; Close ends it.
type Sender struct {
	cfg     Config
	keys    [][]byte
	wants   [typeCount]bool
	headers []string
	boot    time.Time
	ids     *ids
	seed    maphash.Seed
	client  *fasthttp.Client
	conns   connset.Set      // the client's connections, for Close
	warn    *logging.Limiter // the backend's failures, at most a few lines per interval

	lanes [laneCount]*lane
	// started is closed once node.started (at lane 0's head) is done with,
	// delivered or not: the other lanes wait for it, so that a backend gets
	// it before any other event of this node.
	started chan struct{}
	queued  atomic.Int64 // bytes of queued items (item.size)
	jobsMu  sync.RWMutex
	jobs    chan connectJob // nil unless connect is wanted
	closing atomic.Bool     // set under jobsMu: Connect and the workers answer failure at once

	stop   context.Context // cancelled when Close's deadline passes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce atomic.Bool
	counts    [typeCount][resultCount]atomic.Int64
	retries   atomic.Int64
}

// New checks cfg and returns a Sender that posts nothing until Start.
// Errors wrap ErrConfig.
func New(cfg Config) (*Sender, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	keys, err := cfg.keys()
	if err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg, keys: keys, boot: time.Now(), seed: maphash.MakeSeed()}
	s.ids = newIDs(cfg.Node, s.boot)
	s.warn = logging.NewLimiter(cfg.Logger, 0)
	for _, t := range cfg.Events {
		s.wants[typeOf(t)] = true
	}
	s.wants[typeNodeStarted] = true
	s.headers = append(append(s.headers, DefaultHeaders...), cfg.Headers...)
	for i := range s.headers {
		s.headers[i] = http.CanonicalHeaderKey(s.headers[i])
	}
	s.client = &fasthttp.Client{
		Name:                "wsgate-webhook",
		DialTimeout:         s.dial,
		MaxConnsPerHost:     cfg.ConnectConcurrency + laneCount,
		MaxConnWaitTimeout:  cfg.Timeout,
		MaxIdleConnDuration: 30 * time.Second,
		MaxResponseBodySize: maxAnswerBytes,
		ReadTimeout:         cfg.Timeout,
		WriteTimeout:        cfg.Timeout,
	}
	for i := range s.lanes {
		s.lanes[i] = newLane()
	}
	s.started = make(chan struct{})
	s.stop, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Wants reports whether events of type t (TypeConnect, ...) are posted.
func (s *Sender) Wants(t string) bool { return s.wants[typeOf(t)] }

// Start queues node.started and starts the goroutines that post. Call it once.
func (s *Sender) Start() {
	e := s.newEvent(TypeNodeStarted)
	e.Epoch = s.boot.UnixMilli()
	s.enqueue(s.lanes[0], nil, typeNodeStarted, encode(&e))
	for i, l := range s.lanes {
		s.wg.Add(1)
		go s.post(l, i == 0)
	}
	if s.wants[typeConnect] {
		s.jobs = make(chan connectJob, s.cfg.ConnectConcurrency*connectBacklog)
		for range s.cfg.ConnectConcurrency {
			s.wg.Add(1)
			go s.connectWorker()
		}
	}
}

// Close stops taking events, posts what is queued until ctx is done (then
// drops the rest, cuts the requests in flight and abandons retries), and
// waits for its goroutines, closing every connection to the backend. Call
// it after Start, when no more events come; later calls return nil at once.
func (s *Sender) Close(ctx context.Context) error {
	if !s.closeOnce.CompareAndSwap(false, true) {
		return nil
	}
	for _, l := range s.lanes {
		l.mu.Lock()
		l.closing = true
		l.mu.Unlock()
		l.signal()
	}
	s.jobsMu.Lock()
	s.closing.Store(true)
	if s.jobs != nil {
		close(s.jobs)
	}
	s.jobsMu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel()         // no more attempts: what is queued is dropped
		s.conns.CloseAll() // requests in flight fail now
		<-done
	}
	s.cancel()
	s.conns.CloseAll() // the idle keep-alive connections
	return err
}

// Track returns the tracker of a client that just opened. Call it once per
// client, before its first event.
func (s *Sender) Track(clientID string) *Tracker {
	return &Tracker{lane: s.lanes[maphash.String(s.seed, clientID)%laneCount]}
}

// Connected queues the connected event of an open client (if wanted).
func (s *Sender) Connected(t *Tracker, c *Client) {
	if !s.wants[typeConnected] {
		return
	}
	e := s.newEvent(TypeConnected)
	e.clientPart = newClientPart(c)
	s.enqueue(t.lane, t, typeConnected, encode(&e))
}

// Message queues a message event (if wanted) with a copy of data.
func (s *Sender) Message(t *Tracker, c *Client, text bool, data []byte) {
	if s.wants[typeMessage] {
		s.enqueue(t.lane, t, typeMessage, s.messageEvent(c, text, data))
	}
}

// Disconnected queues the disconnected event of a client that left (if
// wanted, and only if its connected event went out or was not wanted).
func (s *Sender) Disconnected(t *Tracker, c *Client, cl Close) {
	if !s.wants[typeDisconnected] {
		t.lane.mu.Lock()
		t.closed = true
		t.lane.mu.Unlock()
		return
	}
	e := s.newEvent(TypeDisconnected)
	e.clientPart = newClientPart(c)
	e.closePart = &closePart{Code: cl.Code, Reason: cl.Reason, By: cl.By}
	s.enqueue(t.lane, t, typeDisconnected, encode(&e))
}

// enqueue adds an encoded event to lane l, or drops it when the queue is
// full and no message event can make room (message events themselves are
// dropped then). It applies the delivery rules for t's events, under l.mu.
func (s *Sender) enqueue(l *lane, t *Tracker, typ typeIndex, body []byte) {
	it := item{typ: typ, body: body, track: t}
	full := s.queued.Add(it.size()) > int64(s.cfg.QueueBytes) && (typ == typeMessage || !s.evictMessages())
	l.mu.Lock()
	keep := !full && !l.closing
	skipped := false // dropped by the delivery rules, not for room
	if t != nil {
		switch typ {
		case typeConnected:
			t.state = pending
			if !keep {
				t.state = cancelled
			}
		case typeMessage:
			if keep && (t.closed || t.state == cancelled) {
				keep, skipped = false, t.state == cancelled
			}
		case typeDisconnected:
			t.closed = true
			if t.state == pending || t.state == cancelled {
				t.state, keep = cancelled, false // neither its connected nor this goes out
				full, skipped = false, true
			}
		}
	}
	if keep {
		it.seq = l.seq
		l.seq++
		if typ == typeMessage {
			l.msgs.push(it)
		} else {
			l.life.push(it)
		}
	}
	l.mu.Unlock()
	if keep {
		l.signal()
		return
	}
	s.queued.Add(-it.size())
	switch {
	case full:
		s.count(typ, resultDropped, 1)
	case skipped:
		s.count(typ, resultSkipped, 1)
	}
}

// evictMessages drops the oldest queued message events until the queue is
// within its bound; false if it cannot get there.
func (s *Sender) evictMessages() bool {
	limit := int64(s.cfg.QueueBytes)
	for _, l := range s.lanes {
		l.mu.Lock()
		for l.msgs.len() > 0 && s.queued.Load() > limit {
			it := l.msgs.pop()
			s.queued.Add(-it.size())
			s.count(typeMessage, resultDropped, 1)
		}
		l.mu.Unlock()
	}
	return s.queued.Load() <= limit
}

// post is one lane's goroutine: it posts batches until the lane closes
// and is empty. The first lane's first batch holds node.started; the other
// lanes wait until it is done with.
func (s *Sender) post(l *lane, first bool) {
	defer s.wg.Done()
	if !first {
		select {
		case <-s.started:
		case <-s.stop.Done(): // the loop drops what is queued
		}
	}
	for {
		l.mu.Lock()
		var b batch
		s.queued.Add(-l.take(&b, s))
		closing := l.closing
		l.mu.Unlock()
		if s.stop.Err() != nil { // Close's deadline passed: no more attempts
			s.countBatch(&b, resultDropped)
			if len(b.bodies) > 0 {
				continue
			}
			return
		}
		if len(b.bodies) > 0 {
			if r := s.deliver(&b); r != resultDelivered && len(b.connected) > 0 {
				// Their connected never reached the backend: neither do
				// their later events (a disconnected alone would be news of
				// a client it never heard of).
				l.mu.Lock()
				for _, t := range b.connected {
					t.state = cancelled
				}
				l.mu.Unlock()
			}
			if first {
				close(s.started)
				first = false
			}
			continue
		}
		if closing {
			return
		}
		select {
		case <-l.wake:
		case <-s.stop.Done(): // the loop drops what came meanwhile
		}
	}
}

// deliver posts one batch until it is accepted, refused for good, or its
// retry time is over, counts the outcome per event, and returns it.
func (s *Sender) deliver(b *batch) result {
	body := make([]byte, 0, b.bytes+len(`{"events":[]}`))
	body = append(body, `{"events":[`...)
	for i, e := range b.bodies {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, e...)
	}
	body = append(body, "]}"...)
	id := s.ids.next("m")
	first := time.Now()
	for attempt := 0; ; attempt++ {
		status, _, err := s.request(id, body)
		if errors.Is(err, fasthttp.ErrBodyTooLarge) && status != 0 {
			err = nil // the status is what counts; the answer's body is not read
		}
		r := classify(status, err)
		if r != resultRetry {
			s.countBatch(b, r)
			if r == resultRejected {
				s.warn.Warn("webhook refused by the backend; not retried", "status", status, "events", len(b.bodies))
			}
			return r
		}
		wait := backoff(attempt)
		if time.Since(first)+wait > s.cfg.RetryFor {
			s.warn.Warn("webhook not delivered in time; dropped", "status", status, "err", err, "events", len(b.bodies), "retry_for", s.cfg.RetryFor)
			s.countBatch(b, resultExpired)
			return resultExpired
		}
		s.retries.Add(1)
		select {
		case <-time.After(wait):
		case <-s.stop.Done():
			s.countBatch(b, resultDropped)
			return resultDropped
		}
	}
}

// classify turns an attempt's outcome into delivered, rejected or retry.
func classify(status int, err error) result {
	switch {
	case err != nil, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return resultRetry
	case status >= 200 && status < 300:
		return resultDelivered
	}
	return resultRejected
}

// backoff is the wait before the attempt after attempt (0-based).
func backoff(attempt int) time.Duration {
	ceiling := maxBackoff
	if attempt < 20 {
		ceiling = min(maxBackoff, minBackoff<<attempt)
	}
	return rand.N(ceiling + 1)
}

// request posts body once, signed under message id id, and returns the
// status and a copy of the answer's body.
func (s *Sender) request(id string, body []byte) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.cfg.URL)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	now := time.Now().Unix()
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now, 10))
	req.Header.Set("webhook-signature", signature(s.keys, id, now, body))
	req.SetBodyRaw(body)
	if err := s.client.DoTimeout(req, resp, s.cfg.Timeout); err != nil {
		if errors.Is(err, fasthttp.ErrBodyTooLarge) {
			return resp.StatusCode(), nil, err // the head was read
		}
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}
