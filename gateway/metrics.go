package gateway

import "github.com/wsgate/wsgate/metrics"

// instrument builds the gateway's metrics: the WebSocket side's and the
// registry's counts and, when on, the cluster's, the webhooks' and the
// refused tokens', all read at scrape time; and sends timed through the hub both APIs drive. It runs in New once
// the hub is final and before the APIs are built over it.
func (g *Gateway) instrument() {
	g.metrics = metrics.New()
	g.metrics.MustRegister(metrics.WebSocket(g.ws.Stats, g.reg))
	if g.nodes != nil {
		g.metrics.MustRegister(metrics.ClusterCollector(g.nodes))
	}
	if g.hooks != nil {
		g.metrics.MustRegister(metrics.WebhookCollector(g.hooks.Stats))
	}
	if g.auth != nil {
		g.metrics.MustRegister(metrics.CountsCollector(metrics.Namespace+"_auth_failures_total",
			"Client tokens refused at the handshake, by kind (missing, expired, signature, ...).", "kind", g.authCounts))
	}
	g.hub = g.metrics.TimeSends(g.hub)
}

// Metrics is the gateway's Prometheus registry, served as GET /metrics on
// the API address: components and programs embedding the gateway add their
// series to it (see package metrics).
func (g *Gateway) Metrics() *metrics.Registry { return g.metrics }
