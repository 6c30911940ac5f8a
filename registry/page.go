package registry

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"sync"
)

// Page sizes of List, UIDList and GroupList.
const (
	DefaultPageSize = 1000  // used when limit <= 0
	MaxPageSize     = 10000 // larger limits are clamped to it
)

// Cursor kinds, so that a cursor of one listing is rejected by another.
const (
	kindClient byte = 'c'
	kindUID    byte = 'u'
	kindGroup  byte = 'g'
)

// pageSize applies DefaultPageSize and MaxPageSize to limit.
func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultPageSize
	}
	return min(limit, MaxPageSize)
}

// shardKeys appends to dst, sorted, the keys of shard i that are greater than
// after, or all its keys when bounded is false.
type shardKeys func(i int, after string, bounded bool, dst []string) []string

// paginate returns up to limit keys in (shard, key) order starting after
// cursor, and the cursor of the next page, "" when there is none.
//
// A cursor is base64url(kind, uvarint shard, last key). Resuming takes the
// keys greater than the last key in its shard, then every key of the later
// shards, so a walk never returns a key twice or loops, whatever changes
// between pages.
func paginate(kind byte, cursor string, limit, shards int, keys shardKeys) ([]string, string, error) {
	limit = pageSize(limit)
	start, after, bounded, err := decodeCursor(kind, cursor, shards)
	if err != nil {
		return nil, "", err
	}
	var page, buf []string
	lastShard := start
	// Collect one key more than limit to learn whether another page exists.
	for i := start; i < shards && len(page) <= limit; i++ {
		buf = keys(i, after, bounded && i == start, buf[:0])
		take := min(len(buf), limit+1-len(page))
		if len(page) < limit && len(page)+take >= limit {
			lastShard = i
		}
		page = append(page, buf[:take]...)
	}
	if len(page) <= limit {
		return page, "", nil
	}
	page = page[:limit]
	return page, encodeCursor(kind, lastShard, page[limit-1]), nil
}

// appendKeysAfter implements shardKeys for one shard's map, *m, which mu
// guards (the map itself is replaced when it shrinks).
func appendKeysAfter[V any](mu *sync.RWMutex, m *map[string]V, after string, bounded bool, dst []string) []string {
	mu.RLock()
	start := len(dst)
	for k := range *m {
		if !bounded || k > after {
			dst = append(dst, k)
		}
	}
	mu.RUnlock()
	slices.Sort(dst[start:])
	return dst
}

func encodeCursor(kind byte, shard int, last string) string {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(last))
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(shard))
	b = append(b, last...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns where a page starts: in shard start, after key after
// when bounded. The empty cursor is the start of the first shard.
func decodeCursor(kind byte, cursor string, shards int) (start int, after string, bounded bool, err error) {
	if cursor == "" {
		return 0, "", false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) < 2 || b[0] != kind {
		return 0, "", false, ErrBadCursor
	}
	shard, n := binary.Uvarint(b[1:])
	if n <= 0 || shard >= uint64(shards) {
		return 0, "", false, ErrBadCursor
	}
	return int(shard), string(b[1+n:]), true, nil
}

// Listing names one of the registry's sets of keys.
type Listing uint8

// The listings of SortedAfter.
const (
	Clients Listing = iota // client ids
	UIDs                   // uids with at least one client
	Groups                 // groups with at least one member
)

// SortedAfter returns, sorted, up to limit keys of l that are greater than
// after (every key when after is ""). Unlike the paginated listings, its
// order is the keys' own, so pages of several registries (a cluster's nodes)
// merge into one ordered walk. It reads every shard: O(n log n) per call.
func (r *Registry[M]) SortedAfter(l Listing, after string, limit int) []string {
	var keys []string
	for i := range r.clients {
		switch l {
		case Clients:
			keys = appendKeysAfter(&r.clients[i].mu, &r.clients[i].m, after, after != "", keys)
		case UIDs:
			keys = appendKeysAfter(&r.uids.shards[i].mu, &r.uids.shards[i].m, after, after != "", keys)
		default:
			keys = appendKeysAfter(&r.groups.shards[i].mu, &r.groups.shards[i].m, after, after != "", keys)
		}
	}
	slices.Sort(keys)
	if limit >= 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	return keys
}
