package registry

import "slices"

// JoinGroups adds client id to groups. Joining a group twice is a no-op.
// It returns ErrEmptyName, changing nothing, if any name is empty, and
// ErrNotFound for an unknown client.
func (r *Registry[M]) JoinGroups(id string, groups []string) error {
	if slices.Contains(groups, "") {
		return ErrEmptyName
	}
	e, err := r.lockLive(id)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	for _, g := range groups {
		if i, joined := slices.BinarySearch(e.groups, g); !joined {
			e.groups = slices.Insert(e.groups, i, r.groups.add(g, e))
		}
	}
	return nil
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
	i, joined := slices.BinarySearch(e.groups, g)
	if !joined {
		return false
	}
	r.groups.remove(e.groups[i], e)
	e.groups = slices.Delete(e.groups, i, i+1)
	if len(e.groups) == 0 {
		e.groups = nil
	}
	return true
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
