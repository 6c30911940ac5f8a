package poller

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/poller/wheel"
	"github.com/wsgate/wsgate/wsframe"
)

// errClosed is returned by write once netpoll has closed the connection.
var errClosed = errors.New("poller: connection closed")

const (
	stateHandshake uint32 = iota // reading the opening handshake
	stateOpen                    // upgraded: reading frames
)

// Conn is one client connection. Its exported methods are safe for concurrent use
// and never block.
type Conn struct {
	srv  *Server
	nc   netpoll.Connection
	fd   int    // the socket, for direct writes; -1 to always write through netpoll
	id   string // set once at upgrade, before the Conn is published
	node wheel.Node[*Conn]

	state    atomic.Uint32
	lastSeen atomic.Int64 // wheel tick: accept time during the handshake, then last inbound bytes
	lastPing int64        // wheel tick of the last server Ping; wheel goroutine only after upgrade
	rateFrom int64        // wheel tick starting the current inbound-rate window; OnRequest only
	rateN    int32        // messages in that window; OnRequest only
	released atomic.Bool  // release ran

	// Read side: touched only by OnRequest, which netpoll never overlaps for one connection.
	hs  []byte          // handshake bytes so far; nil when none are pending
	dec wsframe.Decoder // dec.Deflate is set before the Conn is published and only read after

	mu       sync.Mutex
	queue    *sendQueue // guarded by mu; frames not yet handed to netpoll; nil when empty
	flushing bool       // guarded by mu; a flusher goroutine owns the Writer
	closing  bool       // guarded by mu; nothing more is queued; TCP closes once the queue is written

	wmu    sync.Mutex
	closed bool // guarded by wmu; netpoll closed the connection: never touch its Writer again
}

// ID is the client id sent in the first frame (a UUID).
func (c *Conn) ID() string { return c.id }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() string {
	if a := c.nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Send queues f for the client, compressed if the client negotiated
// permessage-deflate. It returns false, and queues nothing, if the connection is
// closing, or if f would push the queue over Config.SendQueue: then the client
// is closed as a slow consumer. f is shared, never modified.
func (c *Conn) Send(f *wsframe.Frame) bool {
	if c.dec.Deflate {
		return c.enqueue(f.Deflated(), false)
	}
	return c.enqueue(f.Bytes(), false)
}

// Close sends a Close frame with code and reason after the frames already queued,
// then closes TCP. The connection leaves the registry at once (OnClose). Idempotent.
func (c *Conn) Close(code uint16, reason string) {
	if c.enqueue(wsframe.AppendClose(nil, ws.StatusCode(code), reason), true) {
		c.release()
	}
}

// enqueue appends b to the queue and starts a flusher if none runs. With last,
// b is the final frame: the connection closes once it is written.
func (c *Conn) enqueue(b []byte, last bool) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if !last && c.queue != nil && c.queue.bytes+len(b) > c.srv.cfg.SendQueue {
		c.dropQueueLocked()
		c.closing = true
		c.mu.Unlock()
		c.srv.stats.slowConsumerCloses.Add(1)
		c.srv.log.Debug("slow consumer closed", "client_id", c.id)
		c.release()
		c.nc.Close()
		return false
	}
	if c.queue == nil {
		c.queue = queuePool.Get().(*sendQueue)
	}
	c.queue.frames = append(c.queue.frames, b)
	c.queue.bytes += len(b)
	c.closing = last
	start := !c.flushing
	c.flushing = true
	c.mu.Unlock()
	if start {
		go c.flush()
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

// flush is the connection's flusher goroutine: it writes queued frames in
// batches (one syscall per batch) until the queue is empty, then exits.
func (c *Conn) flush() {
	for {
		c.mu.Lock()
		q, last := c.queue, c.closing
		c.queue = nil
		if q == nil {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		err := c.write(q.frames)
		if err == nil {
			c.srv.stats.framesSent.Add(int64(len(q.frames)))
			c.srv.stats.bytesSent.Add(int64(q.bytes))
		}
		q.recycle()
		if err != nil || last {
			// flushing stays true: nobody writes to this connection again.
			c.nc.Close()
			return
		}
	}
}

// write writes q, in order, and returns once the kernel has all of it.
//
// It first writes straight to the socket (sendmsg, no copy, one system call per
// batch). Only what a full socket does not take goes through netpoll's Writer,
// whose Flush waits for writability (bounded by Config.WriteTimeout). So a
// reading client's frames never sit in netpoll's output buffer, whose last node
// netpoll keeps for the connection's lifetime: idle memory does not grow with
// the size of the last push. Netpoll's buffer is empty whenever write returns
// nil, so the two paths never reorder bytes. Frames are immutable; netpoll keeps
// references to those over 4 KiB instead of copying them.
//
// The fd cannot be reused under us: netpoll closes it in a close callback that
// runs after onNetpollClose, which waits for wmu and sets closed.
func (c *Conn) write(q [][]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return errClosed
	}
	if c.fd >= 0 {
		n, err := sendFrames(c.fd, q)
		if err != nil {
			return err
		}
		for len(q) > 0 && n >= len(q[0]) {
			n -= len(q[0])
			q = q[1:]
		}
		if len(q) == 0 {
			return nil
		}
		q[0] = q[0][n:]
	}
	w := c.nc.Writer()
	for _, b := range q {
		if _, err := w.WriteBinary(b); err != nil {
			return err
		}
	}
	return w.Flush()
}

// onNetpollClose is the netpoll close callback: after it, nothing touches the
// connection's buffers.
func (c *Conn) onNetpollClose(netpoll.Connection) error {
	c.wmu.Lock()
	c.closed = true
	c.wmu.Unlock()
	c.mu.Lock()
	c.closing = true
	c.dropQueueLocked()
	c.mu.Unlock()
	c.release()
	c.srv.live.Add(-1)
	return nil
}

// release is the one cleanup path, run exactly once however the connection ends:
// it stops its timers and hands an upgraded connection back to OnClose.
func (c *Conn) release() {
	if !c.released.CompareAndSwap(false, true) {
		return
	}
	c.srv.wheel.Remove(&c.node)
	if c.state.Load() == stateOpen {
		c.srv.conns.Add(-1)
		if c.srv.cfg.OnClose != nil {
			c.srv.cfg.OnClose(c)
		}
	}
}

// sendQueue is a batch of frames waiting for the flusher. Pooled, so a send
// allocates nothing in steady state and an idle connection holds no queue.
type sendQueue struct {
	frames [][]byte
	bytes  int
}

var queuePool = sync.Pool{New: func() any { return &sendQueue{frames: make([][]byte, 0, 8)} }}

// recycle returns q to the pool, keeping its array unless a burst made it large.
func (q *sendQueue) recycle() {
	if cap(q.frames) > 1024 {
		return
	}
	clear(q.frames)
	q.frames, q.bytes = q.frames[:0], 0
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
