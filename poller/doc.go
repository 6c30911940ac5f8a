// Package poller is wsgate's WebSocket front end: a cloudwego/netpoll event loop
// that accepts TCP connections, upgrades them without blocking (gobwas/ws over the
// bytes already buffered), decodes client frames with wsframe, answers the client
// protocol (first frame = client id, text "ping" -> "pong", Ping -> Pong), and
// writes server frames through a bounded per-connection queue.
//
// What it knows nothing about: uids, groups and the REST API. Upgraded connections
// are handed to Config.OnOpen and taken back through Config.OnClose; *Conn offers
// exactly what a registry needs (ID, RemoteAddr, Send, Close).
//
// # Concurrency model
//
// There is no goroutine per connection. netpoll runs OnRequest on a pooled
// goroutine when bytes arrive and never runs two for one connection; OnRequest
// consumes every buffered byte before returning (leaving bytes makes netpoll spin)
// and never blocks on a peer.
//
// Outbound frames are appended to the connection's queue under Conn.mu. The
// sender that finds no writer active writes the queue itself, straight to the
// socket with one non-blocking sendmsg under Conn.wmu; whatever the socket does
// not take at once goes to a short-lived flusher goroutine, which waits for the
// peer through netpoll's Writer and exits when the queue is empty. So an idle
// connection owns no goroutine and no buffer, the usual send costs one system
// call and no goroutine, Send never waits for a peer, and frames to one
// connection keep their Send order. A queue over Config.SendQueue bytes closes
// the connection as a slow consumer.
//
// Lock order: Conn.mu and Conn.wmu are never held together; neither is held while
// calling OnOpen/OnClose. The netpoll Writer is used only under Conn.wmu, and the
// close callback sets Conn.closed under Conn.wmu, so no goroutine writes into
// buffers netpoll is freeing (netpoll's Writer is not goroutine-safe, and writing
// after a peer close panics: see shared notes).
//
// Timeouts (handshake, heartbeat, server pings) are driven by one timing wheel
// (package wheel): activity stores a tick atomically, the wheel re-arms or expires.
//
// Every way a connection ends (peer close, protocol error, API close, heartbeat
// timeout, slow consumer, shutdown) runs the same Conn.release, exactly once.
package poller
