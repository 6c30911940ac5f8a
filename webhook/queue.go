package webhook

import "sync"

// Tracker is one client's place in the event stream: what the Sender has
// done with its connected event, so that its later events keep the
// delivery rules (see the package documentation). Get one from
// Sender.Track when the client opens; its fields are guarded by its lane's
// mutex.
type Tracker struct {
	lane   *lane
	state  trackState
	closed bool // its disconnected was decided: no message event after it
}

type trackState uint8

const (
	untracked trackState = iota // no connected event queued (not enabled): the others go freely
	pending                     // connected queued, not taken yet
	out                         // connected posted (or being posted)
	cancelled                   // connected dropped, or the client left before it went out: nothing more
)

// item is one queued event.
type item struct {
	seq   uint64 // its lane's order of arrival
	typ   typeIndex
	body  []byte
	track *Tracker // nil for node events
}

// itemOverhead is what an item costs besides its body, counted against
// Config.QueueBytes so that many small events cannot exceed it.
const itemOverhead = 64

func (it *item) size() int64 { return int64(len(it.body) + itemOverhead) }

// fifo is a queue of items.
type fifo struct {
	items []item
	head  int
}

func (f *fifo) len() int { return len(f.items) - f.head }

func (f *fifo) push(it item) { f.items = append(f.items, it) }

func (f *fifo) peek() *item { return &f.items[f.head] }

// pop removes the first item. An emptied queue gives its array back once it
// is large, so a burst's memory does not stay.
func (f *fifo) pop() item {
	it := f.items[f.head]
	f.items[f.head] = item{}
	f.head++
	switch {
	case f.head == len(f.items) && cap(f.items) > 1024:
		f.items, f.head = nil, 0
	case f.head == len(f.items):
		f.items, f.head = f.items[:0], 0
	case f.head > 1024 && f.head*2 > len(f.items):
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	return it
}

// lane is one ordered stream of events, posted by one goroutine. Message
// events wait in their own queue so that a full queue can drop the oldest
// of them in O(1); the lane merges both queues back by seq.
type lane struct {
	mu      sync.Mutex
	life    fifo   // guarded by mu: connected, disconnected, node.started
	msgs    fifo   // guarded by mu: message events
	seq     uint64 // guarded by mu
	closing bool   // guarded by mu: no more events; the lane ends when empty
	wake    chan struct{}
}

func newLane() *lane { return &lane{wake: make(chan struct{}, 1)} }

func (l *lane) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// first is the queue holding the lane's oldest item. Caller holds mu; the
// lane is not empty.
func (l *lane) first() *fifo {
	if l.msgs.len() == 0 || (l.life.len() > 0 && l.life.peek().seq < l.msgs.peek().seq) {
		return &l.life
	}
	return &l.msgs
}

// batch is up to maxBatchEvents events taken from one lane.
type batch struct {
	bodies [][]byte
	bytes  int
	counts [typeCount]int64
	// connected are the trackers whose connected event is in the batch:
	// if it is not delivered, their later events are not sent either.
	connected []*Tracker
}

// Batch limits: many events per request under load, each posted at once
// when the lane is idle.
const (
	maxBatchEvents = 1000
	maxBatchBytes  = 1 << 20
)

// take fills b with the lane's next events, skipping those the delivery
// rules drop, and reports the bytes it freed from the queue. Caller holds mu.
func (l *lane) take(b *batch, s *Sender) (freed int64) {
	for l.life.len()+l.msgs.len() > 0 && len(b.bodies) < maxBatchEvents {
		q := l.first()
		if len(b.bodies) > 0 && b.bytes+len(q.peek().body) > maxBatchBytes {
			break
		}
		it := q.pop()
		freed += it.size()
		if t := it.track; t != nil {
			switch {
			case it.typ == typeConnected && t.state == pending:
				t.state = out
				b.connected = append(b.connected, t)
			case it.typ == typeConnected, t.state == cancelled:
				s.count(it.typ, resultSkipped, 1)
				continue
			}
		}
		b.bodies = append(b.bodies, it.body)
		b.bytes += len(it.body) + 1
		b.counts[it.typ]++
	}
	return freed
}
