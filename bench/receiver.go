//go:build linux

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The webhook receiver (the "receiver" scenario) is a backend for load
// tests of wsgate's webhooks: it answers every batch with 204, answers a
// request holding a connect event with 204 after -connect-delay, and counts
// events by type for GET /counts. It checks that the Standard Webhooks
// headers are there but does not verify the HMAC: it stands for a backend
// that costs the gateway nothing but the round trip, and it shares the
// machine's cores with the gateway it measures.

// DefaultConnectDelay is how long the receiver takes to answer a connect
// event unless -connect-delay says otherwise.
const DefaultConnectDelay = time.Millisecond

// receiverTypes are the event types the receiver counts by name; any other
// type counts as the last, "other".
var receiverTypes = [...]string{"connect", "connected", "message", "disconnected", "node.started", "other"}

// typeConnect is receiverTypes's index of connect.
const typeConnect = 0

// ReceiverCounts is what GET /counts answers: events by type (every type of
// receiverTypes, zeros included), and requests by outcome. Requests counts
// every POST; Bad those whose body was not {"events":[...]} (answered 400);
// Unsigned those without webhook-id, webhook-timestamp or
// webhook-signature (answered 401, their events not counted).
type ReceiverCounts struct {
	Events   map[string]uint64 `json:"events"`
	Requests uint64            `json:"requests"`
	Bad      uint64            `json:"bad"`
	Unsigned uint64            `json:"unsigned"`
}

// sub returns c minus an earlier snapshot o.
func (c ReceiverCounts) sub(o ReceiverCounts) ReceiverCounts {
	d := ReceiverCounts{Events: map[string]uint64{}, Requests: c.Requests - o.Requests, Bad: c.Bad - o.Bad, Unsigned: c.Unsigned - o.Unsigned}
	for k, v := range c.Events {
		d.Events[k] = v - o.Events[k]
	}
	return d
}

// receiver is the running backend. Its counters are atomic: fasthttp serves
// each request on its own worker goroutine.
type receiver struct {
	connectDelay time.Duration // 0: answer at once
	events       [len(receiverTypes)]atomic.Uint64
	requests     atomic.Uint64
	bad          atomic.Uint64
	unsigned     atomic.Uint64
}

// typeIndex is the counter index of an event type.
func typeIndex(t []byte) int {
	for i, n := range receiverTypes[:len(receiverTypes)-1] {
		if string(t) == n {
			return i
		}
	}
	return len(receiverTypes) - 1
}

// counts snapshots the counters.
func (rc *receiver) counts() ReceiverCounts {
	c := ReceiverCounts{Events: make(map[string]uint64, len(receiverTypes)),
		Requests: rc.requests.Load(), Bad: rc.bad.Load(), Unsigned: rc.unsigned.Load()}
	for i, n := range receiverTypes {
		c.Events[n] = rc.events[i].Load()
	}
	return c
}

// serve is the fasthttp handler: POST any path is a webhook, GET /counts
// the counters.
func (rc *receiver) serve(ctx *fasthttp.RequestCtx) {
	if ctx.IsGet() && string(ctx.Path()) == "/counts" {
		b, _ := json.Marshal(rc.counts())
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
		return
	}
	if !ctx.IsPost() {
		ctx.Error("POST a webhook, or GET /counts", http.StatusMethodNotAllowed)
		return
	}
	rc.requests.Add(1)
	h := &ctx.Request.Header
	if len(h.Peek("webhook-id")) == 0 || len(h.Peek("webhook-timestamp")) == 0 || !bytes.HasPrefix(h.Peek("webhook-signature"), []byte("v1,")) {
		rc.unsigned.Add(1)
		ctx.Error("unsigned", http.StatusUnauthorized)
		return
	}
	var n [len(receiverTypes)]uint64
	err := eventTypes(ctx.PostBody(), func(t []byte) { n[typeIndex(t)]++ })
	if err != nil {
		rc.bad.Add(1)
		ctx.Error(err.Error(), http.StatusBadRequest)
		return
	}
	for i, k := range n {
		if k > 0 {
			rc.events[i].Add(k)
		}
	}
	if n[typeConnect] > 0 && rc.connectDelay > 0 {
		time.Sleep(rc.connectDelay)
	}
	ctx.SetStatusCode(http.StatusNoContent)
}

