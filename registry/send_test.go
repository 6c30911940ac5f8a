package registry

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"testing"
)

// sendConfigs run every send test on the caller's goroutine and fanned out
// over several goroutines even for tiny target lists.
var sendConfigs = []struct {
	name string
	cfg  Config
}{
	{name: "fanout=off", cfg: Config{Shards: 4, FanoutMin: 1 << 20}},
	{name: "fanout=on", cfg: Config{Shards: 4, FanoutMin: 1, FanoutWorkers: 4}},
}

// manyUnknown returns an exclude list long enough to be a map, ending in ids.
func manyUnknown(ids ...string) []string {
	return append(numberedIDs("unknown", excludeLinearMax), ids...)
}

func TestSends(t *testing.T) {
	tests := []struct {
		name string
		send func(r *Registry[int]) int
		want []string // clients that get the message, once each
	}{
		{name: "SendAll", send: func(r *Registry[int]) int { return r.SendAll(1, nil) }, want: []string{"a", "b", "c", "d", "e"}},
		{name: "SendAll exclude", send: func(r *Registry[int]) int { return r.SendAll(1, []string{"a", "unknown"}) }, want: []string{"b", "c", "d", "e"}},
		{name: "SendAll long exclude", send: func(r *Registry[int]) int { return r.SendAll(1, manyUnknown("b")) }, want: []string{"a", "c", "d", "e"}},
		{name: "SendClients", send: func(r *Registry[int]) int { return r.SendClients([]string{"a", "b"}, 1) }, want: []string{"a", "b"}},
		{name: "SendClients listed twice", send: func(r *Registry[int]) int { return r.SendClients([]string{"a", "a", "b", "unknown", "b"}, 1) }, want: []string{"a", "b"}},
		{name: "SendClients closed", send: func(r *Registry[int]) int { return r.SendClients([]string{"z"}, 1) }, want: nil},
		{name: "SendClients none", send: func(r *Registry[int]) int { return r.SendClients(nil, 1) }, want: nil},
		{name: "SendUIDs one", send: func(r *Registry[int]) int { return r.SendUIDs([]string{"u1"}, 1) }, want: []string{"a", "b"}},
		{name: "SendUIDs listed twice", send: func(r *Registry[int]) int { return r.SendUIDs([]string{"u1", "u2", "u1"}, 1) }, want: []string{"a", "b", "c"}},
		{name: "SendUIDs unknown", send: func(r *Registry[int]) int { return r.SendUIDs([]string{"nobody", ""}, 1) }, want: nil},
		{name: "SendGroups one", send: func(r *Registry[int]) int { return r.SendGroups([]string{"g2"}, 1, nil) }, want: []string{"b", "c", "d"}},
		{name: "SendGroups overlapping", send: func(r *Registry[int]) int { return r.SendGroups([]string{"g1", "g2"}, 1, nil) }, want: []string{"a", "b", "c", "d"}},
		{name: "SendGroups exclude", send: func(r *Registry[int]) int { return r.SendGroups([]string{"g1"}, 1, []string{"b"}) }, want: []string{"a", "c"}},
		{name: "SendGroups overlapping long exclude", send: func(r *Registry[int]) int {
			return r.SendGroups([]string{"g1", "g2", "g1"}, 1, manyUnknown("c"))
		}, want: []string{"a", "b", "d"}},
		{name: "SendGroups unknown", send: func(r *Registry[int]) int { return r.SendGroups([]string{"nope"}, 1, nil) }, want: nil},
		{name: "SendGroups none", send: func(r *Registry[int]) int { return r.SendGroups(nil, 1, nil) }, want: nil},
	}
	for _, sc := range sendConfigs {
		for _, tt := range tests {
			t.Run(sc.name+"/"+tt.name, func(t *testing.T) {
				r := newTestRegistry(t, sc.cfg)
				// u1: a b z; u2: c; g1: a b c z; g2: b c d; e is in nothing.
				// z is closed but still registered: it is targeted and refuses.
				conns := addConns(t, r, "a", "b", "c", "d", "e", "z")
				conns["z"].closed.Store(true)
				for id, uid := range map[string]string{"a": "u1", "b": "u1", "z": "u1", "c": "u2"} {
					mustNil(t, r.BindUID(id, uid))
				}
				for id, groups := range map[string][]string{"a": {"g1"}, "b": {"g1", "g2"}, "c": {"g2", "g1"}, "d": {"g2"}, "z": {"g1"}} {
					mustNil(t, r.JoinGroups(id, groups))
				}

				if got := tt.send(r); got != len(tt.want) {
					t.Errorf("returned %d, want %d", got, len(tt.want))
				}
				for _, id := range slices.Sorted(maps.Keys(conns)) {
					want := int64(0)
					if slices.Contains(tt.want, id) {
						want = 1
					}
					if got := conns[id].sends.Load(); got != want {
						t.Errorf("%s got %d messages, want %d", id, got, want)
					}
				}
			})
		}
	}
}

