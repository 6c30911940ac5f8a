package poller

import (
	"context"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wsframe"
)

// onRequest runs on a pooled goroutine when bytes arrive. It consumes ALL
// buffered bytes (netpoll re-runs it while any remain) and never blocks.
func (s *Server) onRequest(ctx context.Context, nc netpoll.Connection) error {
	c := (*Conn)(ctx.(*connCtx))
	defer func() {
		// A panic (in a hook, or a bug) costs this connection only. Recovering
		// here, rather than in netpoll's pool, keeps netpoll's processing lock
		// consistent, so its close callbacks still run exactly once.
		if r := recover(); r != nil {
			s.log.Error("panic in connection handler", "panic", r, "client_id", c.id)
			nc.Close()
		}
	}()
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
