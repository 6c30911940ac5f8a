package gateway_test

import (
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wsgate/wsgate/gateway"
)

// scrape reads GET /metrics (with header) and parses it as the Prometheus
// text format.
func (g *testGateway) scrape(t testing.TB, header http.Header) map[string]*dto.MetricFamily {
	t.Helper()
	resp, raw := g.send(t, http.MethodGet, "/metrics", "", header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("GET /metrics Content-Type %q, want the text format's", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("GET /metrics is not the text format: %v\n%s", err, raw)
	}
	return mfs
}

// value is the value of the series name{labels} ("k=v" pairs), or -1 when
// it is absent. A histogram's value is its sample count.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	mf := mfs[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return -1
}

// TestMetricsCountWhatHappened drives a real gateway (clients connect, bind,
// join, get pushes, ping, leave, get closed by the API, a bad handshake, API
// calls good and bad) and checks each series against what was done, and
// against GET /stats where both count the same thing.
func TestMetricsCountWhatHappened(t *testing.T) {
	g := startGateway(t)
	c1, id1 := g.dial(t)
	c2, id2 := g.dial(t)
	c3, id3 := g.dial(t)
	g.mustPost(t, "/uid/bind", map[string]any{"client_id": id1, "uid": "user-1"})
	g.mustPost(t, "/uid/bind", map[string]any{"client_id": id2, "uid": "user-2"})
	g.mustPost(t, "/group/join", map[string]any{"client_id": id3, "groups": []string{"room-1", "room-2"}})
	g.mustPost(t, "/send/all", map[string]any{"data": "to everyone"})
	g.mustPost(t, "/send/uid", map[string]any{"uid": "user-1", "data": "to user-1"})
	g.mustPost(t, "/send/group", map[string]any{"group": "room-1", "data": "to room-1"})
	for _, c := range []*websocket.Conn{c1, c2, c3} {
		readText(t, c)
	}
	readText(t, c1)
	readText(t, c3)
	c2.WriteMessage(websocket.TextMessage, []byte("ping"))
	if got := readText(t, c2); got != "pong" {
		t.Fatalf("ping answered %q", got)
	}
	// c1 leaves with a Close; the API closes c2.
	c1.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	g.expectEnd(t, id1, 1 /* poller.ReasonPeerClose */, 1000)
	g.mustPost(t, "/client/close", map[string]any{"client_id": id2})
	readClose(t, c2, 5*time.Second)
	// A plain HTTP request on the WebSocket port is a handshake failure (400).
	if conn, err := net.Dial("tcp", g.WSAddr().String()); err == nil {
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		conn.Read(make([]byte, 512))
		conn.Close()
	}
	g.callRaw(t, http.MethodGet, "/no/such/route", "", nil)

	var mfs map[string]*dto.MetricFamily
	eventually(t, "the closes and the failed handshake counted", func() bool {
		mfs = g.scrape(t, nil)
		return value(mfs, "wsgate_connections") == 1 && value(mfs, "wsgate_handshake_failures_total", "reason=handshake_failure") == 1 &&
			value(mfs, "wsgate_disconnects_total", "reason=server_close") == 1
	})
	st := g.Stats()
	for _, want := range []struct {
		name   string
		labels []string
		v      float64
	}{
		{"wsgate_connections", nil, 1},
		{"wsgate_uids", nil, 0}, // both bound clients have gone
		{"wsgate_groups", nil, 2},
		{"wsgate_connections_accepted_total", nil, 3},
		{"wsgate_disconnects_total", []string{"reason=peer_close"}, 1},
		{"wsgate_disconnects_total", []string{"reason=server_close"}, 1},
		{"wsgate_disconnects_total", []string{"reason=slow_consumer"}, 0},
		{"wsgate_handshake_failures_total", []string{"reason=handshake_failure"}, 1},
		{"wsgate_slow_consumer_closes_total", nil, 0},
		// Same source as /stats: the poller's counters.
		{"wsgate_messages_sent_total", nil, float64(st.FramesSent)},
		{"wsgate_sent_bytes_total", nil, float64(st.BytesSent)},
		{"wsgate_messages_received_total", nil, float64(st.MessagesReceived)},
		{"wsgate_received_bytes_total", nil, float64(st.BytesReceived)},
		{"wsgate_send_fanout_duration_seconds", []string{"target=all"}, 1},
		{"wsgate_send_fanout_duration_seconds", []string{"target=uid"}, 1},
		{"wsgate_send_fanout_duration_seconds", []string{"target=group"}, 1},
		{"wsgate_send_fanout_duration_seconds", []string{"target=client"}, 0},
		{"wsgate_api_requests_total", []string{"route=/send/all", "code=200"}, 1},
		{"wsgate_api_requests_total", []string{"route=/uid/bind", "code=200"}, 2},
		{"wsgate_api_requests_total", []string{"route=other", "code=404"}, 1},
		{"wsgate_api_request_duration_seconds", []string{"route=/group/join"}, 1},
		{"wsgate_build_info", []string{"goversion=" + runtime.Version()}, 1},
	} {
		if got := value(mfs, want.name, want.labels...); got != want.v {
			t.Errorf("%s%v = %v, want %v", want.name, want.labels, got, want.v)
		}
	}
	// Frames: 3 id frames, 3 + 1 + 1 pushes, 1 pong, the Close answering c1,
	// the API's Close to c2, and the 400 answer to the bad handshake.
	// Received: ping, c1's Close (and c2's answer, if it came in time).
	if st.FramesSent != 12 || st.MessagesReceived < 2 {
		t.Errorf("poller counted %d frames sent (want 12), %d received (want at least 2)", st.FramesSent, st.MessagesReceived)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if value(mfs, name) <= 0 {
			t.Errorf("%s missing or zero: the Go and process collectors", name)
		}
	}
	// No client id, uid or group name is ever a label value, and every
	// wsgate label comes from a fixed set.
	fixed := map[string]bool{"route": true, "code": true, "reason": true, "target": true, "le": true, "version": true, "goversion": true}
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				for _, secret := range []string{id1, id2, id3, "user-1", "user-2", "room-1", "room-2"} {
					if l.GetValue() == secret {
						t.Errorf("%s has label %s=%q: no ids as labels", name, l.GetName(), l.GetValue())
					}
				}
				if strings.HasPrefix(name, "wsgate_") && !fixed[l.GetName()] {
					t.Errorf("%s has label %q, not one of the fixed set", name, l.GetName())
				}
			}
		}
	}
	if stats := g.mustGet(t, "/stats"); stats["connections"].(float64) != value(mfs, "wsgate_connections") {
		t.Errorf("/stats connections %v, /metrics %v", stats["connections"], value(mfs, "wsgate_connections"))
	}
}

