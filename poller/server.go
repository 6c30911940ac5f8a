package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"
	"github.com/google/uuid"

	"github.com/wsgate/wsgate/logging"
	"github.com/wsgate/wsgate/poller/wheel"
	"github.com/wsgate/wsgate/wsframe"
)

// Server accepts WebSocket clients on one listener. Create it with New, run Serve,
// stop it with Shutdown.
type Server struct {
	cfg      Config
	log      *slog.Logger
	warn     *logging.Limiter // per-client warnings, rate-limited
	ln       *onceListener
	evl      netpoll.EventLoop
	wheel    *wheel.Wheel[*Conn]
	upgrader ws.Upgrader
	started  time.Time

	hsTicks, hbTicks, pingTicks, secondTicks, lingerTicks int64

	conns  atomic.Int64 // upgraded (from the reservation in OnBeforeUpgrade) and not ended
	live   atomic.Int64 // TCP connections netpoll has not closed yet
	stats  counters
	closes [reasonCount]atomic.Int64 // ends by reason, counted once by the end's winner

	shutdownOnce sync.Once
	shutdownErr  error
	stopping     atomic.Bool
	draining     atomic.Bool // Drain: upgrades are refused, clients are closed bit by bit
}

// counters are the server's traffic statistics (closes are counted by reason).
type counters struct {
	accepted                        atomic.Int64 // connections that reached open, once each
	framesSent, bytesSent           atomic.Int64
	messagesReceived, bytesReceived atomic.Int64
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Connections        int64 `json:"connections"`          // upgraded and open
	Handshaking        int64 `json:"handshaking"`          // TCP connections not upgraded (yet) or closing
	Accepted           int64 `json:"accepted"`             // connections upgraded and opened, ever
	FramesSent         int64 `json:"frames_sent"`          // frames written to sockets
	BytesSent          int64 `json:"bytes_sent"`           // bytes written to sockets
	MessagesReceived   int64 `json:"messages_received"`    // complete client messages and control frames
	BytesReceived      int64 `json:"bytes_received"`       // bytes read after upgrades
	SlowConsumerCloses int64 `json:"slow_consumer_closes"` // clients closed for an overfull send queue
	HeartbeatTimeouts  int64 `json:"heartbeat_timeouts"`   // clients closed for silence
	HandshakeTimeouts  int64 `json:"handshake_timeouts"`   // handshakes that did not finish in time
	HandshakeFailures  int64 `json:"handshake_failures"`   // refused handshakes (bad request, origin, path, full, refused by OnHandshake...)
	ProtocolErrors     int64 `json:"protocol_errors"`      // clients failed for RFC 6455 violations
	RejectedFull       int64 `json:"rejected_full"`        // upgrades refused with 503 at MaxConns
	RateLimitCloses    int64 `json:"rate_limit_closes"`    // clients closed for passing MaxInboundRate
	// Closes counts every ended connection (handshakes included) by
	// Reason.String(); the fields above are views of it.
	Closes map[string]int64 `json:"closes"`
}

var (
	errMaxConns = ws.RejectConnectionError(ws.RejectionStatus(503), ws.RejectionReason("server full"))
	errOrigin   = ws.RejectConnectionError(ws.RejectionStatus(403), ws.RejectionReason("origin not allowed"))
	errPath     = ws.RejectConnectionError(ws.RejectionStatus(404), ws.RejectionReason("no WebSocket at this path"))
	errStopping = ws.RejectConnectionError(ws.RejectionStatus(503), ws.RejectionReason("server shutting down"))
)

// Frames every connection shares.
var (
	pongFrame = wsframe.NewFrame(ws.OpText, []byte("pong"))
	pingFrame = wsframe.NewFrame(ws.OpPing, nil)
)

