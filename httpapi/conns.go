package httpapi

import (
	"net"
	"sync"
)

// connSet is a listener that remembers its open connections, so Shutdown can
// close them when its deadline passes: fasthttp's own shutdown closes only
// connections idle between requests and waits for the others, including one
// that was accepted but has not sent its first request yet (a browser's
// preconnect), which would hold it until the read timeout.
type connSet struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{} // guarded by mu
}

func newConnSet(ln net.Listener) *connSet {
	return &connSet{Listener: ln, conns: make(map[*trackedConn]struct{})}
}

func (l *connSet) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	t := &trackedConn{Conn: c, set: l}
	l.mu.Lock()
	l.conns[t] = struct{}{}
	l.mu.Unlock()
	return t, nil
}

// closeAll closes every open connection and reports how many there were.
func (l *connSet) closeAll() int {
	l.mu.Lock()
	open := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		open = append(open, c)
	}
	l.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
	return len(open)
}

// trackedConn leaves its set when closed.
type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.conns, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}
