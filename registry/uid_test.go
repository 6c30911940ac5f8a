package registry

import (
	"errors"
	"slices"
	"testing"
)

func TestBindUID(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 4})
	addConns(t, r, "a", "b", "c")
	mustNil(t, r.BindUID("c", "u2"))

	tests := []struct {
		name      string
		id, uid   string
		wantErr   error
		wantUIDs  map[string][]string // uid -> clients after the call
		wantCount int                 // UIDCount after the call
	}{
		{name: "bind", id: "a", uid: "u1", wantUIDs: map[string][]string{"u1": {"a"}, "u2": {"c"}}, wantCount: 2},
		{name: "bind again is a no-op", id: "a", uid: "u1", wantUIDs: map[string][]string{"u1": {"a"}}, wantCount: 2},
		{name: "second client of a uid", id: "b", uid: "u1", wantUIDs: map[string][]string{"u1": {"a", "b"}}, wantCount: 2},
		{name: "rebind moves", id: "a", uid: "u2", wantUIDs: map[string][]string{"u1": {"b"}, "u2": {"a", "c"}}, wantCount: 2},
		{name: "moving the last client drops the uid", id: "b", uid: "u3", wantUIDs: map[string][]string{"u1": nil, "u3": {"b"}}, wantCount: 2},
		{name: "empty uid", id: "a", uid: "", wantErr: ErrEmptyName, wantUIDs: map[string][]string{"u2": {"a", "c"}}, wantCount: 2},
		{name: "unknown client", id: "zz", uid: "u1", wantErr: ErrNotFound, wantUIDs: map[string][]string{"u1": nil}, wantCount: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.BindUID(tt.id, tt.uid); !errors.Is(err, tt.wantErr) {
				t.Fatalf("BindUID(%q, %q) = %v, want %v", tt.id, tt.uid, err, tt.wantErr)
			}
			for uid, want := range tt.wantUIDs {
				if got := r.UIDClients(uid); !slices.Equal(got, want) {
					t.Errorf("UIDClients(%q) = %v, want %v", uid, got, want)
				}
				if got := r.UIDOnline(uid); got != (len(want) > 0) {
					t.Errorf("UIDOnline(%q) = %v, want %v", uid, got, len(want) > 0)
				}
			}
			if got := r.UIDCount(); got != tt.wantCount {
				t.Errorf("UIDCount() = %d, want %d", got, tt.wantCount)
			}
		})
	}
	if info, _ := r.Info("a"); info.UID != "u2" {
		t.Errorf("Info(a).UID = %q, want u2", info.UID)
	}
}

func TestUnbindUID(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 4})
	addConns(t, r, "a", "b")
	mustNil(t, r.BindUID("a", "u"))

	tests := []struct {
		name    string
		id      string
		wantErr error
	}{
		{name: "bound", id: "a"},
		{name: "already unbound", id: "a"},
		{name: "never bound", id: "b"},
		{name: "unknown client", id: "zz", wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.UnbindUID(tt.id); !errors.Is(err, tt.wantErr) {
				t.Fatalf("UnbindUID(%q) = %v, want %v", tt.id, err, tt.wantErr)
			}
			if r.UIDOnline("u") || r.UIDCount() != 0 {
				t.Errorf("uid u still bound: UIDClients=%v", r.UIDClients("u"))
			}
		})
	}
	if info, _ := r.Info("a"); info.UID != "" {
		t.Errorf("Info(a).UID = %q, want empty", info.UID)
	}
}

func TestCloseUID(t *testing.T) {
	tests := []struct {
		name      string
		uid       string
		want      int
		wantLeft  int
		wantCodes map[string]uint32 // close code by client; 0 means still open
	}{
		{name: "closes every client of the uid", uid: "u1", want: 3, wantLeft: 1, wantCodes: map[string]uint32{"a": 4001, "b": 4001, "c": 4001, "d": 0}},
		{name: "unknown uid", uid: "nobody", want: 0, wantLeft: 4, wantCodes: map[string]uint32{"a": 0, "d": 0}},
		{name: "empty uid", uid: "", want: 0, wantLeft: 4, wantCodes: map[string]uint32{"a": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t, Config{Shards: 4})
			conns := addConns(t, r, "a", "b", "c", "d")
			for _, id := range []string{"a", "b", "c"} {
				mustNil(t, r.BindUID(id, "u1"))
			}
			mustNil(t, r.BindUID("d", "u2"))

			if got := r.CloseUID(tt.uid, 4001, "kicked"); got != tt.want {
				t.Errorf("CloseUID(%q) = %d, want %d", tt.uid, got, tt.want)
			}
			for id, code := range tt.wantCodes {
				if got := conns[id].closeCode.Load(); got != code {
					t.Errorf("%s close code = %d, want %d", id, got, code)
				}
			}
			if r.Count() != tt.wantLeft {
				t.Errorf("Count() = %d, want %d", r.Count(), tt.wantLeft)
			}
			if tt.want > 0 && (r.UIDOnline(tt.uid) || r.UIDCount() != 1) {
				t.Errorf("uid %q still online after CloseUID; UIDCount=%d", tt.uid, r.UIDCount())
			}
		})
	}
}