// New validates cfg and listens on cfg.Addr. Call Serve next. Setup must have
// run first (the process-wide settings are not a Server's).
func New(cfg Config) (*Server, error) {
	if !isSetUp() {
		return nil, fmt.Errorf("%w: call poller.Setup before poller.New", ErrSetup)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, warn: logging.NewLimiter(cfg.Logger, 0), started: time.Now()}
	tick, slots := cfg.wheelShape()
	if s.wheel, err = wheel.New(tick, slots, s.expire); err != nil {
		return nil, err
	}
	s.hsTicks = s.wheel.Ticks(cfg.HandshakeTimeout)
	s.hbTicks = s.wheel.Ticks(cfg.HeartbeatTimeout)
	s.secondTicks = s.wheel.Ticks(time.Second)
	s.lingerTicks = s.wheel.Ticks(closeLinger)
	if cfg.PingInterval > 0 {
		s.pingTicks = s.wheel.Ticks(cfg.PingInterval)
	}
	s.upgrader = s.newUpgrader()
	ln, err := netpoll.CreateListener("tcp", cfg.Addr)
	if err != nil {
		s.wheel.Stop()
		return nil, fmt.Errorf("poller: listen %s: %w", cfg.Addr, err)
	}
	s.ln = &onceListener{Listener: ln}
	s.evl, err = netpoll.NewEventLoop(s.onRequest,
		netpoll.WithOnPrepare(s.onPrepare),
		netpoll.WithWriteTimeout(cfg.WriteTimeout),
	)
	if err != nil {
		s.ln.Close()
		s.wheel.Stop()
		return nil, fmt.Errorf("poller: event loop: %w", err)
	}
	return s, nil
}

// newID makes a client id: Config.NewID's, or a random UUID.
func (s *Server) newID() string {
	if s.cfg.NewID != nil {
		return s.cfg.NewID()
	}
	return uuid.NewString()
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Shutdown. It returns nil after Shutdown.
func (s *Server) Serve() error {
	err := s.evl.Serve(s.ln)
	if s.stopping.Load() {
		return nil
	}
	return err
}

// Shutdown stops accepting, sends Close 1001 to every client, waits for their
// queues to drain and their sockets to close, and when ctx expires closes what
// netpoll considers idle and returns ctx's error. A connection still flushing to
// a stalled peer then closes at WriteTimeout. Idempotent; later calls return
// the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.stopping.Store(true) // upgrades get 503; expire closes what it sees from now on
		s.ln.Close()           // stop accepting
		// The wheel keeps running until the end (it closes lingering connections).
		// Each waits for an expiry batch in flight, so every connection is either
		// in this walk or expires with stopping set.
		s.wheel.Each(func(n *wheel.Node[*Conn]) { n.Value.shutdown() })
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for s.live.Load() > 0 && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		var late error
		if s.live.Load() > 0 {
			late = fmt.Errorf("poller: %d connections still open at the shutdown deadline: %w", s.live.Load(), ctx.Err())
		}
		s.shutdownErr = errors.Join(late, s.evl.Shutdown(ctx)) // closes the listener again: onceListener
		s.wheel.Stop()
	})
	return s.shutdownErr
}

// drainStep is how often Drain closes its next share of the clients.
const drainStep = 50 * time.Millisecond

