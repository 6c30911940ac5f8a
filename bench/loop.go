//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// Client states.
const (
	stNew        uint8 = iota // queued, never dialed
	stConnecting              // TCP connect in progress
	stHandshake               // upgrade request sent, waiting for 101
	stOpen                    // upgraded
	stClosed
)

// client is the whole per-connection state: no goroutine, no buffer while
// idle. partial holds the bytes of an incomplete frame (or response head)
// only until the rest arrives; out holds unwritten bytes only while the
// socket is full.
type client struct {
	fd      int32
	stream  int32 // the stream this client's messages belong to
	state   uint8
	churn   bool
	hasID   bool
	started int64  // wall-clock ns: connect start
	until   int64  // wall-clock ns: churn clients close then
	left    uint32 // inbound: messages still to send
	key     [keyLen]byte
	id      [idLen]byte
	win     seqWindow
	partial []byte
	out     []byte
}

// loop is one event-loop goroutine and the clients it owns. Everything but
// counts, handshake and latency (atomic, read by stats) is touched only by
// the loop goroutine; other goroutines reach it through do.
type loop struct {
	e        *Engine
	index    int
	epfd     int
	clients  []client
	pending  []int32 // slots waiting to dial, FIFO from pendHead
	pendHead int
	again    []int32 // slots whose socket was not drained in one event

	rate        float64 // dials per second (0: unpaced)
	tokens      float64
	inflight    int
	inflightMax int
	churnOn     bool
	lifetime    time.Duration
	hbCursor    int
	hbDue       float64
	quit        bool

	// inbound sending: the slots with messages left, visited round-robin
	sending    []int32
	sendCursor int
	sendRate   float64 // messages per second (0: as fast as sockets take them)
	sendTokens float64
	sendBusy   bool // the last round sent something: do not wait for events
	payload    []byte

	remotes []syscall.Sockaddr // the targets, as e.tgts; per loop: Connect writes into them
	local   []syscall.Sockaddr // source addresses, likewise per loop
	rbuf    []byte
	wbuf    []byte
	rng     *rand.Rand

	cmds   chan func()
	exited chan struct{}

	counts    atomicCounts
	handshake recorder
	latency   recorder
}

// Loop tuning. readBufSize is the one read buffer a loop shares across its
// clients; maxReadsPerEvent bounds the work for one socket per wakeup;
// maxBacklog bounds the bytes queued for a socket that is full.
const (
	readBufSize      = 64 << 10
	maxReadsPerEvent = 8
	maxBacklog       = 64 << 10
	maxResponseHead  = 8 << 10
	tickMS           = 10
	sweepEvery       = 100 * time.Millisecond
)

var (
	pingText = []byte("ping")
	pongText = []byte("pong")
	headEnd  = []byte("\r\n\r\n")
)

func newLoop(e *Engine, index, capacity, inflightMax int) (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("bench: epoll_create1: %w", err)
	}
	l := &loop{
		e: e, index: index, epfd: epfd,
		clients:     make([]client, 0, capacity),
		inflightMax: inflightMax,
		remotes:     sockaddrs(e.tgts),
		rbuf:        make([]byte, readBufSize),
		rng:         newRand(),
		cmds:        make(chan func(), 4),
		exited:      make(chan struct{}),
	}
	for _, a := range e.local {
		l.local = append(l.local, sockaddr(a, 0))
	}
	return l, nil
}

// do runs fn on the loop goroutine and waits for it; it fails with
// errEngineClosed once the loop has exited.
func (l *loop) do(fn func()) error {
	done := make(chan struct{})
	select {
	case l.cmds <- func() { fn(); close(done) }:
	case <-l.exited:
		return errEngineClosed
	}
	select {
	case <-done:
		return nil
	case <-l.exited:
		return errEngineClosed
	}
}

