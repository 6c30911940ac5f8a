package registry

import (
	"maps"
	"slices"
)

// smallNames is the size up to which a nameSet is a slice (searched
// linearly); past it, a map, so that joining or leaving one group costs O(1)
// however many groups the client is in.
const smallNames = 16

// nameSet is a client's groups. The zero value is empty.
type nameSet struct {
	small []string
	big   map[string]struct{}
}

func (s *nameSet) len() int {
	if s.big != nil {
		return len(s.big)
	}
	return len(s.small)
}

func (s *nameSet) has(n string) bool {
	if s.big != nil {
		_, ok := s.big[n]
		return ok
	}
	return slices.Contains(s.small, n)
}

// add puts n, which must not be a member, in the set.
func (s *nameSet) add(n string) {
	if s.big == nil && len(s.small) < smallNames {
		s.small = append(s.small, n)
		return
	}
	if s.big == nil {
		s.big = make(map[string]struct{}, 2*smallNames)
		for _, m := range s.small {
			s.big[m] = struct{}{}
		}
		s.small = nil
	}
	s.big[n] = struct{}{}
}

// remove takes n out and returns the set's copy of it, or "" and false if it
// was not a member.
func (s *nameSet) remove(n string) (string, bool) {
	if s.big != nil {
		if _, ok := s.big[n]; !ok {
			return "", false
		}
		delete(s.big, n)
		if len(s.big) <= smallNames/2 { // back to a slice: a drained map keeps its peak memory
			s.small = slices.Collect(maps.Keys(s.big))
			s.big = nil
		}
		return n, true
	}
	i := slices.Index(s.small, n)
	if i < 0 {
		return "", false
	}
	m := s.small[i]
	last := len(s.small) - 1
	s.small[i], s.small[last] = s.small[last], ""
	s.small = s.small[:last]
	if last == 0 {
		s.small = nil
	}
	return m, true
}

// all returns the members, unsorted; the slice may be the set's own (read it
// only while holding the lock that guards the set).
func (s *nameSet) all() []string {
	if s.big != nil {
		return slices.Collect(maps.Keys(s.big))
	}
	return s.small
}

// sorted returns a sorted copy of the members, nil when empty.
func (s *nameSet) sorted() []string {
	if s.len() == 0 {
		return nil
	}
	out := slices.Clone(s.all())
	slices.Sort(out)
	return out
}
