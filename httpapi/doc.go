// Package httpapi is wsgate's REST control API on fasthttp: backends POST JSON to
// push to a connection, a uid, a group or everyone, bind uids, manage groups,
// close clients, and GET who is online. API.md documents every endpoint; a test
// keeps the routes and the document in step.
//
// It knows nothing about sockets or netpoll: it drives the Hub interface it
// declares (the registry satisfies it) and encodes each pushed message once, as a
// wsframe.Frame that every target connection shares.
//
// Contract for every request: bad input gets a clear {"error":"..."} answer and
// changes nothing (malformed JSON, unknown fields or missing fields 400, unknown
// route 404, wrong method 405, body over the limit 413, missing or wrong token
// 401 when a token is configured).
//
// Concurrency: fasthttp serves each request on its own worker goroutine; handlers
// share nothing but the Hub, which must be safe for concurrent use. Request and
// response buffers belong to fasthttp and are not retained after a handler returns.
package httpapi
