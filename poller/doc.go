// Package poller is wsgate's WebSocket front end: a cloudwego/netpoll event loop
// that accepts TCP connections, upgrades them without blocking (gobwas/ws over the
// bytes already buffered), decodes client frames with wsframe, answers the client
// protocol (first frame = client id, text "ping" -> "pong", Ping -> Pong), and
// writes server frames through a bounded per-connection queue.
//
// What it knows nothing about: uids, groups, the hub and the REST API. The layer
// above plugs in through Config's hooks: OnHandshake (accept or refuse an
// upgrade, now or later, attaching data to the connection), OnOpen (register it),
// OnMessage (what the client sends) and OnClose (with how it ended); *Conn
// offers what a registry needs (ID, RemoteAddr, Send, Close) and Data, the slot
// for the layer above. Process-wide netpoll and uuid settings are set once by
// Setup, not per Server. It builds on Linux and macOS: on Linux a batch of
// frames is one sendmsg, elsewhere one write per frame.
//
// # Lifecycle
//
// A connection's life is one atomic word holding its state and, once it has
// ended, its Closure (Reason and code). Every transition is a compare-and-swap;
// the one that ends the connection records the reason, so it is recorded
// exactly once, and the goroutine that wins it does the one-time work: count the
// reason, stop the timer, give back the MaxConns slot and call OnClose.
//
//	            request head valid, upgrade checks passed (slot reserved)
//	handshake ─────────────────────────────────────────────────▶ upgrading
//	    │                                                            │ Handshake.Accept:
//	    │ bad request, timeout, full,                                │ OnOpen, then the 101 and
//	    │ shutdown, peer gone                 Refuse, timeout,       │ the id frame are sent
//	    │                                     shutdown, peer gone    ▼
//	    ├──────────────────────────────────────────────────────── open
//	    │                                                            │ peer Close, protocol error,
//	    ▼                                                            │ rate limit, heartbeat,
//	 closing ◀───────────────────────────────────────────────────────┘ Conn.Close, shutdown,
//	    │  final frame (Close or HTTP error) queued,                    slow consumer, write
//	    │  or TCP closing at once                                       timeout, peer gone
//	    ▼
//	 linger ── final frame written, our side shut down; the peer's FIN or closeLinger
//	    │
//	    ▼
//	 closed ── netpoll closed the socket (reachable from every state: a peer that
//	           vanishes ends the connection here with ReasonPeerGone)
//
// OnClose runs for every connection OnOpen took, exactly once: from the end of
// an open connection, or, when the end came while OnOpen was running, from the
// code that ran OnOpen, once it sees the connection did not open.
//
// # Concurrency model
//
// There is no goroutine per connection. netpoll runs OnRequest on a pooled
// goroutine when bytes arrive and never runs two for one connection; OnRequest
// consumes every buffered byte before returning (leaving bytes makes netpoll spin)
// and never blocks on a peer. While OnHandshake has not answered, the bytes
// are kept (bounded) under Conn.rmu, which a late answer takes to decode them.
//
// Outbound frames are appended to the connection's queue under Conn.mu. The
// sender that finds no writer active writes the queue itself, straight to the
// socket with one non-blocking sendmsg under Conn.wmu; whatever the socket does
// not take at once goes to a short-lived flusher goroutine, which waits for the
// peer through netpoll's Writer and exits when the queue is empty. So an idle
// connection owns no goroutine and no buffer, the usual send costs one system
// call and no goroutine, Send never waits for a peer, and frames to one
// connection keep their Send order. A queue over Config.SendQueue bytes ends
// the connection as a slow consumer.
//
// Lock order: rmu before mu; mu and wmu are never held together. No lock is
// held while calling a hook, except rmu while an accepted upgrade opens (OnOpen,
// and OnMessage or OnClose for what happened before it opened): a slow OnOpen
// delays only its own connection's reads. The netpoll Writer is used only under wmu, and the
// close callback moves the connection to closed under wmu, so no goroutine
// writes into buffers netpoll is freeing (netpoll's Writer is not
// goroutine-safe, and writing after a peer close panics: see shared notes).
//
// Timeouts (handshake, heartbeat, server pings, linger) are driven by one timing
// wheel (package wheel): activity stores a tick atomically, the wheel re-arms or
// expires.
package poller
