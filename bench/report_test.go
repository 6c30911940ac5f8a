//go:build linux

package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleResults are results of every kind, as scenarios produce them.
func sampleResults() []*Result {
	var lat recorder
	for i := range 1000 {
		lat.record(time.Duration(i*37%5000) * time.Microsecond)
	}
	h := lat.snapshot()
	idle := &Result{Scenario: "idle", Idle: &IdleResult{Source: "stats", Baseline: ServerSample{RSS: 10 << 20, HeapInuse: 2 << 20}}}
	for _, n := range []uint64{1000, 5000, 10000} {
		idle.Idle.Points = append(idle.Idle.Points, IdlePoint{Open: n, Server: ServerSample{RSS: 10<<20 + n*3000, HeapInuse: 2<<20 + n*1000, Goroutines: 9}})
	}
	fit := LinearFit{Slope: 3000, Intercept: 10 << 20, R2: 1}
	idle.Idle.RSSFit = &fit
	bc := &Result{Scenario: "broadcast", Config: Config{N: 10, Messages: 3, WS: "ws://x/<&\"'>"}, Interrupted: true, Notes: []string{"a & b < c"},
		Connect:  &ConnectResult{Opened: 10, HandshakeHist: h},
		Delivery: &DeliveryResult{Endpoint: "/send/all", LatencyHist: h, Latency: summarize(&h), Lost: 1},
		FindMax:  &FindMaxResult{P95LimitMS: 500, Steps: []FindMaxStep{{TargetRate: 2, DeliveriesPerSec: 2000, Pass: true}, {TargetRate: 3, DeliveriesPerSec: 2500, Reason: "p95 over the limit"}}},
		Series:   []SeriesPoint{{T: 0.5}, {T: 1, DeliveriesPerSec: 100}, {T: 1.5, DeliveriesPerSec: 300}},
		Churn:    &ChurnResult{Leak: true}}
	return []*Result{idle, bc}
}

func TestWriteReport(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"<svg", "Server memory versus idle connections", "Latency CDF", "delivery latency histogram",
		"Deliveries per second over time", "find-max", "RSS fit: 2.93 KiB/conn", "ws://x/&lt;&amp;", "broadcast n=10 m=3", "LOST / DUPLICATED"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "http://", "https://", "<link"} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), banned) {
			t.Errorf("report is not self-contained: has %q", banned)
		}
	}
	// Well-formed: the page parses as XML from start to end.
	dec := xml.NewDecoder(strings.NewReader(page))
	svgs := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("report does not parse: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "svg" {
			svgs++
		}
	}
	if svgs < 5 {
		t.Errorf("%d svg charts, want at least 5", svgs)
	}
}

func TestReportScenarioMergesJSONFiles(t *testing.T) {
	dir := t.TempDir()
	var inputs []string
	for i, r := range sampleResults() {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, string(rune('a'+i))+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, p)
	}
	out := filepath.Join(dir, "r.html")
	cfg, err := ParseArgs(append([]string{"report", "-report", out}, inputs...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(t.Context(), cfg, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(page, []byte("<svg")) || !bytes.Contains(page, []byte("RSS fit")) {
		t.Errorf("merged report missing charts (err %v)", err)
	}
	if _, err := Run(t.Context(), Config{Scenario: "report", Report: out, Inputs: []string{filepath.Join(dir, "missing.json")}}, io.Discard, io.Discard); err == nil {
		t.Errorf("missing input accepted")
	}
}

func TestTicks(t *testing.T) {
	for _, tt := range []struct {
		lo, hi float64
		n      int
	}{{0, 1, 5}, {0, 15000, 5}, {3, 7, 4}, {0, 0.003, 5}} {
		ts := ticks(tt.lo, tt.hi, tt.n)
		if len(ts) < 2 || len(ts) > 4*tt.n || ts[0] < tt.lo || ts[len(ts)-1] > tt.hi*(1+1e-9) {
			t.Errorf("ticks(%v, %v) = %v", tt.lo, tt.hi, ts)
		}
	}
}
