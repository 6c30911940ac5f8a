// Command chat is a small chat room on wsgate: a page, a backend and the
// gateway, in the architecture wsgate is made for.
//
//	browser ──ws──▶ wsgate            (wsgate.js: connect, get a client id, receive pushes)
//	browser ──http─▶ chat backend     (join with the id, name and room; say something)
//	chat backend ──http─▶ wsgate API  (/uid/bind, /group/join, /send/group, /group/uids, /group/clients)
//
// The browser never calls wsgate's API (it refuses cross-site browser
// requests); the backend does, and decides who may say what. Who is online
// comes from wsgate (/group/uids: the uid of a member is its name). Leaves
// are learnt by polling each room's members (/group/clients) every
// -presence-interval; wsgate's disconnected webhook can replace the polling
// (see README.md).
//
//	go run ./cmd/wsgate &
//	go run ./examples/chat -addr 127.0.0.1:3000
//	# open http://127.0.0.1:3000/ in two windows
//
// Everything the page needs (HTML, script, wsgate.js) is embedded: no CDN.
// Concurrency: the HTTP handlers run concurrently; the member table is
// guarded by a mutex released before every call to wsgate; one goroutine
// polls presence.
package main
