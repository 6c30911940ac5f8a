package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/internal/gatewaytest"
	"github.com/wsgate/wsgate/poller"
)

func TestMain(m *testing.M) {
	if err := gateway.Setup(gateway.Process{}); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// testGateway is a real gateway on ephemeral loopback ports that records how
// each connection ended, as its OnClose hook reported it.
type testGateway struct {
	*gateway.Gateway
	wsURL, apiURL string
	ends          sync.Map // client id -> poller.Closure
}

// startGateway starts a gateway whose config the options adjust and shuts it
// down when the test ends.
func startGateway(t testing.TB, opts ...func(*gateway.Config)) *testGateway {
	t.Helper()
	tg := &testGateway{}
	record := func(cfg *gateway.Config) {
		cfg.OnClose = func(c *poller.Conn, cl poller.Closure) {
			if _, dup := tg.ends.LoadOrStore(c.ID(), cl); dup {
				t.Errorf("second OnClose for %s (%v)", c.ID(), cl)
			}
		}
	}
	g := gatewaytest.Start(t, append([]func(*gateway.Config){record}, opts...)...)
	tg.Gateway, tg.wsURL, tg.apiURL = g.Gateway, g.WSURL, g.APIURL
	return tg
}

// expectEnd waits for OnClose of client id and checks its reason and code.
func (g *testGateway) expectEnd(t testing.TB, id string, r poller.Reason, code int) {
	t.Helper()
	var cl poller.Closure
	eventually(t, "OnClose of "+id, func() bool {
		v, ok := g.ends.Load(id)
		if ok {
			cl = v.(poller.Closure)
		}
		return ok
	})
	if cl.Reason != r || int(cl.Code) != code {
		t.Errorf("client %s ended with %v %d, want %v %d", id, cl.Reason, cl.Code, r, code)
	}
}

// expectClose reads until the server's Close, checks its code, and checks
// that OnClose reported reason r with that code.
func (g *testGateway) expectClose(t testing.TB, c *websocket.Conn, id string, code int, r poller.Reason) {
	t.Helper()
	if got := readClose(t, c, 5*time.Second); got != code {
		t.Fatalf("client %s: close code %d, want %d", id, got, code)
	}
	g.expectEnd(t, id, r, code)
}

// dial connects a gorilla client and reads its id frame.
func (g *testGateway) dial(t testing.TB) (*websocket.Conn, string) {
	t.Helper()
	c, id, status, body := g.dialWith(t, "", nil)
	if c == nil {
		t.Fatalf("dial: HTTP %d %q", status, body)
	}
	return c, id
}

// dialWith connects with a query ("" for none) and request headers, and
// reads the id frame; a refused upgrade returns a nil conn with the HTTP
// status and body.
func (g *testGateway) dialWith(t testing.TB, query string, header http.Header) (c *websocket.Conn, id string, status int, body string) {
	t.Helper()
	url := g.wsURL
	if query != "" {
		url += "?" + query
	}
	c, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		return nil, "", resp.StatusCode, string(b)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	op, p, err := c.ReadMessage()
	if err != nil || op != websocket.TextMessage {
		t.Fatalf("id frame: op %d, err %v", op, err)
	}
	c.SetReadDeadline(time.Time{})
	return c, string(p), http.StatusSwitchingProtocols, ""
}

// call sends one API request (body "" means none) and decodes the JSON answer.
func (g *testGateway) call(t testing.TB, method, path, body string) (int, map[string]any) {
	t.Helper()
	status, raw := g.callRaw(t, method, path, body, nil)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object: %v", method, path, raw, err)
	}
	return status, out
}

func (g *testGateway) callRaw(t testing.TB, method, path, body string, header http.Header) (int, []byte) {
	t.Helper()
	resp, raw := g.send(t, method, path, body, header)
	return resp.StatusCode, raw
}

// send makes one API request and returns the response and its body. A POST
// says Content-Type: application/json, as the docs tell every caller; header
// adds to or replaces the request's headers ("Host" sets the Host, an empty
// value removes a header).
func (g *testGateway) send(t testing.TB, method, path, body string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.apiURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		switch {
		case k == "Host":
			req.Host = v[0]
		case len(v) == 1 && v[0] == "":
			req.Header.Del(k)
		default:
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// post is call with POST and a JSON body built from v.
func (g *testGateway) post(t testing.TB, path string, v any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return g.call(t, http.MethodPost, path, string(b))
}

// mustPost posts and fails the test unless the answer is 200.
func (g *testGateway) mustPost(t testing.TB, path string, v any) map[string]any {
	t.Helper()
	status, out := g.post(t, path, v)
	if status != http.StatusOK {
		t.Fatalf("POST %s %v: %d %v", path, v, status, out)
	}
	return out
}

// number reads a numeric GET answer field.
func (g *testGateway) number(t testing.TB, path, field string) int {
	t.Helper()
	status, out := g.call(t, http.MethodGet, path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, status, out)
	}
	n, ok := out[field].(float64)
	if !ok {
		t.Fatalf("GET %s: field %q missing in %v", path, field, out)
	}
	return int(n)
}

// readText reads one message with a deadline and returns its payload.
func readText(t testing.TB, c *websocket.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(p)
}

// readClose reads until the server's Close and returns its code.
func readClose(t testing.TB, c *websocket.Conn, within time.Duration) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		if ce := (*websocket.CloseError)(nil); errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("want a Close frame, got %v", err)
	}
}

// eventually polls cond until it holds (see gatewaytest.Eventually).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	gatewaytest.Eventually(t, what, cond)
}
