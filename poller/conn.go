package poller

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/poller/wheel"
	"github.com/wsgate/wsgate/wsframe"
)

// errClosed is returned by write once netpoll has closed the connection.
var errClosed = errors.New("poller: connection closed")

// Conn is one client connection. Its exported methods are safe for concurrent use
// and never block.
type Conn struct {
	srv  *Server
	nc   netpoll.Connection
	fd   int    // the socket, for direct writes; -1 to always write through netpoll
	id   string // set once at upgrade, before OnHandshake and OnOpen see the Conn
	data any    // set once by Handshake.Accept, before OnOpen; never changed
	node wheel.Node[*Conn]
	life life // state and, once ended, the closure: see lifecycle.go

	lastSeen atomic.Int64 // wheel tick: accept time until open, then last inbound bytes; in linger, the linger's end
	lastPing int64        // wheel tick of the last server Ping; wheel goroutine only after open
	expiry   atomic.Int64 // wheel tick at which ExpireAt closes an open connection; 0: never
	rateFrom int64        // wheel tick starting the current inbound-rate window; read side only
	rateN    int32        // messages in that window; read side only

	// Read side: OnRequest, which netpoll never overlaps for one connection.
	// While the connection is upgrading, a late Handshake answer shares it:
	// both hold rmu then, and OnRequest takes rmu in no other state.
	rmu sync.Mutex
	hs  []byte          // handshake bytes so far; while upgrading, the bytes that followed the head
	dec wsframe.Decoder // dec.Deflate is set before the connection opens and only read after

	mu       sync.Mutex
	queue    *sendQueue // guarded by mu; frames not yet handed to netpoll; nil when empty
	flushing bool       // guarded by mu; a writer (sender or flusher goroutine) owns the socket

	// wmu serialises writes to the socket with netpoll's close callback, which
	// moves the connection to closed under it: a write checks for closed under
	// wmu, so nothing writes into buffers netpoll is freeing.
	wmu sync.Mutex
}

// ID is the client id sent in the first frame (a UUID).
func (c *Conn) ID() string { return c.id }

// Data is what Handshake.Accept attached to the connection (nil without an
// OnHandshake hook). It is set before OnOpen and never changes, so reading it
// needs no lock; the layer above keeps its mutable state (uid, session)
// behind it, with its own synchronisation.
func (c *Conn) Data() any { return c.data }

// ExpireAt makes the connection close with CloseExpired ("token expired",
// ReasonServerClose) at t, never before, within a tick or two after (no timer of its own: the
// connection's one wheel node carries it). Call it from OnOpen; a later call
// takes effect at the connection's next heartbeat or ping check.
func (c *Conn) ExpireAt(t time.Time) {
	// One tick more: the wheel's Now lags the clock by up to a tick.
	c.expiry.Store(c.srv.wheel.Now() + c.srv.wheel.Ticks(time.Until(t)) + 1)
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() string {
	if a := c.nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Send queues f for the client, compressed if the client negotiated
// permessage-deflate. It returns false, and queues nothing, if the connection
// has ended, or if f would push the queue over Config.SendQueue: then the
// client is closed as a slow consumer: its TCP connection closes at once,
// without a Close frame it could not read anyway. f is shared, never modified.
func (c *Conn) Send(f *wsframe.Frame) bool {
	if c.dec.Deflate {
		return c.enqueue(f.Deflated(), false)
	}
	return c.enqueue(f.Bytes(), false)
}

// Close ends the connection with ReasonServerClose: a Close frame with code
// and reason goes after the frames already queued, then TCP closes. OnClose
// runs at once (the connection leaves the registry before the frame is
// written). Idempotent: only the first end of a connection counts.
func (c *Conn) Close(code uint16, reason string) {
	c.closeWith(ReasonServerClose, code, reason)
}

// closeWith ends an upgraded connection with r: it records r and code, and
// queues the final Close frame. A connection that has ended already is left
// alone.
func (c *Conn) closeWith(r Reason, code uint16, text string) {
	cl := Closure{Reason: r, Code: code}
	from, won := c.life.end(stateClosing, cl)
	if !won {
		return
	}
	c.ended(from, cl)
	if from < stateOpen && !c.responding() {
		c.nc.Close() // no 101 went out or is queued: a Close frame would be garbage to the client
		return
	}
	c.enqueue(wsframe.AppendClose(nil, ws.StatusCode(code), text), true)
}

// responding reports whether the 101 answer is queued or written (open holds
// the queue, flushing set, from just before it queues the 101).
func (c *Conn) responding() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushing
}

// abort ends the connection with r, unless it has ended already, and closes
// TCP without a final frame.
func (c *Conn) abort(r Reason, code uint16) {
	cl := Closure{Reason: r, Code: code}
	if from, won := c.life.end(stateClosing, cl); won {
		c.ended(from, cl)
	}
	c.nc.Close()
}

// ended does the once-per-connection work of the end that moved c out of
// state from, on the goroutine that won it: it counts the reason, stops the
// timer, gives back a connection slot taken at the upgrade and, for an open
// connection, calls OnClose. (A connection that ends while upgrading gets its
// OnClose from open, if OnOpen took it.)
func (c *Conn) ended(from state, cl Closure) {
	s := c.srv
	s.closes[cl.Reason].Add(1)
	s.wheel.Remove(&c.node)
	if from == stateUpgrading || from == stateOpen {
		s.conns.Add(-1)
	}
	s.logEnd(c, from, cl)
	if from == stateOpen && s.cfg.OnClose != nil {
		s.cfg.OnClose(c, cl)
	}
}

// endWarnings are the ends logged as warnings, rate-limited (see
// Server.warn): they tell of clients or networks too slow for the traffic,
// or of clients flooding the gateway. Every other end of an open connection
// is a debug line.
var endWarnings = map[Reason]string{
	ReasonSlowConsumer: "client closed: send queue full (slow consumer)",
	ReasonWriteTimeout: "client closed: socket accepted nothing for -write-timeout",
	ReasonRateLimit:    "client closed: inbound message rate over the limit",
}

// logEnd logs how c ended.
func (s *Server) logEnd(c *Conn, from state, cl Closure) {
	if msg, ok := endWarnings[cl.Reason]; ok {
		s.warn.Warn(msg, "client_id", c.id, "remote", c.RemoteAddr(), "reason", cl.Reason.String(), "code", cl.Code)
		return
	}
	if from == stateOpen && s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("client disconnected", "client_id", c.id, "remote", c.RemoteAddr(), "reason", cl.Reason.String(), "code", cl.Code)
	}
}

