package gateway

import "github.com/wsgate/wsgate/metrics"

// instrument builds the gateway's metrics: the WebSocket side's and the
// registry's counts and, in a cluster, the cluster's, all read at scrape
// time; and sends timed through the hub both APIs drive. It runs in New once
// the hub is final and before the APIs are built over it.
func (g *Gateway) instrument() {
	g.metrics = metrics.New()
	g.metrics.MustRegister(metrics.WebSocket(g.ws.Stats, g.reg))
	if g.nodes != nil {
		g.metrics.MustRegister(metrics.ClusterCollector(g.nodes))
	}
	g.hub = g.metrics.TimeSends(g.hub)
}

// Metrics is the gateway's Prometheus registry, served as GET /metrics on
// the API address: components and programs embedding the gateway add their
// series to it (see package metrics).
func (g *Gateway) Metrics() *metrics.Registry { return g.metrics }
