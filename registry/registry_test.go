package registry

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// fakeConn is a Conn[int] that counts what it accepts and, like the real
// connection, removes itself from the registry when closed.
type fakeConn struct {
	id     string
	reg    *Registry[int]
	record bool // keep every message in got

	sends     atomic.Int64
	closed    atomic.Bool
	closeCode atomic.Uint32

	mu  sync.Mutex
	got []int // guarded by mu
}

const fakeAddr = "192.0.2.1:4242"

func (c *fakeConn) ID() string         { return c.id }
func (c *fakeConn) RemoteAddr() string { return fakeAddr }

func (c *fakeConn) Send(m int) bool {
	if c.closed.Load() {
		return false
	}
	c.sends.Add(1)
	if c.record {
		c.mu.Lock()
		c.got = append(c.got, m)
		c.mu.Unlock()
	}
	return true
}

func (c *fakeConn) Close(code uint16, _ string) {
	if c.closed.CompareAndSwap(false, true) {
		c.closeCode.Store(uint32(code))
		c.reg.Remove(c.id)
	}
}

func (c *fakeConn) received() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

func newTestRegistry(t testing.TB, cfg Config) *Registry[int] {
	t.Helper()
	r, err := New[int](cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return r
}

// addConns registers a fakeConn per id.
func addConns(t testing.TB, r *Registry[int], ids ...string) map[string]*fakeConn {
	t.Helper()
	conns := make(map[string]*fakeConn, len(ids))
	for _, id := range ids {
		c := &fakeConn{id: id, reg: r}
		if err := r.Add(c); err != nil {
			t.Fatalf("Add(%q): %v", id, err)
		}
		conns[id] = c
	}
	return conns
}

// numberedIDs returns n ids "prefix-0000"...
func numberedIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return ids
}

func mustNil(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or a few seconds have passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		wantErr    bool
		wantShards int
		wantMin    int
		wantWork   int
	}{
		{name: "zero means defaults", cfg: Config{}, wantShards: 64, wantMin: 512, wantWork: runtime.GOMAXPROCS(0)},
		{name: "one shard", cfg: Config{Shards: 1}, wantShards: 1, wantMin: 512, wantWork: runtime.GOMAXPROCS(0)},
		{name: "explicit", cfg: Config{Shards: 1024, FanoutWorkers: 3, FanoutMin: 10}, wantShards: 1024, wantMin: 10, wantWork: 3},
		{name: "max shards", cfg: Config{Shards: MaxShards}, wantShards: MaxShards, wantMin: 512, wantWork: runtime.GOMAXPROCS(0)},
		{name: "shards not a power of two", cfg: Config{Shards: 6}, wantErr: true},
		{name: "shards negative", cfg: Config{Shards: -4}, wantErr: true},
		{name: "shards too many", cfg: Config{Shards: 2 * MaxShards}, wantErr: true},
		{name: "workers negative", cfg: Config{FanoutWorkers: -1}, wantErr: true},
		{name: "fanout min negative", cfg: Config{FanoutMin: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New[int](tt.cfg)
			if tt.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				return
			}
			mustNil(t, err)
			if len(r.clients) != tt.wantShards || len(r.uids.shards) != tt.wantShards || len(r.groups.shards) != tt.wantShards {
				t.Errorf("shards = %d/%d/%d, want %d", len(r.clients), len(r.uids.shards), len(r.groups.shards), tt.wantShards)
			}
			if r.fanoutMin != tt.wantMin || r.workers != tt.wantWork {
				t.Errorf("fanoutMin, workers = %d, %d, want %d, %d", r.fanoutMin, r.workers, tt.wantMin, tt.wantWork)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 4})
	before := time.Now()
	addConns(t, r, "a", "b")
	after := time.Now()

	tests := []struct {
		name    string
		id      string
		wantErr error
	}{
		{name: "new id", id: "c"},
		{name: "duplicate id", id: "a", wantErr: ErrDuplicate},
		{name: "empty id is an id like any other", id: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Add(&fakeConn{id: tt.id, reg: r})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Add(%q) = %v, want %v", tt.id, err, tt.wantErr)
			}
		})
	}
	if got := r.Count(); got != 4 {
		t.Errorf("Count() = %d, want 4", got)
	}
	info, ok := r.Info("a")
	if !ok {
		t.Fatal("Info(a) not found")
	}
	if info.ConnectedAt.Before(before) || info.ConnectedAt.After(after) {
		t.Errorf("ConnectedAt = %v, want within [%v, %v]", info.ConnectedAt, before, after)
	}
}

