package registry

import (
	"fmt"
	"testing"
)

// reportDeliveries reports deliveries per second of wall time.
func reportDeliveries(b *testing.B, deliveries int) {
	b.ReportMetric(float64(deliveries)/b.Elapsed().Seconds(), "deliveries/s")
}

func BenchmarkSendAll(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			r := newTestRegistry(b, Config{})
			addConns(b, r, numberedIDs("c", n)...)
			b.ReportAllocs()
			deliveries := 0
			for b.Loop() {
				deliveries += r.SendAll(1, nil)
			}
			reportDeliveries(b, deliveries)
		})
	}
}

func BenchmarkSendUIDs(b *testing.B) {
	b.Run("conns=3", func(b *testing.B) {
		r := newTestRegistry(b, Config{})
		ids := numberedIDs("c", 3)
		addConns(b, r, ids...)
		for _, id := range ids {
			mustNil(b, r.BindUID(id, "u"))
		}
		uids := []string{"u"}
		b.ReportAllocs()
		deliveries := 0
		for b.Loop() {
			deliveries += r.SendUIDs(uids, 1)
		}
		reportDeliveries(b, deliveries)
	})
}

func BenchmarkSendGroups(b *testing.B) {
	tests := []struct {
		members int
		groups  []string // every member joins all of them
	}{
		{members: 1000, groups: []string{"g"}},
		{members: 1000, groups: []string{"g", "h"}}, // deduplicated
	}
	for _, tt := range tests {
		b.Run(fmt.Sprintf("members=%d/groups=%d", tt.members, len(tt.groups)), func(b *testing.B) {
			r := newTestRegistry(b, Config{})
			ids := numberedIDs("c", tt.members)
			addConns(b, r, ids...)
			for _, id := range ids {
				mustNil(b, r.JoinGroups(id, tt.groups))
			}
			b.ReportAllocs()
			deliveries := 0
			for b.Loop() {
				deliveries += r.SendGroups(tt.groups, 1, nil)
			}
			reportDeliveries(b, deliveries)
		})
	}
}

func BenchmarkBindUID(b *testing.B) {
	b.Run("rebind", func(b *testing.B) {
		r := newTestRegistry(b, Config{})
		addConns(b, r, "c", "holder1", "holder2")
		// Other clients keep both uids alive: a move allocates no set.
		mustNil(b, r.BindUID("holder1", "u1"))
		mustNil(b, r.BindUID("holder2", "u2"))
		uids := [2]string{"u1", "u2"}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := r.BindUID("c", uids[i&1]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	b.Run("conns=10000", func(b *testing.B) {
		r := newTestRegistry(b, Config{})
		ids := numberedIDs("c", 10000)
		addConns(b, r, ids...)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := r.Lookup(ids[i%len(ids)]); !ok {
				b.Fatal("not found")
			}
			i++
		}
	})
}
