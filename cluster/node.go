package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/logging"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// Hub is this node's view of the cluster: hub.Hub over every node. Create it
// with New and stop it with Close.
type Hub struct {
	cfg     Config
	log     *slog.Logger     // Config.Logger; lines name other nodes with the key peer
	warn    *logging.Limiter // warnings that may repeat per message
	self    string
	tag     uint32
	started time.Time
	reg     *hub.Registry
	local   *hub.Local
	nc      *nats.Conn
	members *members

	subjAll, subjSelf, subjBeat string

	in chan *nats.Msg // direct and cluster-wide requests, in arrival order

	// Replies to this node's cluster-wide requests come to one wildcard
	// subscription, <replyPrefix>*, and are routed by their last token to
	// the request waiting for them (a subscription per request would cost
	// NATS a SUB and an UNSUB, and its subject cache, each time).
	replyPrefix string
	replySeq    atomic.Uint64
	repliesMu   sync.Mutex
	replies     map[string]chan *nats.Msg // guarded by repliesMu
	stop        chan struct{}
	done        sync.WaitGroup
	closing     sync.Once

	subs    []*nats.Subscription // the request subscriptions: their Dropped counts are the slow-consumer drops
	partial atomic.Int64         // answers that missed a node
}

var _ hub.Hub = (*Hub)(nil)

// New joins the cluster cfg names, serving this node's registry reg. It does
// not wait for NATS: a node that starts while NATS is down serves its own
// clients and joins when NATS comes up.
func New(reg *hub.Registry, cfg Config) (*Hub, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Hub{
		cfg: cfg, log: cfg.Logger, self: cfg.NodeID, tag: tagOf(cfg.NodeID),
		started: time.Now(), reg: reg, local: hub.NewLocal(reg), members: newMembers(),
		subjAll:  "wsgate." + cfg.Name + ".all",
		subjSelf: "wsgate." + cfg.Name + ".node." + cfg.NodeID,
		subjBeat: "wsgate." + cfg.Name + ".hb",
		in:       make(chan *nats.Msg, cfg.QueueLen),
		stop:     make(chan struct{}),
		replies:  map[string]chan *nats.Msg{},
	}
	h.warn = logging.NewLimiter(h.log, 0)
	h.log.Info("joining the cluster", "cluster", cfg.Name, "nats", logging.RedactURL(cfg.NATSURL))
	h.nc, err = nats.Connect(cfg.NATSURL,
		nats.Name("wsgate "+cfg.Name+"/"+cfg.NodeID),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectBufSize(-1), // nothing published during an outage is replayed after it
		nats.NoEcho(),             // this node's cluster-wide requests and beats are not sent back to it
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			h.members.freeze()
			h.log.Warn("NATS unreachable: serving this node's clients only", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			h.members.thaw(time.Now())
			h.log.Info("NATS back: rejoining the cluster")
			h.announce(nc, false)
		}),
		nats.ConnectHandler(func(nc *nats.Conn) { // a first connect after a failed one
			h.members.thaw(time.Now())
			h.announce(nc, false)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			h.warn.Warn("NATS error", "err", err) // a slow consumer is counted by Stats
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("cluster: NATS %s: %w", logging.RedactURL(cfg.NATSURL), err)
	}
	if !h.nc.IsConnected() {
		h.members.freeze()
	}
	// Direct and cluster-wide requests share one channel: handled in the
	// order NATS delivered them.
	for _, subj := range []string{h.subjSelf, h.subjAll} {
		sub, err := h.nc.ChanSubscribe(subj, h.in)
		if err != nil {
			h.nc.Close()
			return nil, fmt.Errorf("cluster: subscribe %s: %w", subj, err)
		}
		sub.SetPendingLimits(cfg.QueueLen, -1)
		h.subs = append(h.subs, sub)
	}
	if _, err := h.nc.Subscribe(h.subjBeat, h.heard); err != nil {
		h.nc.Close()
		return nil, fmt.Errorf("cluster: subscribe %s: %w", h.subjBeat, err)
	}
	h.replyPrefix = nats.NewInbox() + "."
	if _, err := h.nc.Subscribe(h.replyPrefix+"*", h.routeReply); err != nil {
		h.nc.Close()
		return nil, fmt.Errorf("cluster: subscribe %s*: %w", h.replyPrefix, err)
	}
	h.done.Add(2)
	go h.serve()
	go h.beat()
	h.announce(h.nc, false)
	if h.nc.IsConnected() {
		// The others answer a newcomer's beat at once: give them the time of
		// a cluster-wide answer, so the first sends through this node already
		// reach their clients.
		time.Sleep(min(cfg.Timeout, cfg.Heartbeat))
	}
	return h, nil
}

// NewNodeID is a random node id.
func NewNodeID() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:12] }

