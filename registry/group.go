package registry

import (
	"fmt"
	"slices"
)

// JoinGroups adds client id to groups. Joining a group twice is a no-op.
// It returns ErrEmptyName if any name is empty, ErrTooManyGroups if the
// client would be in more than Config.MaxGroupsPerClient groups, and
// ErrNotFound for an unknown client; with an error nothing changes. Each
// group costs O(1), whatever the client's other groups.
func (r *Registry[M]) JoinGroups(id string, groups []string) error {
	if slices.Contains(groups, "") {
		return ErrEmptyName
	}
	e, err := r.lockLive(id)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	if n := e.groups.len() + newNames(&e.groups, groups, r.maxGroups-e.groups.len()); n > r.maxGroups {
		return fmt.Errorf("%w: the client would be in %d groups, the limit is %d", ErrTooManyGroups, n, r.maxGroups)
	}
	for _, g := range groups {
		if !e.groups.has(g) {
			e.groups.add(r.groups.add(g, e))
		}
	}
	return nil
}

// newNames returns how many distinct names of list are not in s, or
// len(list) when that is at most room (then it does not need to know).
func newNames(s *nameSet, list []string, room int) int {
	if len(list) <= room {
		return len(list)
	}
	seen := make(map[string]struct{}, len(list))
	for _, n := range list {
		if !s.has(n) {
			seen[n] = struct{}{}
		}
	}
	return len(seen)
}

// LeaveGroups removes client id from groups. Leaving a group it has not
// joined is a no-op. It returns ErrNotFound for an unknown client.
func (r *Registry[M]) LeaveGroups(id string, groups []string) error {
	e, err := r.lockLive(id)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	for _, g := range groups {
		r.leaveLocked(e, g)
	}
	return nil
}

// leaveLocked removes e, whose mu the caller holds, from group g and reports
// whether it was a member.
func (r *Registry[M]) leaveLocked(e *entry[M], g string) bool {
	name, joined := e.groups.remove(g)
	if joined {
		r.groups.remove(name, e)
	}
	return joined
}

// DissolveGroup removes every member from group and returns how many it
// removed. Clients joining while it runs may stay members.
func (r *Registry[M]) DissolveGroup(group string) int {
	p := r.getTargets()
	ts := r.groups.appendMembers(group, *p)
	n := 0
	for _, e := range ts {
		e.mu.Lock() // a removed entry has no groups left: leaveLocked is false
		if r.leaveLocked(e, group) {
			n++
		}
		e.mu.Unlock()
	}
	r.putTargets(p, ts)
	return n
}

// GroupClients returns the sorted ids of group's members, nil if none.
// The slice belongs to the caller.
func (r *Registry[M]) GroupClients(group string) []string {
	return r.memberIDs(&r.groups, group)
}

// GroupUIDs returns the sorted, distinct, non-empty uids of group's members,
// nil if none. The slice belongs to the caller.
func (r *Registry[M]) GroupUIDs(group string) []string {
	p := r.getTargets()
	ts := r.groups.appendMembers(group, *p)
	var uids []string
	for _, e := range ts {
		e.mu.Lock()
		if e.uid != "" {
			uids = append(uids, e.uid)
		}
		e.mu.Unlock()
	}
	r.putTargets(p, ts)
	slices.Sort(uids)
	return slices.Compact(uids)
}

// GroupCount returns the number of members of group.
func (r *Registry[M]) GroupCount(group string) int {
	return r.groups.size(group)
}

// GroupTotal returns the number of groups with at least one member.
func (r *Registry[M]) GroupTotal() int {
	return int(r.groups.names.Load())
}

// GroupList returns one page of groups that have at least one member; see
// Pagination in the package documentation.
func (r *Registry[M]) GroupList(cursor string, limit int) (groups []string, next string, err error) {
	return r.groups.page(cursor, limit)
}
