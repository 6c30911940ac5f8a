package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/poller"
)

// The interop tests run WebSocket clients that share no code with the gateway
// or with gorilla/websocket: Node's ws (npm, scripts/interop/client.mjs) and
// Python's websockets (Debian's python3-websockets under Debian's own
// /usr/bin/python3, scripts/interop/client.py). Each client reports what it
// receives as JSON lines on stdout (the line protocol is described at the top of
// either script); the test pushes through the REST API and checks every report.
//
// A missing tool skips the test, except under CI=true, where it fails: .ci/run
// installs both.

const (
	interopDir      = "../scripts/interop"
	interopPython   = "/usr/bin/python3" // Debian's: the pyenv python3 on PATH cannot see Debian's packages
	interopRunLimit = 20 * time.Second   // one client run, start to exit
	interopStep     = 5 * time.Second    // one event
	interopPingData = "wsgate-interop-ping"
)

// interopClient is one independent client: its name and how to find its command.
type interopClient struct {
	name string
	find func(t *testing.T) []string // the command without the URL; skips or fails when missing
}

var interopClients = []interopClient{
	{"node-ws", findNodeClient},
	{"python-websockets", findPythonClient},
}

// interopGateway is one gateway configuration the clients run against.
type interopGateway struct {
	name        string
	compression bool
	// deflate, when set, is whether a client offering permessage-deflate must get
	// it; nil only reports what was negotiated.
	deflate *bool
}

func TestInterop(t *testing.T) {
	on, off := true, false
	gateways := []interopGateway{{"compression", true, &on}, {"no-compression", false, &off}}
	for _, c := range interopClients {
		t.Run("client="+c.name, func(t *testing.T) {
			argv := c.find(t)
			for _, gw := range gateways {
				for _, offer := range []bool{true, false} {
					name := fmt.Sprintf("gateway=%s/deflate=%s", gw.name, map[bool]string{true: "offered", false: "off"}[offer])
					t.Run(name, func(t *testing.T) {
						g := startGateway(t, func(c *gateway.Config) { c.WS.DisableCompression = !gw.compression })
						var opts []string
						if !offer {
							opts = []string{"--no-deflate"}
						}
						runInterop(t, g, argv, opts, offer, gw.deflate)
					})
				}
			}
		})
	}
}

// runInterop connects one client to g and walks it through the id, both kinds of
// ping, every push in interopPushes and a server Close. gatewayDeflate is as
// interopGateway.deflate.
func runInterop(t *testing.T, g *testGateway, argv, opts []string, offered bool, gatewayDeflate *bool) {
	p := startInteropProc(t, argv, g.wsURL, opts...)

	open := p.next(t, "open")
	t.Logf("%s %s: deflate offered=%v negotiated=%v (Sec-WebSocket-Extensions %q)",
		open.Library, open.Version, open.DeflateOffered, open.Deflate, open.Extensions)
	if open.DeflateOffered != offered {
		t.Fatalf("client says deflate offered=%v, want %v", open.DeflateOffered, offered)
	}
	if open.Deflate && !offered {
		t.Errorf("permessage-deflate negotiated although the client did not offer it")
	}
	if gatewayDeflate != nil && offered && open.Deflate != *gatewayDeflate {
		t.Errorf("client offered permessage-deflate: negotiated=%v, want %v for this gateway", open.Deflate, *gatewayDeflate)
	}

	id := p.next(t, "id").ID
	if len(id) != 36 {
		t.Fatalf("id %q: want a 36-character UUID", id)
	}
	// Both answers come before any push: the client reports them in either order.
	got := map[string]bool{}
	for range 2 {
		e := p.nextOf(t, "pong_text", "pong_control")
		if got[e.Event] {
			t.Fatalf("second %s", e.Event)
		}
		got[e.Event] = true
		if e.Event == "pong_control" && e.Payload != interopPingData {
			t.Errorf("Pong payload %q, want %q", e.Payload, interopPingData)
		}
	}

	pushes := interopPushes()
	// The small pushes go in one burst (well under -send-queue, so no slow-consumer
	// close is allowed) to check their order; each 1 MiB one goes alone, since two
	// queued together would be over the default 1 MiB queue.
	var burst, single []interopPush
	for _, m := range pushes {
		if len(m.data) >= 1<<20 {
			single = append(single, m)
		} else {
			burst = append(burst, m)
		}
	}
	for _, m := range burst {
		interopSend(t, g, id, m)
	}
	for _, m := range burst {
		p.expectMessage(t, m)
	}
	for _, m := range single {
		interopSend(t, g, id, m)
		p.expectMessage(t, m)
	}

	g.mustPost(t, "/client/close", map[string]any{"client_id": id, "code": 4001, "reason": "bye"})
	if e := p.next(t, "close"); e.Code != 4001 || e.Reason != "bye" {
		t.Errorf("close: code %d reason %q, want 4001 %q", e.Code, e.Reason, "bye")
	}
	g.expectEnd(t, id, poller.ReasonServerClose, 4001)
	p.wait(t)
	eventually(t, "the client to leave the registry", func() bool {
		return g.number(t, "/client/count", "count") == 0
	})
}