// IDs returns the client id maker of node: random UUIDs that carry the node's
// tag, so any node can tell the owner of a client id without asking
// (poller.Config.NewID).
func IDs(node string) func() string {
	tag := tagOf(node)
	return func() string { return newTaggedID(tag) }
}

// Health says whether the cluster is reachable ("ok") or not ("degraded"),
// and how many nodes this one knows, itself included.
func (h *Hub) Health() (state string, nodes int) {
	state = "ok"
	if !h.nc.IsConnected() {
		state = "degraded"
	}
	return state, len(h.members.ids()) + 1
}

// Nodes is GET /cluster/nodes: this node's id and every live node.
func (h *Hub) Nodes() any {
	return map[string]any{"self": h.self, "nodes": h.NodeList()}
}

// NodeList lists the live nodes, this one first.
func (h *Hub) NodeList() []NodeInfo {
	ws, api, conns := h.cfg.Describe()
	self := NodeInfo{ID: h.self, WSAddr: ws, APIAddr: api, Connections: conns, UptimeS: time.Since(h.started).Seconds()}
	return append([]NodeInfo{self}, h.members.infos(time.Now())...)
}

// Stats are the cluster's counters for /stats.
func (h *Hub) Stats() map[string]int64 {
	var dropped int64
	for _, sub := range h.subs {
		if n, err := sub.Dropped(); err == nil {
			dropped += int64(n)
		}
	}
	return map[string]int64{"cluster_dropped": dropped, "cluster_partial_answers": h.partial.Load()}
}

// Close tells the cluster this node is leaving, stops answering and closes
// the NATS connection. Idempotent.
func (h *Hub) Close() {
	h.closing.Do(func() {
		close(h.stop)
		h.done.Wait() // no beat can follow the goodbye
		h.announce(h.nc, true)
		h.nc.FlushTimeout(500 * time.Millisecond) // the goodbye, if NATS is there to take it
		h.nc.Close()
	})
}

// announce publishes this node's heartbeat on nc (NATS callbacks pass their
// connection: they may run before New has stored it).
func (h *Hub) announce(nc *nats.Conn, leaving bool) {
	ws, api, conns := h.cfg.Describe()
	b, _ := json.Marshal(beat{ID: h.self, Tag: h.tag, WSAddr: ws, APIAddr: api,
		Connections: conns, UptimeS: time.Since(h.started).Seconds(), Leaving: leaving})
	nc.Publish(h.subjBeat, b) // an error means NATS is down: the next beat retries
}

// beat announces this node each Heartbeat and drops, checking four times as
// often, the nodes silent for three heartbeats.
func (h *Hub) beat() {
	defer h.done.Done()
	t := time.NewTicker(h.cfg.Heartbeat / 4)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-h.stop:
			return
		case now := <-t.C:
			if now.Sub(last) >= h.cfg.Heartbeat-h.cfg.Heartbeat/8 {
				h.announce(h.nc, false)
				last = now
			}
			for _, id := range h.members.expire(now.Add(-3 * h.cfg.Heartbeat)) {
				h.log.Warn("node gone silent: dropped", "peer", id)
			}
		}
	}
}

// heard records another node's heartbeat.
func (h *Hub) heard(m *nats.Msg) {
	var b beat
	if json.Unmarshal(m.Data, &b) != nil || b.ID == h.self {
		return
	}
	if b.Tag == h.tag {
		h.log.Error("another node's id has this node's tag: client ids are ambiguous; give the nodes other ids", "peer", b.ID)
	}
	if h.members.saw(b, time.Now()) {
		h.log.Info("node joined", "peer", b.ID)
		h.announce(h.nc, false) // the newcomer learns of this node now, not a heartbeat later
	}
}

// serve handles the requests of other nodes, one at a time, in order.
func (h *Hub) serve() {
	defer h.done.Done()
	for {
		select {
		case <-h.stop:
			return
		case m := <-h.in:
			req, err := decodeRequest(m.Data)
			if err != nil {
				h.warn.Warn("malformed cluster request", "err", err)
				h.refuse(m)
				continue
			}
			if req.From == h.self {
				continue // one of ours (NoEcho keeps them away, but a server may not honour it)
			}
			rep := h.safeApply(&req)
			if m.Reply != "" {
				if err := h.nc.Publish(m.Reply, h.fit(&rep)); err != nil {
					h.warn.Warn("cluster reply not sent", "op", req.Op, "err", err)
				}
			}
		}
	}
}

