package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// buildOnce builds the binary for the tests of this file.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "wsgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startBinary runs bin configured through WSGATE_* variables plus args, and
// returns its WebSocket address and its stderr so far.
func startBinary(t *testing.T, bin string, args ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	wsAddr, apiAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, append([]string{"-log-level", "info"}, args...)...)
	cmd.Env = append(os.Environ(), "WSGATE_WS_ADDR="+wsAddr, "WSGATE_API_ADDR="+apiAddr)
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", wsAddr)
		if err == nil {
			c.Close()
			return cmd, wsAddr, stderr
		}
		if time.Now().After(deadline) {
			t.Fatalf("the binary does not accept: %v", err)
		}
	}
}

// waitExit waits for cmd and returns its error.
func waitExit(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after the signal")
		return nil
	}
}

// TestShutdownOnSignal runs the real binary: SIGTERM, SIGINT and SIGHUP
// (a closed terminal) each send 1001 to the client and exit 0.
func TestShutdownOnSignal(t *testing.T) {
	bin := buildBinary(t)
	for _, s := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(s.String(), func(t *testing.T) {
			cmd, wsAddr, stderr := startBinary(t, bin)
			c, _, err := websocket.DefaultDialer.Dial("ws://"+wsAddr+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, _, err := c.ReadMessage(); err != nil {
				t.Fatal(err)
			}
			cmd.Process.Signal(s)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _, err = c.ReadMessage()
			if ce := (*websocket.CloseError)(nil); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Fatalf("after %v: %v, want Close 1001", s, err)
			}
			if err := waitExit(t, cmd); err != nil {
				t.Fatalf("exit after %v: %v\n%s", s, err, stderr)
			}
			if !strings.Contains(stderr.String(), "shutting down") {
				t.Errorf("nothing logged for %v:\n%s", s, stderr)
			}
		})
	}
}

// TestShutdownDeadlineIsNotAFailure: a client that never closes its side
// holds the shutdown to its deadline; the process still exits 0, says so
// once, and prints no error.
func TestShutdownDeadlineIsNotAFailure(t *testing.T) {
	bin := buildBinary(t)
	cmd, wsAddr, stderr := startBinary(t, bin, "-shutdown-timeout", "200ms")
	conn, err := net.Dial("tcp", wsAddr) // upgrades, then never reads or closes
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(line, "101") {
		t.Fatalf("upgrade: %q, %v", line, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitExit(t, cmd); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr)
	}
	out := stderr.String()
	if strings.Count(out, "shutdown deadline reached") != 1 || strings.Contains(out, "wsgate:") || strings.Contains(out, "level=ERROR") {
		t.Errorf("want one deadline warning and no error:\n%s", out)
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
