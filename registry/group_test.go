package registry

import (
	"errors"
	"slices"
	"testing"
)

func TestJoinGroups(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 4})
	addConns(t, r, "a", "b")

	tests := []struct {
		name       string
		id         string
		groups     []string
		wantErr    error
		wantGroups []string // Info(id).Groups after the call
		wantTotal  int
	}{
		{name: "join", id: "a", groups: []string{"g2", "g1"}, wantGroups: []string{"g1", "g2"}, wantTotal: 2},
		{name: "join twice is a no-op", id: "a", groups: []string{"g1"}, wantGroups: []string{"g1", "g2"}, wantTotal: 2},
		{name: "repeated name in one call", id: "a", groups: []string{"g3", "g3"}, wantGroups: []string{"g1", "g2", "g3"}, wantTotal: 3},
		{name: "nothing to join", id: "a", groups: nil, wantGroups: []string{"g1", "g2", "g3"}, wantTotal: 3},
		{name: "one empty name changes nothing", id: "a", groups: []string{"g4", "", "g5"}, wantErr: ErrEmptyName, wantGroups: []string{"g1", "g2", "g3"}, wantTotal: 3},
		{name: "unknown client", id: "zz", groups: []string{"g1"}, wantErr: ErrNotFound, wantTotal: 3},
		{name: "second member", id: "b", groups: []string{"g1"}, wantGroups: []string{"g1"}, wantTotal: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.JoinGroups(tt.id, tt.groups); !errors.Is(err, tt.wantErr) {
				t.Fatalf("JoinGroups(%q, %q) = %v, want %v", tt.id, tt.groups, err, tt.wantErr)
			}
			if info, ok := r.Info(tt.id); ok && !slices.Equal(info.Groups, tt.wantGroups) {
				t.Errorf("groups of %q = %v, want %v", tt.id, info.Groups, tt.wantGroups)
			}
			if got := r.GroupTotal(); got != tt.wantTotal {
				t.Errorf("GroupTotal() = %d, want %d", got, tt.wantTotal)
			}
		})
	}
	if got := r.GroupClients("g1"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("GroupClients(g1) = %v, want [a b]", got)
	}
	if got := r.GroupCount("g1"); got != 2 {
		t.Errorf("GroupCount(g1) = %d, want 2", got)
	}
}

func TestLeaveGroups(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 4})
	addConns(t, r, "a", "b")
	mustNil(t, r.JoinGroups("a", []string{"g1", "g2", "g3"}))
	mustNil(t, r.JoinGroups("b", []string{"g1"}))

	tests := []struct {
		name       string
		id         string
		groups     []string
		wantErr    error
		wantGroups []string
		wantTotal  int
	}{
		{name: "leave", id: "a", groups: []string{"g2"}, wantGroups: []string{"g1", "g3"}, wantTotal: 2},
		{name: "leave a group not joined", id: "a", groups: []string{"g2", "nope", ""}, wantGroups: []string{"g1", "g3"}, wantTotal: 2},
		{name: "leave a shared group keeps it", id: "a", groups: []string{"g1"}, wantGroups: []string{"g3"}, wantTotal: 2},
		{name: "leave the last group", id: "a", groups: []string{"g3"}, wantGroups: nil, wantTotal: 1},
		{name: "unknown client", id: "zz", groups: []string{"g1"}, wantErr: ErrNotFound, wantTotal: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.LeaveGroups(tt.id, tt.groups); !errors.Is(err, tt.wantErr) {
				t.Fatalf("LeaveGroups(%q, %q) = %v, want %v", tt.id, tt.groups, err, tt.wantErr)
			}
			if info, ok := r.Info(tt.id); ok && !slices.Equal(info.Groups, tt.wantGroups) {
				t.Errorf("groups of %q = %v, want %v", tt.id, info.Groups, tt.wantGroups)
			}
			if got := r.GroupTotal(); got != tt.wantTotal {
				t.Errorf("GroupTotal() = %d, want %d", got, tt.wantTotal)
			}
		})
	}
	if got := r.GroupClients("g1"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("GroupClients(g1) = %v, want [b]", got)
	}
}

