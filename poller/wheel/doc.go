// Package wheel is a hashed timing wheel: one goroutine and one ticker drive the
// timeouts of any number of entries, with O(1) Add, Remove and re-arm.
//
// An entry is a Node embedded in (or pointed to by) the caller's object; the wheel
// links nodes into per-slot intrusive lists, so scheduling allocates nothing.
// Refreshing a deadline is the caller's business: the usual pattern is to store a
// "last seen" tick (Wheel.Now) atomically on every activity and, when the node
// fires, re-Add it for the time that is left. That keeps the hot path (activity)
// lock-free and fires each entry at most once per timeout period.
//
// The wheel knows nothing about connections or sockets.
//
// Concurrency: Add, Remove, Now, Len and Each are safe for concurrent use. The
// expire callback runs on the wheel's goroutine with no lock held, so it may call
// Add and Remove; it must not block, because it delays every other timeout.
// A callback may still be invoked for a node that another goroutine Removed while
// the node's slot was being expired: callbacks must tolerate a stale node.
package wheel
