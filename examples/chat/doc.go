// Command chat is a small chat room on wsgate: a page, a backend and the
// gateway, in the architecture wsgate is made for.
//
//	browser ──ws──▶ wsgate            (wsgate.js: connect, get a client id, receive pushes)
//	browser ──http─▶ chat backend     (join with the id, name and room; say something)
//	chat backend ──http─▶ wsgate API  (/uid/bind, /group/join, /send/group, /group/uids)
//	wsgate ──webhook─▶ chat backend   (POST /wsgate/events: connected, disconnected, node.started)
//
// The browser never calls wsgate's API (it refuses cross-site browser
// requests); the backend does, and decides who may say what. Who is online
// comes from wsgate (/group/uids: the uid of a member is its name). Leaves
// are learnt from wsgate's signed webhooks only: disconnected for a
// connection, node.started for every connection of a node that restarted.
//
//	secret=whsec_$(head -c 32 /dev/urandom | base64)
//	go run ./examples/chat -addr 127.0.0.1:3000 -webhook-secret $secret &
//	go run ./cmd/wsgate -webhook-url http://127.0.0.1:3000/wsgate/events -webhook-secret $secret
//	# open http://127.0.0.1:3000/ in two windows
//
// Everything the page needs (HTML, script, wsgate.js) is embedded: no CDN.
// Concurrency: the HTTP handlers, wsgate's webhook among them, run
// concurrently; the member table is guarded by a mutex released before every
// call to wsgate.
package main
