//go:build linux

package bench

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as a -procs child: startChild
// re-executes os.Executable(), which here is the test binary.
func TestMain(m *testing.M) {
	if IsChild() {
		if err := RunChild(os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// scenarioCases are small runs of every scenario; check asserts what must
// hold against any correct gateway.
var scenarioCases = []struct {
	name  string
	cfg   Config
	check func(t *testing.T, r *Result)
}{
	{"connect", Config{Scenario: "connect", N: 300, Rate: 5000}, func(t *testing.T, r *Result) {
		if r.Connect.Opened != 300 || r.Connect.Failed != 0 || r.Connect.UpgradesPerSec <= 0 {
			t.Errorf("connect = %+v, want 300 opened, none failed", r.Connect)
		}
		if r.Connect.Handshake.P99 <= 0 {
			t.Errorf("handshake p99 = %v, want > 0", r.Connect.Handshake.P99)
		}
	}},
	{"idle sweep", Config{Scenario: "idle", Sweep: []int{50, 150}, Duration: 600 * time.Millisecond, Heartbeat: 100 * time.Millisecond}, func(t *testing.T, r *Result) {
		if len(r.Idle.Points) != 2 || r.Idle.Points[1].Open != 150 || r.Idle.RSSFit == nil {
			t.Fatalf("idle = %+v, want 2 points ending at 150 open and a fit", r.Idle)
		}
		if p := r.Idle.Points[1]; p.PingsSent == 0 || p.Pongs == 0 || p.Closed != 0 {
			t.Errorf("idle point = %+v, want heartbeats answered and nothing closed", p)
		}
	}},
	{"broadcast", Config{Scenario: "broadcast", N: 200, Messages: 20, MsgRate: 100, Size: 200}, func(t *testing.T, r *Result) {
		checkDelivery(t, r, 200*20)
		if len(r.Series) == 0 {
			t.Errorf("no time series")
		}
	}},
	{"broadcast find-max", Config{Scenario: "broadcast", N: 100, FindMax: true, MsgRate: 20, Step: 300 * time.Millisecond, MaxSteps: 3}, func(t *testing.T, r *Result) {
		if r.FindMax == nil || len(r.FindMax.Steps) == 0 || r.FindMax.Steps[0].DeliveriesPerSec <= 0 {
			t.Fatalf("find-max = %+v, want steps with deliveries", r.FindMax)
		}
	}},
	{"groups", Config{Scenario: "groups", N: 200, GroupSize: 20, Callers: 8, MsgRate: 200, Duration: time.Second}, func(t *testing.T, r *Result) {
		checkDelivery(t, r, 0)
		if r.Delivery.Streams != 10 {
			t.Errorf("streams = %d, want 10 groups", r.Delivery.Streams)
		}
	}},
	{"uids", Config{Scenario: "uids", N: 200, UIDConns: 4, Callers: 8, MsgRate: 200, Duration: time.Second}, func(t *testing.T, r *Result) {
		checkDelivery(t, r, 0)
	}},
	{"api", Config{Scenario: "api", N: 100, Callers: 16, MsgRate: 500, Duration: time.Second}, func(t *testing.T, r *Result) {
		checkDelivery(t, r, 0)
		if r.Delivery.Deliveries != r.Delivery.Calls {
			t.Errorf("deliveries %d != calls %d for one target per call", r.Delivery.Deliveries, r.Delivery.Calls)
		}
	}},
	{"churn", Config{Scenario: "churn", N: 100, Churners: 60, ChurnRate: 300, Lifetime: 300 * time.Millisecond, GroupSize: 10, MsgRate: 100, Duration: 1500 * time.Millisecond}, func(t *testing.T, r *Result) {
		checkDelivery(t, r, 0)
		if c := r.Churn; c.Leak || c.ChurnOpened < 60 || c.Joins == 0 {
			t.Errorf("churn = %+v, want no leak, >= 60 churn connections and joins", c)
		}
	}},
}

// checkDelivery asserts that sends happened and nothing was lost,
// duplicated or misrouted; want > 0 also fixes the delivery count.
func checkDelivery(t *testing.T, r *Result, want uint64) {
	t.Helper()
	d := r.Delivery
	if d == nil || d.Calls == 0 || d.Deliveries == 0 {
		t.Fatalf("delivery = %+v, want calls and deliveries", d)
	}
	if d.Lost != 0 || d.Duplicated != 0 || d.Misrouted != 0 || d.FailedCalls != 0 {
		t.Errorf("lost %d, duplicated %d, misrouted %d, failed calls %d: want all 0", d.Lost, d.Duplicated, d.Misrouted, d.FailedCalls)
	}
	if want > 0 && d.Deliveries != want {
		t.Errorf("deliveries = %d, want %d", d.Deliveries, want)
	}
	if d.Latency.Count == 0 || d.Latency.P99 <= 0 {
		t.Errorf("latency = %+v, want recorded", d.Latency)
	}
}

// runScenarios runs every case against ws and api.
func runScenarios(t *testing.T, ws, api, token string, procs int) {
	for _, tc := range scenarioCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.WS, cfg.API, cfg.APIToken, cfg.Procs = ws, api, token, procs
			cfg.Sample = 100 * time.Millisecond
			cfg.Drain = 5 * time.Second
			var out bytes.Buffer
			r, err := Run(context.Background(), cfg, &out, testLog{t})
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if r.Interrupted || r.Error != "" {
				t.Fatalf("result interrupted=%v error=%q", r.Interrupted, r.Error)
			}
			if !strings.Contains(out.String(), "wsbench "+cfg.Scenario) {
				t.Errorf("table does not name the scenario:\n%s", out.String())
			}
			tc.check(t, r)
			if t.Failed() {
				t.Logf("table:\n%s", out.String())
			}
		})
	}
}

