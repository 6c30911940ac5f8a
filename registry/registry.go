package registry

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is the registry's view of one connection. Implementations must make Send and Close
// non-blocking and safe for concurrent use.
//
// The registry calls them with no registry lock held, on the goroutine of the
// method that sends or closes or, for big sends, on its fan-out goroutines.
// A message m is passed as is to every targeted connection; with a reference
// type M, the connections share it and must not modify it.
type Conn[M any] interface {
	ID() string                       // stable unique client id
	RemoteAddr() string               // peer address, for Info
	Send(m M) bool                    // queue m; false if not queued (closed, slow consumer...)
	Close(code uint16, reason string) // idempotent; may call Registry.Remove synchronously from inside (so never call it while holding a registry lock!)
}

// Config configures a Registry. The zero value means the documented defaults.
//
// A send to n targets runs on the caller's goroutine when n < FanoutMin, and
// otherwise on min(FanoutWorkers, ceil(n/FanoutMin)) goroutines, the caller's
// included, so that each goroutine gets about FanoutMin targets or more.
type Config struct {
	Shards int // power of two, at most MaxShards; 0 means 64. Not a power of two -> New returns an error.
	// MaxGroupsPerClient caps the groups one client can be in (JoinGroups
	// returns ErrTooManyGroups past it); 0 means DefaultMaxGroupsPerClient.
	MaxGroupsPerClient int
	// MaxSessionBytes caps a client's session data (UpdateSession returns
	// ErrSessionTooLarge past it); 0 means DefaultMaxSessionBytes.
	MaxSessionBytes int
	FanoutWorkers   int // goroutines used to spread one big send across cores; 0 means runtime.GOMAXPROCS(0)
	FanoutMin       int // targets below which a send runs on the caller's goroutine; 0 means 512
}

// Config defaults and limits.
const (
	DefaultShards    = 64
	MaxShards        = 1 << 16
	DefaultFanoutMin = 512

	// DefaultMaxGroupsPerClient bounds how long one membership call or one
	// removal holds a client (O(1), a fraction of a microsecond, per group),
	// and so how long the poller's timer goroutine can wait for one.
	DefaultMaxGroupsPerClient = 1000

	// DefaultMaxSessionBytes is Config.MaxSessionBytes's default.
	DefaultMaxSessionBytes = 4096
)

// Info describes one client. It is a copy owned by the caller.
type Info struct {
	ClientID    string
	UID         string   // "" when unbound
	Groups      []string // sorted
	Session     []byte   // shared with the registry: never modify it; nil when none
	RemoteAddr  string
	ConnectedAt time.Time // wall clock only, no monotonic reading
}

// Errors returned by the registry. Callers branch on them with errors.Is.
var (
	ErrNotFound  = errors.New("registry: client not found")
	ErrDuplicate = errors.New("registry: duplicate client id")
	ErrBadCursor = errors.New("registry: bad cursor")
	ErrEmptyName = errors.New("registry: empty uid or group name")
	// ErrTooManyGroups reports a join past Config.MaxGroupsPerClient.
	ErrTooManyGroups = errors.New("registry: too many groups for one client")
	// ErrSessionTooLarge reports session data past Config.MaxSessionBytes.
	ErrSessionTooLarge = errors.New("registry: session data too large")
	ErrConfig          = errors.New("registry: invalid config")
)

// Registry is the hub. Create it with New (the zero value is not usable);
// every method is safe for concurrent use (see the package documentation for
// the locking rules).
type Registry[M any] struct {
	seed    maphash.Seed
	mask    uint64
	clients []clientShard[M]
	count   atomic.Int64 // clients; changed under the client shard lock
	uids    index[M]
	groups  index[M]

	workers    int
	fanoutMin  int
	maxGroups  int
	maxSession int
	targets    sync.Pool // *[]*entry[M], emptied and cleared
	seen       sync.Pool // map[*entry[M]]struct{}, emptied
}

// clientShard maps client ids to entries.
type clientShard[M any] struct {
	mu   sync.RWMutex
	m    map[string]*entry[M] // guarded by mu
	peak int                  // guarded by mu; most entries m held since it was made
	_    [64]byte             // keeps neighbouring shards' locks off one cache line
}

// shrinkLocked rebuilds m once it holds under a quarter of its peak: Go maps
// never give memory back, so a shard would otherwise keep its peak forever.
// Caller holds mu for writing.
func (s *clientShard[M]) shrinkLocked() {
	s.m, s.peak = shrunk(s.m, s.peak)
}

