package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgate/wsgate/webhook"
)

// webhookCollector reads a webhook sender's counters at scrape time.
type webhookCollector struct {
	stats                  func() webhook.Stats
	events, retries, queue *prometheus.Desc
}

// WebhookCollector is a collector of the webhook series: events by type and
// result, retried attempts, and the bytes queued.
func WebhookCollector(stats func() webhook.Stats) prometheus.Collector {
	return &webhookCollector{stats: stats,
		events:  prometheus.NewDesc(Namespace+"_webhook_events_total", "Webhook events by type and what became of them (delivered, rejected, expired, dropped, skipped; connect: accepted, refused, failed).", []string{"type", "result"}, nil),
		retries: prometheus.NewDesc(Namespace+"_webhook_retries_total", "Webhook requests repeated after a failed attempt.", nil, nil),
		queue:   prometheus.NewDesc(Namespace+"_webhook_queue_bytes", "Bytes of webhook events waiting to be posted.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.retries
	ch <- c.queue
}

// Collect implements prometheus.Collector.
func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for typ, results := range st.Events {
		for result, n := range results {
			ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(n), typ, result)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.retries, prometheus.CounterValue, float64(st.Retries))
	ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(st.QueueBytes))
}

// countsCollector reads a map of counts by one label at scrape time.
type countsCollector struct {
	read func() map[string]int64
	desc *prometheus.Desc
}

// CountsCollector is a collector of one counter series with one label,
// whose values read returns at each scrape (a label value per key).
func CountsCollector(name, help, label string, read func() map[string]int64) prometheus.Collector {
	return &countsCollector{read: read, desc: prometheus.NewDesc(name, help, []string{label}, nil)}
}

// Describe implements prometheus.Collector.
func (c *countsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *countsCollector) Collect(ch chan<- prometheus.Metric) {
	for k, n := range c.read() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), k)
	}
}