// interopPush is one message the test sends through the API.
type interopPush struct {
	name   string
	binary bool
	data   []byte
}

// interopPushes returns text and binary messages at every payload-length
// boundary of RFC 6455 section 5.2 (7-bit, 16-bit, 64-bit lengths), up to 1 MiB,
// plus a long multi-byte UTF-8 text and random binaries. Texts are multi-byte UTF-8 padded to the
// exact length; binaries hold every byte value, invalid UTF-8 included.
func interopPushes() []interopPush {
	var out []interopPush
	for _, n := range []int{0, 125, 126, 65535, 64 << 10, 1 << 20} {
		out = append(out,
			interopPush{fmt.Sprintf("text/%d", n), false, utf8Text(n)},
			interopPush{fmt.Sprintf("binary/%d", n), true, binaryPattern(n)},
		)
	}
	out = append(out, interopPush{"text/utf8", false, []byte(strings.Repeat("héllo wörld 你好 🎉", 1000))})
	// Incompressible: permessage-deflate must fall back to stored blocks.
	rng := rand.NewChaCha8([32]byte{'w', 's', 'g', 'a', 't', 'e'})
	for _, n := range []int{64 << 10, 1 << 20} {
		b := make([]byte, n)
		rng.Read(b)
		out = append(out, interopPush{fmt.Sprintf("binary/random/%d", n), true, b})
	}
	return out
}

// utf8Text returns exactly n bytes of valid UTF-8, mostly multi-byte runes.
func utf8Text(n int) []byte {
	const unit = "héllo wörld 你好 🎉 "
	s := strings.Repeat(unit, n/len(unit)+1)
	b := []byte(s[:n])
	for len(b) > 0 && !utf8.Valid(b) { // cut inside a rune: drop it and pad
		b = b[:len(b)-1]
	}
	return append(b, strings.Repeat("x", n-len(b))...)
}

func binaryPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

func interopSend(t *testing.T, g *testGateway, id string, m interopPush) {
	t.Helper()
	body := map[string]any{"client_id": id}
	if m.binary {
		body["data_base64"] = base64.StdEncoding.EncodeToString(m.data)
	} else {
		body["data"] = string(m.data)
	}
	if out := g.mustPost(t, "/send/client", body); out["sent"] != float64(1) {
		t.Fatalf("send %s: %v, want sent 1", m.name, out)
	}
}

// interopEvent is one line a client script prints.
type interopEvent struct {
	Event string `json:"event"`
	// open
	Library        string `json:"library"`
	Version        string `json:"version"`
	DeflateOffered bool   `json:"deflate_offered"`
	Deflate        bool   `json:"deflate"`
	Extensions     string `json:"extensions"`
	// id
	ID string `json:"id"`
	// pong_control
	Payload string `json:"payload"`
	// message
	Binary     bool   `json:"binary"`
	Len        int    `json:"len"`
	SHA256     string `json:"sha256"`
	TextPrefix string `json:"text_prefix"`
	// close
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	// error
	Message string `json:"message"`
}

// interopProc is a running client script.
type interopProc struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	events chan interopEvent // closed at EOF on the script's stdout
	waited bool
}

// startInteropProc starts argv with url and opts appended. The process is killed, if
// still running, when the test ends, and its stderr is logged if the test failed.
func startInteropProc(t *testing.T, argv []string, url string, opts ...string) *interopProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopRunLimit)
	cmd := exec.CommandContext(ctx, argv[0], slices.Concat(argv[1:], []string{url}, opts)...)
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe() // the script aborts at EOF, so it dies with the test
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %v: %v", argv, err)
	}
	p := &interopProc{cmd: cmd, stdin: stdin, events: make(chan interopEvent, 64)}
	go func() {
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var e interopEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Event == "" {
				e = interopEvent{Event: "error", Message: fmt.Sprintf("bad line %q", sc.Text())}
			}
			p.events <- e
		}
		io.Copy(io.Discard, stdout) // a line over the limit: keep the pipe drained
	}()
	t.Cleanup(func() {
		defer cancel()
		if !p.waited {
			stdin.Close()
			cancel()
			for range p.events { // EOF once the process is gone
			}
			cmd.Wait()
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", filepath.Base(argv[1]), stderr.Bytes())
		}
	})
	return p
}

