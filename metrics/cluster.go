package metrics

import "github.com/prometheus/client_golang/prometheus"

// Cluster is what the cluster series read (cluster.Hub has it).
type Cluster interface {
	// Health is "ok" or "degraded" and the number of live nodes, this one included.
	Health() (state string, nodes int)
	// Stats has "cluster_dropped" and "cluster_partial_answers".
	Stats() map[string]int64
}

// clusterCollector reads the cluster's state at scrape time.
type clusterCollector struct {
	c                           Cluster
	nodes, up, partial, dropped *prometheus.Desc
}

// ClusterCollector is a collector of a clustered node's view of its cluster.
func ClusterCollector(c Cluster) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_cluster_"+name, help, nil, nil)
	}
	return &clusterCollector{c: c,
		nodes:   d("nodes", "Live nodes this node knows, itself included."),
		up:      d("connected", "1 while this node reaches NATS, 0 while it serves only its own clients."),
		partial: d("partial_answers_total", "Cluster-wide answers that lacked some node's part (it did not answer in time)."),
		dropped: d("dropped_messages_total", "Cluster messages NATS dropped because this node's queue was full (slow consumer)."),
	}
}

// Describe implements prometheus.Collector.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.nodes
	ch <- c.up
	ch <- c.partial
	ch <- c.dropped
}

// Collect implements prometheus.Collector.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	state, nodes := c.c.Health()
	up := 0.0
	if state == "ok" {
		up = 1
	}
	st := c.c.Stats()
	ch <- prometheus.MustNewConstMetric(c.nodes, prometheus.GaugeValue, float64(nodes))
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(c.partial, prometheus.CounterValue, float64(st["cluster_partial_answers"]))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(st["cluster_dropped"]))
}