func TestRemove(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 4})
	addConns(t, r, "a", "b")
	mustNil(t, r.BindUID("a", "u"))
	mustNil(t, r.JoinGroups("a", []string{"g1", "g2"}))
	mustNil(t, r.JoinGroups("b", []string{"g2"}))

	tests := []struct {
		id   string
		want bool
	}{
		{id: "a", want: true},
		{id: "a", want: false},
		{id: "unknown", want: false},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d/id=%s", i, tt.id), func(t *testing.T) {
			if got := r.Remove(tt.id); got != tt.want {
				t.Errorf("Remove(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
	if _, ok := r.Lookup("a"); ok {
		t.Error("Lookup(a) found a removed client")
	}
	if r.UIDOnline("u") || r.UIDCount() != 0 {
		t.Errorf("uid u still online: UIDOnline=%v UIDCount=%d", r.UIDOnline("u"), r.UIDCount())
	}
	if got := r.GroupClients("g2"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("GroupClients(g2) = %v, want [b]", got)
	}
	if r.GroupCount("g1") != 0 || r.GroupTotal() != 1 {
		t.Errorf("GroupCount(g1)=%d GroupTotal=%d, want 0 and 1", r.GroupCount("g1"), r.GroupTotal())
	}
	if r.Count() != 1 {
		t.Errorf("Count() = %d, want 1", r.Count())
	}
}

func TestLookup(t *testing.T) {
	r := newTestRegistry(t, Config{})
	conns := addConns(t, r, "a")
	tests := []struct {
		id     string
		wantOK bool
	}{
		{id: "a", wantOK: true},
		{id: "b"},
		{id: ""},
	}
	for _, tt := range tests {
		t.Run("id="+tt.id, func(t *testing.T) {
			c, ok := r.Lookup(tt.id)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.id, ok, tt.wantOK)
			}
			if ok && c != Conn[int](conns[tt.id]) {
				t.Errorf("Lookup(%q) returned another connection", tt.id)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	r := newTestRegistry(t, Config{})
	addConns(t, r, "bound", "unbound")
	mustNil(t, r.BindUID("bound", "u1"))
	mustNil(t, r.JoinGroups("bound", []string{"zeta", "alpha", "mid"}))

	tests := []struct {
		id     string
		wantOK bool
		want   Info
	}{
		{id: "bound", wantOK: true, want: Info{ClientID: "bound", UID: "u1", Groups: []string{"alpha", "mid", "zeta"}, RemoteAddr: fakeAddr}},
		{id: "unbound", wantOK: true, want: Info{ClientID: "unbound", RemoteAddr: fakeAddr}},
		{id: "unknown"},
	}
	for _, tt := range tests {
		t.Run("id="+tt.id, func(t *testing.T) {
			got, ok := r.Info(tt.id)
			if ok != tt.wantOK {
				t.Fatalf("Info(%q) ok = %v, want %v", tt.id, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if got.ConnectedAt.IsZero() {
				t.Error("ConnectedAt is zero")
			}
			got.ConnectedAt = time.Time{}
			if got.ClientID != tt.want.ClientID || got.UID != tt.want.UID || got.RemoteAddr != tt.want.RemoteAddr || !slices.Equal(got.Groups, tt.want.Groups) {
				t.Errorf("Info(%q) = %+v, want %+v", tt.id, got, tt.want)
			}
		})
	}

	t.Run("groups are a copy", func(t *testing.T) {
		info, _ := r.Info("bound")
		info.Groups[0] = "changed"
		if again, _ := r.Info("bound"); again.Groups[0] != "alpha" {
			t.Errorf("Info groups alias the registry's: %v", again.Groups)
		}
	})
}

func TestCloseClient(t *testing.T) {
	r := newTestRegistry(t, Config{})
	conns := addConns(t, r, "a", "b")
	tests := []struct {
		id   string
		want bool
	}{
		{id: "a", want: true},
		{id: "a", want: false}, // its Close removed it
		{id: "unknown", want: false},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d/id=%s", i, tt.id), func(t *testing.T) {
			if got := r.CloseClient(tt.id, 4000, "bye"); got != tt.want {
				t.Errorf("CloseClient(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
	if !conns["a"].closed.Load() || conns["a"].closeCode.Load() != 4000 {
		t.Errorf("a: closed=%v code=%d, want closed with 4000", conns["a"].closed.Load(), conns["a"].closeCode.Load())
	}
	if conns["b"].closed.Load() || r.Count() != 1 {
		t.Errorf("b closed=%v, Count=%d; want b open and Count 1", conns["b"].closed.Load(), r.Count())
	}
}

// TestEntrySize guards the per-client footprint: 500,000 clients each hold
// one entry. (104 since a client's groups became a set with O(1) joins;
// 112, the same allocation size class, since it holds session data.)
func TestEntrySize(t *testing.T) {
	const max = 112
	if got := unsafe.Sizeof(entry[int]{}); got > max {
		t.Errorf("entry is %d bytes, want <= %d", got, max)
	}
}
