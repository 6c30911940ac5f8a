//go:build linux

package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what one scenario run measured; -json writes it as is and the
// report reads it back. Sections that a scenario does not produce are nil.
type Result struct {
	Scenario    string          `json:"scenario"`
	Started     time.Time       `json:"started"`
	Seconds     float64         `json:"seconds"`
	Interrupted bool            `json:"interrupted"`
	Error       string          `json:"error,omitempty"`
	Machine     Machine         `json:"machine"`
	Config      Config          `json:"config"`
	Connect     *ConnectResult  `json:"connect,omitempty"`
	Idle        *IdleResult     `json:"idle,omitempty"`
	Delivery    *DeliveryResult `json:"delivery,omitempty"`
	FindMax     *FindMaxResult  `json:"find_max,omitempty"`
	Churn       *ChurnResult    `json:"churn,omitempty"`
	Inbound     *InboundResult  `json:"inbound,omitempty"`
	Series      []SeriesPoint   `json:"series,omitempty"`
	Notes       []string        `json:"notes,omitempty"`
}

// Machine describes where the harness ran.
type Machine struct {
	Cores     int    `json:"cores"`
	GoVersion string `json:"go_version"`
	Kernel    string `json:"kernel"`
	NoFile    uint64 `json:"nofile_limit"`
}

// LatencySummary holds a histogram's percentiles in milliseconds.
type LatencySummary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize reads the percentiles of h.
func summarize(h *Histogram) LatencySummary {
	return LatencySummary{Count: h.Count, P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P95: ms(h.Quantile(0.95)), P99: ms(h.Quantile(0.99)),
		Max: ms(time.Duration(h.MaxUS) * time.Microsecond), Mean: ms(h.Mean())}
}

// ConnectResult reports opening connections: UpgradesPerSec is Opened over
// Seconds, the time from the first attempt to the last upgrade.
type ConnectResult struct {
	Requested      uint64            `json:"requested"`
	Attempts       uint64            `json:"attempts"`
	Opened         uint64            `json:"opened"`
	Failed         uint64            `json:"failed"`
	Failures       map[string]uint64 `json:"failures"`
	Unfinished     uint64            `json:"unfinished"` // neither opened nor failed when the wait ended
	Seconds        float64           `json:"seconds"`
	UpgradesPerSec float64           `json:"upgrades_per_sec"`
	Handshake      LatencySummary    `json:"handshake"`
	HandshakeHist  Histogram         `json:"handshake_histogram"`
	// Nodes is each cluster node's connection count after the connect, as
	// GET /cluster/nodes on -api answered (empty for a single node).
	Nodes []NodeCount `json:"nodes,omitempty"`
	// Goroutines is the server's goroutine count (GET /stats) sampled every
	// 100 ms while the clients connected; nil without wsgate's /stats.
	Goroutines *Range `json:"server_goroutines,omitempty"`
	// Handshaking is the server's clients between upgrade request and
	// answer, sampled likewise: with a connect webhook, those waiting for
	// the backend's answer.
	Handshaking *Range `json:"server_handshaking,omitempty"`
	// ServerCPUSeconds is the CPU time the server used meanwhile (GET
	// /stats cpu_seconds; 0 without it), CPUPerUpgradeUS per connection
	// opened.
	ServerCPUSeconds float64 `json:"server_cpu_seconds,omitempty"`
	CPUPerUpgradeUS  float64 `json:"server_cpu_per_upgrade_us,omitempty"`
	// Webhooks is what the gateway's webhooks did meanwhile (the connect
	// webhook's answers, connected events); nil without webhooks.
	Webhooks *WebhookStats `json:"webhooks,omitempty"`
}

// NodeCount is one cluster node's connections.
type NodeCount struct {
	ID          string `json:"id"`
	WSAddr      string `json:"ws_addr"`
	Connections int64  `json:"connections"`
}

