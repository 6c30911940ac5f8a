package registry

import (
	"slices"
	"sync"
	"sync/atomic"
)

const (
	// excludeLinearMax is the exclude-list length up to which a send scans
	// the list instead of building a map (the common "all but the sender").
	excludeLinearMax = 8
	// maxPooledSeen bounds the dedup maps kept for reuse: clearing a huge
	// map would cost every later small send.
	maxPooledSeen = 1 << 14
)

// SendAll sends m to every client whose id is not in exclude and returns how
// many connections accepted it. exclude is only read during the call.
func (r *Registry[M]) SendAll(m M, exclude []string) int {
	x := newExcludeSet(exclude)
	var next atomic.Int64 // next client shard to claim
	parts := min(r.parts(r.Count()), len(r.clients))
	return fanout(parts, func(int) int { return r.sendClaimedShards(&next, m, x) })
}

// SendClients sends m to the clients in ids (unknown ids are skipped, repeated
// ids get m once) and returns how many connections accepted it.
func (r *Registry[M]) SendClients(ids []string, m M) int {
	p := r.getTargets()
	ts := *p
	for _, id := range ids {
		if e := r.lookup(id); e != nil {
			ts = append(ts, e)
		}
	}
	return r.sendTargets(p, ts, m, len(ids) > 1, excludeSet{})
}

// SendUIDs sends m to the clients bound to uids, once per connection, and
// returns how many connections accepted it.
func (r *Registry[M]) SendUIDs(uids []string, m M) int {
	p := r.getTargets()
	ts := *p
	for _, uid := range uids {
		ts = r.uids.appendMembers(uid, ts)
	}
	// A rebind between two appends can put a client in ts twice.
	return r.sendTargets(p, ts, m, len(uids) > 1, excludeSet{})
}

// SendGroups sends m to the members of groups whose id is not in exclude,
// once per connection even if it is in several of the groups, and returns how
// many connections accepted it. exclude is only read during the call.
func (r *Registry[M]) SendGroups(groups []string, m M, exclude []string) int {
	p := r.getTargets()
	ts := *p
	for _, g := range groups {
		ts = r.groups.appendMembers(g, ts)
	}
	return r.sendTargets(p, ts, m, len(groups) > 1, newExcludeSet(exclude))
}

// sendTargets filters ts (built on the pooled *p), delivers m to what is
// left and pools the slice again.
func (r *Registry[M]) sendTargets(p *[]*entry[M], ts []*entry[M], m M, dedup bool, x excludeSet) int {
	ts = r.filter(ts, dedup, x)
	n := r.deliver(ts, m)
	r.putTargets(p, ts)
	return n
}

// filter drops from ts, in place, the entries x excludes and, when dedup is
// set, the repeats, and returns the shortened slice.
func (r *Registry[M]) filter(ts []*entry[M], dedup bool, x excludeSet) []*entry[M] {
	if !dedup && x.empty() {
		return ts
	}
	var seen map[*entry[M]]struct{}
	if dedup {
		seen = r.getSeen()
		defer r.putSeen(seen)
	}
	kept := ts[:0]
	for _, e := range ts {
		if x.has(e.id) {
			continue
		}
		if seen != nil {
			if _, dup := seen[e]; dup {
				continue
			}
			seen[e] = struct{}{}
		}
		kept = append(kept, e)
	}
	clear(ts[len(kept):])
	return kept
}

// deliver sends m to every entry of ts, on several goroutines when ts is
// big, and returns how many accepted it.
func (r *Registry[M]) deliver(ts []*entry[M], m M) int {
	parts := r.parts(len(ts))
	if parts == 1 {
		return sendEach(ts, m) // no closure: the common small send allocates nothing
	}
	return fanout(parts, func(p int) int {
		return sendEach(ts[p*len(ts)/parts:(p+1)*len(ts)/parts], m)
	})
}

// sendClaimedShards claims client shards through next until none is left and
// sends m to their clients that x does not exclude.
func (r *Registry[M]) sendClaimedShards(next *atomic.Int64, m M, x excludeSet) int {
	p := r.getTargets()
	ts := *p
	n := 0
	for i := int(next.Add(1) - 1); i < len(r.clients); i = int(next.Add(1) - 1) {
		ts = r.appendShard(reset(ts), i, x)
		n += sendEach(ts, m)
	}
	r.putTargets(p, ts)
	return n
}

// parts returns how many goroutines, the caller's included, share a send to
// n targets: one below FanoutMin, else one per FanoutMin targets (rounded
// up), at most FanoutWorkers.
func (r *Registry[M]) parts(n int) int {
	if n < r.fanoutMin {
		return 1
	}
	return max(1, min(r.workers, (n+r.fanoutMin-1)/r.fanoutMin))
}

// fanout runs work(0) on the calling goroutine and work(1) to work(parts-1)
// on goroutines of their own, waits for all of them and returns the sum of
// their results.
func fanout(parts int, work func(part int) int) int {
	var wg sync.WaitGroup
	var others atomic.Int64
	for p := 1; p < parts; p++ {
		wg.Go(func() { others.Add(int64(work(p))) })
	}
	n := work(0)
	wg.Wait()
	return n + int(others.Load())
}

// sendEach sends m to every entry of ts and returns how many accepted it.
func sendEach[M any](ts []*entry[M], m M) int {
	n := 0
	for _, e := range ts {
		if e.conn.Send(m) {
			n++
		}
	}
	return n
}

// excludeSet is the set of client ids one send skips. The zero value
// excludes nothing.
type excludeSet struct {
	ids []string            // the caller's list, when short
	set map[string]struct{} // built from a long list
}

func newExcludeSet(ids []string) excludeSet {
	if len(ids) <= excludeLinearMax {
		return excludeSet{ids: ids}
	}
	set := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		set[id] = struct{}{}
	}
	return excludeSet{set: set}
}

func (x excludeSet) empty() bool { return len(x.ids) == 0 && x.set == nil }

func (x excludeSet) has(id string) bool {
	if x.set != nil {
		_, ok := x.set[id]
		return ok
	}
	return slices.Contains(x.ids, id)
}

// getTargets returns a pooled, empty target slice. Give it back with
// putTargets, passing the last slice built on it.
func (r *Registry[M]) getTargets() *[]*entry[M] {
	if p, ok := r.targets.Get().(*[]*entry[M]); ok {
		return p
	}
	return new([]*entry[M])
}

// putTargets clears ts, so that the pool keeps no removed client alive, and
// pools it in *p.
func (r *Registry[M]) putTargets(p *[]*entry[M], ts []*entry[M]) {
	*p = reset(ts)
	r.targets.Put(p)
}

// reset clears ts and returns it emptied, for reuse.
func reset[M any](ts []*entry[M]) []*entry[M] {
	clear(ts)
	return ts[:0]
}

func (r *Registry[M]) getSeen() map[*entry[M]]struct{} {
	if m, ok := r.seen.Get().(map[*entry[M]]struct{}); ok {
		return m
	}
	return make(map[*entry[M]]struct{})
}

func (r *Registry[M]) putSeen(m map[*entry[M]]struct{}) {
	if len(m) > maxPooledSeen {
		return
	}
	clear(m)
	r.seen.Put(m)
}