// testLog sends progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestScenariosFakeGateway(t *testing.T) {
	g := startFakeGateway(t, "secret")
	runScenarios(t, g.wsURL(), g.api.URL, "secret", 1)
}

func TestScenariosChildProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	g := startFakeGateway(t, "")
	for _, tc := range []Config{
		{Scenario: "connect", N: 200, Procs: 2},
		{Scenario: "broadcast", N: 200, Procs: 2, Messages: 5, MsgRate: 50},
		{Scenario: "churn", N: 60, Procs: 2, Churners: 20, Lifetime: 200 * time.Millisecond, GroupSize: 10, Duration: time.Second},
	} {
		t.Run(tc.Scenario, func(t *testing.T) {
			tc.WS, tc.API = g.wsURL(), g.api.URL
			r, err := Run(context.Background(), tc, new(bytes.Buffer), testLog{t})
			if err != nil {
				t.Fatal(err)
			}
			if r.Connect.Opened != uint64(tc.N) {
				t.Errorf("opened %d of %d", r.Connect.Opened, tc.N)
			}
			if r.Delivery != nil {
				checkDelivery(t, r, 0)
			}
			if r.Churn != nil && r.Churn.Leak {
				t.Errorf("churn leak: %+v", r.Churn)
			}
		})
	}
}

// TestInterruptPrintsPartialResults cancels a run mid-way, as Ctrl-C does.
func TestInterruptPrintsPartialResults(t *testing.T) {
	g := startFakeGateway(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // interrupt once sends are under way, however slow the machine
		for deadline := time.Now().Add(10 * time.Second); g.sends.Load() < 5 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	var out bytes.Buffer
	start := time.Now()
	r, err := Run(ctx, Config{Scenario: "groups", WS: g.wsURL(), API: g.api.URL, N: 50, GroupSize: 5, Callers: 2, MsgRate: 50, Duration: time.Minute}, &out, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("run took %v after cancel, want a prompt stop", time.Since(start))
	}
	if !r.Interrupted || !strings.Contains(out.String(), "INTERRUPTED") || r.Delivery == nil || r.Delivery.Calls == 0 {
		t.Errorf("interrupted=%v delivery=%+v; table:\n%s", r.Interrupted, r.Delivery, out.String())
	}
}

// TestEngineShutdownLeavesNoGoroutines checks that an engine's loops and
// workers are gone after shutdown.
func TestEngineShutdownLeavesNoGoroutines(t *testing.T) {
	g := startFakeGateway(t, "")
	before := runtime.NumGoroutine()
	e, err := newEngine(engineConfig{URL: g.wsURL(), Loops: 2, Capacity: 20, API: g.api.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.connect(10, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.churn(churnSpec{Slots: 10, Rate: 100, Lifetime: 100 * time.Millisecond, Streams: 1, GroupPrefix: "g", UIDPrefix: "u"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { s, _ := e.stats(false); return s.Counts[cOpened] >= 20 })
	e.shutdown()
	e.shutdown() // idempotent
	if err := e.connect(1, 0); err == nil {
		t.Errorf("connect after shutdown succeeded")
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