// enqueue appends b to the queue and, if no writer is active, writes the queue
// at once on the caller's goroutine without blocking (see drain). With last, b
// is the final frame of a connection that has just ended (only the goroutine
// that ended it queues one); other frames are refused once it has ended.
func (c *Conn) enqueue(b []byte, last bool) bool {
	c.mu.Lock()
	if st := c.life.state(); !last && (st >= stateClosing || st < stateOpen && !c.flushing) {
		c.mu.Unlock()
		return false // ended, or not upgraded yet (nothing may go before the 101 and the id frame)
	}
	if !last && c.queue != nil && c.queue.bytes+len(b) > c.srv.cfg.SendQueue {
		c.dropQueueLocked()
		cl := Closure{Reason: ReasonSlowConsumer, Code: CodeAbnormal}
		from, won := c.life.end(stateClosing, cl)
		c.mu.Unlock()
		if won {
			c.ended(from, cl)
		}
		c.nc.Close()
		return false
	}
	if c.queue == nil {
		c.queue = queuePool.Get().(*sendQueue)
	}
	c.queue.frames = append(c.queue.frames, b)
	c.queue.bytes += len(b)
	c.queue.last = last
	start := !c.flushing
	c.flushing = true
	c.mu.Unlock()
	if start {
		c.drain(false)
	}
	return true
}

// dropQueueLocked forgets every queued frame. Caller holds mu.
func (c *Conn) dropQueueLocked() {
	if c.queue != nil {
		c.queue.recycle()
		c.queue = nil
	}
}