// TestEmbedderAddsASeries: a program embedding the gateway adds its own
// series through Gateway.Metrics, and GET /metrics serves it with the rest.
func TestEmbedderAddsASeries(t *testing.T) {
	g := startGateway(t)
	g.Metrics().CounterVec("app_orders_total", "Orders pushed.", "kind").WithLabelValues("paid").Add(3)
	if v := value(g.scrape(t, nil), "app_orders_total", "kind=paid"); v != 3 {
		t.Fatalf("app_orders_total{kind=paid} = %v, want 3", v)
	}
}

// TestMetricsNeedTheToken: with -api-token, /metrics answers 401 without it
// and the series with it, while the dashboard page (no data in it) loads
// without it.
func TestMetricsNeedTheToken(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.API.Token = "s3cret" })
	if status, _ := g.callRaw(t, http.MethodGet, "/metrics", "", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token: %d, want 401", status)
	}
	if status, _ := g.callRaw(t, http.MethodGet, "/metrics", "", http.Header{"Authorization": {"Bearer wrong"}}); status != http.StatusUnauthorized {
		t.Errorf("GET /metrics with a wrong token: %d, want 401", status)
	}
	if mfs := g.scrape(t, http.Header{"Authorization": {"Bearer s3cret"}}); value(mfs, "wsgate_connections") != 0 {
		t.Errorf("wsgate_connections %v with no client", value(mfs, "wsgate_connections"))
	}
	resp, page := g.send(t, http.MethodGet, "/", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page), "wsgate dashboard") {
		t.Errorf("GET / without the token: %d %q, want the page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("dashboard CSP %q", csp)
	}
	// The page is still behind the host allow-list (DNS rebinding).
	if status, _ := g.callRaw(t, http.MethodGet, "/", "", http.Header{"Host": {"evil.example"}}); status != http.StatusForbidden {
		t.Errorf("GET / under a foreign Host: %d, want 403", status)
	}
}

// TestMetricsCluster: a clustered node has the cluster series, and counts
// the other node.
func TestMetricsCluster(t *testing.T) {
	nats := startNATS(t, 0)
	a, b := startNode(t, nats.ClientURL(), "na"), startNode(t, nats.ClientURL(), "nb")
	waitNodes(t, []string{"na", "nb"}, a, b)
	mfs := a.scrape(t, nil)
	for name, want := range map[string]float64{"wsgate_cluster_nodes": 2, "wsgate_cluster_connected": 1, "wsgate_cluster_partial_answers_total": 0, "wsgate_cluster_dropped_messages_total": 0} {
		if got := value(mfs, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if single := startGateway(t).scrape(t, nil); value(single, "wsgate_cluster_nodes") != -1 {
		t.Error("a single node has cluster series")
	}
}
