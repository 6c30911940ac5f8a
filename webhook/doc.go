// Package webhook posts the gateway's client events to a backend's HTTP
// endpoint, signed in the Standard Webhooks format
// (https://www.standardwebhooks.com): every request carries webhook-id,
// webhook-timestamp and webhook-signature ("v1," + base64 of HMAC-SHA256
// over id.timestamp.body, one per configured secret), and a JSON body
// {"events":[...]}.
//
// Two paths:
//
//   - connect is a question: Sender.Connect posts one event alone, on one of
//     Config.ConnectConcurrency worker goroutines (a waiting client holds no
//     goroutine of its own), and calls back with the backend's answer.
//   - connected, message, disconnected and node.started are notices: they
//     are encoded at once (a snapshot of the client as it was), queued, and
//     posted in batches by a few lane goroutines, at least once, retried
//     with exponential backoff and full jitter on timeouts, 408, 429 and 5xx
//     for up to Config.RetryFor. A client's events go through one lane, in
//     order; its disconnected is sent only if its connected was (a client
//     that leaves before its connected went out produces neither, nor its
//     messages). The queue holds at most Config.QueueBytes of encoded
//     events: past it, queued message events are dropped to make room for
//     lifecycle ones, and new message events are dropped; every drop is
//     counted. Nothing here ever blocks the caller on the backend.
//
// The package knows nothing of sockets or the registry: the gateway hands it
// snapshots (Client) and gets answers (Answer). Every method of Sender is
// safe for concurrent use.
package webhook
