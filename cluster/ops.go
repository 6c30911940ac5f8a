package cluster

import (
	"context"
	"encoding/base64"
	"slices"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// The hub.Hub methods. Cluster-wide ones run their local part first (so it
// works while NATS is down) and then ask every other live node; one-client
// ones go to the client's owner.

// sum adds the replies' counts to a local count.
func sum(n int, replies []reply) int {
	for _, r := range replies {
		n += r.N
	}
	return n
}

// firstErr returns the first reply's error (a node refused what every node
// was asked: the same refusal everywhere, as they validate alike).
func firstErr(replies []reply) error {
	for _, r := range replies {
		if err := r.errorOf(); err != nil {
			return err
		}
	}
	return nil
}

// sent runs a cluster-wide send whose local part is done.
func (h *Hub) sent(ctx context.Context, local hub.Sent, err error, r *request) (hub.Sent, error) {
	if err != nil {
		return hub.Sent{}, err
	}
	replies, cov, err := h.everywhere(ctx, r)
	if err != nil {
		return hub.Sent{}, err
	}
	return hub.Sent{Sent: sum(local.Sent, replies), Coverage: cov}, firstErr(replies)
}

func (h *Hub) SendAll(ctx context.Context, f *wsframe.Frame, exclude []string) (hub.Sent, error) {
	local, err := h.local.SendAll(ctx, f, exclude)
	return h.sent(ctx, local, err, (&request{Op: opSendAll, Exclude: exclude}).withFrame(f))
}

func (h *Hub) SendUIDs(ctx context.Context, uids []string, f *wsframe.Frame) (hub.Sent, error) {
	local, err := h.local.SendUIDs(ctx, uids, f)
	return h.sent(ctx, local, err, (&request{Op: opSendUIDs, Names: uids}).withFrame(f))
}

func (h *Hub) SendGroups(ctx context.Context, groups []string, f *wsframe.Frame, exclude []string) (hub.Sent, error) {
	local, err := h.local.SendGroups(ctx, groups, f, exclude)
	return h.sent(ctx, local, err, (&request{Op: opSendGroups, Names: groups, Exclude: exclude}).withFrame(f))
}

// SendClients sends to each client on its owner: the local ones here, the
// others in one request per owning node. A node that does not answer makes
// the answer partial.
func (h *Hub) SendClients(ctx context.Context, ids []string, f *wsframe.Frame) (hub.Sent, error) {
	var here []string
	there := map[string][]string{}
	for _, id := range ids {
		switch node, err := h.owner(id); {
		case err != nil: // no live node has it
		case node == "":
			here = append(here, id)
		default:
			there[node] = append(there[node], id)
		}
	}
	total := hub.Sent{}
	if len(here) > 0 {
		s, err := h.local.SendClients(ctx, here, f)
		if err != nil {
			return hub.Sent{}, err
		}
		total.Sent = s.Sent
	}
	var missing []string
	for _, node := range sortedKeys(there) {
		rep, err := h.direct(ctx, node, (&request{Op: opSendClients, IDs: there[node]}).withFrame(f))
		if err != nil {
			missing = append(missing, node)
			continue
		}
		total.Sent += rep.N
	}
	total.Coverage = h.missing(missing)
	return total, nil
}

// onOwner runs a one-client operation where the client lives.
func (h *Hub) onOwner(ctx context.Context, id string, r *request, local func() error) (reply, error) {
	node, err := h.owner(id)
	switch {
	case err != nil:
		return reply{}, err
	case node == "":
		return reply{}, local()
	}
	r.IDs = []string{id}
	return h.direct(ctx, node, r)
}

func (h *Hub) BindUID(ctx context.Context, id, uid string) error {
	_, err := h.onOwner(ctx, id, &request{Op: opBind, Names: []string{uid}}, func() error { return h.local.BindUID(ctx, id, uid) })
	return err
}

func (h *Hub) UnbindUID(ctx context.Context, id string) error {
	_, err := h.onOwner(ctx, id, &request{Op: opUnbind}, func() error { return h.local.UnbindUID(ctx, id) })
	return err
}

func (h *Hub) JoinGroups(ctx context.Context, id string, groups []string) error {
	_, err := h.onOwner(ctx, id, &request{Op: opJoin, Names: groups}, func() error { return h.local.JoinGroups(ctx, id, groups) })
	return err
}

func (h *Hub) LeaveGroups(ctx context.Context, id string, groups []string) error {
	_, err := h.onOwner(ctx, id, &request{Op: opLeave, Names: groups}, func() error { return h.local.LeaveGroups(ctx, id, groups) })
	return err
}

func (h *Hub) CloseClient(ctx context.Context, id string, code uint16, reason string) error {
	_, err := h.onOwner(ctx, id, &request{Op: opCloseClient, Code: code, Reason: reason}, func() error { return h.local.CloseClient(ctx, id, code, reason) })
	return err
}

func (h *Hub) ClientInfo(ctx context.Context, id string) (hub.Info, error) {
	var info hub.Info
	rep, err := h.onOwner(ctx, id, &request{Op: opInfo}, func() (err error) {
		info, err = h.local.ClientInfo(ctx, id)
		return err
	})
	if rep.Info != nil {
		info = *rep.Info
	}
	return info, err
}

// counted runs a cluster-wide operation that answers a count.
func (h *Hub) counted(ctx context.Context, local hub.Count, err error, r *request) (hub.Count, error) {
	if err != nil {
		return hub.Count{}, err
	}
	replies, cov, err := h.everywhere(ctx, r)
	if err != nil {
		return hub.Count{}, err
	}
	return hub.Count{Count: sum(local.Count, replies), Coverage: cov}, firstErr(replies)
}

func (h *Hub) DissolveGroup(ctx context.Context, group string) (hub.Count, error) {
	local, err := h.local.DissolveGroup(ctx, group)
	return h.counted(ctx, local, err, &request{Op: opDissolve, Names: []string{group}})
}

func (h *Hub) CloseUID(ctx context.Context, uid string, code uint16, reason string) (hub.Count, error) {
	local, err := h.local.CloseUID(ctx, uid, code, reason)
	return h.counted(ctx, local, err, &request{Op: opCloseUID, Names: []string{uid}, Code: code, Reason: reason})
}

func (h *Hub) ClientCount(ctx context.Context) (hub.Count, error) {
	local, err := h.local.ClientCount(ctx)
	return h.counted(ctx, local, err, &request{Op: opCount})
}

func (h *Hub) GroupCount(ctx context.Context, group string) (hub.Count, error) {
	local, err := h.local.GroupCount(ctx, group)
	return h.counted(ctx, local, err, &request{Op: opGroupCount, Names: []string{group}})
}

// distinct counts the distinct names of a listing over every node.
func (h *Hub) distinct(ctx context.Context, l registry.Listing) (hub.Count, error) {
	names, _ := h.listLocal(l, "", -1)
	replies, cov, err := h.everywhere(ctx, &request{Op: opList, Listing: l, Limit: -1})
	if err != nil {
		return hub.Count{}, err
	}
	return hub.Count{Count: len(union(names, replies)), Coverage: cov}, nil
}

func (h *Hub) UIDCount(ctx context.Context) (hub.Count, error) { return h.distinct(ctx, registry.UIDs) }

func (h *Hub) GroupTotal(ctx context.Context) (hub.Count, error) {
	return h.distinct(ctx, registry.Groups)
}

func (h *Hub) UIDOnline(ctx context.Context, uid string) (hub.Online, error) {
	local, err := h.local.UIDOnline(ctx, uid)
	if err != nil || local.Online {
		return local, err
	}
	replies, cov, err := h.everywhere(ctx, &request{Op: opUIDOnline, Names: []string{uid}})
	if err != nil {
		return hub.Online{}, err
	}
	for _, r := range replies {
		if r.OK {
			return hub.Online{Online: true}, nil // whole: one is enough
		}
	}
	return hub.Online{Coverage: cov}, nil
}

// names runs a cluster-wide operation that answers names and returns their
// sorted union.
func (h *Hub) names(ctx context.Context, local hub.Names, err error, r *request) (hub.Names, error) {
	if err != nil {
		return hub.Names{}, err
	}
	replies, cov, err := h.everywhere(ctx, r)
	if err != nil {
		return hub.Names{}, err
	}
	return hub.Names{Names: union(local.Names, replies), Coverage: cov}, firstErr(replies)
}

func (h *Hub) UIDClients(ctx context.Context, uid string) (hub.Names, error) {
	local, err := h.local.UIDClients(ctx, uid)
	return h.names(ctx, local, err, &request{Op: opUIDClients, Names: []string{uid}})
}

func (h *Hub) GroupClients(ctx context.Context, group string) (hub.Names, error) {
	local, err := h.local.GroupClients(ctx, group)
	return h.names(ctx, local, err, &request{Op: opGroupClients, Names: []string{group}})
}

func (h *Hub) GroupUIDs(ctx context.Context, group string) (hub.Names, error) {
	local, err := h.local.GroupUIDs(ctx, group)
	return h.names(ctx, local, err, &request{Op: opGroupUIDs, Names: []string{group}})
}

// union merges names with the replies' names: sorted, each once, never nil.
func union(names []string, replies []reply) []string {
	all := slices.Clone(names)
	for _, r := range replies {
		all = append(all, r.Names...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if all == nil {
		all = []string{}
	}
	return all
}

// page is one page of a listing over every node, in name order: each node
// gives its next names after the cursor's, the merge keeps the first limit,
// and the next cursor is the last name kept. A name on several nodes comes
// once; a walk returns every name once when nothing changes meanwhile.
func (h *Hub) page(ctx context.Context, l registry.Listing, cursor string, limit int) (hub.Page, error) {
	after, err := decodeCursor(l, cursor)
	if err != nil {
		return hub.Page{}, err
	}
	if limit <= 0 {
		limit = hub.DefaultPageSize
	}
	limit = min(limit, hub.MaxPageSize)
	local, more := h.listLocal(l, after, limit)
	replies, cov, err := h.everywhere(ctx, &request{Op: opList, Listing: l, After: after, Limit: limit})
	if err != nil {
		return hub.Page{}, err
	}
	for _, r := range replies {
		more = more || r.More
	}
	items := union(local, replies)
	if len(items) > limit {
		items, more = items[:limit], true
	}
	p := hub.Page{Items: items, Coverage: cov}
	if more && len(items) > 0 {
		p.Next = encodeCursor(l, items[len(items)-1])
	}
	return p, nil
}

func (h *Hub) ClientList(ctx context.Context, cursor string, limit int) (hub.Page, error) {
	return h.page(ctx, registry.Clients, cursor, limit)
}

func (h *Hub) UIDList(ctx context.Context, cursor string, limit int) (hub.Page, error) {
	return h.page(ctx, registry.UIDs, cursor, limit)
}

func (h *Hub) GroupList(ctx context.Context, cursor string, limit int) (hub.Page, error) {
	return h.page(ctx, registry.Groups, cursor, limit)
}

// A cluster cursor is base64url of the listing's letter and the last name
// returned.
var listingLetter = map[registry.Listing]byte{registry.Clients: 'C', registry.UIDs: 'U', registry.Groups: 'G'}

func encodeCursor(l registry.Listing, last string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{listingLetter[l]}, last...))
}

func decodeCursor(l registry.Listing, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) < 2 || b[0] != listingLetter[l] {
		return "", hub.ErrBadCursor
	}
	return string(b[1:]), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