// TestSendOrder checks that calls made one after the other reach every
// connection in call order, even when each call is fanned out.
func TestSendOrder(t *testing.T) {
	const n, calls = 300, 40
	r := newTestRegistry(t, Config{Shards: 8, FanoutMin: 16, FanoutWorkers: 4})
	ids := numberedIDs("c", n)
	uids := numberedIDs("u", n)
	conns := make([]*fakeConn, n)
	for i, id := range ids {
		conns[i] = &fakeConn{id: id, reg: r, record: true}
		mustNil(t, r.Add(conns[i]))
		mustNil(t, r.BindUID(id, uids[i]))
		mustNil(t, r.JoinGroups(id, []string{"even", "all"}[i%2:]))
	}
	sends := []func(m int) int{
		func(m int) int { return r.SendAll(m, nil) },
		func(m int) int { return r.SendGroups([]string{"all", "even"}, m, nil) },
		func(m int) int { return r.SendClients(ids, m) },
		func(m int) int { return r.SendUIDs(uids, m) },
	}
	for m := range calls {
		if got := sends[m%len(sends)](m); got != n {
			t.Fatalf("call %d reached %d connections, want %d", m, got, n)
		}
	}
	want := make([]int, calls)
	for m := range want {
		want[m] = m
	}
	for _, c := range conns {
		if got := c.received(); !slices.Equal(got, want) {
			t.Fatalf("%s received %v, want %v", c.id, got, want)
		}
	}
}

// TestFanoutLeavesNoGoroutines checks that fanned-out sends join their
// goroutines.
func TestFanoutLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	r := newTestRegistry(t, Config{FanoutMin: 8, FanoutWorkers: 8})
	ids := numberedIDs("c", 200)
	addConns(t, r, ids...)
	for _, id := range ids {
		mustNil(t, r.JoinGroups(id, []string{"g"}))
	}
	for range 20 {
		r.SendAll(1, nil)
		r.SendGroups([]string{"g"}, 1, nil)
		r.SendClients(ids, 1)
	}
	waitFor(t, "fan-out goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

func TestSendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	r := newTestRegistry(t, Config{Shards: 16, FanoutWorkers: 4})
	addConns(t, r, "a", "b", "c", "d")
	for _, id := range []string{"a", "b", "c"} {
		mustNil(t, r.BindUID(id, "u"))
		mustNil(t, r.JoinGroups(id, []string{"g1", "g2"}))
	}
	big := numberedIDs("big", 10000)
	addConns(t, r, big...)
	for _, id := range big {
		mustNil(t, r.JoinGroups(id, []string{"big"}))
	}

	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{name: "Lookup", fn: func() { r.Lookup("a") }},
		{name: "SendClients one", fn: func() { r.SendClients([]string{"a"}, 1) }},
		{name: "SendClients dedup", fn: func() { r.SendClients([]string{"a", "b", "a"}, 1) }},
		{name: "SendUIDs one", fn: func() { r.SendUIDs([]string{"u"}, 1) }},
		{name: "SendGroups one", fn: func() { r.SendGroups([]string{"g1"}, 1, nil) }},
		{name: "SendGroups dedup and exclude", fn: func() { r.SendGroups([]string{"g1", "g2"}, 1, []string{"a"}) }},
		// Fanned out to 10,000 connections: a few allocations per call, none per connection.
		{name: "SendGroups fanned out", max: 16, fn: func() { r.SendGroups([]string{"big"}, 1, nil) }},
		{name: "SendAll fanned out", max: 16, fn: func() { r.SendAll(1, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn() // fill the pools
			if got := testing.AllocsPerRun(100, tt.fn); got > tt.max {
				t.Errorf("%v allocs per call, want <= %v", got, tt.max)
			}
		})
	}
}

func TestParts(t *testing.T) {
	r := newTestRegistry(t, Config{FanoutMin: 100, FanoutWorkers: 4})
	tests := []struct{ n, want int }{
		{0, 1}, {99, 1}, {100, 1}, {101, 2}, {250, 3}, {400, 4}, {100000, 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d", tt.n), func(t *testing.T) {
			if got := r.parts(tt.n); got != tt.want {
				t.Errorf("parts(%d) = %d, want %d", tt.n, got, tt.want)
			}
		})
	}
}
