// Package gateway is wsgate's composition root and its entry for Go programs
// that embed it: one Config builds every component (the WebSocket poller, the
// registry, the hub the API faces drive, the REST API), New wires them, Serve
// runs them and Shutdown stops them. Command wsgate only turns flags and
// WSGATE_* variables into a Config; several Gateways can run in one process
// (each with its own listeners), which the tests use.
//
//	if err := gateway.Setup(gateway.Process{}); err != nil { ... } // once per process
//	g, err := gateway.New(gateway.Config{
//		WS:  poller.Config{Addr: ":8282"},
//		API: httpapi.Config{Addr: "127.0.0.1:8283"},
//		OnClose: func(c *poller.Conn, cl poller.Closure) { log.Println(c.ID(), cl.Reason) },
//	})
//	go g.Serve(ctx)
//	...
//	g.Shutdown(shutdownCtx)
//
// # Joints
//
// A connection's life is the poller's (see its package documentation for
// the state diagram and close reasons). The gateway registers a connection in
// the registry in the poller's OnOpen and removes it in OnClose, then calls
// the Config's own hooks: OnHandshake (auth, which may answer later), OnMessage
// (what clients send) and OnClose (with the reason). Conn.Data carries the
// value OnHandshake accepted with, so no side map is keyed by client id. The
// REST API drives a hub.Hub: Local over the registry, or a cluster hub.
//
// Metrics: the gateway owns one metrics.Registry (Gateway.Metrics), served as
// GET /metrics on the API address; its components' series are read there at
// scrape time, and a component added later registers its own in one line.
//
// Concurrency: every method of Gateway is safe for concurrent use; the
// hooks' goroutines and contracts are the poller's.
package gateway
