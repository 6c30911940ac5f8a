package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/gateway"
)

// TestAPIRefusesBrowserShapedRequests sends what a page on another site can
// make a browser send (simple POSTs, cross-site Origins, a rebinding Host):
// each is refused with its status and changes nothing, while curl-style
// requests and the API's own origin go through.
func TestAPIRefusesBrowserShapedRequests(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) {
		c.API.AllowedOrigins = []string{"https://admin.example"}
		c.API.AllowedHosts = []string{"gw.internal"}
	})
	c, id := g.dial(t)
	own := "http://" + g.APIAddr().String()
	push := `{"client_id":"` + id + `","data":"x"}`
	tests := []struct {
		name   string
		header http.Header
		status int
	}{
		{"text/plain simple POST", http.Header{"Content-Type": {"text/plain"}}, 415},
		{"form POST", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, 415},
		{"no Content-Type", http.Header{"Content-Type": {""}}, 415},
		{"JSON from another origin", http.Header{"Origin": {"http://evil.example"}}, 403},
		{"text/plain from another origin", http.Header{"Origin": {"http://evil.example"}, "Content-Type": {"text/plain"}}, 403},
		{"null origin (sandboxed page)", http.Header{"Origin": {"null"}}, 403},
		{"Sec-Fetch-Site cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
		{"Sec-Fetch-Site same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}, 403},
		{"rebinding Host", http.Header{"Host": {"evil.example:8283"}}, 403},
		{"rebinding Host with its own Origin", http.Header{"Host": {"evil.example"}, "Origin": {"http://evil.example"}}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := g.callRaw(t, http.MethodPost, "/send/client", push, tt.header)
			if status != tt.status || !strings.Contains(string(body), `"error"`) {
				t.Fatalf("status %d %s, want %d with a JSON error", status, body, tt.status)
			}
		})
	}
	for _, tt := range []struct {
		name   string
		header http.Header
	}{
		{"curl style", nil},
		{"JSON with charset", http.Header{"Content-Type": {"Application/JSON; charset=utf-8"}}},
		{"own origin", http.Header{"Origin": {own}, "Sec-Fetch-Site": {"same-origin"}}},
		{"allowed origin", http.Header{"Origin": {"https://admin.example"}, "Sec-Fetch-Site": {"cross-site"}}},
		{"localhost", http.Header{"Host": {"localhost:8283"}}},
		{"allowed host", http.Header{"Host": {"gw.internal"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := g.callRaw(t, http.MethodPost, "/send/client", push, tt.header)
			if status != 200 {
				t.Fatalf("status %d %s, want 200", status, body)
			}
			if got := readText(t, c); got != "x" {
				t.Fatalf("client got %q", got)
			}
		})
	}
	// Only the pushes that were let through arrived: nothing else is queued.
	g.mustPost(t, "/send/client", map[string]any{"client_id": id, "data": "last"})
	if got := readText(t, c); got != "last" {
		t.Fatalf("a refused push was delivered: got %q before the last one", got)
	}
	// GETs obey the same rules; /healthz stays open for load balancers.
	if status, _ := g.callRaw(t, http.MethodGet, "/stats", "", http.Header{"Origin": {"http://evil.example"}}); status != 403 {
		t.Errorf("cross-origin GET /stats: %d, want 403", status)
	}
	if status, _ := g.callRaw(t, http.MethodGet, "/healthz", "", http.Header{"Host": {"evil.example"}, "Origin": {"http://evil.example"}}); status != 200 {
		t.Errorf("GET /healthz under any host: %d, want 200", status)
	}
}

// TestAPICORSOnlyForAllowedOrigins: no CORS header unless the origin is
// allowed; an allowed origin's preflight is answered, another's refused.
func TestAPICORSOnlyForAllowedOrigins(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.API.AllowedOrigins = []string{"https://admin.example"} })
	preflight := http.Header{"Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"}}
	for _, tt := range []struct {
		origin string
		status int
		cors   bool
	}{
		{"https://admin.example", 204, true},
		{"https://evil.example", 403, false},
	} {
		h := preflight.Clone()
		h.Set("Origin", tt.origin)
		resp, _ := g.send(t, http.MethodOptions, "/send/all", "", h)
		if resp.StatusCode != tt.status || (resp.Header.Get("Access-Control-Allow-Origin") != "") != tt.cors {
			t.Errorf("preflight from %s: %d, Allow-Origin %q", tt.origin, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		if tt.cors && (resp.Header.Get("Access-Control-Allow-Origin") != tt.origin || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type")) {
			t.Errorf("preflight headers %v", resp.Header)
		}
	}
	resp, _ := g.send(t, http.MethodGet, "/client/count", "", nil)
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("CORS header %s on a request without an allowed origin", k)
		}
	}
}

