package poller_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/poller"
)

// Limits of the server FuzzHandshake runs against.
const (
	fuzzHandshakeTimeout = 200 * time.Millisecond
	fuzzMaxHeaderBytes   = 1024
)

// FuzzHandshake writes each input as the opening bytes of a fresh TCP
// connection to ONE server (started before f.Fuzz) and checks the invariants
// of the opening handshake (RFC 6455 section 4.2.1):
//
//   - the server answers with a 101 only if the input is a valid opening
//     handshake (judgeUpgrade), and then with the right Sec-WebSocket-Accept
//     and no subprotocol or extension the input did not offer; a plainly
//     valid handshake does get its 101;
//   - otherwise it answers with an HTTP/1.1 4xx or 5xx status line and closes,
//     or closes without an answer, at the latest at the handshake timeout:
//     never a hang;
//   - the server survives (a panic would kill the fuzz worker) and a healthy
//     client can connect right after.
func FuzzHandshake(f *testing.F) {
	s := startConfServer(f, poller.Config{
		HandshakeTimeout: fuzzHandshakeTimeout,
		MaxHeaderBytes:   fuzzMaxHeaderBytes,
	})

	key := "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455 section 1.3
	valid := upgradeRequest("/chat", key)
	f.Add(valid.bytes())
	f.Add(valid.set("Origin", "http://example.com").set("Sec-WebSocket-Protocol", "chat, superchat").bytes())
	f.Add(valid.set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits").bytes())
	f.Add(valid.set("Sec-WebSocket-Extensions", "permessage-deflate; foo=bar, permessage-deflate").bytes())
	f.Add(valid.set("Connection", "keep-alive, Upgrade").without("Upgrade").add("upgrade: WebSocket").bytes())
	f.Add(append(valid.bytes(), enc(textF("ping"), closeF(closeBody(1000, "")))...)) // frames pipelined after the head
	for _, tc := range handshakeCases() {
		if len(tc.raw) <= fuzzMaxHeaderBytes+256 {
			f.Add(tc.raw)
		}
	}
	f.Add(valid.set("Upgrade", "h2c, websocket").bytes())
	f.Add(valid.set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!!!").bytes())
	f.Add(valid.line("GET  HTTP/1.1").bytes())
	f.Add(valid.line("GET / HTTP/1.:").bytes())
	f.Add(valid.line("GET / HTTP/01.1").bytes())
	f.Add(valid.line("GET / HTTP/1.1 x").bytes())
	f.Add(bytes.ReplaceAll(valid.bytes(), []byte("\r\n"), []byte("\n")))          // bare LFs: never ends
	f.Add(valid.bytes()[:40])                                                     // stalls mid-head
	f.Add(valid.add("X-Pad: " + strings.Repeat("x", fuzzMaxHeaderBytes)).bytes()) // head over the limit
	f.Add([]byte{})
	f.Add([]byte("\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
	f.Add(tlsClientHello())
	f.Add([]byte{0xff, 0x00, 0x80, 0x81, 0x7f, '\r', '\n', '\r', '\n'})

	f.Fuzz(func(t *testing.T, in []byte) {
		a, _, _ := exchangeRaw(t, s.addr, in, fuzzHandshakeTimeout+time.Second)
		v := judgeUpgrade(in, fuzzMaxHeaderBytes)
		switch {
		case a.status == http.StatusSwitchingProtocols:
			if v.reason != "" {
				t.Fatalf("101 for an invalid handshake (%s): %q", v.reason, in)
			}
			checkUpgradeAnswer(t, a, v.key, v.extensions)
		case a.statusLine != "":
			if a.status < 400 || a.status > 599 || !strings.HasPrefix(a.statusLine, "HTTP/1.1 ") {
				t.Fatalf("answer %q to %q, want 101 or an HTTP/1.1 4xx/5xx status", a.statusLine, in)
			}
			if !a.closed {
				t.Fatalf("after %q the server did not close within %v (%v); input %q", a.statusLine, a.elapsed, a.readErr, in)
			}
		case !a.closed:
			t.Fatalf("no answer and no close within %v (%v, %v); input %q", a.elapsed, a.readErr, a.statusLine, in)
		}
		if v.reason == "" && v.clear && a.status != http.StatusSwitchingProtocols {
			t.Fatalf("valid handshake got %q (closed %v) instead of 101: %q", a.statusLine, a.closed, in)
		}
		// The server is still up and upgrades a healthy client.
		c := openWS(t, s.addr, "/")
		c.roundTrip()
	})
}

// upgradeVerdict is judgeUpgrade's answer.
type upgradeVerdict struct {
	reason     string   // why the input is not a valid opening handshake; "" if it is
	key        string   // the Sec-WebSocket-Key (the last one)
	extensions []string // offered Sec-WebSocket-Extensions values
	// clear: the head has CRLF line ends and each WebSocket header once, so a
	// valid one MUST be upgraded (no lenient-parsing question arises).
	clear bool
}

// judgeUpgrade decides, independently of gobwas/ws, whether raw (the first
// bytes of a connection) is a valid opening handshake for a server with no
// Path and no Origin rules and a head limit of maxHeader bytes: RFC 6455
// section 4.2.1, with HTTP parsed leniently (bare LF line ends and
// whitespace around names are tolerated, as RFC 7230 section 3.5 allows).
func judgeUpgrade(raw []byte, maxHeader int) upgradeVerdict {
	var v upgradeVerdict
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	switch {
	case end < 0:
		v.reason = "no end of head"
		return v
	case end+4 > maxHeader:
		v.reason = "head over MaxHeaderBytes"
		return v
	}
	head := string(raw[:end+4])
	v.clear = !strings.Contains(strings.ReplaceAll(head, "\r\n", ""), "\n")
	var lines []string
	for head != "" {
		line, rest, _ := strings.Cut(head, "\n")
		head = rest
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		v.reason = "no request line"
		return v
	}
	method, rest, _ := strings.Cut(lines[0], " ")
	target, version, _ := strings.Cut(rest, " ")
	minor, isHTTP1 := strings.CutPrefix(version, "HTTP/1.")
	n, err := strconv.Atoi(minor)
	switch {
	case method != http.MethodGet:
		v.reason = "method " + strconv.Quote(method)
		return v
	case !isHTTP1 || err != nil || n < 1 || len(minor) != 1:
		v.reason = "version " + strconv.Quote(version)
		return v
	case target == "":
		v.reason = "no Request-URI"
		return v
	}
	seen := map[string]int{}
	var upgrade, connection, version13 []string
	for _, l := range lines[1:] {
		k, val, ok := strings.Cut(l, ":")
		if !ok {
			v.reason = "header line without a colon"
			return v
		}
		k, val = strings.ToLower(trimOWS(k)), trimOWS(val)
		seen[k]++
		switch k {
		case "upgrade":
			upgrade = append(upgrade, val)
		case "connection":
			connection = append(connection, val)
		case "sec-websocket-version":
			version13 = append(version13, val)
		case "sec-websocket-key":
			v.key = val
		case "sec-websocket-extensions":
			v.extensions = append(v.extensions, val)
		}
	}
	for _, h := range []string{"host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version"} {
		if seen[h] != 1 {
			v.clear = false
		}
	}
	if len(v.extensions) > 0 {
		// The offer's own syntax (RFC 6455 section 9.1, RFC 7692) is not
		// judged here: TestRFC7692PermessageDeflateNegotiation covers it.
		v.clear = false
	}
	keyBytes, keyErr := base64.StdEncoding.DecodeString(v.key)
	switch {
	case seen["host"] == 0:
		v.reason = "no Host"
	case !listHas(upgrade, "websocket"):
		v.reason = "no websocket in Upgrade"
	case !listHas(connection, "upgrade"):
		v.reason = "no Upgrade in Connection"
	case len(version13) == 0 || !allEqual(version13, "13"):
		v.reason = "Sec-WebSocket-Version not 13"
	case seen["sec-websocket-key"] != 1:
		v.reason = "Sec-WebSocket-Key " + strconv.Itoa(seen["sec-websocket-key"]) + " times"
	case keyErr != nil || len(keyBytes) != 16:
		v.reason = "Sec-WebSocket-Key " + strconv.Quote(v.key) + " is not base64 of 16 bytes"
	}
	return v
}

// trimOWS trims optional whitespace (RFC 7230 section 3.2.3: SP and HTAB).
func trimOWS(s string) string { return strings.Trim(s, " \t") }

// listHas reports whether the comma-separated values hold token,
// case-insensitively (RFC 7230 section 7).
func listHas(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(trimOWS(t), token) {
				return true
			}
		}
	}
	return false
}

func allEqual(xs []string, want string) bool {
	for _, x := range xs {
		if x != want {
			return false
		}
	}
	return true
}
