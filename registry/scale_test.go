package registry

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"
)

// groupNames returns n group names that sort in descending order, prefixed.
func groupNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%07d", prefix, n-i)
	}
	return names
}

// TestJoinCostDoesNotGrowWithGroups joins the same number of new groups (in
// descending order, the worst case for a sorted list) to a client with no
// group and to one with 100,000: the second must not cost much more. With a
// sorted slice it cost ~100 times more (quadratic joins).
func TestJoinCostDoesNotGrowWithGroups(t *testing.T) {
	r := newTestRegistry(t, Config{MaxGroupsPerClient: 200000})
	addConns(t, r, "empty", "full")
	for _, chunk := range slices.Collect(slices.Chunk(groupNames("z", 100000), 10000)) {
		if err := r.JoinGroups("full", chunk); err != nil {
			t.Fatal(err)
		}
	}
	join := func(id, prefix string) time.Duration {
		best := time.Hour
		for i := range 3 {
			names := groupNames(fmt.Sprintf("%s%d-", prefix, i), 2000) // sort before every "z" group
			start := time.Now()
			if err := r.JoinGroups(id, names); err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	small, big := join("empty", "a"), join("full", "a")
	t.Logf("2,000 joins: %v to a client without groups, %v to one with 100,000", small, big)
	if big > 10*small+20*time.Millisecond {
		t.Errorf("joining 2,000 groups took %v next to 100,000 groups, %v next to none: not O(1) per group", big, small)
	}
}

// TestMaxGroupsPerClient: a join past the cap is refused whole, with
// ErrTooManyGroups, and changes nothing; groups already joined do not count
// twice.
func TestMaxGroupsPerClient(t *testing.T) {
	r := newTestRegistry(t, Config{MaxGroupsPerClient: 3})
	addConns(t, r, "c")
	if err := r.JoinGroups("c", []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if err := r.JoinGroups("c", []string{"a", "b", "c", "c"}); err != nil {
		t.Fatalf("joining to exactly the cap: %v", err)
	}
	err := r.JoinGroups("c", []string{"d", "a"})
	if !errors.Is(err, ErrTooManyGroups) {
		t.Fatalf("join past the cap: %v, want ErrTooManyGroups", err)
	}
	if info, _ := r.Info("c"); !slices.Equal(info.Groups, []string{"a", "b", "c"}) || r.GroupTotal() != 3 {
		t.Fatalf("after a refused join: groups %v, total %d", info.Groups, r.GroupTotal())
	}
}

// heapInUse collects garbage (twice: pools keep what the first frees) and
// returns the heap in use.
func heapInUse() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestMemoryReturnsAfterAPeak fills the registry (clients in many groups of
// their own and in groups they share, then many clients) and drains it: the
// heap must come back near where it started, and near what is left while one
// client remains, not stay at the peak because Go maps never shrink.
func TestMemoryReturnsAfterAPeak(t *testing.T) {
	if raceEnabled {
		t.Skip("heap sizes under the race detector say nothing")
	}
	r := newTestRegistry(t, Config{MaxGroupsPerClient: 6000})
	base := heapInUse()
	check := func(what string, peak, now uint64) {
		t.Helper()
		t.Logf("%s: heap in use %d KiB at the start, %d KiB at the peak, %d KiB now", what, base>>10, peak>>10, now>>10)
		if grown, kept := peak-base, int64(now)-int64(base); kept > int64(grown/10) {
			t.Errorf("%s: %d KiB of the %d KiB peak growth stay", what, kept>>10, grown>>10)
		}
	}
	var ids []string
	for i := range 100 {
		ids = append(ids, fmt.Sprintf("client-%03d", i))
	}
	addConns(t, r, ids...)
	for _, id := range ids {
		if err := r.JoinGroups(id, groupNames(id+"/", 5000)); err != nil {
			t.Fatal(err)
		}
		if err := r.JoinGroups(id, groupNames("shared/", 900)); err != nil {
			t.Fatal(err)
		}
	}
	more := make([]string, 50000)
	for i := range more {
		more[i] = fmt.Sprintf("extra-%06d", i)
	}
	addConns(t, r, more...)
	peak := heapInUse()
	for _, id := range ids {
		if err := r.LeaveGroups(id, groupNames(id+"/", 5000)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range append(ids[1:], more...) {
		r.Remove(id)
	}
	check("one client left in 900 groups", peak, heapInUse())
	r.Remove(ids[0])
	check("all gone", peak, heapInUse())
}