// runReceiver serves the receiver on cfg.Receiver until ctx ends.
func runReceiver(ctx context.Context, cfg *Config, log io.Writer) error {
	ln, err := net.Listen("tcp", cfg.Receiver)
	if err != nil {
		return fmt.Errorf("bench: receiver: %w", err)
	}
	rc := &receiver{connectDelay: max(cfg.ConnectDelay, 0)}
	srv := &fasthttp.Server{Handler: rc.serve, Name: "wsbench-receiver", ReadTimeout: time.Minute,
		IdleTimeout: time.Minute, MaxRequestBodySize: 16 << 20}
	fmt.Fprintf(log, "wsbench: webhook receiver on http://%s/ (connect answered after %s; GET /counts)\n", ln.Addr(), rc.connectDelay)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("bench: receiver: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.ShutdownWithContext(sctx)
}

// errEventsBody is a webhook body eventTypes cannot read.
var errEventsBody = errors.New(`bench: not a {"events":[...]} body`)

// eventTypes calls fn with the "type" of every object in the top-level
// "events" array of a webhook body, in order (the bytes between the quotes,
// valid during the call only; an event without a string "type" gives nil),
// without decoding anything else. Keys and types are compared as written,
// escapes undecoded: wsgate writes them plain. It checks the structure
// (nesting, strings, separators) but not literals, numbers or escapes.
// On an error fn may have been called for the events before it.
func eventTypes(b []byte, fn func(t []byte)) error {
	s := scanner{b: b}
	found := false
	ok := s.object(func(key []byte) bool {
		if string(key) != "events" || s.peek() != '[' {
			return s.skipValue()
		}
		found = true
		return s.array(func() bool {
			if s.peek() != '{' {
				return s.skipValue()
			}
			var typ []byte
			ok := s.object(func(k []byte) bool {
				if string(k) == "type" && s.peek() == '"' {
					t, ok := s.str()
					typ = t
					return ok
				}
				return s.skipValue()
			})
			if ok {
				fn(typ)
			}
			return ok
		})
	})
	if s.space(); !ok || !found || s.i != len(b) {
		return errEventsBody
	}
	return nil
}

// scanner walks JSON bytes; s.i is the next byte to read.
type scanner struct {
	b []byte
	i int
}

// space skips whitespace.
func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// peek is the next non-space byte, 0 at the end.
func (s *scanner) peek() byte {
	if s.space(); s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// take consumes c if it comes next.
func (s *scanner) take(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// object reads an object, calling member with each key and s before the
// value, which member must consume; false if the object is malformed or
// member said so.
func (s *scanner) object(member func(key []byte) bool) bool {
	if !s.take('{') {
		return false
	}
	if s.take('}') {
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		key, ok := s.str()
		if !ok || !s.take(':') || !member(key) {
			return false
		}
		if !s.take(',') {
			return s.take('}')
		}
	}
}

// array reads an array, calling elem before each element, which elem
// must consume.
func (s *scanner) array(elem func() bool) bool {
	if !s.take('[') {
		return false
	}
	if s.take(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if !s.take(',') {
			return s.take(']')
		}
	}
}

// str reads the string at s.i (a quote) and returns its raw contents.
func (s *scanner) str() ([]byte, bool) {
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		k := bytes.IndexByte(s.b[j:], '"')
		if k < 0 {
			break
		}
		j += k
		escapes := 0
		for p := j - 1; p >= start && s.b[p] == '\\'; p-- {
			escapes++
		}
		if escapes%2 == 0 {
			s.i = j + 1
			return s.b[start:j], true
		}
	}
	return nil, false
}

// skipValue skips one value: a string, an object or array (with the
// strings in it), or a literal up to the next delimiter.
func (s *scanner) skipValue() bool {
	switch s.peek() {
	case '"':
		_, ok := s.str()
		return ok
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, ok := s.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	case 0, ',', ':', '}', ']':
		return false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ':', '{', '[', '"', ' ', '\t', '\r', '\n':
			return s.i > start
		}
		s.i++
	}
	return true
}