// entry is one client. id and conn never change; the rest is guarded by mu.
type entry[M any] struct {
	id          string
	conn        Conn[M]
	connectedAt int64 // unix nanoseconds

	mu     sync.Mutex
	dead   bool    // guarded by mu; set once by Remove
	uid    string  // guarded by mu; "" when unbound; shares the index's copy of the name
	groups nameSet // guarded by mu; shares the index's copies of the names
	// session is the client's session data, replaced whole, never modified
	// (Info hands it out); nil when none. A pointer keeps the entry in the
	// 112-byte size class. Guarded by mu.
	session *[]byte
}

// New validates cfg, applies its defaults and returns an empty Registry.
// Errors wrap ErrConfig.
func New[M any](cfg Config) (*Registry[M], error) {
	shards := cmp.Or(cfg.Shards, DefaultShards)
	if shards < 1 || shards > MaxShards || shards&(shards-1) != 0 {
		return nil, fmt.Errorf("%w: Shards %d is not a power of two in [1, %d]", ErrConfig, cfg.Shards, MaxShards)
	}
	if cfg.FanoutWorkers < 0 {
		return nil, fmt.Errorf("%w: FanoutWorkers %d is negative", ErrConfig, cfg.FanoutWorkers)
	}
	if cfg.FanoutMin < 0 {
		return nil, fmt.Errorf("%w: FanoutMin %d is negative", ErrConfig, cfg.FanoutMin)
	}
	if cfg.MaxGroupsPerClient < 0 {
		return nil, fmt.Errorf("%w: MaxGroupsPerClient %d is negative", ErrConfig, cfg.MaxGroupsPerClient)
	}
	if cfg.MaxSessionBytes < 0 {
		return nil, fmt.Errorf("%w: MaxSessionBytes %d is negative", ErrConfig, cfg.MaxSessionBytes)
	}
	r := &Registry[M]{
		seed:       maphash.MakeSeed(),
		mask:       uint64(shards - 1),
		clients:    make([]clientShard[M], shards),
		workers:    cmp.Or(cfg.FanoutWorkers, runtime.GOMAXPROCS(0)),
		fanoutMin:  cmp.Or(cfg.FanoutMin, DefaultFanoutMin),
		maxGroups:  cmp.Or(cfg.MaxGroupsPerClient, DefaultMaxGroupsPerClient),
		maxSession: cmp.Or(cfg.MaxSessionBytes, DefaultMaxSessionBytes),
	}
	for i := range r.clients {
		r.clients[i].m = make(map[string]*entry[M])
	}
	r.uids.init(r.seed, shards, kindUID)
	r.groups.init(r.seed, shards, kindGroup)
	return r, nil
}

func (r *Registry[M]) clientShard(id string) *clientShard[M] {
	return &r.clients[maphash.String(r.seed, id)&r.mask]
}

// lookup returns id's entry, or nil.
func (r *Registry[M]) lookup(id string) *entry[M] {
	s := r.clientShard(id)
	s.mu.RLock()
	e := s.m[id]
	s.mu.RUnlock()
	return e
}

// lockLive returns id's entry with its mu held, or ErrNotFound when id is
// unknown or being removed.
func (r *Registry[M]) lockLive(id string) (*entry[M], error) {
	e := r.lookup(id)
	if e == nil {
		return nil, ErrNotFound
	}
	e.mu.Lock()
	if e.dead {
		e.mu.Unlock()
		return nil, ErrNotFound
	}
	return e, nil
}

// Add registers c under c.ID() and records its connection time. It returns
// ErrDuplicate, and keeps the registered connection, if the id is taken.
func (r *Registry[M]) Add(c Conn[M]) error {
	id := c.ID()
	e := &entry[M]{id: id, conn: c, connectedAt: time.Now().UnixNano()}
	s := r.clientShard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.m[id]; dup {
		return ErrDuplicate
	}
	s.m[id] = e
	s.peak = max(s.peak, len(s.m))
	r.count.Add(1)
	return nil
}

// Remove unregisters id and drops it from its uid and all its groups. It does
// not close the connection. It is idempotent and reports whether id was
// present. It costs O(1) per group of the client, at most
// Config.MaxGroupsPerClient.
func (r *Registry[M]) Remove(id string) bool {
	_, ok := r.remove(id, false)
	return ok
}

