package wheel

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	noop := func(*Node[int]) {}
	tests := []struct {
		name  string
		tick  time.Duration
		slots int
		fn    func(*Node[int])
	}{
		{"zero tick", 0, 8, noop},
		{"one slot", time.Millisecond, 1, noop},
		{"not power of two", time.Millisecond, 12, noop},
		{"nil callback", time.Millisecond, 8, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.tick, tt.slots, tt.fn); !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}

func TestFiresAfterDelayNotBefore(t *testing.T) {
	var firedAt atomic.Int64 // tick at which the node fired, 0 before
	var w *Wheel[int]
	w, err := New(5*time.Millisecond, 64, func(*Node[int]) { firedAt.Store(w.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := w.Now()
	w.Add(&Node[int]{}, 10)
	if w.Len() != 1 {
		t.Fatalf("Len = %d, want 1", w.Len())
	}
	waitFor(t, 2*time.Second, func() bool { return firedAt.Load() != 0 })
	if got := firedAt.Load() - start; got < 10 {
		t.Fatalf("fired after %d ticks, want >= 10", got)
	}
	if w.Len() != 0 {
		t.Fatalf("Len after firing = %d, want 0", w.Len())
	}
}

func TestRemovePreventsFiring(t *testing.T) {
	var fired atomic.Int32
	w, _ := New(2*time.Millisecond, 16, func(*Node[int]) { fired.Add(1) })
	defer w.Stop()
	nodes := make([]Node[int], 100)
	for i := range nodes {
		w.Add(&nodes[i], int64(1+i%5))
	}
	for i := range nodes {
		w.Remove(&nodes[i])
		w.Remove(&nodes[i]) // idempotent
	}
	start := w.Now()
	waitFor(t, 2*time.Second, func() bool { return w.Now()-start > 20 })
	if fired.Load() != 0 || w.Len() != 0 {
		t.Fatalf("fired %d, Len %d; want 0, 0", fired.Load(), w.Len())
	}
}

func TestReAddMovesNode(t *testing.T) {
	var fired atomic.Int32
	w, _ := New(2*time.Millisecond, 256, func(*Node[int]) { fired.Add(1) })
	defer w.Stop()
	n := &Node[int]{}
	w.Add(n, 5)
	w.Add(n, 200) // moved, not duplicated
	if w.Len() != 1 {
		t.Fatalf("Len = %d, want 1", w.Len())
	}
	start := w.Now()
	waitFor(t, 2*time.Second, func() bool { return w.Now()-start > 20 })
	if fired.Load() != 0 {
		t.Fatal("node fired at its old deadline")
	}
}

func TestCallbackCanReAddAndLongDelaysClamp(t *testing.T) {
	var fires atomic.Int32
	var w *Wheel[int]
	w, _ = New(time.Millisecond, 8, func(n *Node[int]) {
		if fires.Add(1) < 3 {
			w.Add(n, 1000) // clamped to Span (7 ticks)
		}
	})
	defer w.Stop()
	w.Add(&Node[int]{}, 1)
	waitFor(t, 2*time.Second, func() bool { return fires.Load() == 3 })
	if w.Len() != 0 {
		t.Fatalf("Len = %d, want 0", w.Len())
	}
}

func TestEachSeesEveryScheduledNode(t *testing.T) {
	w, _ := New(time.Hour, 64, func(*Node[int]) {})
	defer w.Stop()
	for i := range 500 {
		w.Add(&Node[int]{Value: i}, int64(i))
	}
	seen := make(map[int]bool)
	w.Each(func(n *Node[int]) { seen[n.Value] = true })
	if len(seen) != 500 {
		t.Fatalf("Each saw %d nodes, want 500", len(seen))
	}
}

func TestStopIsIdempotentAndWaits(t *testing.T) {
	w, _ := New(time.Millisecond, 8, func(*Node[int]) {})
	w.Stop()
	w.Stop()
	select {
	case <-w.done:
	default:
		t.Fatal("goroutine still running after Stop")
	}
}

// TestConcurrentAddRemove churns nodes from many goroutines while the wheel fires;
// run it with and without -race. Every node ends either fired or removed, and the
// count returns to zero.
func TestConcurrentAddRemove(t *testing.T) {
	var fired atomic.Int64
	w, _ := New(100*time.Microsecond, 32, func(*Node[int]) { fired.Add(1) })
	defer w.Stop()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes := make([]Node[int], 200)
			// Churn for at least 30 ms so the wheel fires while nodes move.
			for round, until := 0, time.Now().Add(30*time.Millisecond); round < 50 || time.Now().Before(until); round++ {
				for i := range nodes {
					w.Add(&nodes[i], int64(1+(i+round+g)%7))
				}
				for i := 0; i < len(nodes); i += 2 {
					w.Remove(&nodes[i])
				}
			}
			for i := range nodes {
				w.Remove(&nodes[i])
			}
		}()
	}
	wg.Wait()
	if w.Len() != 0 {
		t.Fatalf("Len = %d after removing everything", w.Len())
	}
	if fired.Load() == 0 {
		t.Fatal("nothing fired during the churn")
	}
}

func BenchmarkAddRemove(b *testing.B) {
	w, _ := New(time.Hour, 1024, func(*Node[int]) {})
	defer w.Stop()
	n := &Node[int]{}
	b.ReportAllocs()
	for b.Loop() {
		w.Add(n, 600)
		w.Remove(n)
	}
}

// TestEachWaitsForBatchInFlight: a node whose slot is being expired is not
// scheduled, so Each must wait for the batch instead of missing it.
func TestEachWaitsForBatchInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	var w *Wheel[int]
	w, _ = New(time.Millisecond, 8, func(n *Node[int]) {
		entered <- struct{}{}
		<-release
		w.Add(n, 7) // re-armed: Each must see it
	})
	defer w.Stop()
	a, b := &Node[int]{Value: 1}, &Node[int]{Value: 2}
	w.Add(a, 1)
	w.Add(b, 1)
	<-entered // the batch holding a and b is in flight
	seen := make(chan int, 2)
	go w.Each(func(n *Node[int]) { seen <- n.Value })
	select {
	case v := <-seen:
		t.Fatalf("Each ran during the batch and saw %d", v)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	got := map[int]bool{}
	for range 2 {
		select {
		case v := <-seen:
			got[v] = true
		case <-time.After(2 * time.Second):
			t.Fatalf("Each saw %v, want both nodes", got)
		}
	}
}

// TestAddIfChecksUnderTheLock: AddIf schedules only when keep holds, and a
// refused AddIf leaves an earlier schedule alone.
func TestAddIfChecksUnderTheLock(t *testing.T) {
	fired := make(chan int, 4)
	w, err := New(time.Millisecond, 1024, func(n *Node[int]) { fired <- n.Value })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	a, b := &Node[int]{Value: 1}, &Node[int]{Value: 2}
	if w.AddIf(a, 1000, func() bool { return false }) || w.Len() != 0 {
		t.Fatal("AddIf scheduled a node its keep refused")
	}
	w.Add(b, 5)
	if w.AddIf(b, 1000, func() bool { return false }) {
		t.Fatal("AddIf with a refusing keep reported true")
	}
	if !w.AddIf(a, 5, func() bool { return true }) {
		t.Fatal("AddIf with a keep that holds reported false")
	}
	got := map[int]bool{}
	for range 2 {
		select {
		case v := <-fired:
			got[v] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("fired only %v: a refused AddIf moved b", got)
		}
	}
}
