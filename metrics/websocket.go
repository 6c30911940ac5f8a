package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgate/wsgate/poller"
)

// Counts is the registry's view the gauges read: registered clients, bound
// uids, groups with members (hub.Registry has it).
type Counts interface {
	Count() int
	UIDCount() int
	GroupTotal() int
}

// handshakeReasons are the close reasons of connections that never opened:
// wsgate_handshake_failures_total counts them, wsgate_disconnects_total the rest.
var handshakeReasons = map[poller.Reason]bool{
	poller.ReasonHandshakeFailure: true,
	poller.ReasonHandshakeTimeout: true,
	poller.ReasonServerFull:       true,
	poller.ReasonRefused:          true,
	poller.ReasonInternal:         true,
}

// webSocket reads the WebSocket side's counters and the registry's counts
// at scrape time.
type webSocket struct {
	stats  func() poller.Stats
	counts Counts

	connections, uids, groups, handshaking               *prometheus.Desc
	accepted, handshakeFailures, disconnects, slowCloses *prometheus.Desc
	sent, sentBytes, received, receivedBytes             *prometheus.Desc
}

// WebSocket is a collector of this node's clients: stats is the poller's
// Stats, counts the registry.
func WebSocket(stats func() poller.Stats, counts Counts) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
	}
	return &webSocket{
		stats:             stats,
		counts:            counts,
		connections:       d("connections", "Clients connected to this node (registered)."),
		uids:              d("uids", "Distinct uids bound on this node."),
		groups:            d("groups", "Groups with at least one member on this node."),
		handshaking:       d("handshaking", "TCP connections not upgraded yet, or closing."),
		accepted:          d("connections_accepted_total", "Connections upgraded and opened."),
		handshakeFailures: d("handshake_failures_total", "Connections that never opened, by reason.", "reason"),
		disconnects:       d("disconnects_total", "Opened connections that ended, by close reason.", "reason"),
		slowCloses:        d("slow_consumer_closes_total", "Clients closed because their send queue overflowed."),
		sent:              d("messages_sent_total", "Frames written to clients (pushes, the id frame, pongs, pings, closes)."),
		sentBytes:         d("sent_bytes_total", "Bytes written to clients after their upgrade (the 101 answer included)."),
		received:          d("messages_received_total", "Complete client messages and control frames read."),
		receivedBytes:     d("received_bytes_total", "Bytes read from clients after their upgrade."),
	}
}

// Describe implements prometheus.Collector.
func (w *webSocket) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{w.connections, w.uids, w.groups, w.handshaking, w.accepted,
		w.handshakeFailures, w.disconnects, w.slowCloses, w.sent, w.sentBytes, w.received, w.receivedBytes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (w *webSocket) Collect(ch chan<- prometheus.Metric) {
	st := w.stats()
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(w.connections, w.counts.Count())
	gauge(w.uids, w.counts.UIDCount())
	gauge(w.groups, w.counts.GroupTotal())
	gauge(w.handshaking, int(st.Handshaking))
	counter(w.accepted, st.Accepted)
	for _, r := range poller.Reasons() {
		d := w.disconnects
		if handshakeReasons[r] {
			d = w.handshakeFailures
		}
		counter(d, st.Closes[r.String()], r.String())
	}
	counter(w.slowCloses, st.SlowConsumerCloses)
	counter(w.sent, st.FramesSent)
	counter(w.sentBytes, st.BytesSent)
	counter(w.received, st.MessagesReceived)
	counter(w.receivedBytes, st.BytesReceived)
}
