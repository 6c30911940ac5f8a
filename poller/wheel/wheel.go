package wheel

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrConfig reports an invalid tick or slot count.
var ErrConfig = errors.New("wheel: invalid config")

// Node is one schedulable entry. Its zero value is unscheduled. A Node must not be
// copied after first use and belongs to at most one Wheel.
type Node[T any] struct {
	prev, next *Node[T] // guarded by Wheel.mu
	slot       int32    // guarded by Wheel.mu; meaningful only while scheduled
	scheduled  bool     // guarded by Wheel.mu
	// Value is the caller's payload, typically a pointer back to the owning object.
	Value T
}

// Wheel fires each scheduled node once, about when its delay has elapsed (rounded
// up to whole ticks, at most Span ahead).
type Wheel[T any] struct {
	tick   time.Duration
	mask   int64
	expire func(*Node[T])
	now    atomic.Int64 // ticks since New
	count  atomic.Int64 // scheduled nodes

	// firing is held while a slot's nodes are expired (their callbacks
	// included), so Each can wait for a batch in flight. Lock order: firing, mu.
	firing sync.Mutex
	mu     sync.Mutex
	slots  []*Node[T] // guarded by mu; head of each slot's list
	batch  []*Node[T] // guarded by mu; reused buffer of the slot being expired

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// New starts a wheel with the given tick and number of slots (a power of two,
// at least 2). Delays longer than Span are clamped to Span: the callback is
// expected to re-Add a node whose real deadline is still ahead. expire is called
// on the wheel's goroutine for every node that fires; the node is unscheduled when
// it is called. Stop must be called to release the goroutine.
func New[T any](tick time.Duration, slots int, expire func(*Node[T])) (*Wheel[T], error) {
	if tick <= 0 || slots < 2 || slots&(slots-1) != 0 || expire == nil {
		return nil, ErrConfig
	}
	w := &Wheel[T]{
		tick:   tick,
		mask:   int64(slots - 1),
		expire: expire,
		slots:  make([]*Node[T], slots),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go w.run()
	return w, nil
}

// Tick is the wheel's resolution.
func (w *Wheel[T]) Tick() time.Duration { return w.tick }

// Span is the longest delay a single Add can express.
func (w *Wheel[T]) Span() time.Duration { return time.Duration(w.mask) * w.tick }

// Now is the number of ticks elapsed since New: a cheap, coarse clock for
// "last seen" stamps. Safe for concurrent use; never blocks.
func (w *Wheel[T]) Now() int64 { return w.now.Load() }

// Ticks converts d to whole ticks, rounding up, at least 1.
func (w *Wheel[T]) Ticks(d time.Duration) int64 {
	t := int64((d + w.tick - 1) / w.tick)
	return max(t, 1)
}

// Len is the number of scheduled nodes.
func (w *Wheel[T]) Len() int { return int(w.count.Load()) }

// Add schedules n to fire after the given number of ticks (clamped to [1, Span]).
// A node already scheduled is moved. O(1).
func (w *Wheel[T]) Add(n *Node[T], ticks int64) {
	w.AddIf(n, ticks, nil)
}

// AddIf is Add, done only if keep (when not nil) reports true; keep runs
// under the wheel's lock, so no other Add, AddIf or Remove of any node runs
// between the check and the scheduling. It reports whether n was scheduled.
// keep must be quick and must not call the wheel.
func (w *Wheel[T]) AddIf(n *Node[T], ticks int64, keep func() bool) bool {
	ticks = min(max(ticks, 1), w.mask)
	w.mu.Lock()
	defer w.mu.Unlock()
	if keep != nil && !keep() {
		return false
	}
	if n.scheduled {
		w.unlink(n)
	} else {
		w.count.Add(1)
	}
	slot := (w.now.Load() + ticks) & w.mask
	n.slot, n.scheduled, n.prev = int32(slot), true, nil
	n.next = w.slots[slot]
	if n.next != nil {
		n.next.prev = n
	}
	w.slots[slot] = n
	return true
}

// Remove unschedules n; removing an unscheduled node is a no-op. O(1).
func (w *Wheel[T]) Remove(n *Node[T]) {
	w.mu.Lock()
	if n.scheduled {
		w.unlink(n)
		n.scheduled = false
		w.count.Add(-1)
	}
	w.mu.Unlock()
}

// Each calls fn for a snapshot of the scheduled nodes, with no lock held. It
// first waits for a batch of expiries in progress to finish, so a node is
// either in the snapshot or fires after Each started. It must not be called
// from the expire callback (it would wait for itself).
func (w *Wheel[T]) Each(fn func(*Node[T])) {
	w.firing.Lock()
	w.mu.Lock()
	all := make([]*Node[T], 0, w.count.Load())
	for _, head := range w.slots {
		for n := head; n != nil; n = n.next {
			all = append(all, n)
		}
	}
	w.mu.Unlock()
	w.firing.Unlock()
	for _, n := range all {
		fn(n)
	}
}

// Stop stops the ticker and waits until the wheel's goroutine, including any
// callback in progress, has returned. Scheduled nodes stay scheduled (Each still
// sees them) but never fire. Idempotent.
func (w *Wheel[T]) Stop() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
}

// unlink removes n from its slot list. Caller holds mu and n is scheduled.
func (w *Wheel[T]) unlink(n *Node[T]) {
	if n.prev == nil {
		w.slots[n.slot] = n.next
	} else {
		n.prev.next = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	}
	n.prev, n.next = nil, nil
}

func (w *Wheel[T]) run() {
	defer close(w.done)
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.advance()
		}
	}
}

// advance moves the clock one tick and fires the nodes of the new current slot.
func (w *Wheel[T]) advance() {
	w.firing.Lock()
	defer w.firing.Unlock()
	w.mu.Lock()
	now := w.now.Add(1)
	slot := now & w.mask
	batch := w.batch[:0]
	for n := w.slots[slot]; n != nil; {
		next := n.next
		n.prev, n.next, n.scheduled = nil, nil, false
		batch = append(batch, n)
		n = next
	}
	w.slots[slot] = nil
	w.count.Add(-int64(len(batch)))
	w.batch = nil // callbacks may Add; keep our buffer private until they are done
	w.mu.Unlock()

	for i, n := range batch {
		w.expire(n)
		batch[i] = nil
	}

	w.mu.Lock()
	w.batch = batch[:0]
	w.mu.Unlock()
}
