package httpapi

import (
	"net"

	"github.com/wsgate/wsgate/internal/connset"
)

// connSet is a listener that remembers its open connections, so Shutdown can
// close them when its deadline passes: fasthttp's own shutdown closes only
// connections idle between requests and waits for the others, including one
// that was accepted but has not sent its first request yet (a browser's
// preconnect), which would hold it until the read timeout.
type connSet struct {
	net.Listener
	set connset.Set
}

func newConnSet(ln net.Listener) *connSet { return &connSet{Listener: ln} }

func (l *connSet) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if t, ok := l.set.Add(c); ok {
			return t, nil
		} // closed at once: the deadline passed
	}
}

// closeAll closes every open connection (and any accepted later) and
// reports how many there were.
func (l *connSet) closeAll() int { return l.set.CloseAll() }
