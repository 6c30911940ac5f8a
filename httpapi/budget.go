package httpapi

import (
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// bodyBudget bounds the memory of the request bodies being read or handled
// at once (Config.MaxInflight): a request reserves its declared size (the
// body limit when it is chunked) when its head arrives, and gives it back
// when it is answered. A request that finds no room gets 503 without its body
// being read. Reservations are keyed by the request's header, which fasthttp
// reuses for the connection's next request: a reservation whose request ended
// without an answer (a connection closed mid-body at shutdown) is given back
// then at the latest.
type bodyBudget struct {
	max  int64
	used atomic.Int64
	held sync.Map // *fasthttp.RequestHeader -> int64 reserved
}

// reserve takes room for h's body and reports whether there was some.
func (b *bodyBudget) reserve(h *fasthttp.RequestHeader, maxBody int) bool {
	b.release(h)
	n := int64(h.ContentLength())
	switch {
	case n == 0 || n == -2: // no body (-2: identity without length, ignored by fasthttp)
		return true
	case n < 0 || n > int64(maxBody): // chunked: up to the limit; over the limit: fasthttp refuses it unread
		n = int64(maxBody)
	}
	for {
		used := b.used.Load()
		if used+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			b.held.Store(h, n)
			return true
		}
	}
}

// release gives back h's reservation, if any.
func (b *bodyBudget) release(h *fasthttp.RequestHeader) {
	if n, ok := b.held.LoadAndDelete(h); ok {
		b.used.Add(-n.(int64))
	}
}