// Drain refuses new upgrades (503) and closes the open connections with
// code and ReasonShutdown, spread evenly over spread, so that clients
// reconnecting to other nodes do not all come at once. It returns when every
// connection that was open got its Close, or when ctx is done. Shutdown
// finishes the job.
func (s *Server) Drain(ctx context.Context, code uint16, reason string, spread time.Duration) {
	s.draining.Store(true)
	var open []*Conn
	s.wheel.Each(func(n *wheel.Node[*Conn]) {
		if n.Value.life.state() == stateOpen {
			open = append(open, n.Value)
		}
	})
	steps := max(1, int(spread/drainStep))
	per := max(1, (len(open)+steps-1)/steps)
	t := time.NewTicker(max(spread/time.Duration(steps), time.Millisecond))
	defer t.Stop()
	for i := 0; i < len(open); i += per {
		for _, c := range open[i:min(i+per, len(open))] {
			c.closeWith(ReasonShutdown, code, reason)
		}
		if i+per >= len(open) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// shutdown ends c for Shutdown: Close 1001 if it is open, TCP otherwise (a
// lingering connection at once; one flushing its final frame is left to it).
func (c *Conn) shutdown() {
	switch c.life.state() {
	case stateOpen:
		c.closeWith(ReasonShutdown, CloseGoingAway, "server shutdown")
	case stateHandshake, stateUpgrading:
		c.abort(ReasonShutdown, 0)
	case stateLinger:
		c.nc.Close()
	}
}

// onceListener makes Close idempotent: netpoll's listener closes its fd on every
// call, and a second close would hit whatever file reused the number.
type onceListener struct {
	netpoll.Listener
	once sync.Once
	err  error
}

func (l *onceListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	conns := s.conns.Load()
	st := Stats{
		Connections:      conns,
		Handshaking:      max(s.live.Load()-conns, 0),
		Accepted:         s.stats.accepted.Load(),
		FramesSent:       s.stats.framesSent.Load(),
		BytesSent:        s.stats.bytesSent.Load(),
		MessagesReceived: s.stats.messagesReceived.Load(),
		BytesReceived:    s.stats.bytesReceived.Load(),
		Closes:           make(map[string]int64, reasonCount),
	}
	for _, r := range Reasons() {
		st.Closes[r.String()] = s.closes[r].Load()
	}
	st.SlowConsumerCloses = s.closes[ReasonSlowConsumer].Load()
	st.HeartbeatTimeouts = s.closes[ReasonHeartbeatTimeout].Load()
	st.HandshakeTimeouts = s.closes[ReasonHandshakeTimeout].Load()
	st.ProtocolErrors = s.closes[ReasonProtocolError].Load()
	st.RejectedFull = s.closes[ReasonServerFull].Load()
	st.RateLimitCloses = s.closes[ReasonRateLimit].Load()
	st.HandshakeFailures = s.closes[ReasonHandshakeFailure].Load() + st.RejectedFull + s.closes[ReasonRefused].Load()
	return st
}

// onPrepare runs on the poller goroutine for each accepted socket: it only
// allocates the Conn and arms the handshake timeout.
func (s *Server) onPrepare(nc netpoll.Connection) context.Context {
	c := &Conn{srv: s, nc: nc, fd: -1}
	if f, ok := nc.(interface{ Fd() int }); ok {
		c.fd = f.Fd()
	}
	c.node.Value = c
	c.dec.MaxMessage = s.cfg.MaxMessage
	s.live.Add(1)
	nc.AddCloseCallback(c.onNetpollClose)
	c.lastSeen.Store(s.wheel.Now())
	s.wheel.Add(&c.node, s.hsTicks)
	return (*connCtx)(c)
}

// expire runs on the wheel goroutine when a connection's timer fires: it ends
// lingers, stalled handshakes and silent clients, sends server pings, and
// re-arms. It must not block: it runs one non-blocking write at most.
func (s *Server) expire(n *wheel.Node[*Conn]) {
	c := n.Value
	st := c.life.state()
	now := s.wheel.Now()
	last := c.lastSeen.Load()
	switch {
	case st == stateLinger:
		// The node may have been taken into this batch just before the
		// linger armed it: close only once the linger is over.
		if now >= last {
			c.nc.Close()
		} else {
			s.wheel.Add(&c.node, last-now)
		}
		return
	case st >= stateClosing:
		return
	case s.stopping.Load():
		c.shutdown()
		return
	}
	if st != stateOpen {
		if now-last >= s.hsTicks {
			c.abort(ReasonHandshakeTimeout, 0)
			return
		}
		s.rearm(c, last+s.hsTicks-now)
		return
	}
	if now-last >= s.hbTicks {
		c.closeWith(ReasonHeartbeatTimeout, CloseHeartbeatTimeout, "heartbeat timeout")
		return
	}
	next := last + s.hbTicks
	if exp := c.expiry.Load(); exp != 0 {
		if now >= exp {
			c.closeWith(ReasonServerClose, CloseExpired, "token expired")
			return
		}
		next = min(next, exp)
	}
	if s.pingTicks > 0 {
		if now-c.lastPing >= s.pingTicks {
			c.Send(pingFrame)
			c.lastPing = now
		}
		next = min(next, c.lastPing+s.pingTicks)
	}
	s.rearm(c, next-now)
}

// rearm schedules c's timer again unless c ended meanwhile (a linger arms its
// own timer; an ended connection needs none). The check runs under the
// wheel's lock, so it cannot undo a linger's timer armed concurrently.
func (s *Server) rearm(c *Conn, ticks int64) {
	s.wheel.AddIf(&c.node, ticks, c.live)
}

// live reports whether c has not ended.
func (c *Conn) live() bool { return c.life.state() <= stateOpen }