// TestAPITokenCheckedBeforeTheBody: with a token set, a request without it
// is answered 401 as soon as its head is in, without waiting for (or
// reading) the body it declares; unknown routes say 401 too; the scheme is
// case-insensitive.
func TestAPITokenCheckedBeforeTheBody(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.API.Token = "s3cret" })
	for _, path := range []string{"/send/all", "/no/such/route"} {
		conn := g.rawAPI(t)
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4194304\r\n\r\n", path)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: no answer before the body: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s without a token: %d, want 401", path, resp.StatusCode)
		}
	}
	if status, body := g.callRaw(t, http.MethodGet, "/client/count", "", http.Header{"Authorization": {"bearer s3cret"}}); status != 200 {
		t.Errorf("lower-case bearer scheme: %d %s", status, body)
	}
}

// TestAPIBodyBudget: bodies being read count against -api-max-inflight; a
// request that finds no room gets 503 at once, its body unread, and the room
// comes back when the body that held it is done or abandoned.
func TestAPIBodyBudget(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.API.MaxBody, c.API.MaxInflight = 64<<10, 100<<10 })
	// stall declares 64 KiB, sends a little of it and stalls: 64 of the
	// 100 KiB are held while its connection is open.
	stall := func() net.Conn {
		c := g.rawAPI(t)
		fmt.Fprintf(c, "POST /send/all HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"data\":\"", 64<<10)
		return c
	}
	slow := stall()
	big := `{"data":"` + strings.Repeat("x", 50<<10) + `"}`
	eventually(t, "the stalled body to hold its room", func() bool {
		// Heads on two connections race: if a probe held its room when the
		// stalled head came, that one got the 503; stall again.
		slow.SetReadDeadline(time.Now().Add(time.Millisecond))
		if n, _ := slow.Read(make([]byte, 1)); n > 0 {
			slow.Close()
			slow = stall()
			return false
		}
		// The 503 comes from the head, before the body is read: the body's
		// write can then fail (broken pipe, reset) before the answer is read.
		resp, err := http.Post(g.apiURL+"/send/all", "application/json", strings.NewReader(big))
		if err != nil {
			return true
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if status, body := g.callRaw(t, http.MethodPost, "/send/all", `{"data":"small"}`, nil); status != 200 {
		t.Fatalf("a small body while 64 KiB are held: %d %s", status, body)
	}
	slow.Close() // abandoned mid-body: its room comes back
	eventually(t, "the room to come back", func() bool {
		status, _ := g.callRaw(t, http.MethodPost, "/send/all", big, nil)
		return status == 200
	})
}

// TestAPIChunkedBodyOverTheLimit: a chunked body over -api-max-body gets
// 413 (fasthttp resets the request when it stops reading such a body: the
// answer must not judge an emptied request), and a refused chunked request
// keeps its own refusal.
func TestAPIChunkedBodyOverTheLimit(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.API.MaxBody = 100 })
	for _, tc := range []struct {
		host   string
		status int
	}{{"127.0.0.1", 413}, {"evil.example", 403}} {
		conn := g.rawAPI(t)
		fmt.Fprintf(conn, "POST /send/all HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n%s\r\n0\r\n\r\n", tc.host, strings.Repeat("x", 200))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("chunked body over the limit, Host %s: %d, want %d", tc.host, resp.StatusCode, tc.status)
		}
	}
}

// TestAPIIdleConnectionClosedSilently: a connection that sends nothing is
// closed at the read timeout without an unsolicited answer.
func TestAPIIdleConnectionClosedSilently(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.API.Timeout = 300 * time.Millisecond })
	conn := g.rawAPI(t)
	n, err := conn.Read(make([]byte, 512))
	if n != 0 || err == nil {
		t.Fatalf("idle connection got %d bytes (%v), want a silent close", n, err)
	}
}

// TestAPIShutdownDoesNotWaitForSilentConnections: an API connection that
// never sends a request (a browser's preconnect) does not hold the shutdown
// until the read timeout: it is closed after the grace.
func TestAPIShutdownDoesNotWaitForSilentConnections(t *testing.T) {
	g := startGateway(t)
	conn := g.rawAPI(t)
	time.Sleep(50 * time.Millisecond) // accepted, waiting for a request
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v with one silent API connection", d)
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := conn.Read(make([]byte, 64)); n != 0 || err == nil {
		t.Fatalf("the silent connection got %d bytes (%v), want it closed", n, err)
	}
}

// TestAPILongURL gets 414, not a generic 400. (The URL fits in the socket
// buffers, so the client's write is done before the server answers and
// closes: with 100 KB the server's close would reset a client still writing.)
func TestAPILongURL(t *testing.T) {
	g := startGateway(t)
	conn := g.rawAPI(t)
	fmt.Fprintf(conn, "GET /client/info?client_id=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", strings.Repeat("a", 8<<10))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestURITooLong {
		t.Fatalf("8 KiB URL: %d, want 414", resp.StatusCode)
	}
}

// rawAPI opens a TCP connection to the API, with a 3 s deadline, closed when
// the test ends: for requests an HTTP client would not send.
func (g *testGateway) rawAPI(t *testing.T) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", g.APIAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	return conn
}
