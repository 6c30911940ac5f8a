package poller

import "sync/atomic"

// A connection's life is one word, changed only by compare-and-swap: its state,
// and from the moment it leaves handshake, upgrading or open, the reason and the
// code of its end. So the reason is recorded exactly once, by the transition
// that ends the connection, and whoever wins that transition does the one-time
// work (counters, OnClose). The diagram is in the package documentation.
type state uint8

const (
	stateHandshake state = iota // reading the opening handshake
	stateUpgrading              // handshake valid, waiting for OnHandshake's answer; the 101 is held
	stateOpen                   // upgraded and registered: reading frames
	stateClosing                // ended: the final frame (Close or HTTP error) is queued, or TCP is closing
	stateLinger                 // final frame written and our side shut down: waiting for the peer's FIN
	stateClosed                 // netpoll closed the socket: nothing touches its buffers again
)

// Reason says why a connection ended. It is recorded once, at the transition
// out of the open (or handshake) states, with the WebSocket close code sent or
// received (for refused handshakes, the HTTP status answered).
type Reason uint8

// Close reasons.
const (
	ReasonNone             Reason = iota // not ended
	ReasonPeerClose                      // the client sent a Close; Code is its code
	ReasonPeerGone                       // TCP ended (EOF, reset) without a Close; Code 1006
	ReasonProtocolError                  // the client broke RFC 6455 (1002, 1007, 1009)
	ReasonRateLimit                      // more than MaxInboundRate messages a second (1008)
	ReasonHeartbeatTimeout               // silent for HeartbeatTimeout (4000)
	ReasonSlowConsumer                   // send queue over SendQueue; no Close frame, Code 1006
	ReasonWriteTimeout                   // a write waited WriteTimeout for the peer; Code 1006
	ReasonServerClose                    // Conn.Close by the layer above (the API); Code as given
	ReasonShutdown                       // Server.Shutdown (1001), or an upgrade refused while stopping (503)
	ReasonHandshakeFailure               // not a valid WebSocket handshake; Code is the HTTP status
	ReasonHandshakeTimeout               // no complete, answered handshake within HandshakeTimeout
	ReasonServerFull                     // MaxConns reached; Code 503
	ReasonRefused                        // OnHandshake refused; Code is its HTTP status
	ReasonInternal                       // OnOpen failed (1011)
	reasonCount
)

var reasonNames = [reasonCount]string{
	ReasonNone:             "none",
	ReasonPeerClose:        "peer_close",
	ReasonPeerGone:         "peer_gone",
	ReasonProtocolError:    "protocol_error",
	ReasonRateLimit:        "rate_limit",
	ReasonHeartbeatTimeout: "heartbeat_timeout",
	ReasonSlowConsumer:     "slow_consumer",
	ReasonWriteTimeout:     "write_timeout",
	ReasonServerClose:      "server_close",
	ReasonShutdown:         "shutdown",
	ReasonHandshakeFailure: "handshake_failure",
	ReasonHandshakeTimeout: "handshake_timeout",
	ReasonServerFull:       "server_full",
	ReasonRefused:          "refused",
	ReasonInternal:         "internal",
}

// String is the reason's stable snake_case name, for logs, metrics and events.
func (r Reason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every close reason (ReasonNone excluded), in a stable order.
func Reasons() []Reason {
	rs := make([]Reason, 0, reasonCount-1)
	for r := ReasonNone + 1; r < reasonCount; r++ {
		rs = append(rs, r)
	}
	return rs
}

// CodeAbnormal is the code recorded when no Close frame was exchanged
// (RFC 6455 section 7.1.5: 1006 is never sent on the wire).
const CodeAbnormal uint16 = 1006

// Closure is how a connection ended.
type Closure struct {
	Reason Reason
	Code   uint16 // WebSocket close code sent or received, CodeAbnormal when none; HTTP status for handshake reasons
}

// life packs state (bits 0-7), Reason (8-15) and code (16-31).
type life struct{ w atomic.Uint64 }

func pack(s state, cl Closure) uint64 {
	return uint64(s) | uint64(cl.Reason)<<8 | uint64(cl.Code)<<16
}

func unpack(w uint64) (state, Closure) {
	return state(w), Closure{Reason: Reason(w >> 8), Code: uint16(w >> 16)}
}

func (l *life) state() state { return state(l.w.Load()) }

// closure returns how the connection ended (zero while it has not).
func (l *life) closure() Closure {
	_, cl := unpack(l.w.Load())
	return cl
}

// advance moves from exactly from to to, keeping the closure. It reports
// whether it did.
func (l *life) advance(from, to state) bool {
	for {
		w := l.w.Load()
		s, cl := unpack(w)
		if s != from {
			return false
		}
		if l.w.CompareAndSwap(w, pack(to, cl)) {
			return true
		}
	}
}

// end moves a connection that has not ended yet (handshake, upgrading or
// open) to to (closing or closed), recording cl. It returns the state it left
// and whether this call ended it: only the winner acts on the end.
func (l *life) end(to state, cl Closure) (from state, won bool) {
	for {
		w := l.w.Load()
		s, _ := unpack(w)
		if s >= stateClosing {
			return s, false
		}
		if l.w.CompareAndSwap(w, pack(to, cl)) {
			return s, true
		}
	}
}

// setClosed moves to closed from any state, keeping a recorded closure or
// recording cl if the connection had not ended. It returns the state it left.
func (l *life) setClosed(cl Closure) state {
	for {
		w := l.w.Load()
		s, old := unpack(w)
		if s >= stateClosing {
			cl = old
		}
		if l.w.CompareAndSwap(w, pack(stateClosed, cl)) {
			return s
		}
	}
}
