// Package logging builds the gateway's slog logger (text or JSON lines, one
// level) and keeps repeated warnings from flooding it: a Limiter logs the
// first of a kind of line at once and then at most one summary per interval
// with the number of lines it held back. RedactURL keeps passwords in URLs
// (a -nats-url with credentials) out of logs and error messages.
//
// Lines use stable keys across packages: client_id, uid, remote, reason,
// code, node, err. Per-connection lines are at debug level.
//
// It is stdlib-only and knows nothing of the gateway's components. A Limiter
// is safe for concurrent use; its summary lines come from a timer goroutine.
package logging
