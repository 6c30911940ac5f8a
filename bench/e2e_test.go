//go:build linux

package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestEndToEndRealGateway builds cmd/wsgate, starts it on free loopback
// ports with an API token, and runs every scenario against it at small N.
func TestEndToEndRealGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real gateway")
	}
	if _, err := os.Stat("../cmd/wsgate/main.go"); err != nil {
		t.Skip("cmd/wsgate does not exist yet")
	}
	wsAddr, apiAddr, pid := startGateway(t, "-api-token", "e2e-token", "-max-conns", "20000", "-heartbeat-timeout", "120s")
	t.Run("procs=1", func(t *testing.T) { runScenarios(t, "ws://"+wsAddr+"/", "http://"+apiAddr, "e2e-token", 1) })
	t.Run("pid", func(t *testing.T) {
		r, err := Run(t.Context(), Config{Scenario: "idle", WS: "ws://" + wsAddr + "/", API: "http://" + apiAddr, APIToken: "e2e-token",
			PID: pid, N: 100, Duration: 300 * time.Millisecond}, io.Discard, testLog{t})
		if err != nil {
			t.Fatal(err)
		}
		if r.Idle.Source != "proc" || r.Idle.Points[0].Server.RSS == 0 || r.Idle.Points[0].Server.Goroutines != -1 {
			t.Errorf("idle via -pid = %+v", r.Idle.Points)
		}
	})
}

// TestEndToEndWebhooks starts the receiver and a real gateway posting
// every event type to it, then runs connect (the connect webhook answers
// each client) and inbound (every text becomes a message event the
// receiver counts), over one process and over two.
func TestEndToEndWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real gateway")
	}
	rcvAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	rcvDone := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Scenario: "receiver", Receiver: rcvAddr}, io.Discard, io.Discard)
		rcvDone <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-rcvDone; err != nil {
			t.Errorf("receiver: %v", err)
		}
	})
	wsAddr, apiAddr, _ := startGateway(t, "-max-inbound-rate", "0",
		"-webhook-url", "http://"+rcvAddr+"/hook", "-webhook-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"-webhook-events", "connect,connected,message,disconnected")
	for _, procs := range []int{1, 2} {
		t.Run("procs="+strconv.Itoa(procs), func(t *testing.T) {
			base := Config{WS: "ws://" + wsAddr + "/", API: "http://" + apiAddr, Receiver: rcvAddr, Procs: procs, Drain: 5 * time.Second}
			c := base
			c.Scenario, c.N = "connect", 200
			r, err := Run(t.Context(), c, io.Discard, testLog{t})
			if err != nil {
				t.Fatal(err)
			}
			if r.Connect.Opened != 200 || r.Connect.Webhooks == nil || r.Connect.Webhooks.Events["connect"]["accepted"] != 200 {
				t.Errorf("connect = %+v, webhooks %+v; want 200 opened, each accepted by the connect webhook", r.Connect, r.Connect.Webhooks)
			}
			if g := r.Connect.Goroutines; g == nil || g.Samples == 0 || g.Max <= 0 {
				t.Errorf("server goroutines = %+v, want samples", g)
			}
			c = base
			c.Scenario, c.N, c.Messages, c.Size, c.MsgRate = "inbound", 40, 25, 100, 2000
			r, err = Run(t.Context(), c, io.Discard, testLog{t})
			if err != nil {
				t.Fatal(err)
			}
			in := r.Inbound
			if in.Planned != 1000 || in.Sent != 1000 || in.Received != 1000 || in.Dropped != 0 || in.Missing != 0 || in.EventsPerSec <= 0 {
				t.Errorf("inbound = %+v, want 1000 sent and received, none dropped", in)
			}
			if in.Webhooks.Events["message"]["delivered"] != 1000 || in.Receiver.Events["message"] != 1000 || in.Requests == 0 {
				t.Errorf("gateway webhooks %+v, receiver %+v: want 1000 message events delivered", in.Webhooks, in.Receiver)
			}
		})
	}
}

// freeAddr returns a loopback address with a port that was free just now.
// startGateway builds cmd/wsgate, runs it on free loopback ports with args
// (and -log-level warn) until t ends, and returns its WebSocket and API
// addresses and its pid once it is healthy.
func startGateway(t *testing.T, args ...string) (wsAddr, apiAddr string, pid int) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wsgate")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/wsgate").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/wsgate: %v\n%s", err, out)
	}
	wsAddr, apiAddr = freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, append([]string{"-ws-addr", wsAddr, "-api-addr", apiAddr, "-log-level", "warn"}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopProcess(t, cmd) })
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + apiAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return wsAddr, apiAddr, cmd.Process.Pid
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// stopProcess sends SIGTERM and kills the process if it has not exited
// within 15 s.
func stopProcess(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Errorf("gateway did not stop on SIGTERM; killing it")
		cmd.Process.Kill()
		<-done
	}
}
