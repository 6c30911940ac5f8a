// Package wsgatejs holds wsgate.js, the browser client of wsgate (one
// dependency-free ES module: reconnects with jittered backoff, heartbeat,
// token refresh; see README.md), and its TypeScript declarations, embedded
// so that Go programs can serve them:
//
//	mux.Handle("/js/", http.StripPrefix("/js", wsgatejs.Handler()))
//	// a page: import { WsGate } from "/js/wsgate.js";
//
// It knows nothing about the gateway itself, and the gateway nothing about
// it; the files are the same bytes as in the repository's js/ directory.
//
// Concurrency: FS and Handler are read-only and safe for concurrent use.
package wsgatejs