// IdlePoint is the server's state with Open idle connections. Per-connection
// figures are relative to the idle result's Baseline (no connections).
type IdlePoint struct {
	Target      int          `json:"target"`
	Open        uint64       `json:"open"`
	Server      ServerSample `json:"server"`
	RSSPerConn  float64      `json:"rss_per_conn_bytes"`
	HeapPerConn float64      `json:"heap_per_conn_bytes"`
	CPUPercent  float64      `json:"cpu_percent"` // of one core, while holding
	HoldSeconds float64      `json:"hold_seconds"`
	Closed      uint64       `json:"closed_while_holding"`
	PingsSent   uint64       `json:"pings_sent"`
	Pongs       uint64       `json:"pongs"`
}

// IdleResult is the idle scenario: memory at each connection count and the
// slope of a line fitted through them (bytes per connection).
type IdleResult struct {
	Source   string            `json:"source"` // "stats" (GET /stats) or "proc" (-pid)
	Baseline ServerSample      `json:"baseline"`
	Points   []IdlePoint       `json:"points"`
	RSSFit   *LinearFit        `json:"rss_fit,omitempty"`
	HeapFit  *LinearFit        `json:"heap_fit,omitempty"`
	Failures map[string]uint64 `json:"connect_failures"`
}

// DeliveryResult reports API sends and what the clients received.
// Deliveries counts every bench message received (duplicates too);
// Expected, Received and Lost cover stable clients that stayed open;
// Disconnected counts those that did not (never connected or closed).
// Duplicated, Unverified and Misrouted count receipts by any client.
type DeliveryResult struct {
	Endpoint          string            `json:"endpoint"`
	Clients           uint64            `json:"clients"`
	Streams           int               `json:"streams"`
	Calls             uint64            `json:"calls"`
	FailedCalls       uint64            `json:"failed_calls"`
	APIErrors         map[string]uint64 `json:"api_errors"`
	SendSeconds       float64           `json:"send_seconds"`
	APIRequestsPerSec float64           `json:"api_requests_per_sec"`
	API               LatencySummary    `json:"api_latency"`
	APIHist           Histogram         `json:"api_histogram"`
	ServerSent        uint64            `json:"server_sent"`
	Deliveries        uint64            `json:"deliveries"`
	DeliverySeconds   float64           `json:"delivery_seconds"`
	DeliveriesPerSec  float64           `json:"deliveries_per_sec"`
	Latency           LatencySummary    `json:"latency"`
	LatencyHist       Histogram         `json:"latency_histogram"`
	Expected          uint64            `json:"expected"`
	Received          uint64            `json:"received"`
	Lost              uint64            `json:"lost"`
	Duplicated        uint64            `json:"duplicated"`
	Unverified        uint64            `json:"unverified"`
	Misrouted         uint64            `json:"misrouted"`
	Disconnected      uint64            `json:"disconnected"`
	ClientsWithLoss   uint64            `json:"clients_with_loss"`
}

// FindMaxStep is one rate step of broadcast -find-max.
type FindMaxStep struct {
	TargetRate       float64        `json:"target_rate"`
	AchievedRate     float64        `json:"achieved_rate"`
	DeliveriesPerSec float64        `json:"deliveries_per_sec"`
	Latency          LatencySummary `json:"latency"`
	Lost             uint64         `json:"lost"`
	Duplicated       uint64         `json:"duplicated"`
	Pass             bool           `json:"pass"`
	Reason           string         `json:"reason,omitempty"`
}

// FindMaxResult is the highest broadcast rate whose p95 latency stayed
// under the limit with nothing lost.
type FindMaxResult struct {
	P95LimitMS           float64       `json:"p95_limit_ms"`
	Steps                []FindMaxStep `json:"steps"`
	BestRate             float64       `json:"best_rate"`
	BestDeliveriesPerSec float64       `json:"best_deliveries_per_sec"`
}

// ChurnResult reports the connect/disconnect storm and whether the server's
// counts came back to where they were before it (0 on a server nobody else
// uses): Leak is set when any count stayed above its value in Before.
type ChurnResult struct {
	Churners        int               `json:"churners"`
	ChurnOpened     uint64            `json:"churn_opened"`
	ConnectFailures map[string]uint64 `json:"connect_failures"`
	Joins           uint64            `json:"joins"`
	JoinErrors      uint64            `json:"join_errors"`
	Before          serverCounts      `json:"counts_before"`
	After           serverCounts      `json:"counts_after"`
	Leak            bool              `json:"leak"`
	SettleSeconds   float64           `json:"settle_seconds"`
}