// refuse answers a malformed request of this wire version with an error at
// once, instead of letting the asker wait out its timeout. A request of
// another version (a rolling upgrade) gets no answer: older nodes take any
// error reply for a refusal of the input and would fail the whole call, so
// this node is better taken for one that did not answer (the call answers
// partial, or 503 for one client).
func (h *Hub) refuse(m *nats.Msg) {
	if m.Reply == "" || len(m.Data) == 0 || m.Data[0] != wireVersion {
		return
	}
	rep := reply{Node: h.self}
	rep.setErr(errors.New("malformed cluster request"))
	if err := h.nc.Publish(m.Reply, encodeReply(nil, &rep)); err != nil {
		h.warn.Warn("cluster reply not sent", "err", err)
	}
}

// safeApply is apply for a request from the network: a malformed one (a
// missing argument, a node of another version) gets an error reply, never a
// panic of this node.
func (h *Hub) safeApply(r *request) (rep reply) {
	defer func() {
		if p := recover(); p != nil {
			rep = reply{Node: h.self}
			rep.setErr(fmt.Errorf("malformed %q request: %v", r.Op, p))
		}
	}()
	return h.apply(context.Background(), r)
}

// apply runs one request on this node's registry.
func (h *Hub) apply(ctx context.Context, r *request) reply {
	rep := reply{Node: h.self}
	var f *wsframe.Frame
	switch r.Op {
	case opSendAll, opSendClients, opSendUIDs, opSendGroups:
		if r.Frame != ws.OpText && r.Frame != ws.OpBinary {
			rep.setErr(fmt.Errorf("%s without a text or binary message", r.Op))
			return rep
		}
		f = wsframe.NewFrame(r.Frame, r.Payload)
	}
	var err error
	var n hub.Count
	var s hub.Sent
	var names hub.Names
	switch r.Op {
	case opSendAll:
		s, err = h.local.SendAll(ctx, f, r.Exclude)
		rep.N = s.Sent
	case opSendClients:
		s, err = h.local.SendClients(ctx, r.IDs, f)
		rep.N = s.Sent
	case opSendUIDs:
		s, err = h.local.SendUIDs(ctx, r.Names, f)
		rep.N = s.Sent
	case opSendGroups:
		s, err = h.local.SendGroups(ctx, r.Names, f, r.Exclude)
		rep.N = s.Sent
	case opBind:
		err = h.local.BindUID(ctx, r.IDs[0], r.Names[0])
	case opUnbind:
		err = h.local.UnbindUID(ctx, r.IDs[0])
	case opJoin:
		err = h.local.JoinGroups(ctx, r.IDs[0], r.Names)
	case opLeave:
		err = h.local.LeaveGroups(ctx, r.IDs[0], r.Names)
	case opDissolve:
		n, err = h.local.DissolveGroup(ctx, r.Names[0])
		rep.N = n.Count
	case opCloseClient:
		err = h.local.CloseClient(ctx, r.IDs[0], r.Code, r.Reason)
	case opCloseUID:
		n, err = h.local.CloseUID(ctx, r.Names[0], r.Code, r.Reason)
		rep.N = n.Count
	case opSetSession, opMergeSession:
		err = h.local.SetSession(ctx, r.IDs[0], r.Payload, r.Op == opMergeSession)
	case opInfo:
		var info hub.Info
		if info, err = h.local.ClientInfo(ctx, r.IDs[0]); err == nil {
			rep.Info = &info
		}
	case opCount:
		n, err = h.local.ClientCount(ctx)
		rep.N = n.Count
	case opUIDOnline:
		var on hub.Online
		on, err = h.local.UIDOnline(ctx, r.Names[0])
		rep.OK = on.Online
	case opUIDClients:
		names, err = h.local.UIDClients(ctx, r.Names[0])
		rep.Names = names.Names
	case opGroupClients:
		names, err = h.local.GroupClients(ctx, r.Names[0])
		rep.Names = names.Names
	case opGroupUIDs:
		names, err = h.local.GroupUIDs(ctx, r.Names[0])
		rep.Names = names.Names
	case opGroupCount:
		n, err = h.local.GroupCount(ctx, r.Names[0])
		rep.N = n.Count
	case opList:
		rep.Names, rep.More = h.listLocal(r.Listing, r.After, r.Limit)
	default:
		err = fmt.Errorf("unknown cluster operation %q (mixed versions?)", r.Op)
	}
	rep.setErr(err)
	return rep
}

// fit encodes a reply within NATS's max payload: a listing too long for it
// is cut (More set, so the merge stops at its last name), anything else
// that cannot fit becomes an error reply.
func (h *Hub) fit(rep *reply) []byte {
	max := h.nc.MaxPayload()
	for {
		b := encodeReply(nil, rep)
		if max <= 0 || int64(len(b)) <= max-512 {
			return b
		}
		if len(rep.Names) > 1 {
			rep.Names, rep.More = rep.Names[:len(rep.Names)/2], true
			continue
		}
		*rep = reply{Node: rep.Node}
		rep.setErr(fmt.Errorf("the reply is over NATS's max payload of %d bytes", max))
	}
}