// Take is Remove that also returns what the client was as it left (Info
// without RemoteAddr): its uid, groups and session, for a disconnect event.
func (r *Registry[M]) Take(id string) (Info, bool) {
	return r.remove(id, true)
}

// remove is Remove, with a snapshot of the entry when describe is set.
func (r *Registry[M]) remove(id string, describe bool) (Info, bool) {
	s := r.clientShard(id)
	s.mu.Lock()
	e, ok := s.m[id]
	if ok {
		delete(s.m, id)
		r.count.Add(-1)
		s.shrinkLocked()
	}
	s.mu.Unlock()
	if !ok {
		return Info{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var info Info
	if describe {
		info = e.infoLocked()
	}
	e.dead = true
	if e.uid != "" {
		r.uids.remove(e.uid, e)
		e.uid = ""
	}
	for _, g := range e.groups.all() {
		r.groups.remove(g, e)
	}
	e.groups = nameSet{}
	return info, true
}

// Lookup returns the connection registered under id.
func (r *Registry[M]) Lookup(id string) (Conn[M], bool) {
	if e := r.lookup(id); e != nil {
		return e.conn, true
	}
	return nil, false
}

// Count returns the number of registered clients.
func (r *Registry[M]) Count() int {
	return int(r.count.Load())
}

// Info returns a snapshot of id's state; false if id is unknown.
// It calls Conn.RemoteAddr with no lock held.
func (r *Registry[M]) Info(id string) (Info, bool) {
	e, err := r.lockLive(id)
	if err != nil {
		return Info{}, false
	}
	info := e.infoLocked()
	e.mu.Unlock()
	info.RemoteAddr = e.conn.RemoteAddr()
	return info, true
}

// infoLocked is the entry's Info but RemoteAddr. Caller holds e.mu.
func (e *entry[M]) infoLocked() Info {
	return Info{
		ClientID:    e.id,
		UID:         e.uid,
		Groups:      e.groups.sorted(),
		Session:     e.sessionLocked(),
		ConnectedAt: time.Unix(0, e.connectedAt),
	}
}

// UpdateSession replaces id's session data with what update returns, given
// the current data (nil when none; update must not modify it). update runs
// with the client locked, so concurrent updates apply one after the other;
// it must be quick and must not call the registry. Nothing changes when
// update fails (its error is returned), when the result exceeds
// Config.MaxSessionBytes (ErrSessionTooLarge), or when id is unknown
// (ErrNotFound). The registry keeps the returned slice: update must not
// keep or modify it.
func (r *Registry[M]) UpdateSession(id string, update func(old []byte) ([]byte, error)) error {
	e, err := r.lockLive(id)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	s, err := update(e.sessionLocked())
	if err != nil {
		return err
	}
	if len(s) > r.maxSession {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrSessionTooLarge, len(s), r.maxSession)
	}
	e.session = nil
	if s != nil {
		e.session = &s
	}
	return nil
}

// sessionLocked is the entry's session data, nil when none. Caller holds e.mu.
func (e *entry[M]) sessionLocked() []byte {
	if e.session == nil {
		return nil
	}
	return *e.session
}

// CloseClient closes id's connection with the given close code and reason;
// false if id is unknown. Removal is left to the connection, whose Close
// calls Remove.
func (r *Registry[M]) CloseClient(id string, code uint16, reason string) bool {
	c, ok := r.Lookup(id)
	if ok {
		c.Close(code, reason)
	}
	return ok
}

// appendShard appends to dst the entries of client shard i whose id x does
// not exclude.
func (r *Registry[M]) appendShard(dst []*entry[M], i int, x excludeSet) []*entry[M] {
	s := &r.clients[i]
	s.mu.RLock()
	defer s.mu.RUnlock()
	dst = slices.Grow(dst, len(s.m))
	for id, e := range s.m {
		if !x.has(id) {
			dst = append(dst, e)
		}
	}
	return dst
}

// List returns one page of client ids, sorted within each shard; see
// Pagination in the package documentation.
func (r *Registry[M]) List(cursor string, limit int) (ids []string, next string, err error) {
	return paginate(kindClient, cursor, limit, len(r.clients), func(i int, after string, bounded bool, dst []string) []string {
		s := &r.clients[i]
		return appendKeysAfter(&s.mu, &s.m, after, bounded, dst)
	})
}
