// Package metrics is the gateway's Prometheus face: one registry per gateway,
// served as GET /metrics in the Prometheus text format, that every component
// contributes series to.
//
// Counting never slows a hot path: the WebSocket side's series are read at
// scrape time from the counters the poller keeps anyway (poller.Stats), the
// registry's and the cluster's likewise; only API requests and sends through
// the hub (one observation per call, each call costs tens of µs) are observed
// as they happen. No series has a client id, uid or group as a label: label
// values come from fixed sets (route names, close reasons, send targets,
// status codes).
//
// Adding series: a component either builds its own collector and calls
// Registry.MustRegister, or asks for a counter vector in one line:
//
//	events := g.Metrics().CounterVec("wsgate_webhook_events_total", "Webhook events by type and result.", "type", "result")
//	events.WithLabelValues("connect", "ok").Inc()
//
// The package knows the poller's Stats and the hub's interface, nothing of
// HTTP: httpapi reaches it through the small interface it declares
// (httpapi.Metrics). Every method is safe for concurrent use.
package metrics