// next returns the next event, failing the test unless it is a want event.
func (p *interopProc) next(t *testing.T, want string) interopEvent {
	t.Helper()
	return p.nextOf(t, want)
}

// nextOf returns the next event, failing the test unless it is one of want.
// An error event, the script's exit or interopStep without an event fail it too.
func (p *interopProc) nextOf(t *testing.T, want ...string) interopEvent {
	t.Helper()
	timer := time.NewTimer(interopStep)
	defer timer.Stop()
	select {
	case e, ok := <-p.events:
		switch {
		case !ok:
			t.Fatalf("client exited while the test waited for %s", strings.Join(want, " or "))
		case e.Event == "error":
			t.Fatalf("client error (waiting for %s): %s", strings.Join(want, " or "), e.Message)
		}
		for _, w := range want {
			if e.Event == w {
				return e
			}
		}
		t.Fatalf("want %s, got %+v", strings.Join(want, " or "), e)
	case <-timer.C:
		t.Fatalf("timed out after %v waiting for %s", interopStep, strings.Join(want, " or "))
	}
	panic("unreachable")
}

// expectMessage checks that the next event reports m, byte for byte.
func (p *interopProc) expectMessage(t *testing.T, m interopPush) {
	t.Helper()
	e := p.next(t, "message")
	sum := sha256.Sum256(m.data)
	if e.Binary != m.binary || e.Len != len(m.data) || e.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("%s: got binary=%v len=%d sha256=%s, want binary=%v len=%d sha256=%x",
			m.name, e.Binary, e.Len, e.SHA256, m.binary, len(m.data), sum)
	}
	if !m.binary {
		if want := firstRunes(string(m.data), 16); e.TextPrefix != want {
			t.Errorf("%s: text prefix %q, want %q", m.name, e.TextPrefix, want)
		}
	}
}

func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// wait expects the script to exit 0 with no further event.
func (p *interopProc) wait(t *testing.T) {
	t.Helper()
	timer := time.NewTimer(interopStep)
	defer timer.Stop()
	for open := true; open; {
		select {
		case e, ok := <-p.events:
			if ok {
				t.Fatalf("unexpected event after the Close: %+v", e)
			}
			open = false
		case <-timer.C:
			t.Fatalf("client still running %v after the Close", interopStep)
		}
	}
	p.waited = true
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("client exit: %v", err)
	}
}

// findNodeClient returns the node command for client.mjs, or skips (fails under
// CI=true) when node or the ws package is missing.
func findNodeClient(t *testing.T) []string {
	node, err := exec.LookPath("node")
	if err != nil {
		interopMissing(t, "node is not on PATH")
	}
	dir, err := filepath.Abs(interopDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ws", "package.json")); err != nil {
		interopMissing(t, "the npm package ws is not installed: run npm ci --prefix scripts/interop")
	}
	return []string{node, filepath.Join(dir, "client.mjs")}
}

// findPythonClient returns Debian's python3 with client.py, or skips (fails under
// CI=true) when it or python3-websockets is missing.
func findPythonClient(t *testing.T) []string {
	if _, err := os.Stat(interopPython); err != nil {
		interopMissing(t, interopPython+" is missing: apt-get install python3-websockets")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, interopPython, "-c", "import websockets").CombinedOutput(); err != nil {
		interopMissing(t, fmt.Sprintf("%s cannot import websockets (%v: %s): apt-get install python3-websockets",
			interopPython, err, bytes.TrimSpace(out)))
	}
	dir, err := filepath.Abs(interopDir)
	if err != nil {
		t.Fatal(err)
	}
	return []string{interopPython, filepath.Join(dir, "client.py")}
}

// interopMissing skips the test for a missing tool, or fails it under CI=true,
// where .ci/run has installed every tool.
func interopMissing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("interop client missing under CI=true: %s", why)
	}
	t.Skipf("interop client missing: %s (CI=true would fail here)", why)
}
