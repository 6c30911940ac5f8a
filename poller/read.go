package poller

import (
	"context"
	"log/slog"

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
			s.warn.Log(slog.LevelError, "panic in connection handler", "panic", r, "client_id", c.id)
			nc.Close()
		}
	}()
	r := nc.Reader()
	b, err := r.Next(r.Len())
	if err != nil {
		return err
	}
	switch c.life.state() {
	case stateOpen:
		c.lastSeen.Store(s.wheel.Now())
		s.stats.bytesReceived.Add(int64(len(b)))
		c.readFrames(b)
	case stateHandshake:
		c.readHandshake(b)
	case stateUpgrading:
		c.readWhileUpgrading(b)
	default: // ended: RFC 6455 section 7.1.1, process nothing more
	}
	return r.Release()
}

// readWhileUpgrading keeps bytes that arrive while OnHandshake has not
// answered, for open to decode, or decodes them if the answer came meanwhile.
// A client may pipeline frames after its request, but not without bound.
func (c *Conn) readWhileUpgrading(b []byte) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	switch c.life.state() {
	case stateUpgrading:
		if len(c.hs)+len(b) > c.srv.cfg.MaxHeaderBytes+c.srv.cfg.MaxMessage {
			c.hs = nil
			c.abort(ReasonHandshakeFailure, 0)
			return
		}
		c.hs = append(c.hs, b...)
	case stateOpen:
		c.lastSeen.Store(c.srv.wheel.Now())
		c.srv.stats.bytesReceived.Add(int64(len(b)))
		c.readFrames(b)
	}
}

// readFrames decodes every complete message or control frame in b and answers
// the client protocol; partial frames stay in the decoder.
func (c *Conn) readFrames(b []byte) {
	s := c.srv
	for len(b) > 0 {
		m, n, err := c.dec.Next(b)
		b = b[n:]
		if err != nil {
			c.closeWith(ReasonProtocolError, uint16(wsframe.CloseCode(err)), err.Error())
			return
		}
		if m.Op == 0 {
			return
		}
		s.stats.messagesReceived.Add(1)
		if c.overRate() {
			c.closeWith(ReasonRateLimit, ClosePolicy, "inbound message rate over the limit")
			return
		}
		switch m.Op {
		case ws.OpText, ws.OpBinary:
			if m.Op == ws.OpText && string(m.Payload) == "ping" {
				c.Send(pongFrame)
			} else if s.cfg.OnMessage != nil {
				s.cfg.OnMessage(c, m)
			}
		case ws.OpPing:
			c.enqueue(wsframe.AppendFrame(nil, ws.OpPong, m.Payload), false)
		case ws.OpClose:
			code, _, _ := wsframe.ParseClose(m.Payload) // Next validated it
			if code == ws.StatusNoStatusRcvd {
				code = ws.StatusNormalClosure
			}
			c.closeWith(ReasonPeerClose, uint16(code), "")
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
