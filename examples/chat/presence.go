package main

import (
	"context"
	"slices"
	"sync"
	"time"
)

// member is one page's connection in a room.
type member struct {
	name, room string
}

// rooms is the backend's table of joined connections: who said which name
// and room. wsgate owns presence (who is connected); the table only lets the
// backend name a connection that went away. Safe for concurrent use.
type rooms struct {
	mu      sync.Mutex
	members map[string]member // client id -> member; guarded by mu
}

func newRooms() *rooms { return &rooms{members: map[string]member{}} }

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
	return m, ok
}

// byRoom is the known client ids of each room.
func (r *rooms) byRoom() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for id, m := range r.members {
		out[m.room] = append(out[m.room], id)
	}
	return out
}

// left handles a connection that is gone: it forgets it and tells its room,
// unless the same name is still there (another tab, or the page reconnected
// with a new id). The presence poller calls it; a handler of wsgate's
// "disconnected" webhook would call it the same way.
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

// pollPresence compares, every PresenceInterval until ctx is done, each
// room's known connections with wsgate's members of it (/group/clients) and
// calls left for each one gone.
func (s *server) pollPresence(ctx context.Context) {
	tick := time.NewTicker(s.cfg.PresenceInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for room, ids := range s.rooms.byRoom() {
			connected, err := s.api.groupClients(ctx, room)
			if err != nil {
				s.log.Warn("chat: presence", "room", room, "err", err)
				continue
			}
			for _, id := range ids {
				if !slices.Contains(connected, id) {
					s.left(ctx, id)
				}
			}
		}
	}
}