// run is the loop goroutine: wait for socket events at most one tick, then
// run commands, dial what is due, send due heartbeats and, every sweepEvery,
// time out handshakes and end churn lifetimes.
func (l *loop) run() {
	defer close(l.exited)
	defer syscall.Close(l.epfd)
	events := make([]syscall.EpollEvent, 256)
	last := time.Now().UnixNano()
	lastSweep := last
	for !l.quit {
		wait := tickMS
		if len(l.again) > 0 || (l.sendBusy && l.sendRate == 0) {
			wait = 0
		}
		n, err := syscall.EpollWait(l.epfd, events, wait)
		if err != nil && err != syscall.EINTR {
			fmt.Fprintf(os.Stderr, "wsbench: epoll_wait: %v\n", err)
			l.closeAll()
			return
		}
		now := time.Now().UnixNano()
		for _, ev := range events[:max(n, 0)] {
			l.event(ev.Fd, ev.Events, now)
		}
		if len(l.again) > 0 {
			again := l.again
			l.again = nil
			for _, slot := range again {
				if l.clients[slot].state == stHandshake || l.clients[slot].state == stOpen {
					l.read(slot, now)
				}
			}
		}
		l.commands()
		l.dialPending(now, now-last)
		l.heartbeat(now - last)
		l.sendDue(now - last)
		last = now
		if time.Duration(now-lastSweep) >= sweepEvery {
			l.sweep(now)
			lastSweep = now
		}
	}
}

// commands runs the queued commands without blocking.
func (l *loop) commands() {
	for {
		select {
		case fn := <-l.cmds:
			fn()
		default:
			return
		}
	}
}

// dialPending starts queued clients as the rate (refilled for the dt ns
// since the last call, with a burst of at most 20 ms) and the in-flight
// bound allow.
func (l *loop) dialPending(now, dt int64) {
	if l.rate > 0 {
		l.tokens = min(l.tokens+l.rate*float64(dt)/1e9, max(1, l.rate/50))
	}
	for l.pendHead < len(l.pending) && l.inflight < l.inflightMax {
		if l.rate > 0 {
			if l.tokens < 1 {
				break
			}
			l.tokens--
		}
		slot := l.pending[l.pendHead]
		l.pendHead++
		l.dial(slot, now)
	}
	if l.pendHead == len(l.pending) {
		l.pending, l.pendHead = l.pending[:0], 0
	}
}

// globalIndex returns the fleet-wide index of a slot.
func (l *loop) globalIndex(slot int32) int {
	return l.e.cfg.IndexBase + int(slot)*len(l.e.loops) + l.index
}

// dial opens a non-blocking socket, binds it to its source address when
// there are several, and starts connecting. Completion arrives as EPOLLOUT.
func (l *loop) dial(slot int32, now int64) {
	c := &l.clients[slot]
	*c = client{fd: -1, stream: c.stream, churn: c.churn, state: stConnecting, started: now}
	l.inflight++
	l.counts.inc(cAttempts)
	family := syscall.AF_INET
	remote := l.remotes[l.globalIndex(slot)%len(l.remotes)]
	if _, v6 := remote.(*syscall.SockaddrInet6); v6 {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		l.failErrno(slot, err)
		return
	}
	c.fd = int32(fd)
	if len(l.local) > 0 {
		// IP_BIND_ADDRESS_NO_PORT lets connect pick the port for the full
		// 4-tuple, so one source address is not limited to one port range.
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
		if err := syscall.Bind(fd, l.local[l.globalIndex(slot)%len(l.local)]); err != nil {
			l.failErrno(slot, err)
			return
		}
	}
	if err := syscall.Connect(fd, remote); err != nil && err != syscall.EINPROGRESS {
		l.failErrno(slot, err)
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET, Fd: slot}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.failErrno(slot, err)
		return
	}
	var random [16]byte
	for i := 0; i < 16; i += 8 {
		r := l.rng.Uint64()
		for b := range 8 {
			random[i+b] = byte(r >> (8 * b))
		}
	}
	c.key = newKey(random)
}