// listLocal returns up to limit of this node's names after after, in order,
// and whether there are more.
func (h *Hub) listLocal(l registry.Listing, after string, limit int) ([]string, bool) {
	names := h.reg.SortedAfter(l, after, limit+1)
	if len(names) > limit {
		return names[:limit], true
	}
	return names, false
}

// encode marshals r, refusing what NATS cannot carry.
func (h *Hub) encode(r *request) ([]byte, error) {
	r.From = h.self
	b := encodeRequest(nil, r)
	if max := h.nc.MaxPayload(); max > 0 && int64(len(b)) > max {
		return nil, fmt.Errorf("%w: the request is %d bytes, over NATS's max payload of %d", hub.ErrInvalid, len(b), max)
	}
	return b, nil
}

// everywhere runs r on every other live node and returns their replies, and
// which nodes did not answer within the timeout (all of them while NATS is
// unreachable). The caller runs the local part itself, first.
func (h *Hub) everywhere(ctx context.Context, data []byte) ([]reply, hub.Coverage) {
	expected := h.members.ids()
	token := strconv.FormatUint(h.replySeq.Add(1), 36)
	got := make(chan *nats.Msg, len(expected))
	h.repliesMu.Lock()
	h.replies[token] = got
	h.repliesMu.Unlock()
	defer func() {
		h.repliesMu.Lock()
		delete(h.replies, token)
		h.repliesMu.Unlock()
	}()
	if err := h.nc.PublishRequest(h.subjAll, h.replyPrefix+token, data); err != nil {
		return nil, h.missing(expected)
	}
	timer := time.NewTimer(h.cfg.Timeout)
	defer timer.Stop()
	waiting := make(map[string]bool, len(expected))
	for _, id := range expected {
		waiting[id] = true
	}
	var replies []reply
wait:
	for len(waiting) > 0 {
		select {
		case <-ctx.Done():
			break wait
		case <-timer.C:
			break wait // the rest are missing
		case m := <-got:
			rep, err := decodeReply(m.Data)
			if err != nil {
				continue
			}
			delete(waiting, rep.Node)
			replies = append(replies, rep)
		}
	}
	// A node that failed (not one that refused invalid input, which every
	// node refuses alike) counts as missing: its part of the answer is.
	var still []string
	ok := replies[:0]
	for _, rep := range replies {
		if rep.ErrKey == "error" {
			h.warn.Warn("a node failed a cluster request", "peer", rep.Node, "err", rep.ErrMsg)
			waiting[rep.Node] = true
			continue
		}
		ok = append(ok, rep)
	}
	for _, id := range expected {
		if waiting[id] {
			still = append(still, id)
		}
	}
	return ok, h.missing(still)
}

// routeReply hands a reply to the request waiting for it; a late one (its
// request gave up) is dropped.
func (h *Hub) routeReply(m *nats.Msg) {
	token := m.Subject[len(h.replyPrefix):]
	h.repliesMu.Lock()
	got := h.replies[token]
	h.repliesMu.Unlock()
	if got != nil {
		select {
		case got <- m:
		default: // more replies than nodes expected: a node that just joined
		}
	}
}

// missing is the coverage of an answer that lacks nodes.
func (h *Hub) missing(nodes []string) hub.Coverage {
	if len(nodes) == 0 {
		return hub.Coverage{}
	}
	h.partial.Add(1)
	return hub.Coverage{Partial: true, MissingNodes: nodes}
}

// direct runs r on node and returns its reply; a node that does not answer
// within the timeout is hub.ErrUnavailable.
func (h *Hub) direct(ctx context.Context, node string, data []byte) (reply, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	m, err := h.nc.RequestWithContext(ctx, "wsgate."+h.cfg.Name+".node."+node, data)
	if err != nil {
		return reply{}, fmt.Errorf("%w: node %s: %v", hub.ErrUnavailable, node, err)
	}
	rep, err := decodeReply(m.Data)
	if err != nil {
		return reply{}, fmt.Errorf("%w: node %s: malformed reply", hub.ErrUnavailable, node)
	}
	return rep, rep.errorOf()
}

// owner says where client id lives: here (""), on a live node, or nowhere
// (hub.ErrNotFound: no live node issued it).
func (h *Hub) owner(id string) (string, error) {
	tag, ok := idTag(id)
	switch {
	case !ok:
		return "", hub.ErrNotFound
	case tag == h.tag:
		return "", nil
	}
	if node, ok := h.members.owner(tag); ok {
		return node, nil
	}
	return "", hub.ErrNotFound
}
