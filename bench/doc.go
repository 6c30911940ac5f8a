// Package bench is wsgate's load-test harness: it simulates many WebSocket
// clients and measures a server through the network only (it imports no
// gateway package; for -grpc, only the generated client stubs of the gRPC
// wire contract), so it runs against any WebSocket server; the REST API
// scenarios need wsgate's API.
//
// It runs on Linux only: its client engine is raw epoll, so every file but
// this one is built for Linux (the gateway itself also builds on macOS).
//
// Scenarios (see Usage): connect (upgrade rate, handshake latency, failures
// by cause), idle (server memory per idle connection, with -sweep a linear
// fit whose slope is the number to quote), broadcast (delivery latency,
// LOST and DUPLICATED deliveries; -find-max), groups, uids and api (API
// throughput and end-to-end latency to random targets), churn (a connect
// and disconnect storm; the server's counts must return), inbound (clients
// send texts that wsgate posts as webhook message events; events per
// second delivered to the receiver, drops). Each prints a table; -json
// writes a Result and -report a self-contained HTML page with SVG charts
// (WriteReport). Connects also sample the server's goroutines and clients
// in handshake (GET /stats) every 100 ms.
//
// Webhooks: the receiver scenario is a backend for wsgate's webhooks
// (fasthttp, one worker goroutine per request): 204 to event batches, 204
// to a connect event after -connect-delay, events counted by type at GET
// /counts. It checks that the signature headers are present, not the HMAC,
// and reads each body with a small scanner that finds the events' "type"
// without decoding the rest.
//
// Client engine: no goroutine and no buffer per simulated client. An Engine
// runs a few event-loop goroutines (default GOMAXPROCS), each with its own
// epoll instance (package syscall, Linux only), edge-triggered non-blocking
// sockets, one shared 64 KiB read buffer and a slice of small client
// structs. A client keeps bytes only while a frame (or the upgrade response)
// is incomplete, or while its socket is full. Handshakes use a random
// Sec-WebSocket-Key and check Sec-WebSocket-Accept (RFC 6455 section 4);
// client frames are masked (section 5.3); Ping gets Pong; heartbeats are
// "ping" texts spread over the heartbeat period by a cursor, not timers.
//
// Measurement: each message is "t=<send ns> s=<seq> k=<stream> ..." padded
// to the requested size. A stream is what one API target reaches (all
// clients for /send/all, a group, a uid, a client). Each client keeps a
// 256-number window of its stream's sequence numbers, so reordering is
// tolerated and duplicates are counted; at the end every stable client that
// stayed open is checked against the sends the API accepted for its stream.
//
// Scale: a process holds at most its open-files limit of clients, raised to
// the hard limit at start. -procs P re-executes the binary P times as child
// processes (IsChild, RunChild) that each run an Engine and speak
// line-delimited JSON over stdin/stdout; -local-addrs spreads connections
// over source addresses (bound with IP_BIND_ADDRESS_NO_PORT).
//
// Concurrency: a loop's clients are touched only by its goroutine; other
// goroutines reach them through the loop's command queue. Counters and
// latency histograms are atomic and read at any time. Every wait is
// bounded in time, and every send loop in count and time; cancelling the
// context (Ctrl-C) stops a scenario, which then reports what it has.
package bench
