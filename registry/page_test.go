package registry

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

type lister func(cursor string, limit int) ([]string, string, error)

// walk pages through list until next is "", failing on a repeated key or
// on more pages than keys.
func walk(t *testing.T, list lister, limit, maxKeys int) []string {
	t.Helper()
	var all []string
	seen := make(map[string]bool)
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > maxKeys+1 {
			t.Fatalf("walk did not end after %d pages", pages)
		}
		page, next, err := list(cursor, limit)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(page) > pageSize(limit) {
			t.Fatalf("page %d has %d keys, limit %d", pages, len(page), pageSize(limit))
		}
		if next != "" && len(page) != pageSize(limit) {
			t.Fatalf("page %d has %d keys and a next cursor, want full pages of %d", pages, len(page), pageSize(limit))
		}
		for _, k := range page {
			if seen[k] {
				t.Fatalf("key %q returned twice", k)
			}
			seen[k] = true
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

func TestPagination(t *testing.T) {
	const n = 2500
	r := newTestRegistry(t, Config{Shards: 8})
	ids, uids, groups := numberedIDs("c", n), numberedIDs("u", n), numberedIDs("g", n)
	addConns(t, r, ids...)
	for i, id := range ids {
		mustNil(t, r.BindUID(id, uids[i]))
		mustNil(t, r.JoinGroups(id, groups[i:i+1]))
	}
	listings := []struct {
		name string
		list lister
		want []string
	}{
		{name: "List", list: r.List, want: ids},
		{name: "UIDList", list: r.UIDList, want: uids},
		{name: "GroupList", list: r.GroupList, want: groups},
	}
	for _, l := range listings {
		for _, limit := range []int{1, 7, 250, 999, 0, n, MaxPageSize + 1} {
			t.Run(fmt.Sprintf("%s/limit=%d", l.name, limit), func(t *testing.T) {
				got := walk(t, l.list, limit, n)
				slices.Sort(got)
				if !slices.Equal(got, l.want) {
					t.Errorf("walk returned %d keys, want each of %d once", len(got), len(l.want))
				}
			})
		}
		t.Run(l.name+"/deterministic", func(t *testing.T) {
			first, next, err := l.list("", 100)
			mustNil(t, err)
			again, nextAgain, err := l.list("", 100)
			mustNil(t, err)
			if !slices.Equal(first, again) || next != nextAgain {
				t.Error("the same cursor gave two different pages")
			}
		})
	}
}

func TestPaginationEmpty(t *testing.T) {
	r := newTestRegistry(t, Config{})
	for _, list := range []lister{r.List, r.UIDList, r.GroupList} {
		page, next, err := list("", 10)
		if len(page) != 0 || next != "" || err != nil {
			t.Errorf("empty registry: page %v, next %q, err %v", page, next, err)
		}
	}
}

func TestPageSize(t *testing.T) {
	tests := []struct{ limit, want int }{
		{-5, DefaultPageSize}, {0, DefaultPageSize}, {1, 1}, {MaxPageSize, MaxPageSize}, {MaxPageSize + 1, MaxPageSize},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit=%d", tt.limit), func(t *testing.T) {
			if got := pageSize(tt.limit); got != tt.want {
				t.Errorf("pageSize(%d) = %d, want %d", tt.limit, got, tt.want)
			}
		})
	}
}

func TestBadCursor(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 8})
	addConns(t, r, numberedIDs("c", 30)...)
	_, listCursor, err := r.List("", 10)
	mustNil(t, err)
	raw := func(b ...byte) string { return base64.RawURLEncoding.EncodeToString(b) }

	tests := []struct {
		name   string
		list   lister
		cursor string
	}{
		{name: "not base64", list: r.List, cursor: "%%%"},
		{name: "padded base64", list: r.List, cursor: base64.URLEncoding.EncodeToString([]byte("c\x01"))},
		{name: "too short", list: r.List, cursor: raw(kindClient)},
		{name: "wrong listing", list: r.UIDList, cursor: listCursor},
		{name: "unknown kind", list: r.GroupList, cursor: raw('x', 0, 'a')},
		{name: "shard out of range", list: r.List, cursor: encodeCursor(kindClient, 8, "c")},
		{name: "varint overflow", list: r.List, cursor: raw(kindClient, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, next, err := tt.list(tt.cursor, 10)
			if !errors.Is(err, ErrBadCursor) || page != nil || next != "" {
				t.Errorf("got page %v, next %q, err %v; want ErrBadCursor", page, next, err)
			}
		})
	}
}

// TestPaginationConcurrentChanges walks while clients come and go: every
// walk ends, never repeats a key and returns every client present throughout.
func TestPaginationConcurrentChanges(t *testing.T) {
	r := newTestRegistry(t, Config{Shards: 8})
	stable := numberedIDs("stable", 500)
	addConns(t, r, stable...)
	churn := numberedIDs("churn", 500)

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			id := churn[i%len(churn)]
			if !r.Remove(id) {
				_ = r.Add(&fakeConn{id: id, reg: r})
			}
		}
	})
	for range 20 {
		got := walk(t, r.List, 37, len(stable)+len(churn))
		for _, id := range stable {
			if !slices.Contains(got, id) {
				t.Fatalf("walk missed %s, present throughout", id)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
}
