package registry

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestChurn runs every mutating and sending method concurrently on a few
// overlapping ids, then checks that the indexes match the clients exactly
// and that removing every client leaves nothing behind.
func TestChurn(t *testing.T) {
	const workers = 8
	r := newTestRegistry(t, Config{Shards: 8, FanoutMin: 4, FanoutWorkers: 4})
	ids, uids, groups := numberedIDs("c", 64), numberedIDs("u", 6), numberedIDs("g", 6)

	// okOr fails unless err is nil or want.
	okOr := func(op string, err, want error) {
		if err != nil && !errors.Is(err, want) {
			t.Errorf("%s: %v", op, err)
		}
	}
	type op func(rng *rand.Rand, id string)
	pick := func(rng *rand.Rand, s []string) string { return s[rng.IntN(len(s))] }
	pick2 := func(rng *rand.Rand, s []string) []string { return []string{pick(rng, s), pick(rng, s)} }
	ops := []op{
		func(_ *rand.Rand, id string) { okOr("Add", r.Add(&fakeConn{id: id, reg: r}), ErrDuplicate) },
		func(_ *rand.Rand, id string) { okOr("Add", r.Add(&fakeConn{id: id, reg: r}), ErrDuplicate) },
		func(_ *rand.Rand, id string) { r.Remove(id) },
		func(_ *rand.Rand, id string) { r.CloseClient(id, 1000, "") },
		func(rng *rand.Rand, id string) { okOr("BindUID", r.BindUID(id, pick(rng, uids)), ErrNotFound) },
		func(rng *rand.Rand, id string) { okOr("BindUID", r.BindUID(id, pick(rng, uids)), ErrNotFound) },
		func(_ *rand.Rand, id string) { okOr("UnbindUID", r.UnbindUID(id), ErrNotFound) },
		func(rng *rand.Rand, id string) { okOr("JoinGroups", r.JoinGroups(id, pick2(rng, groups)), ErrNotFound) },
		func(rng *rand.Rand, id string) { okOr("JoinGroups", r.JoinGroups(id, pick2(rng, groups)), ErrNotFound) },
		func(rng *rand.Rand, id string) {
			okOr("LeaveGroups", r.LeaveGroups(id, pick2(rng, groups)), ErrNotFound)
		},
		func(rng *rand.Rand, _ string) { r.DissolveGroup(pick(rng, groups)) },
		func(rng *rand.Rand, _ string) { r.CloseUID(pick(rng, uids), 1000, "") },
		func(_ *rand.Rand, id string) { r.SendAll(1, []string{id}) },
		func(rng *rand.Rand, id string) { r.SendClients([]string{id, pick(rng, ids)}, 1) },
		func(rng *rand.Rand, _ string) { r.SendUIDs(pick2(rng, uids), 1) },
		func(rng *rand.Rand, id string) { r.SendGroups(pick2(rng, groups), 1, []string{id}) },
		func(rng *rand.Rand, _ string) { r.GroupUIDs(pick(rng, groups)) },
		func(_ *rand.Rand, id string) { r.Info(id) },
		func(rng *rand.Rand, _ string) {
			lists := []lister{r.List, r.UIDList, r.GroupList}
			if _, _, err := lists[rng.IntN(len(lists))]("", 5); err != nil {
				t.Errorf("list: %v", err)
			}
		},
	}

	deadline := time.Now().Add(time.Second)
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			n := 0
			for ; time.Now().Before(deadline); n++ {
				ops[rng.IntN(len(ops))](rng, pick(rng, ids))
			}
			done.Add(int64(n))
		})
	}
	wg.Wait()
	t.Logf("%d operations; %d clients, %d uids, %d groups left", done.Load(), r.Count(), r.UIDCount(), r.GroupTotal())

	checkConsistent(t, r)
	for _, id := range ids {
		r.Remove(id)
	}
	checkEmpty(t, r)
}

// TestRemoveRacingBindAndJoin races Remove against BindUID and JoinGroups on
// one client, many times: no interleaving may leave it in an index.
func TestRemoveRacingBindAndJoin(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 2})
	for range 1000 {
		addConns(t, r, "c")
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; _ = r.BindUID("c", "u") })
		wg.Go(func() { <-start; _ = r.JoinGroups("c", []string{"g1", "g2"}) })
		wg.Go(func() { <-start; r.Remove("c") })
		close(start)
		wg.Wait()
		checkEmpty(t, r)
		if t.Failed() {
			return
		}
	}
}

// checkConsistent checks, on a quiescent registry, that the uid and group
// indexes hold exactly the live clients' bindings, with no empty set and
// counters that match.
func checkConsistent(t *testing.T, r *Registry[int]) {
	t.Helper()
	live := make(map[*entry[int]]bool)
	for i := range r.clients {
		for id, e := range r.clients[i].m {
			if e.id != id || e.dead {
				t.Errorf("client shard holds %q as %q (dead=%v)", id, e.id, e.dead)
			}
			live[e] = true
		}
	}
	if len(live) != r.Count() {
		t.Errorf("Count() = %d, clients = %d", r.Count(), len(live))
	}
	checkIndex(t, "uid", &r.uids, live, func(e *entry[int]) []string {
		if e.uid == "" {
			return nil
		}
		return []string{e.uid}
	})
	checkIndex(t, "group", &r.groups, live, func(e *entry[int]) []string { return e.groups.sorted() })
}

func checkIndex(t *testing.T, kind string, x *index[int], live map[*entry[int]]bool, names func(*entry[int]) []string) {
	t.Helper()
	type binding struct {
		e    *entry[int]
		name string
	}
	want := make(map[binding]bool)
	for e := range live {
		for _, n := range names(e) {
			want[binding{e, n}] = true
		}
	}
	got := make(map[binding]bool)
	sets := 0
	for i := range x.shards {
		for name, set := range x.shards[i].m {
			sets++
			if set.len() == 0 || set.name != name {
				t.Errorf("%s %q: set named %q with %d members", kind, name, set.name, set.len())
			}
			for _, e := range set.appendTo(nil) {
				if !live[e] {
					t.Errorf("%s %q holds removed client %q", kind, name, e.id)
				}
				got[binding{e, name}] = true
			}
		}
	}
	for b := range want {
		if !got[b] {
			t.Errorf("client %q is bound to %s %q but not indexed", b.e.id, kind, b.name)
		}
	}
	for b := range got {
		if !want[b] {
			t.Errorf("%s %q indexes %q, which is not bound to it", kind, b.name, b.e.id)
		}
	}
	if int(x.names.Load()) != sets {
		t.Errorf("%s count = %d, sets = %d", kind, x.names.Load(), sets)
	}
}

// checkEmpty checks that a registry whose clients are all removed holds nothing.
func checkEmpty(t *testing.T, r *Registry[int]) {
	t.Helper()
	if r.Count() != 0 || r.UIDCount() != 0 || r.GroupTotal() != 0 {
		t.Errorf("Count, UIDCount, GroupTotal = %d, %d, %d; want 0", r.Count(), r.UIDCount(), r.GroupTotal())
	}
	for i := range r.clients {
		if n := len(r.clients[i].m) + len(r.uids.shards[i].m) + len(r.groups.shards[i].m); n != 0 {
			t.Errorf("shard %d keeps %d keys", i, n)
		}
	}
}
