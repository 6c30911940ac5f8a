package cluster

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// TestTaggedIDs: ids carry their node's tag, stay valid UUIDs, and differ.
func TestTaggedIDs(t *testing.T) {
	next := IDs("node-a")
	a, b := next(), next()
	if a == b || !hub.IsClientID(a) || !hub.IsClientID(b) {
		t.Fatalf("ids %q %q: want two distinct client ids", a, b)
	}
	for _, id := range []string{a, b} {
		if tag, ok := idTag(id); !ok || tag != tagOf("node-a") {
			t.Errorf("idTag(%s) = %x, %v; want node-a's tag %x", id, tag, ok, tagOf("node-a"))
		}
	}
	if _, ok := idTag("not-a-uuid"); ok {
		t.Error("idTag accepted a non-UUID")
	}
}

// TestMembers: beats add nodes, silence drops them unless frozen (NATS
// down), a thaw gives them a fresh allowance, and leaving drops at once.
func TestMembers(t *testing.T) {
	m := newMembers()
	t0 := time.Now()
	if !m.saw(beat{ID: "b", Tag: 2}, t0) || m.saw(beat{ID: "b", Tag: 2}, t0) {
		t.Fatal("saw: want new once")
	}
	m.saw(beat{ID: "c", Tag: 3}, t0.Add(2*time.Second))
	m.freeze()
	if gone := m.expire(t0.Add(time.Second)); gone != nil {
		t.Fatalf("expired %v while frozen", gone)
	}
	m.thaw(t0.Add(3 * time.Second))
	if gone := m.expire(t0.Add(2500 * time.Millisecond)); gone != nil {
		t.Fatalf("expired %v right after a thaw", gone)
	}
	if gone := m.expire(t0.Add(4 * time.Second)); !slices.Equal(slices.Sorted(slices.Values(gone)), []string{"b", "c"}) {
		t.Fatalf("expired %v, want b and c", gone)
	}
	m.saw(beat{ID: "d", Tag: 4}, t0)
	if node, ok := m.owner(4); !ok || node != "d" {
		t.Fatalf("owner(4) = %q %v", node, ok)
	}
	m.saw(beat{ID: "d", Tag: 4, Leaving: true}, t0)
	if _, ok := m.owner(4); ok || len(m.ids()) != 0 {
		t.Fatal("a leaving node is still a member")
	}
}

// TestCursors: a cursor names its listing; another's, or garbage, is refused.
func TestCursors(t *testing.T) {
	c := encodeCursor(registry.UIDs, "alice")
	if after, err := decodeCursor(registry.UIDs, c); err != nil || after != "alice" {
		t.Fatalf("decode: %q %v", after, err)
	}
	for _, bad := range []string{encodeCursor(registry.Groups, "alice"), "%%%", "VQ"} {
		if _, err := decodeCursor(registry.UIDs, bad); !errors.Is(err, hub.ErrBadCursor) {
			t.Errorf("decodeCursor(%q): %v, want ErrBadCursor", bad, err)
		}
	}
}

// TestMalformedRequestCostsNothing: a request missing its arguments (a node
// of another version) gets an error reply, not a panic of this node.
func TestMalformedRequestCostsNothing(t *testing.T) {
	reg, err := registry.New[*wsframe.Frame](registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := &Hub{self: "n1", reg: reg, local: hub.NewLocal(reg)}
	for _, op := range []string{opBind, opJoin, opInfo, opDissolve, opUIDOnline, opSendAll, opSendUIDs, "no-such-op"} {
		if rep := h.safeApply(&request{Op: op}); rep.ErrKey == "" {
			t.Errorf("%s without arguments: no error in %+v", op, rep)
		}
	}
}

// slowConn is a connection whose sends take a while: it makes its node fall
// behind the cluster's traffic.
type slowConn struct{ id string }

func (c slowConn) ID() string                  { return c.id }
func (c slowConn) RemoteAddr() string          { return "127.0.0.1:1" }
func (c slowConn) Send(*wsframe.Frame) bool    { time.Sleep(5 * time.Millisecond); return true }
func (c slowConn) Close(code uint16, _ string) {}

// startNodeWithPeer starts a Hub (cfg, on a NATS server of its own) over a
// registry holding conns, and a plain NATS client on that server to play
// another node; both end with t.
func startNodeWithPeer(t *testing.T, cfg Config, conns ...registry.Conn[*wsframe.Frame]) (*Hub, *nats.Conn) {
	t.Helper()
	ns := startNATS(t)
	reg, err := registry.New[*wsframe.Frame](registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		reg.Add(c)
	}
	cfg.NATSURL = ns.ClientURL()
	h, err := New(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return h, nc
}

// TestSlowNodeDropsNotBuffers: a node that cannot keep up with the requests
// of the cluster (its queue is a channel of QueueLen) gets what NATS drops
// for it counted, instead of buffering without limit.
func TestSlowNodeDropsNotBuffers(t *testing.T) {
	const queue = 16
	h, nc := startNodeWithPeer(t, Config{NodeID: "slow", QueueLen: queue}, slowConn{IDs("slow")()})
	req, _ := json.Marshal((&request{Op: opSendAll, From: "flooder"}).withFrame(wsframe.NewFrame(ws.OpText, []byte("x"))))
	for range 2000 {
		nc.Publish(h.subjAll, req)
	}
	nc.Flush()
	deadline := time.Now().Add(5 * time.Second)
	for h.Stats()["cluster_dropped"] == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if d := h.Stats()["cluster_dropped"]; d == 0 {
		t.Fatal("a node 100 times too slow for its traffic dropped nothing")
	} else {
		t.Logf("dropped %d of 2000 requests", d)
	}
}
