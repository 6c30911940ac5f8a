// Package wsframe is the WebSocket frame codec of wsgate: it turns the bytes a
// client sends into messages and turns server messages into frames, following
// RFC 6455 section 5 (framing) and section 7.4 (close codes), on top of the
// types of github.com/gobwas/ws.
//
// Receive side: [Decoder] is a per-connection streaming decoder. It takes
// bytes in whatever chunks TCP delivers them and never blocks or asks for
// more: it keeps a partial header (at most 14 bytes, in a fixed array) and a
// partial payload between calls. It enforces the server's rules: client frames
// are masked (5.1, 5.3), RSV bits are zero (5.2) except RSV1 on the first
// frame of a data message when permessage-deflate was negotiated (RFC 7692
// section 6; Decoder.Deflate, then the message is inflated with the size
// limit on its inflated size), reserved opcodes are
// rejected (5.2), control frames are final and carry at most 125 bytes (5.5),
// fragments are in order (5.4), lengths use the minimal encoding (5.2), text
// and close reasons are UTF-8 (5.6, 8.1) and validated incrementally so that
// invalid input fails as early as possible, and a message over the size limit
// fails from its header, before its payload is buffered (10.4). Each failure
// is a sentinel error; [CloseCode] maps it to the close code to fail the
// connection with (7.4.1). A message that arrives whole in one chunk is
// unmasked in place and returned without copying; only messages that span
// chunks or fragments are reassembled, in a buffer that grows as bytes arrive
// (never on a length the peer declares) and is released when the message
// completes, so the decoder of an idle connection holds no heap memory.
//
// Send side: server frames are never masked, final and minimally encoded, so
// one encoding serves every connection: [NewFrame] encodes a broadcast once,
// [AppendFrame] and [AppendClose] encode into a caller's buffer without
// allocating.
//
// The package knows nothing about sockets, netpoll, connections, handshakes
// (extension negotiation included: the caller sets Decoder.Deflate) or
// heartbeats.
// It does no I/O and starts no goroutines. Answering pings, echoing a close and
// closing TCP are the caller's job.
//
// Concurrency: a [Decoder] (and a [UTF8]) is used by one goroutine at a time,
// like the connection it belongs to. A [Frame] is immutable after [NewFrame]
// and safe to share between any number of goroutines and connections. The
// functions have no shared state.
package wsframe
