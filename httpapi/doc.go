// Package httpapi is wsgate's REST control API on fasthttp: backends POST JSON to
// push to a connection, a uid, a group or everyone, bind uids, manage groups,
// close clients, and GET who is online. API.md documents every endpoint; a test
// keeps the routes and the document in step.
//
// It knows nothing about sockets, netpoll or the registry: it drives a hub.Hub
// (this process's registry through hub.Local, or a hub spanning nodes), passing
// the request's context, and encodes each pushed message once, as a
// wsframe.Frame that every target connection shares. An answer the hub marks
// partial carries "partial":true and "missing_nodes"; list cursors are the
// hub's opaque tokens.
//
// It also serves GET /metrics (the Prometheus text format of Config.Metrics,
// an interface it declares, so it imports no metrics library) and records
// every answered request there, and GET / (the dashboard: one embedded,
// self-contained page that reads /metrics; it needs no token, holding no data).
//
// Contract for every request: bad input gets a clear {"error":"..."} answer and
// changes nothing (malformed JSON, unknown fields, a field the route does not
// take, or missing fields 400, unknown route 404, wrong method 405, body over
// the limit 413, missing or wrong token 401 when a token is configured). The
// three /send/* endpoints share one handler, driven by a table of targets.
//
// Concurrency: fasthttp serves each request on its own worker goroutine; handlers
// share nothing but the Hub, which must be safe for concurrent use. Request and
// response buffers belong to fasthttp and are not retained after a handler returns.
package httpapi
