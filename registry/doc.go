// Package registry is the gateway's hub: it maps client ids to connection
// handles and keeps three secondary indexes over them, uid -> clients,
// group -> clients and client -> uid and groups, and it sends one message to
// every connection selected by an id, uid or group list.
//
// # What it knows nothing about
//
// The registry never touches a socket and knows nothing about framing,
// heartbeats or HTTP. It sees a connection only through the small [Conn]
// interface, whose Send and Close must never block; the one WebSocket notion
// it passes through is the close code and reason of [Registry.CloseClient] and
// [Registry.CloseUID], handed unchanged to Conn.Close. The message type M
// is opaque to it (typically a pre-encoded frame shared by all targets). It
// imports the standard library only.
//
// # Data model
//
// A client is one entry in a client shard, keyed by [Conn.ID]. A client has at
// most one uid ([Registry.BindUID] moves it) and any number of groups. The uid
// and group indexes hold sets of entries; a set is deleted as soon as it
// becomes empty, so churn never grows the indexes, and the number of non-empty
// uids and groups is kept in atomic counters. An entry is small (about 100
// bytes): no map, goroutine or timer per client. Small sets (the common
// one-to-a-few connections per uid) are slices; sets promote themselves to a
// map once they grow, so that removal from a big group stays O(1).
//
// # Concurrency model
//
// Every method is safe for concurrent use. State is striped over a power-of-two
// number of shards ([Config.Shards]), chosen by a [hash/maphash] hash seeded
// per Registry: client shards (id -> entry), uid shards and group shards (name
// -> set). Each shard has its own sync.RWMutex. Each entry has its own small
// mutex that guards its uid, its group list and its dead flag.
//
// Lock order: entry.mu, then at most one index (uid or group) shard lock at a
// time. A client shard lock is never held together with any other lock, and
// no entry.mu is ever taken while an index shard lock is held: code that walks
// an index copies the members under the shard's read lock, releases it, and
// only then locks entries one by one.
//
// Every change to a client's uid or groups is made while holding its
// entry.mu, and only if the entry is not dead, together with the matching
// index change. [Registry.Remove] deletes the entry from its client shard
// first, then locks the entry, marks it dead and removes it from its uid and
// group sets. So for every entry e and name n, at every moment nobody holds
// e.mu: e is in the set of n exactly when n is e's uid or one of its groups
// and e is not dead. A Remove racing a BindUID or JoinGroups therefore never
// leaves a removed client in an index.
//
// No registry lock is held while calling [Conn.Send], [Conn.Close],
// [Conn.RemoteAddr] or a callback: targets are collected under read locks into
// pooled slices, the locks are released, then the connections are called.
// Close may thus re-enter [Registry.Remove] synchronously.
//
// # Pagination
//
// [Registry.List], [Registry.UIDList] and [Registry.GroupList] walk the
// shards in order and return the keys of each shard sorted, so a page is
// deterministic. limit <= 0 means [DefaultPageSize]; larger limits than
// [MaxPageSize] are clamped. Pass "" to get the first page and the returned
// next cursor to get the following one; next is "" after the last page.
// Cursors are opaque strings, meaningful only to the Registry and listing
// that produced them; a string that is not a cursor of the listing yields
// [ErrBadCursor]. Walking until next is
// "" returns every key exactly once when nothing changes meanwhile. Keys
// added or removed during a walk may or may not be returned, but a walk
// never returns a key twice and always ends.
//
// # Sends
//
// Send methods return the number of connections that accepted the message.
// A connection selected several times by one call (two of its groups, its id
// listed twice) gets the message once; deduplication uses a pooled map and
// only runs when the call can select a connection twice. Calls with at least
// [Config.FanoutMin] targets are spread over up to [Config.FanoutWorkers]
// goroutines, and every call returns only after all its Send calls have
// returned, so two calls made one after the other by the same goroutine never
// reorder on any connection. Delivering to one more connection allocates
// nothing.
package registry
