package poller

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/google/uuid"

	"github.com/wsgate/wsgate/wsframe"
)

// onRequest runs on a pooled goroutine when bytes arrive. It consumes ALL
// buffered bytes (netpoll re-runs it while any remain) and never blocks.
func (s *Server) onRequest(ctx context.Context, nc netpoll.Connection) error {
	c := (*Conn)(ctx.(*connCtx))
	r := nc.Reader()
	b, err := r.Next(r.Len())
	if err != nil {
		return err
	}
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	switch {
	case closing: // decided to close: RFC 6455 section 7.1.1, process nothing more
	case c.state.Load() == stateHandshake:
		c.readHandshake(b)
	default:
		c.lastSeen.Store(s.wheel.Now())
		s.stats.bytesReceived.Add(int64(len(b)))
		c.readFrames(b)
	}
	return r.Release()
}

// readHandshake accumulates the opening handshake (RFC 6455 section 4.2.1) until
// the blank line, then upgrades. Bytes after the header are frames.
func (c *Conn) readHandshake(b []byte) {
	s := c.srv
	data := b
	if c.hs != nil {
		c.hs = append(c.hs, b...)
		data = c.hs
	}
	end := bytes.Index(data, []byte("\r\n\r\n"))
	switch {
	case end < 0 && len(data) > s.cfg.MaxHeaderBytes:
		c.reject(http.StatusRequestHeaderFieldsTooLarge)
		return
	case len(data) > 0 && (data[0] < 'A' || data[0] > 'Z'):
		c.reject(http.StatusBadRequest) // TLS ClientHello, garbage: no request line starts this way
		return
	case end < 0:
		if c.hs == nil {
			c.hs = append(make([]byte, 0, len(b)), b...) // b dies at Release
		}
		return
	case end+4 > s.cfg.MaxHeaderBytes:
		c.reject(http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	rest := data[end+4:]
	rw := handshakeIO{in: data[:end+4]}
	u := s.upgrader
	var deflate *wsflate.Extension
	if !s.cfg.DisableCompression {
		deflate = &wsflate.Extension{Parameters: wsflate.DefaultParameters} // no context takeover
		u.Negotiate = deflate.Negotiate
	}
	_, err := u.Upgrade(&rw)
	c.hs = nil
	if err != nil {
		s.stats.handshakeFailures.Add(1)
		c.enqueue(rw.out, true)
		return
	}

	if deflate != nil {
		_, c.dec.Deflate = deflate.Accepted()
	}
	c.id = uuid.NewString()
	c.enqueue(wsframe.AppendFrame(rw.out, ws.OpText, []byte(c.id)), false) // 101 + id frame, one write
	c.state.Store(stateOpen)
	now := s.wheel.Now()
	c.lastSeen.Store(now)
	c.lastPing = now
	first := s.hbTicks
	if s.pingTicks > 0 {
		first = min(first, s.pingTicks)
	}
	s.wheel.Add(&c.node, first)
	if s.cfg.OnOpen != nil {
		if err := s.cfg.OnOpen(c); err != nil {
			s.log.Warn("connection refused by OnOpen", "err", err)
			c.Close(CloseInternal, "registration failed")
			return
		}
	}
	if len(rest) > 0 {
		c.readFrames(rest)
	}
}

// reject answers bytes that cannot become a handshake with an HTTP error and closes.
func (c *Conn) reject(status int) {
	c.srv.stats.handshakeFailures.Add(1)
	c.hs = nil
	text := http.StatusText(status)
	c.enqueue(fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		status, text, len(text), text), true)
}

// readFrames decodes every complete message or control frame in b and answers
// the client protocol; partial frames stay in the decoder.
func (c *Conn) readFrames(b []byte) {
	s := c.srv
	for len(b) > 0 {
		m, n, err := c.dec.Next(b)
		b = b[n:]
		if err != nil {
			s.stats.protocolErrors.Add(1)
			c.Close(uint16(wsframe.CloseCode(err)), err.Error())
			return
		}
		if m.Op == 0 {
			return
		}
		s.stats.messagesReceived.Add(1)
		if c.overRate() {
			s.stats.rateLimitCloses.Add(1)
			c.Close(ClosePolicy, "inbound message rate over the limit")
			return
		}
		switch m.Op {
		case ws.OpText:
			if string(m.Payload) == "ping" {
				c.Send(pongFrame)
			}
		case ws.OpPing:
			c.enqueue(wsframe.AppendFrame(nil, ws.OpPong, m.Payload), false)
		case ws.OpClose:
			code, _, _ := wsframe.ParseClose(m.Payload) // Next validated it
			if code == ws.StatusNoStatusRcvd {
				code = ws.StatusNormalClosure
			}
			c.Close(uint16(code), "")
			return
		}
	}
}

// overRate counts one inbound message and reports whether the client passed
// MaxInboundRate messages in the current one-second window.
func (c *Conn) overRate() bool {
	s := c.srv
	if s.cfg.MaxInboundRate < 0 {
		return false
	}
	if now := s.wheel.Now(); now-c.rateFrom >= s.secondTicks {
		c.rateFrom, c.rateN = now, 0
	}
	c.rateN++
	return int(c.rateN) > s.cfg.MaxInboundRate
}

// handshakeIO feeds exactly the buffered handshake bytes to ws.Upgrader and
// collects its response, so the upgrade never blocks and never swallows frames.
type handshakeIO struct {
	in  []byte
	out []byte
}

func (h *handshakeIO) Read(p []byte) (int, error) {
	if len(h.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p, h.in)
	h.in = h.in[n:]
	return n, nil
}

func (h *handshakeIO) Write(p []byte) (int, error) {
	h.out = append(h.out, p...)
	return len(p), nil
}

// newUpgrader builds the server's shared ws.Upgrader; its callbacks touch only
// server-wide state.
func (s *Server) newUpgrader() ws.Upgrader {
	u := ws.Upgrader{
		OnBeforeUpgrade: func() (ws.HandshakeHeader, error) {
			if s.stopping.Load() {
				return nil, errStopping
			}
			if !s.reserveConn() {
				s.stats.rejectedFull.Add(1)
				return nil, errMaxConns
			}
			return nil, nil
		},
	}
	if s.cfg.Path != "" {
		u.OnRequest = func(uri []byte) error {
			path, _, _ := bytes.Cut(uri, []byte("?"))
			if string(path) != s.cfg.Path {
				return errPath
			}
			return nil
		}
	}
	if origins := s.cfg.AllowedOrigins; len(origins) > 0 && !(len(origins) == 1 && origins[0] == "*") {
		u.OnHeader = func(key, value []byte) error {
			if string(key) != "Origin" {
				return nil
			}
			for _, o := range origins {
				if strings.EqualFold(o, string(value)) {
					return nil
				}
			}
			return errOrigin
		}
	}
	return u
}

// reserveConn counts one more upgraded connection unless MaxConns is reached.
func (s *Server) reserveConn() bool {
	for {
		n := s.conns.Load()
		if s.cfg.MaxConns > 0 && n >= int64(s.cfg.MaxConns) {
			return false
		}
		if s.conns.CompareAndSwap(n, n+1) {
			return true
		}
	}
}