// sockaddrs converts targets to the socket addresses Connect takes.
func sockaddrs(tgts []target) []syscall.Sockaddr {
	out := make([]syscall.Sockaddr, len(tgts))
	for i, t := range tgts {
		out[i] = sockaddr(t.addr.Addr(), t.addr.Port())
	}
	return out
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT from linux/in.h (not in
// package syscall).
const ipBindAddressNoPort = 24

// epollET is EPOLLET as the uint32 EpollEvent.Events wants it.
const epollET = 1 << 31

// failErrno closes a slot after a socket call failed with err.
func (l *loop) failErrno(slot int32, err error) {
	fail, closed := errnoCounters(err)
	l.closeClient(slot, fail, closed)
}

// event handles one epoll event for a slot.
func (l *loop) event(slot int32, ev uint32, now int64) {
	c := &l.clients[slot]
	if c.state == stConnecting {
		if ev&(syscall.EPOLLERR|syscall.EPOLLHUP) != 0 {
			errno, err := syscall.GetsockoptInt(int(c.fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
			if err == nil {
				err = syscall.Errno(errno)
			}
			l.failErrno(slot, err)
			return
		}
		if ev&syscall.EPOLLOUT == 0 {
			return
		}
		c.state = stHandshake
		l.wbuf = appendUpgradeRequest(l.wbuf[:0], &l.e.tgts[l.globalIndex(slot)%len(l.e.tgts)], &c.key)
		l.write(slot, l.wbuf)
		return
	}
	if c.state != stHandshake && c.state != stOpen {
		return
	}
	if ev&syscall.EPOLLOUT != 0 && len(c.out) > 0 {
		out := c.out
		c.out = nil
		l.write(slot, out)
	}
	if ev&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 && c.state != stClosed {
		l.read(slot, now)
	}
}

// read drains the socket into the shared buffer and consumes what arrived.
// Edge-triggered: a short read means the socket is drained; a socket still
// full after maxReadsPerEvent reads goes on the again list.
func (l *loop) read(slot int32, now int64) {
	c := &l.clients[slot]
	for range maxReadsPerEvent {
		n, err := syscall.Read(int(c.fd), l.rbuf)
		switch {
		case err == syscall.EAGAIN:
			return
		case err == syscall.EINTR:
			continue
		case err != nil:
			l.failErrno(slot, err)
			return
		case n == 0:
			l.closeClient(slot, cFailEOF, cCloseEOF)
			return
		}
		l.consume(slot, l.rbuf[:n], now)
		if c.state == stClosed || n < len(l.rbuf) {
			return
		}
	}
	l.again = append(l.again, slot)
}

// consume parses the upgrade response and then whole frames from data;
// an incomplete tail is copied into c.partial.
func (l *loop) consume(slot int32, data []byte, now int64) {
	c := &l.clients[slot]
	if len(c.partial) > 0 {
		data = append(c.partial, data...)
		c.partial = nil
	}
	if c.state == stHandshake {
		end := bytes.Index(data, headEnd)
		if end < 0 {
			if len(data) > maxResponseHead {
				l.closeClient(slot, cFailStatus, cCloseProtocol)
				return
			}
			c.partial = append([]byte(nil), data...)
			return
		}
		switch checkUpgradeResponse(data[:end+len(headEnd)], &c.key) {
		case errBadStatus:
			l.closeClient(slot, cFailStatus, cCloseProtocol)
			return
		case errBadAccept:
			l.closeClient(slot, cFailAccept, cCloseProtocol)
			return
		}
		c.state = stOpen
		l.inflight--
		l.counts.inc(cOpened)
		l.handshake.record(time.Duration(now - c.started))
		if c.churn {
			l.counts.inc(cChurnOpened)
			c.until = now + int64(l.lifetime)/2 + int64(l.rng.Uint64()%uint64(max(l.lifetime, 1)))
		}
		data = data[end+len(headEnd):]
	}
	for len(data) > 0 {
		h, ok, err := parseHeader(data)
		if err != nil || h.masked || h.length > maxFrameLen {
			l.closeClient(slot, cFailProtocol, cCloseProtocol)
			return
		}
		if !ok || int64(len(data)-h.size) < h.length {
			c.partial = append([]byte(nil), data...)
			return
		}
		end := h.size + int(h.length)
		l.frame(slot, h, data[h.size:end], now)
		if c.state != stOpen {
			return
		}
		data = data[end:]
	}
}

// frame handles one complete server frame (RFC 6455 section 5.5 for the
// control frames: a Ping gets a Pong with its payload, a Close gets a Close
// with its status code and the connection is closed).
func (l *loop) frame(slot int32, h frameHeader, payload []byte, now int64) {
	switch {
	case h.opcode == opText && h.fin:
		l.text(slot, payload, now)
	case h.opcode == opPing:
		l.counts.inc(cServerPings)
		l.send(slot, opPong, payload)
	case h.opcode == opClose:
		l.send(slot, opClose, payload[:min(2, len(payload))])
		l.closeClient(slot, cFailProtocol, cCloseFrame)
	default:
		l.counts.inc(cOther)
	}
}

// text handles a text message: the client id, a heartbeat answer or a
// bench message, whose latency and sequence number are recorded.
func (l *loop) text(slot int32, payload []byte, now int64) {
	c := &l.clients[slot]
	if !c.hasID && isClientID(payload) {
		copy(c.id[:], payload)
		c.hasID = true
		l.counts.inc(cWithID)
		if c.churn {
			l.e.requestJoin(joinRequest{id: c.id, stream: c.stream, index: l.globalIndex(slot)})
		}
		return
	}
	if bytes.Equal(payload, pongText) {
		l.counts.inc(cPongs)
		return
	}
	m, ok := parseMessage(payload)
	if !ok {
		l.counts.inc(cOther)
		return
	}
	l.counts.inc(cDelivered)
	l.latency.record(time.Duration(now - m.sentNS))
	if m.stream != c.stream {
		l.counts.inc(cMisrouted)
		return
	}
	if c.churn && c.win.got == 0 {
		c.win.next = m.seq // churn clients check from their first message on
	}
	switch c.win.add(m.seq) {
	case seqNew:
		if !c.churn {
			l.counts.inc(cUnique)
		}
	case seqDup:
		l.counts.inc(cDups)
	case seqOld:
		l.counts.inc(cUnverified)
	}
}

// send writes one masked client frame.
func (l *loop) send(slot int32, op byte, payload []byte) {
	r := l.rng.Uint64()
	l.wbuf = appendClientFrame(l.wbuf[:0], op, payload, [4]byte{byte(r), byte(r >> 8), byte(r >> 16), byte(r >> 24)})
	l.write(slot, l.wbuf)
}

// write writes b (which the caller may reuse afterwards) or queues what the
// socket does not take; the queue is flushed on EPOLLOUT. Over maxBacklog
// the client is closed: it is not reading.
func (l *loop) write(slot int32, b []byte) {
	c := &l.clients[slot]
	if len(c.out) > 0 {
		if len(c.out)+len(b) > maxBacklog {
			l.closeClient(slot, cFailOther, cCloseWrite)
			return
		}
		c.out = append(c.out, b...)
		return
	}
	n, err := syscall.Write(int(c.fd), b)
	for tries := 0; err == syscall.EINTR && tries < 3; tries++ {
		n, err = syscall.Write(int(c.fd), b)
	}
	switch {
	case err == syscall.EAGAIN:
		n = 0
	case err != nil:
		l.failErrno(slot, err)
		return
	}
	if n < len(b) {
		c.out = append([]byte(nil), b[n:]...)
	}
}

// heartbeat sends "ping" to the share of clients due in the last dt ns, so
// each open client sends one every Heartbeat without a timer of its own.
func (l *loop) heartbeat(dt int64) {
	hb := l.e.cfg.Heartbeat
	if hb <= 0 || len(l.clients) == 0 {
		return
	}
	l.hbDue += float64(len(l.clients)) * float64(dt) / float64(hb)
	k := min(int(l.hbDue), len(l.clients))
	l.hbDue -= float64(k)
	for range k {
		slot := int32(l.hbCursor)
		l.hbCursor = (l.hbCursor + 1) % len(l.clients)
		if l.clients[slot].state == stOpen {
			l.counts.inc(cPingsSent)
			l.send(slot, opText, pingText)
		}
	}
}

// Inbound sending limits: at most maxSendsPerRound messages per loop round
// when unpaced, so reads and commands keep their turn, and at most
// maxFramesPerWrite frames in one write to one socket.
const (
	maxSendsPerRound  = 4096
	maxFramesPerWrite = 16
)

// startSending has every open stable client send m text messages of size
// bytes, rate per second in total over this loop (0: as fast as sockets
// take them); it returns how many messages that is. It replaces a sending
// in progress.
func (l *loop) startSending(m, size int, rate float64) (planned uint64) {
	l.sending, l.sendCursor, l.sendRate, l.sendTokens = l.sending[:0], 0, rate, 0
	l.payload = bytes.Repeat([]byte("x"), size)
	for i := range l.clients {
		c := &l.clients[i]
		c.left = 0
		if c.state == stOpen && !c.churn {
			c.left = uint32(m)
			l.sending = append(l.sending, int32(i))
			planned += uint64(m)
		}
	}
	return planned
}

// sendDue sends the messages due in the last dt ns: several frames per
// write, skipping clients whose socket is full (the server is not reading
// them; when all are, the loop waits for events instead of spinning), and
// drops clients that closed or are done from the round.
func (l *loop) sendDue(dt int64) {
	if len(l.sending) == 0 {
		return
	}
	budget := maxSendsPerRound
	if l.sendRate > 0 {
		// Up to 100 ms of messages may be due at once, so a loop that was
		// busy for a few ticks catches up instead of losing the rate.
		l.sendTokens = min(l.sendTokens+l.sendRate*float64(dt)/1e9, max(1, l.sendRate/10))
		budget = int(l.sendTokens)
	}
	sent := 0
	for visited := 0; sent < budget && len(l.sending) > 0 && visited < len(l.sending); {
		i := l.sendCursor % len(l.sending)
		slot := l.sending[i]
		c := &l.clients[slot]
		if c.state != stOpen || c.left == 0 {
			last := len(l.sending) - 1
			l.sending[i] = l.sending[last]
			l.sending = l.sending[:last]
			continue
		}
		l.sendCursor = i + 1
		visited++
		if len(c.out) > 0 {
			continue
		}
		k := min(int(c.left), budget-sent, maxFramesPerWrite)
		l.wbuf = l.wbuf[:0]
		for range k {
			r := l.rng.Uint64()
			l.wbuf = appendClientFrame(l.wbuf, opText, l.payload, [4]byte{byte(r), byte(r >> 8), byte(r >> 16), byte(r >> 24)})
		}
		c.left -= uint32(k)
		sent += k
		l.counts.add(cMsgsSent, uint64(k))
		l.write(slot, l.wbuf)
	}
	if l.sendRate > 0 {
		l.sendTokens -= float64(sent)
	}
	l.sendBusy = sent > 0
}

// sweep times out handshakes and ends churn lifetimes.
func (l *loop) sweep(now int64) {
	timeout := int64(l.e.cfg.HandshakeTimeout)
	for i := range l.clients {
		c := &l.clients[i]
		slot := int32(i)
		switch {
		case (c.state == stConnecting || c.state == stHandshake) && now-c.started > timeout:
			l.closeClient(slot, cFailTimeout, cCloseLocal)
		case c.churn && c.state == stOpen && now >= c.until:
			if l.rng.Uint64()%2 == 0 { // half the churn closes are abrupt
				l.send(slot, opClose, []byte{0x03, 0xe8})
			}
			l.closeClient(slot, cFailAborted, cCloseLocal)
		}
	}
}

// closeClient closes a slot's socket and counts why: fail if it never
// opened, closed if it was open. A churn slot is queued to dial again while
// churn is on.
func (l *loop) closeClient(slot int32, fail, closed counter) {
	c := &l.clients[slot]
	switch c.state {
	case stConnecting, stHandshake:
		l.inflight--
		l.counts.inc(fail)
	case stOpen:
		l.counts.inc(cClosed)
		l.counts.inc(closed)
	default:
		return
	}
	if c.fd >= 0 {
		syscall.Close(int(c.fd))
	}
	c.fd, c.state, c.partial, c.out = -1, stClosed, nil, nil
	if c.churn && l.churnOn {
		l.pending = append(l.pending, slot)
	}
}

// closeAll stops churn and dialing and closes every client.
func (l *loop) closeAll() {
	l.churnOn = false
	l.pending, l.pendHead = l.pending[:0], 0
	for i := range l.clients {
		slot := int32(i)
		if l.clients[i].state == stOpen {
			l.send(slot, opClose, []byte{0x03, 0xe8})
		}
		l.closeClient(slot, cFailAborted, cCloseLocal)
	}
}

// isClientID reports whether b is a client id: a UUID in its 36-byte form.
func isClientID(b []byte) bool {
	_, err := uuid.ParseBytes(b)
	return len(b) == idLen && err == nil
}
