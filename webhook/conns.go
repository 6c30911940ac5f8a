package webhook

import (
	"net"
	"time"
)

// dial is the fasthttp client's DialTimeout: it keeps every connection in
// s.conns, so that Close can cut requests still in flight at its deadline
// (fasthttp's client cannot abandon a request otherwise).
func (s *Sender) dial(addr string, timeout time.Duration) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c, ok := s.conns.Add(nc)
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
