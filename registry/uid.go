package registry

import "slices"

// BindUID binds client id to uid. A client has one uid: binding it to another
// moves it. Binding it again to the same uid is a no-op. It returns
// ErrEmptyName for an empty uid and ErrNotFound for an unknown client.
func (r *Registry[M]) BindUID(id, uid string) error {
	if uid == "" {
		return ErrEmptyName
	}
	e, err := r.lockLive(id)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	if e.uid == uid {
		return nil
	}
	if e.uid != "" {
		r.uids.remove(e.uid, e)
	}
	e.uid = r.uids.add(uid, e)
	return nil
}

// UnbindUID unbinds client id from its uid, if it has one. It returns
// ErrNotFound for an unknown client.
func (r *Registry[M]) UnbindUID(id string) error {
	e, err := r.lockLive(id)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	if e.uid != "" {
		r.uids.remove(e.uid, e)
		e.uid = ""
	}
	return nil
}

// CloseUID closes every connection bound to uid, with no lock held, and
// returns how many it closed. Removal is left to the connections.
func (r *Registry[M]) CloseUID(uid string, code uint16, reason string) int {
	p := r.getTargets()
	ts := r.uids.appendMembers(uid, *p)
	for _, e := range ts {
		e.conn.Close(code, reason)
	}
	n := len(ts)
	r.putTargets(p, ts)
	return n
}

// UIDOnline reports whether at least one client is bound to uid.
func (r *Registry[M]) UIDOnline(uid string) bool {
	return r.uids.size(uid) > 0
}

// UIDClients returns the sorted ids of the clients bound to uid, nil if none.
// The slice belongs to the caller.
func (r *Registry[M]) UIDClients(uid string) []string {
	return r.memberIDs(&r.uids, uid)
}

// UIDCount returns the number of uids with at least one client.
func (r *Registry[M]) UIDCount() int {
	return int(r.uids.names.Load())
}

// UIDList returns one page of uids that have at least one client; see
// Pagination in the package documentation.
func (r *Registry[M]) UIDList(cursor string, limit int) (uids []string, next string, err error) {
	return r.uids.page(cursor, limit)
}

// memberIDs returns the sorted, distinct ids of name's members in x.
func (r *Registry[M]) memberIDs(x *index[M], name string) []string {
	p := r.getTargets()
	ts := x.appendMembers(name, *p)
	var ids []string
	if len(ts) > 0 {
		ids = make([]string, len(ts))
		for i, e := range ts {
			ids[i] = e.id
		}
		slices.Sort(ids)
		// A client removed and re-added under the same id can briefly be in
		// a set twice, as two entries.
		ids = slices.Compact(ids)
	}
	r.putTargets(p, ts)
	return ids
}
