package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
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

// firstErr returns the first reply's error: a refusal of invalid input,
// which every node gives alike (everywhere turned failures into missing nodes).
func firstErr(replies []reply) error {
	for _, r := range replies {
		if err := r.errorOf(); err != nil {
			return err
		}
	}
	return nil
}

// sent runs a cluster-wide send: the request is encoded first (a message
// NATS cannot carry is refused before anyone gets it), then the local part,
// then every other node.
func (h *Hub) sent(ctx context.Context, r *request, local func() (hub.Sent, error)) (hub.Sent, error) {
	data, err := h.encode(r)
	if err != nil {
		return hub.Sent{}, err
	}
	mine, err := local()
	if err != nil {
		return hub.Sent{}, err
	}
	replies, cov := h.everywhere(ctx, data)
	return hub.Sent{Sent: sum(mine.Sent, replies), Coverage: cov}, firstErr(replies)
}

func (h *Hub) SendAll(ctx context.Context, f *wsframe.Frame, exclude []string) (hub.Sent, error) {
	return h.sent(ctx, (&request{Op: opSendAll, Exclude: exclude}).withFrame(f), func() (hub.Sent, error) { return h.local.SendAll(ctx, f, exclude) })
}

func (h *Hub) SendUIDs(ctx context.Context, uids []string, f *wsframe.Frame) (hub.Sent, error) {
	return h.sent(ctx, (&request{Op: opSendUIDs, Names: uids}).withFrame(f), func() (hub.Sent, error) { return h.local.SendUIDs(ctx, uids, f) })
}

func (h *Hub) SendGroups(ctx context.Context, groups []string, f *wsframe.Frame, exclude []string) (hub.Sent, error) {
	return h.sent(ctx, (&request{Op: opSendGroups, Names: groups, Exclude: exclude}).withFrame(f), func() (hub.Sent, error) {
		return h.local.SendGroups(ctx, groups, f, exclude)
	})
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
	requests := map[string][]byte{}
	for node, ids := range there {
		data, err := h.encode((&request{Op: opSendClients, IDs: ids}).withFrame(f))
		if err != nil {
			return hub.Sent{}, err // refused before anyone got it
		}
		requests[node] = data
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
		rep, err := h.direct(ctx, node, requests[node])
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
	data, err := h.encode(r)
	if err != nil {
		return reply{}, err
	}
	return h.direct(ctx, node, data)
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

func (h *Hub) SetSession(ctx context.Context, id string, session json.RawMessage, merge bool) error {
	op := opSetSession
	if merge {
		op = opMergeSession
	}
	_, err := h.onOwner(ctx, id, &request{Op: op, Payload: session}, func() error { return h.local.SetSession(ctx, id, session, merge) })
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

// ask encodes r and asks every other node.
func (h *Hub) ask(ctx context.Context, r *request) ([]reply, hub.Coverage, error) {
	data, err := h.encode(r)
	if err != nil {
		return nil, hub.Coverage{}, err
	}
	replies, cov := h.everywhere(ctx, data)
	return replies, cov, firstErr(replies)
}

// counted runs a cluster-wide operation that answers a count.
func (h *Hub) counted(ctx context.Context, local hub.Count, err error, r *request) (hub.Count, error) {
	if err != nil {
		return hub.Count{}, err
	}
	replies, cov, err := h.ask(ctx, r)
	return hub.Count{Count: sum(local.Count, replies), Coverage: cov}, err
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

// distinctPage is how many names one round of a distinct count asks each
// node for (replies too long for NATS come back cut, and the walk goes on).
const distinctPage = 100000

// distinct counts the distinct names of a listing over every node: a walk
// of the merged, name-ordered listing in big pages.
func (h *Hub) distinct(ctx context.Context, l registry.Listing) (hub.Count, error) {
	var total hub.Count
	missing := map[string]bool{}
	for after, more := "", true; more; {
		items, next, cov, err := h.merged(ctx, l, after, distinctPage)
		if err != nil {
			return hub.Count{}, err
		}
		for _, n := range cov.MissingNodes {
			missing[n] = true
		}
		total.Count += len(items)
		after, more = next, next != ""
	}
	if len(missing) > 0 {
		total.Coverage = hub.Coverage{Partial: true, MissingNodes: sortedKeys(missing)}
	}
	return total, nil
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
	replies, cov, err := h.ask(ctx, &request{Op: opUIDOnline, Names: []string{uid}})
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
	replies, cov, err := h.ask(ctx, r)
	return hub.Names{Names: union(local.Names, replies), Coverage: cov}, err
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

// page is one page of a listing over every node, in name order.
func (h *Hub) page(ctx context.Context, l registry.Listing, cursor string, limit int) (hub.Page, error) {
	after, err := decodeCursor(l, cursor)
	if err != nil {
		return hub.Page{}, err
	}
	if limit <= 0 {
		limit = hub.DefaultPageSize
	}
	items, next, cov, err := h.merged(ctx, l, after, min(limit, hub.MaxPageSize))
	if err != nil {
		return hub.Page{}, err
	}
	p := hub.Page{Items: items, Coverage: cov}
	if next != "" {
		p.Next = encodeCursor(l, next)
	}
	return p, nil
}

// merged returns up to limit names after after, over every node, and the
// name to continue after ("" at the end). Each node gives its next names
// after after; a node that had more than it gave (limit reached, or cut to
// fit NATS) bounds the merge at its last name, so the walk takes every name
// once: nothing past a bound can hide an unseen name below it.
func (h *Hub) merged(ctx context.Context, l registry.Listing, after string, limit int) ([]string, string, hub.Coverage, error) {
	local, more := h.listLocal(l, after, limit)
	replies, cov, err := h.ask(ctx, &request{Op: opList, Listing: l, After: after, Limit: limit})
	if err != nil {
		return nil, "", hub.Coverage{}, err
	}
	bound, bounded := "", false
	lower := func(names []string, more bool) {
		if more && len(names) > 0 && (!bounded || names[len(names)-1] < bound) {
			bound, bounded = names[len(names)-1], true
		}
	}
	lower(local, more)
	for _, r := range replies {
		lower(r.Names, r.More)
	}
	items := union(local, replies)
	if bounded {
		n, _ := slices.BinarySearch(items, bound)
		items = items[:n+1] // the bound is in items: it is one node's last name
	}
	if len(items) > limit {
		items, bounded = items[:limit], true
	}
	next := ""
	if bounded && len(items) > 0 {
		next = items[len(items)-1]
	}
	return items, next, cov, nil
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
