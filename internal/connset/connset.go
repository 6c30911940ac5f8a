// Package connset keeps the open connections of an owner (a listener's
// accepted ones, a client's dialled ones) so that it can close them all at
// once, e.g. when a shutdown deadline passes and the library that uses them
// would otherwise wait for each.
//
// It knows nothing of what runs over the connections. A Set is safe for
// concurrent use; its zero value is empty and open.
package connset

import (
	"net"
	"sync"
)

// Set is a set of open connections.
type Set struct {
	mu     sync.Mutex
	conns  map[*conn]struct{} // guarded by mu
	closed bool               // guarded by mu: CloseAll ran; later connections are closed at once
}

// Add tracks c until it is closed and returns the connection to use in its
// place. After CloseAll it closes c instead and returns false.
func (s *Set) Add(c net.Conn) (net.Conn, bool) {
	t := &conn{Conn: c, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, false
	}
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
	}
	s.conns[t] = struct{}{}
	return t, true
}

// CloseAll closes every open connection, and every one added later, and
// reports how many were open.
func (s *Set) CloseAll() int {
	s.mu.Lock()
	s.closed = true
	open := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range open {
		c.Conn.Close()
	}
	return len(open)
}

// conn is a connection that leaves its set when closed.
type conn struct {
	net.Conn
	set  *Set
	once sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.conns, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}