// drain writes the queue in batches (one system call per batch) until it is
// empty; the caller set flushing, and drain clears it when it stops.
//
// With mayBlock false it runs on a sender's goroutine (an API call, a fan-out
// worker, OnRequest answering a ping) and never waits for the peer: it writes
// one batch, as far as the socket takes it, and hands anything left (the rest of
// a batch a full socket refused, or frames queued meanwhile) to a flusher
// goroutine that drains with mayBlock true. So the common send costs one
// system call and no goroutine, and a slow peer never delays a sender.
func (c *Conn) drain(mayBlock bool) {
	for {
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		if q == nil {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		rest, err := c.write(q.frames, mayBlock)
		if err == nil && rest != nil {
			go c.finish(q, rest)
			return
		}
		if c.written(q, err) {
			return
		}
		if !mayBlock {
			c.mu.Lock()
			more := c.queue != nil
			c.flushing = more
			c.mu.Unlock()
			if more {
				go c.drain(true)
			}
			return
		}
	}
}

// finish is the flusher goroutine for a batch the socket took only part of:
// it writes the rest, waiting for the peer, then drains the queue.
func (c *Conn) finish(q *sendQueue, rest [][]byte) {
	_, err := c.write(rest, true)
	if !c.written(q, err) {
		c.drain(true)
	}
}

// written accounts for a batch write and recycles the batch. It ends the
// connection after a failed write, starts the closing linger after the final
// frame, and reports whether it did either: then flushing stays set and nobody
// writes to the connection again.
func (c *Conn) written(q *sendQueue, err error) (done bool) {
	last := q.last
	if err == nil {
		c.srv.stats.framesSent.Add(int64(len(q.frames)))
		c.srv.stats.bytesSent.Add(int64(q.bytes))
	}
	q.recycle()
	switch {
	case errors.Is(err, errClosed): // netpoll closed it already; closing again is not safe on all its paths
	case errors.Is(err, netpoll.ErrWriteTimeout):
		c.abort(ReasonWriteTimeout, CodeAbnormal)
	case err != nil:
		c.abort(ReasonPeerGone, CodeAbnormal)
	case last:
		c.lingerClose()
	}
	return err != nil || last
}

// lingerClose ends a connection whose final frame (a Close, or an HTTP error
// answer) is written: it shuts down our side at once, so the peer reads the
// frame and then EOF, and closes the socket when the peer closes its side or
// after closeLinger. Closing at once would make the kernel answer bytes the
// peer is still sending with a reset, which can destroy the unread Close
// frame at the peer (RFC 6455 section 7.1.1: the server closes TCP first, but
// the client must get to read the Close). OnRequest discards input meanwhile.
func (c *Conn) lingerClose() {
	c.wmu.Lock()
	ok := c.life.state() != stateClosed && c.fd >= 0 && syscall.Shutdown(c.fd, syscall.SHUT_WR) == nil
	c.wmu.Unlock()
	if !ok {
		c.nc.Close()
		return
	}
	c.lastSeen.Store(c.srv.wheel.Now() + c.srv.lingerTicks) // the linger's end: see expire
	if !c.life.advance(stateClosing, stateLinger) {
		c.nc.Close()
		return
	}
	c.srv.wheel.Add(&c.node, c.srv.lingerTicks)
}

// write writes frames in order. With mayBlock false it returns the part the
// socket did not take (nil when it took everything); with mayBlock true it
// returns once the kernel has all of it.
//
// It writes straight to the socket (sendmsg, no copy, one system call per
// batch). Only what a full socket does not take goes through netpoll's Writer,
// whose Flush waits for writability (bounded by Config.WriteTimeout). So a
// reading client's frames never sit in netpoll's output buffer, whose last node
// netpoll keeps for the connection's lifetime: idle memory does not grow with
// the size of the last push. Netpoll's buffer is empty whenever a blocking write
// returns nil, so the two paths never reorder bytes. Frames are immutable;
// netpoll keeps references to those over 4 KiB instead of copying them.
//
// The fd cannot be reused under us: netpoll closes it in a close callback that
// runs after onNetpollClose, which waits for wmu and moves to closed.
func (c *Conn) write(frames [][]byte, mayBlock bool) (rest [][]byte, err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.life.state() == stateClosed {
		return nil, errClosed
	}
	if c.fd >= 0 {
		n, err := sendFrames(c.fd, frames)
		if err != nil {
			return nil, err
		}
		for len(frames) > 0 && n >= len(frames[0]) {
			n -= len(frames[0])
			frames = frames[1:]
		}
		if len(frames) == 0 {
			return nil, nil
		}
		frames[0] = frames[0][n:]
	}
	if !mayBlock {
		return frames, nil
	}
	w := c.nc.Writer()
	for i, b := range frames {
		if i == len(frames)-1 && len(b) > netpoll.BinaryInplaceThreshold {
			// netpoll keeps the last node of its buffer for the connection's
			// life: end with a small copied node, not a reference to b.
			if _, err := w.WriteBinary(b[:len(b)-tailCopy]); err != nil {
				return nil, err
			}
			b = b[len(b)-tailCopy:]
		}
		if _, err := w.WriteBinary(b); err != nil {
			return nil, err
		}
	}
	return nil, w.Flush()
}

// tailCopy is how many bytes of a large frame the blocking path copies into
// netpoll's buffer last, so the node netpoll keeps after the write is small.
const tailCopy = 64

// onNetpollClose is the netpoll close callback: after it, nothing touches the
// connection's buffers. A connection that had not ended yet ended because its
// peer went away (EOF or reset without a Close).
func (c *Conn) onNetpollClose(netpoll.Connection) error {
	gone := Closure{Reason: ReasonPeerGone, Code: CodeAbnormal}
	c.wmu.Lock()
	from := c.life.setClosed(gone)
	c.wmu.Unlock()
	if from == stateClosed {
		return nil
	}
	c.srv.wheel.Remove(&c.node) // a linger timer
	c.mu.Lock()
	c.dropQueueLocked()
	c.mu.Unlock()
	if from < stateClosing {
		c.ended(from, gone)
	}
	c.srv.live.Add(-1)
	return nil
}

// sendQueue is a batch of frames waiting for the flusher. Pooled, so a send
// allocates nothing in steady state and an idle connection holds no queue.
type sendQueue struct {
	frames [][]byte
	bytes  int
	last   bool // the batch ends with the connection's final frame
}

var queuePool = sync.Pool{New: func() any { return &sendQueue{frames: make([][]byte, 0, 8)} }}

// recycle returns q to the pool, keeping its array unless a burst made it large.
func (q *sendQueue) recycle() {
	if cap(q.frames) > 1024 {
		return
	}
	clear(q.frames)
	q.frames, q.bytes, q.last = q.frames[:0], 0, false
	queuePool.Put(q)
}

// connCtx lets a *Conn travel as netpoll's per-connection context without an
// allocation: netpoll hands it back to OnRequest.
type connCtx Conn

func (*connCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*connCtx) Done() <-chan struct{}       { return nil }
func (*connCtx) Err() error                  { return nil }
func (*connCtx) Value(any) any               { return nil }

var _ context.Context = (*connCtx)(nil)