func TestDissolveGroup(t *testing.T) {
	tests := []struct {
		name    string
		members int
		group   string
		want    int
	}{
		{name: "small group", members: 3, group: "g", want: 3},
		{name: "big group", members: 100, group: "g", want: 100},
		{name: "unknown group", members: 3, group: "other", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t, Config{Shards: 4})
			ids := numberedIDs("c", tt.members)
			addConns(t, r, ids...)
			for _, id := range ids {
				mustNil(t, r.JoinGroups(id, []string{"g", "keep"}))
			}
			if got := r.DissolveGroup(tt.group); got != tt.want {
				t.Errorf("DissolveGroup(%q) = %d, want %d", tt.group, got, tt.want)
			}
			if got := r.GroupCount(tt.group); got != 0 {
				t.Errorf("GroupCount(%q) = %d after dissolve", tt.group, got)
			}
			if got := r.GroupCount("keep"); got != tt.members {
				t.Errorf("GroupCount(keep) = %d, want %d", got, tt.members)
			}
			wantGroups := []string{"g", "keep"}
			if tt.want > 0 {
				wantGroups = []string{"keep"}
			}
			if info, _ := r.Info(ids[0]); !slices.Equal(info.Groups, wantGroups) {
				t.Errorf("groups of %s = %v, want %v", ids[0], info.Groups, wantGroups)
			}
			if got := r.GroupTotal(); got != len(wantGroups) {
				t.Errorf("GroupTotal() = %d, want %d", got, len(wantGroups))
			}
		})
	}
}

func TestGroupQueries(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 4})
	addConns(t, r, "a", "b", "c", "d")
	mustNil(t, r.BindUID("a", "u2"))
	mustNil(t, r.BindUID("b", "u1"))
	mustNil(t, r.BindUID("c", "u2"))
	mustNil(t, r.BindUID("d", "u3"))
	for _, id := range []string{"a", "b", "c"} {
		mustNil(t, r.JoinGroups(id, []string{"g"}))
	}
	mustNil(t, r.JoinGroups("d", []string{"solo"}))
	addConns(t, r, "unbound")
	mustNil(t, r.JoinGroups("unbound", []string{"g", "nouid"}))

	tests := []struct {
		group       string
		wantClients []string
		wantUIDs    []string
	}{
		{group: "g", wantClients: []string{"a", "b", "c", "unbound"}, wantUIDs: []string{"u1", "u2"}},
		{group: "solo", wantClients: []string{"d"}, wantUIDs: []string{"u3"}},
		{group: "nouid", wantClients: []string{"unbound"}, wantUIDs: nil},
		{group: "unknown", wantClients: nil, wantUIDs: nil},
	}
	for _, tt := range tests {
		t.Run("group="+tt.group, func(t *testing.T) {
			if got := r.GroupClients(tt.group); !slices.Equal(got, tt.wantClients) {
				t.Errorf("GroupClients = %v, want %v", got, tt.wantClients)
			}
			if got := r.GroupCount(tt.group); got != len(tt.wantClients) {
				t.Errorf("GroupCount = %d, want %d", got, len(tt.wantClients))
			}
			if got := r.GroupUIDs(tt.group); !slices.Equal(got, tt.wantUIDs) {
				t.Errorf("GroupUIDs = %v, want %v", got, tt.wantUIDs)
			}
		})
	}
	if got := r.GroupTotal(); got != 3 {
		t.Errorf("GroupTotal() = %d, want 3", got)
	}
}

// TestMemberSetPromotion drives a set across the slice/map boundary both ways.
func TestMemberSetPromotion(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 1})
	ids := numberedIDs("c", 3*smallSetMax)
	addConns(t, r, ids...)
	for i, id := range ids {
		mustNil(t, r.JoinGroups(id, []string{"g"}))
		if got := r.GroupCount("g"); got != i+1 {
			t.Fatalf("GroupCount after %d joins = %d", i+1, got)
		}
	}
	if got := r.GroupClients("g"); !slices.Equal(got, ids) {
		t.Errorf("GroupClients = %v, want %v", got, ids)
	}
	for i, id := range ids {
		mustNil(t, r.LeaveGroups(id, []string{"g"}))
		if got := r.GroupCount("g"); got != len(ids)-i-1 {
			t.Fatalf("GroupCount after %d leaves = %d", i+1, got)
		}
	}
	if r.GroupTotal() != 0 || len(r.groups.shards[0].m) != 0 {
		t.Errorf("empty group kept: GroupTotal=%d", r.GroupTotal())
	}
}
