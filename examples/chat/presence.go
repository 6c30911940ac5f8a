package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
)

// member is one page's connection in a room.
type member struct {
	name, room string
}

// rooms is the backend's table of joined connections (who said which name
// and room) and of the wsgate node each connection is on. wsgate owns
// presence (who is connected); the table only lets the backend name a
// connection that went away. Safe for concurrent use.
type rooms struct {
	mu      sync.Mutex
	members map[string]member // client id -> member; guarded by mu
	nodes   map[string]string // client id -> node, from connected events; guarded by mu
}

func newRooms() *rooms { return &rooms{members: map[string]member{}, nodes: map[string]string{}} }

func (r *rooms) add(id string, m member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.members[id] = m
}

func (r *rooms) get(id string) (member, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[id]
	return m, ok
}

// remove forgets id and reports what it was, if anything.
func (r *rooms) remove(id string) (member, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[id]
	delete(r.members, id)
	delete(r.nodes, id)
	return m, ok
}

func (r *rooms) connected(id, node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nodes[id] = node
}

// onNode returns the members on node, and the others (on another node, or
// whose connected event has not arrived), and forgets which clients were on
// node.
func (r *rooms) onNode(node string) (on, others []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.members {
		if n, ok := r.nodes[id]; ok && n == node {
			on = append(on, id)
		} else {
			others = append(others, id)
		}
	}
	for id, n := range r.nodes {
		if n == node {
			delete(r.nodes, id)
		}
	}
	return on, others
}

// left handles a connection that is gone: it forgets it and tells its room,
// unless the same name is still there (another tab, or the page reconnected
// with a new id).
func (s *server) left(ctx context.Context, id string) {
	m, ok := s.rooms.remove(id)
	if !ok {
		return
	}
	members, err := s.api.groupUIDs(ctx, m.room)
	if err != nil {
		s.log.Warn("chat: presence", "room", m.room, "err", err)
		return
	}
	if slices.Contains(members, m.name) {
		return
	}
	if _, err := s.announce(ctx, m.room, "leave", m.name); err != nil {
		s.log.Warn("chat: announcing a leave", "room", m.room, "err", err)
	}
}

// handleEvents is wsgate's webhook (POST /wsgate/events, httpapi/API.md
// "Integrating your backend"): a signed batch {"events":[...]}. A request
// that fails the signature check gets 401 and changes nothing. Each new
// event (by id: delivery is at least once) is handled in order:
// connected records the client's node, disconnected calls left, and
// node.started calls left for every member on that node, which restarted
// and so lost its clients without a disconnected event (forgetNode).
func (s *server) handleEvents(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2<<20)) // wsgate's batches are at most 1 MiB
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body too large or unreadable")
		return
	}
	if err := s.verifier.Verify(r.Header, body); err != nil {
		s.log.Warn("chat: refused a webhook request (is -webhook-secret wsgate's?)", "err", err)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	var batch struct {
		Events []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Node     string `json:"node"`
			ClientID string `json:"client_id"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		writeError(w, http.StatusBadRequest, "body is not {\"events\":[...]}")
		return
	}
	// Finish even if wsgate stops waiting: a retry would be a duplicate.
	ctx := context.WithoutCancel(r.Context())
	for _, ev := range batch.Events {
		if ev.ID != "" && !s.seen.Add(ev.ID) {
			continue
		}
		s.log.Info("chat: wsgate event", "type", ev.Type, "node", ev.Node, "client_id", ev.ClientID)
		switch ev.Type {
		case "connected":
			s.rooms.connected(ev.ClientID, ev.Node)
		case "disconnected":
			s.left(ctx, ev.ClientID)
		case "node.started":
			s.forgetNode(ctx, ev.Node)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// forgetNode handles node.started: the members on node are gone. The others
// are checked with wsgate (/client/online): without -node-id a node gets a
// new random id at every start, so its old clients are under the old one.
func (s *server) forgetNode(ctx context.Context, node string) {
	on, others := s.rooms.onNode(node)
	for _, id := range others {
		online, err := s.api.clientOnline(ctx, id)
		if err != nil {
			s.log.Warn("chat: presence", "client_id", id, "err", err)
		} else if !online {
			on = append(on, id)
		}
	}
	for _, id := range on {
		s.left(ctx, id)
	}
}
