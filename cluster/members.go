package cluster

import (
	"slices"
	"sync"
	"time"
)

// members is the set of live nodes other than this one, as their heartbeats
// tell. While NATS is unreachable it is frozen: nobody is dropped for a
// silence that is ours.
type members struct {
	mu     sync.Mutex
	nodes  map[string]*member // guarded by mu; by node id
	byTag  map[uint32]string  // guarded by mu; node id by tag
	frozen bool               // guarded by mu; NATS is unreachable
}

type member struct {
	beat beat
	seen time.Time
}

func newMembers() *members {
	return &members{nodes: map[string]*member{}, byTag: map[uint32]string{}}
}

// saw records a heartbeat; a leaving node is removed at once. It reports
// whether the node is new.
func (m *members) saw(b beat, now time.Time) (isNew bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, known := m.nodes[b.ID]
	if b.Leaving {
		if known {
			delete(m.nodes, b.ID)
			m.untag(old.beat.Tag, b.ID)
		}
		return false
	}
	m.nodes[b.ID] = &member{beat: b, seen: now}
	m.byTag[b.Tag] = b.ID
	return !known
}

// expire drops the nodes silent since before cutoff (unless frozen) and
// returns their ids.
func (m *members) expire(cutoff time.Time) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.frozen {
		return nil
	}
	var gone []string
	for id, n := range m.nodes {
		if n.seen.Before(cutoff) {
			delete(m.nodes, id)
			m.untag(n.beat.Tag, id)
			gone = append(gone, id)
		}
	}
	return gone
}

// untag forgets tag, if it is still id's (another node may have the same
// tag: the collision is logged when heard). Caller holds mu.
func (m *members) untag(tag uint32, id string) {
	if m.byTag[tag] == id {
		delete(m.byTag, tag)
	}
}

// freeze stops expiry while NATS is unreachable; thaw restarts it, giving
// every known node a fresh silence allowance to re-announce itself.
func (m *members) freeze() {
	m.mu.Lock()
	m.frozen = true
	m.mu.Unlock()
}

func (m *members) thaw(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.frozen = false
	for _, n := range m.nodes {
		n.seen = now
	}
}

// ids returns the live nodes' ids, sorted.
func (m *members) ids() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.nodes))
	for id := range m.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// owner returns the live node with tag.
func (m *members) owner(tag uint32) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byTag[tag]
	return id, ok
}

// infos describes the live nodes.
func (m *members) infos(now time.Time) []NodeInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]NodeInfo, 0, len(m.nodes))
	for _, n := range m.nodes {
		out = append(out, NodeInfo{ID: n.beat.ID, WSAddr: n.beat.WSAddr, APIAddr: n.beat.APIAddr,
			Connections: n.beat.Connections, UptimeS: n.beat.UptimeS, LastSeenMS: now.Sub(n.seen).Milliseconds()})
	}
	return out
}