// SeriesPoint is one sample of the run over time.
type SeriesPoint struct {
	T                float64 `json:"t"`
	Open             uint64  `json:"open"`
	Delivered        uint64  `json:"delivered"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
}

// WriteText prints the result as human-readable tables.
func (r *Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k string, format string, a ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{k}, a...)...)
	}
	state := "complete"
	if r.Interrupted {
		state = "INTERRUPTED (partial results)"
	}
	fmt.Fprintf(tw, "wsbench %s: %s, %.1f s, %d cores, %s\n", r.Scenario, state, r.Seconds, r.Machine.Cores, r.Machine.GoVersion)
	if r.Error != "" {
		row("error", "%s", r.Error)
	}
	if c := r.Connect; c != nil {
		fmt.Fprintln(tw, "connect")
		row("opened / requested", "%d / %d", c.Opened, c.Requested)
		row("upgrades/s", "%.0f (%.2f s)", c.UpgradesPerSec, c.Seconds)
		row("handshake p50 / p99 / max", "%.2f / %.2f / %.2f ms", c.Handshake.P50, c.Handshake.P99, c.Handshake.Max)
		row("failures", "%d %s", c.Failed, mapText(c.Failures))
		for _, n := range c.Nodes {
			row("node "+n.ID, "%d connections (%s)", n.Connections, n.WSAddr)
		}
		if c.Unfinished > 0 {
			row("UNFINISHED", "%d still connecting when the wait ended", c.Unfinished)
		}
		if g := c.Goroutines; g != nil {
			row("server goroutines", "%d before, %d-%d while connecting (%d samples), %d after", g.Before, g.Min, g.Max, g.Samples, g.After)
		}
		if h := c.Handshaking; h != nil {
			row("server clients in handshake", "up to %d at once", h.Max)
		}
		if c.ServerCPUSeconds > 0 {
			row("server CPU", "%.2f s = %.1f µs per upgrade", c.ServerCPUSeconds, c.CPUPerUpgradeUS)
		}
		if c.Webhooks != nil {
			row("webhooks", "%s", c.Webhooks.text())
		}
	}
	if i := r.Idle; i != nil {
		fmt.Fprintf(tw, "idle (memory from %s; baseline RSS %s, heap %s)\n", i.Source, bytesText(float64(i.Baseline.RSS)), bytesText(float64(i.Baseline.HeapInuse)))
		fmt.Fprintln(tw, "  conns\tRSS\tRSS/conn\theap\theap/conn\tgoroutines\tCPU %\tclosed\tpongs/pings")
		for _, p := range i.Points {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%d\t%.2f\t%d\t%d/%d\n", p.Open, bytesText(float64(p.Server.RSS)), bytesText(p.RSSPerConn),
				bytesText(float64(p.Server.HeapInuse)), bytesText(p.HeapPerConn), p.Server.Goroutines, p.CPUPercent, p.Closed, p.Pongs, p.PingsSent)
		}
		if i.RSSFit != nil {
			row("RSS slope", "%s per connection (R2 %.3f, %d points)", bytesText(i.RSSFit.Slope), i.RSSFit.R2, i.RSSFit.Points)
		}
		if i.HeapFit != nil {
			row("heap slope", "%s per connection (R2 %.3f)", bytesText(i.HeapFit.Slope), i.HeapFit.R2)
		}
		row("connect failures", "%s", mapText(i.Failures))
	}
	if d := r.Delivery; d != nil {
		fmt.Fprintf(tw, "delivery via %s (%d clients, %d streams)\n", d.Endpoint, d.Clients, d.Streams)
		row("API calls", "%d ok, %d failed %s in %.2f s = %.0f req/s", d.Calls, d.FailedCalls, mapText(d.APIErrors), d.SendSeconds, d.APIRequestsPerSec)
		row("API latency p50 / p99 / max", "%.2f / %.2f / %.2f ms", d.API.P50, d.API.P99, d.API.Max)
		row("deliveries", "%d in %.2f s = %.0f /s (server said sent %d)", d.Deliveries, d.DeliverySeconds, d.DeliveriesPerSec, d.ServerSent)
		row("latency p50 / p90 / p99 / max", "%.2f / %.2f / %.2f / %.2f ms", d.Latency.P50, d.Latency.P90, d.Latency.P99, d.Latency.Max)
		row("LOST / DUPLICATED", "%d / %d (expected %d, received %d, clients with loss %d)", d.Lost, d.Duplicated, d.Expected, d.Received, d.ClientsWithLoss)
		row("misrouted / unverified / disconnected", "%d / %d / %d", d.Misrouted, d.Unverified, d.Disconnected)
	}
	if f := r.FindMax; f != nil {
		fmt.Fprintf(tw, "find-max (p95 limit %.0f ms)\n", f.P95LimitMS)
		fmt.Fprintln(tw, "  target msg/s\tachieved\tdeliveries/s\tp50 ms\tp95 ms\tp99 ms\tlost\tdup\tresult")
		for _, s := range f.Steps {
			verdict := "pass"
			if !s.Pass {
				verdict = "FAIL: " + s.Reason
			}
			fmt.Fprintf(tw, "  %.1f\t%.1f\t%.0f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%s\n", s.TargetRate, s.AchievedRate, s.DeliveriesPerSec,
				s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Lost, s.Duplicated, verdict)
		}
		row("best", "%.1f msg/s = %.0f deliveries/s", f.BestRate, f.BestDeliveriesPerSec)
	}
	if c := r.Churn; c != nil {
		fmt.Fprintf(tw, "churn (%d churn slots)\n", c.Churners)
		row("churn connections opened", "%d, failures %s", c.ChurnOpened, mapText(c.ConnectFailures))
		row("binds+joins", "%d ok, %d failed", c.Joins, c.JoinErrors)
		row("server counts before", "clients %d, uids %d, groups %d", c.Before.Clients, c.Before.UIDs, c.Before.Groups)
		row("server counts after", "clients %d, uids %d, groups %d (after %.1f s)", c.After.Clients, c.After.UIDs, c.After.Groups, c.SettleSeconds)
		leak := "none"
		if c.Leak {
			leak = "LEAK: counts did not return"
		}
		row("leak", "%s", leak)
	}
	if in := r.Inbound; in != nil {
		fmt.Fprintf(tw, "inbound (%d clients x %d texts of %d B)\n", in.Clients, in.PerClient, in.Size)
		row("sent", "%d of %d in %.2f s = %.0f /s", in.Sent, in.Planned, in.SendSeconds, in.SendsPerSec)
		row("message events received", "%d in %.2f s = %.0f events/s", in.Received, in.Seconds, in.EventsPerSec)
		row("receiver requests", "%d (%.1f message events per request; bad %d, unsigned %d)", in.Requests, in.EventsPerRequest, in.Receiver.Bad, in.Receiver.Unsigned)
		row("DROPPED / missing", "%d / %d", in.Dropped, in.Missing)
		row("gateway CPU", "%.2f s = %.2f µs per event received", in.GatewayCPUSeconds, in.CPUPerEventUS)
		if in.Webhooks != nil {
			row("gateway webhooks", "%s", in.Webhooks.text())
		}
		if g := in.Goroutines; g != nil {
			row("server goroutines", "%d before, %d-%d while sending, %d after", g.Before, g.Min, g.Max, g.After)
		}
	}
	for _, n := range r.Notes {
		row("note", "%s", n)
	}
	return tw.Flush()
}

// mapText renders counts as "(a=1 b=2)" in key order, "" when empty.
func mapText(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// bytesText renders a byte count with a binary unit.
func bytesText(b float64) string {
	switch a := max(b, -b); {
	case a >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case a >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case a >= 1<<10:
		return fmt.Sprintf("%.2f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
