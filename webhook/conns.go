package webhook

import (
	"net"
	"sync"
	"time"
)

// conns dials the backend and keeps every connection it opened until that
// is closed, so that Close can cut requests still in flight at its deadline
// (fasthttp's client cannot abandon a request otherwise).
type conns struct {
	mu     sync.Mutex
	open   map[*conn]struct{} // guarded by mu
	closed bool               // guarded by mu: dials fail, new conns are closed at once
}

// dial is the fasthttp client's DialTimeout.
func (cs *conns) dial(addr string, timeout time.Duration) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: nc, cs: cs}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		nc.Close()
		return nil, net.ErrClosed
	}
	if cs.open == nil {
		cs.open = map[*conn]struct{}{}
	}
	cs.open[c] = struct{}{}
	return c, nil
}

// closeAll closes every open connection, making the requests on them fail
// at once, and every later dial.
func (cs *conns) closeAll() {
	cs.mu.Lock()
	cs.closed = true
	open := cs.open
	cs.open = nil
	cs.mu.Unlock()
	for c := range open {
		c.Conn.Close()
	}
}

// conn is a connection that leaves its set when closed.
type conn struct {
	net.Conn
	cs   *conns
	once sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.cs.mu.Lock()
		delete(c.cs.open, c)
		c.cs.mu.Unlock()
	})
	return c.Conn.Close()
}
