package registry

import (
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// smallSetMax is the size up to which a memberSet is a slice. Most uids have
// one to a few connections; past this size removal by linear scan would
// start to cost more than a map.
const smallSetMax = 8

// index maps names (uids or groups) to the sets of entries bound to them.
// Empty sets are deleted. Callers hold the mu of the entry they add or
// remove, so that entry's membership cannot change underneath them.
type index[M any] struct {
	seed   maphash.Seed
	mask   uint64
	kind   byte // cursor kind of this index's pages
	shards []indexShard[M]
	names  atomic.Int64 // non-empty sets; changed under the shard lock
}

type indexShard[M any] struct {
	mu   sync.RWMutex
	m    map[string]*memberSet[M] // guarded by mu; never holds an empty set
	peak int                      // guarded by mu; most names m held since it was made
	_    [64]byte                 // keeps neighbouring shards' locks off one cache line
}

// shrinkMin is the peak below which a map is never rebuilt: small maps cost
// little, and rebuilding them would be churn.
const shrinkMin = 1024

// shrunk returns m rebuilt at its size, and the new peak, once it holds under
// a quarter of peak (at least shrinkMin): Go maps keep the memory of their
// largest size. Amortised O(1) per delete.
func shrunk[K comparable, V any](m map[K]V, peak int) (map[K]V, int) {
	if peak < shrinkMin || len(m) > peak/4 {
		return m, peak
	}
	n := make(map[K]V, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n, len(n)
}

func (x *index[M]) init(seed maphash.Seed, shards int, kind byte) {
	x.seed = seed
	x.mask = uint64(shards - 1)
	x.kind = kind
	x.shards = make([]indexShard[M], shards)
	for i := range x.shards {
		x.shards[i].m = make(map[string]*memberSet[M])
	}
}

func (x *index[M]) shard(name string) *indexShard[M] {
	return &x.shards[maphash.String(x.seed, name)&x.mask]
}

// add puts e, which must not be a member yet, in name's set and returns the
// set's own copy of name, for the entry to keep: all members share one
// string, and the caller's string (maybe a slice of a request body) is not
// retained.
func (x *index[M]) add(name string, e *entry[M]) string {
	s := x.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.m[name]
	if set == nil {
		set = &memberSet[M]{name: strings.Clone(name)}
		s.m[set.name] = set
		s.peak = max(s.peak, len(s.m))
		x.names.Add(1)
	}
	set.add(e)
	return set.name
}

// remove takes e out of name's set, deleting the set if it empties.
// It is a no-op if e is not a member.
func (x *index[M]) remove(name string, e *entry[M]) {
	s := x.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.m[name]
	if set == nil || !set.remove(e) || set.len() > 0 {
		return
	}
	delete(s.m, name)
	s.m, s.peak = shrunk(s.m, s.peak)
	x.names.Add(-1)
}

// appendMembers appends name's members to dst.
func (x *index[M]) appendMembers(name string, dst []*entry[M]) []*entry[M] {
	s := x.shard(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if set := s.m[name]; set != nil {
		dst = set.appendTo(dst)
	}
	return dst
}

// size returns the number of members of name.
func (x *index[M]) size(name string) int {
	s := x.shard(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if set := s.m[name]; set != nil {
		return set.len()
	}
	return 0
}

// page returns one page of names; see Pagination in the package documentation.
func (x *index[M]) page(cursor string, limit int) ([]string, string, error) {
	return paginate(x.kind, cursor, limit, len(x.shards), func(i int, after string, bounded bool, dst []string) []string {
		s := &x.shards[i]
		return appendKeysAfter(&s.mu, &s.m, after, bounded, dst)
	})
}

// memberSet is the set of entries bound to one name: a slice while it has at
// most smallSetMax members, a map from then on (until it empties and is
// deleted), so that removal from a big group stays O(1).
type memberSet[M any] struct {
	name  string                 // the index's copy of the name
	small []*entry[M]            // members while big is nil
	big   map[*entry[M]]struct{} // members once promoted
	peak  int                    // most members big held since it was made
}

func (s *memberSet[M]) add(e *entry[M]) {
	if s.big == nil && len(s.small) < smallSetMax {
		s.small = append(s.small, e)
		return
	}
	if s.big == nil {
		s.big = make(map[*entry[M]]struct{}, 2*smallSetMax)
		for _, m := range s.small {
			s.big[m] = struct{}{}
		}
		s.small = nil
	}
	s.big[e] = struct{}{}
	s.peak = max(s.peak, len(s.big))
}

// remove reports whether e was a member.
func (s *memberSet[M]) remove(e *entry[M]) bool {
	if s.big != nil {
		_, ok := s.big[e]
		delete(s.big, e)
		if len(s.big) <= smallSetMax/2 { // back to a slice: a drained map keeps its peak memory
			s.small = slices.Collect(maps.Keys(s.big))
			s.big, s.peak = nil, 0
			return ok
		}
		s.big, s.peak = shrunk(s.big, s.peak)
		return ok
	}
	for i, m := range s.small {
		if m == e {
			last := len(s.small) - 1
			s.small[i] = s.small[last]
			s.small[last] = nil
			s.small = s.small[:last]
			return true
		}
	}
	return false
}

func (s *memberSet[M]) len() int {
	if s.big != nil {
		return len(s.big)
	}
	return len(s.small)
}

func (s *memberSet[M]) appendTo(dst []*entry[M]) []*entry[M] {
	if s.big == nil {
		return append(dst, s.small...)
	}
	dst = slices.Grow(dst, len(s.big))
	for e := range s.big {
		dst = append(dst, e)
	}
	return dst
}
