package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/internal/webhooktest"
	"github.com/wsgate/wsgate/poller"
)

// startNATS runs a NATS server in this process on a random (or the given)
// loopback port, stopped when the test ends.
func startNATS(t *testing.T, port int) *natsserver.Server {
	t.Helper()
	return startNATSWith(t, &natsserver.Options{Port: port})
}

// startNATSWith is startNATS with more options.
func startNATSWith(t *testing.T, o *natsserver.Options) *natsserver.Server {
	t.Helper()
	if o.Port == 0 {
		o.Port = -1
	}
	o.Host, o.NoLog, o.NoSigs = "127.0.0.1", true, true
	s, err := natsserver.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("NATS did not start")
	}
	t.Cleanup(s.Shutdown)
	return s
}

// startNode starts a gateway that is node id of the cluster on natsURL.
func startNode(t *testing.T, natsURL, id string, opts ...func(*gateway.Config)) *testGateway {
	t.Helper()
	return startGateway(t, append([]func(*gateway.Config){func(c *gateway.Config) {
		c.Cluster.NATSURL, c.Cluster.NodeID = natsURL, id
		c.Cluster.Heartbeat = 200 * time.Millisecond
		c.DrainDuration = 200 * time.Millisecond
	}}, opts...)...)
}

// TestClusterNodesSendTheirOwnEvents: with two nodes posting to one backend,
// each client's events come from its own node (named in them), and a
// client on one node closed through the other node's API gets its
// disconnected from its node, by "api".
func TestClusterNodesSendTheirOwnEvents(t *testing.T) {
	nats := startNATS(t, 0)
	rc := webhooktest.New(t, nil)
	hooks := withWebhook(rc, "connected", "disconnected")
	n1, n2 := startNode(t, nats.ClientURL(), "n1", hooks), startNode(t, nats.ClientURL(), "n2", hooks)
	waitNodes(t, []string{"n1", "n2"}, n1, n2)
	_, id1 := n1.dial(t)
	_, id2 := n2.dial(t)
	n1.mustPost(t, "/client/close", map[string]any{"client_id": id2})
	// At least once: a retried request repeats its events, so count ids.
	distinct := func() int {
		ids := map[any]bool{}
		for _, e := range rc.Events() {
			ids[e["id"]] = true
		}
		return len(ids)
	}
	eventually(t, "both nodes' events", func() bool { return distinct() >= 5 }) // 2 node.started, 2 connected, 1 disconnected
	if n := distinct(); n != 5 {
		t.Fatalf("events %q: %d distinct, want 5", rc.Summary(), n)
	}
	from := map[string]string{}
	for _, e := range rc.Events() {
		if id, ok := e["client_id"].(string); ok {
			from[e["type"].(string)+" "+id] = fmt.Sprint(e["node"], " ", e["by"])
		}
	}
	want := map[string]string{"connected " + id1: "n1 <nil>", "connected " + id2: "n2 <nil>", "disconnected " + id2: "n2 api"}
	if !maps.Equal(from, want) {
		t.Fatalf("events by node: %v, want %v", from, want)
	}
}

// nodeIDs is what GET /cluster/nodes lists, sorted.
func (g *testGateway) nodeIDs(t *testing.T) []string {
	t.Helper()
	var out struct {
		Nodes []struct {
			ID string `json:"id"`
		} `json:"nodes"`
	}
	_, raw := g.callRaw(t, http.MethodGet, "/cluster/nodes", "", nil)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("/cluster/nodes: %s", raw)
	}
	var ids []string
	for _, n := range out.Nodes {
		ids = append(ids, n.ID)
	}
	slices.Sort(ids)
	return ids
}

// waitNodes waits until every gateway lists exactly ids.
func waitNodes(t *testing.T, ids []string, gs ...*testGateway) {
	t.Helper()
	for _, g := range gs {
		eventually(t, fmt.Sprintf("nodes %v", ids), func() bool { return slices.Equal(g.nodeIDs(t), ids) })
	}
}

// TestClusterActsAsOneGateway: three nodes on one NATS; every operation
// through any node's API works on clients of every node, counts are distinct
// over the cluster, listings return every name once, and one caller's
// messages to one client keep their order whatever node takes them.
func TestClusterActsAsOneGateway(t *testing.T) {
	nats := startNATS(t, 0)
	n1, n2, n3 := startNode(t, nats.ClientURL(), "n1"), startNode(t, nats.ClientURL(), "n2"), startNode(t, nats.ClientURL(), "n3")
	waitNodes(t, []string{"n1", "n2", "n3"}, n1, n2, n3)
	a, idA := n1.dial(t)
	b, idB := n2.dial(t)
	c, idC := n3.dial(t)

	// Membership through other nodes than the clients'.
	n1.mustPost(t, "/uid/bind", map[string]any{"client_id": idB, "uid": "u1"})
	n2.mustPost(t, "/uid/bind", map[string]any{"client_id": idC, "uid": "u1"})
	n3.mustPost(t, "/uid/bind", map[string]any{"client_id": idA, "uid": "u2"})
	n3.mustPost(t, "/group/join", map[string]any{"client_id": idA, "groups": []string{"g", "h"}})
	n1.mustPost(t, "/group/join", map[string]any{"client_id": idB, "group": "g"})
	if info := n1.mustGet(t, "/client/info?client_id="+idC); info["uid"] != "u1" {
		t.Fatalf("info of a client on another node: %v", info)
	}
	// Session data of a client on another node: set, merged, refused past
	// the limit (its node judges), read back through a third node.
	n1.mustPost(t, "/client/session", map[string]any{"client_id": idC, "session": map[string]any{"a": 1, "b": 2}})
	n2.mustPost(t, "/client/session", map[string]any{"client_id": idC, "session": map[string]any{"b": nil}, "merge": true})
	if status, out := n1.post(t, "/client/session", map[string]any{"client_id": idC, "session": map[string]any{"x": strings.Repeat("x", 5000)}}); status != 413 {
		t.Fatalf("oversized session through another node: %d %v, want 413", status, out)
	}
	if info := n2.mustGet(t, "/client/info?client_id="+idC); fmt.Sprint(info["session"]) != "map[a:1]" {
		t.Fatalf("session of a client on another node: %v", info["session"])
	}

	// Sends reach every node; "sent" counts deliveries over the cluster.
	for _, tc := range []struct {
		via  *testGateway
		path string
		body map[string]any
		sent float64
		to   []string
	}{
		{n1, "/send/client", map[string]any{"client_id": idC, "data": "one"}, 1, []string{"c"}},
		{n2, "/send/uid", map[string]any{"uid": "u1", "data": "two"}, 2, []string{"b", "c"}},
		{n3, "/send/group", map[string]any{"group": "g", "data": "three"}, 2, []string{"a", "b"}},
		{n1, "/send/all", map[string]any{"data": "four", "exclude": []string{idA}}, 2, []string{"b", "c"}},
		{n2, "/send/client", map[string]any{"client_ids": []string{idA, idB, idC}, "data": "five"}, 3, []string{"a", "b", "c"}},
	} {
		if out := tc.via.mustPost(t, tc.path, tc.body); out["sent"] != tc.sent || out["partial"] != nil {
			t.Fatalf("%s %v: %v, want sent %v, whole", tc.path, tc.body, out, tc.sent)
		}
		conns := map[string]*websocket.Conn{"a": a, "b": b, "c": c}
		for _, who := range tc.to {
			if got := readText(t, conns[who]); got != tc.body["data"] {
				t.Fatalf("%s: client %s read %q, want %q", tc.path, who, got, tc.body["data"])
			}
		}
	}

	// Counts and queries are cluster-wide and distinct.
	n1.mustPost(t, "/uid/bind", map[string]any{"client_id": idA, "uid": "u1"}) // u1 on three nodes now; u2 gone
	for _, g := range []*testGateway{n1, n2, n3} {
		if n := g.number(t, "/client/count", "count"); n != 3 {
			t.Errorf("client count %d, want 3", n)
		}
		if n := g.number(t, "/uid/count", "count"); n != 1 {
			t.Errorf("uid count %d, want 1 (one uid on three nodes counts once)", n)
		}
		if n := g.number(t, "/group/total", "count"); n != 2 {
			t.Errorf("group total %d, want 2", n)
		}
	}
	if n := n3.number(t, "/group/count?group=g", "count"); n != 2 {
		t.Errorf("group count %d, want 2", n)
	}
	if out := n2.mustGet(t, "/uid/clients?uid=u1"); len(out["client_ids"].([]any)) != 3 {
		t.Errorf("uid clients %v, want 3", out)
	}
	for _, path := range []string{"/client/list", "/uid/list", "/group/list"} {
		want := map[string][]string{"/client/list": sorted(idA, idB, idC), "/uid/list": {"u1"}, "/group/list": {"g", "h"}}[path]
		if got := walk(t, n2, path); !slices.Equal(got, want) {
			t.Errorf("walking %s one item a page: %v, want %v", path, got, want)
		}
	}

	// One caller's messages to one client keep their order, whichever node
	// and endpoint take them.
	for i := range 40 {
		via := []*testGateway{n1, n2, n3}[i%3]
		if i%2 == 0 {
			via.mustPost(t, "/send/client", map[string]any{"client_id": idC, "data": strconv.Itoa(i)})
		} else {
			via.mustPost(t, "/send/uid", map[string]any{"uid": "u1", "data": strconv.Itoa(i)})
		}
	}
	for i := range 40 {
		if got := readText(t, c); got != strconv.Itoa(i) {
			t.Fatalf("message %d: client read %q", i, got)
		}
	}

	// Closing a client on another node; its own node's hook has the reason.
	n1.mustPost(t, "/client/close", map[string]any{"client_id": idC, "code": 4002})
	n3.expectClose(t, c, idC, 4002, poller.ReasonServerClose)
	eventually(t, "two clients left", func() bool { return n1.number(t, "/client/count", "count") == 2 })
}

// walk follows a listing's cursor one item a page and returns the items.
func walk(t *testing.T, g *testGateway, path string) []string {
	t.Helper()
	key := map[string]string{"/client/list": "client_ids", "/uid/list": "uids", "/group/list": "groups"}[path]
	var items []string
	cursor := ""
	for range 100 {
		out := g.mustGet(t, path+"?limit=1&cursor="+cursor)
		for _, v := range out[key].([]any) {
			items = append(items, v.(string))
		}
		if cursor, _ = out["next_cursor"].(string); cursor == "" {
			return items
		}
	}
	t.Fatalf("%s: the walk does not end", path)
	return nil
}

// TestClusterNATSOutage: with NATS down every node serves its own clients,
// says so, and answers partial; when NATS is back on the same address the
// nodes rejoin by themselves and answers are whole again.
func TestClusterNATSOutage(t *testing.T) {
	nats := startNATS(t, 0)
	addr := nats.ClientURL()
	n1, n2 := startNode(t, addr, "n1"), startNode(t, addr, "n2")
	waitNodes(t, []string{"n1", "n2"}, n1, n2)
	a, _ := n1.dial(t)
	b, idB := n2.dial(t)

	nats.Shutdown()
	eventually(t, "a degraded health", func() bool {
		return n1.mustGet(t, "/healthz")["cluster"] == "degraded"
	})
	out := n1.mustPost(t, "/send/all", map[string]any{"data": "local"})
	if out["sent"] != 1.0 || out["partial"] != true || fmt.Sprint(out["missing_nodes"]) != "[n2]" {
		t.Fatalf("send during the outage: %v, want sent 1, partial, missing n2", out)
	}
	if got := readText(t, a); got != "local" {
		t.Fatalf("local client read %q", got)
	}
	if status, _ := n1.post(t, "/uid/bind", map[string]any{"client_id": idB, "uid": "x"}); status != http.StatusServiceUnavailable {
		t.Fatalf("bind of a client on the unreachable node: %d, want 503", status)
	}

	startNATS(t, natsPort(t, addr))
	eventually(t, "whole answers again", func() bool {
		out := n1.mustPost(t, "/send/client", map[string]any{"client_id": idB, "data": "back"})
		return out["sent"] == 1.0 && out["partial"] == nil
	})
	if got := readText(t, b); got != "back" {
		t.Fatalf("remote client read %q after the outage", got)
	}
	if h := n2.mustGet(t, "/healthz"); h["cluster"] != "ok" || h["nodes"] != 2.0 {
		t.Fatalf("healthz after the outage: %v", h)
	}
}

// natsPort is the port of a nats:// URL.
func natsPort(t *testing.T, url string) int {
	t.Helper()
	p, err := strconv.Atoi(url[strings.LastIndex(url, ":")+1:])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClusterNodeKilled runs one node as a real process and kills it with
// SIGKILL: within three heartbeats the others drop it, and their answers
// neither count its clients nor stay partial.
func TestClusterNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	nats := startNATS(t, 0)
	n1 := startNode(t, nats.ClientURL(), "n1")
	bin := filepath.Join(t.TempDir(), "wsgate")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/wsgate").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	victim := exec.Command(bin, "-nats-url", nats.ClientURL(), "-node-id", "victim",
		"-ws-addr", "127.0.0.1:0", "-api-addr", "127.0.0.1:0", "-log-level", "warn")
	victim.Stderr = os.Stderr
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	waitNodes(t, []string{"n1", "victim"}, n1)
	n1.dial(t)

	victim.Process.Signal(syscall.SIGKILL)
	start := time.Now()
	eventually(t, "the killed node dropped", func() bool { return slices.Equal(n1.nodeIDs(t), []string{"n1"}) })
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("dropped after %v, want within 3 heartbeats (about 3 s)", d)
	}
	out := n1.mustGet(t, "/client/count")
	if out["count"] != 1.0 || out["partial"] != nil {
		t.Fatalf("count after the kill: %v, want 1, whole", out)
	}
}

// TestClusterLateJoinerAndDrain: a node that joins late serves groups its
// clients join from then on; a node that stops drains its clients with 1012
// and leaves the cluster at once.
func TestClusterLateJoinerAndDrain(t *testing.T) {
	nats := startNATS(t, 0)
	n1 := startNode(t, nats.ClientURL(), "n1")
	a, idA := n1.dial(t)
	n1.mustPost(t, "/group/join", map[string]any{"client_id": idA, "group": "room"})

	n2 := startNode(t, nats.ClientURL(), "n2")
	waitNodes(t, []string{"n1", "n2"}, n1, n2)
	b, idB := n2.dial(t)
	n1.mustPost(t, "/group/join", map[string]any{"client_id": idB, "group": "room"})
	if out := n1.mustPost(t, "/send/group", map[string]any{"group": "room", "data": "hi"}); out["sent"] != 2.0 {
		t.Fatalf("group send: %v", out)
	}
	expectText(t, "hi", a, b)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	n2.expectClose(t, b, idB, 1012, poller.ReasonShutdown)
	if ids := n1.nodeIDs(t); !slices.Equal(ids, []string{"n1"}) {
		t.Fatalf("after n2 left, n1 lists %v", ids)
	}
	if out := n1.mustGet(t, "/group/count?group=room"); out["count"] != 1.0 || out["partial"] != nil {
		t.Fatalf("group count after n2 left: %v", out)
	}
}

// TestClusterNodeStartedBeforeNATS: a node that starts while NATS is down
// serves its clients, joins when NATS comes up, and from then on drops nodes
// that go silent (its membership was frozen while NATS was away).
func TestClusterNodeStartedBeforeNATS(t *testing.T) {
	s := startNATS(t, 0)
	url := s.ClientURL()
	s.Shutdown() // NATS is down when the node starts
	n1 := startNode(t, url, "n1")
	c, _ := n1.dial(t)
	if out := n1.mustPost(t, "/send/all", map[string]any{"data": "alone"}); out["sent"] != 1.0 {
		t.Fatalf("send before NATS: %v", out)
	}
	expectText(t, "alone", c)
	startNATS(t, natsPort(t, url))
	eventually(t, "n1 to reach NATS", func() bool { return n1.mustGet(t, "/healthz")["cluster"] == "ok" })

	// A node that beats, then goes silent as a killed one does.
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	beat := []byte(`{"id":"ghost","tag":12345}`)
	eventually(t, "n1 to see the ghost", func() bool {
		nc.Publish("wsgate.wsgate.hb", beat)
		return slices.Equal(n1.nodeIDs(t), []string{"ghost", "n1"})
	})
	nc.Close()
	eventually(t, "n1 to drop the silent ghost", func() bool { return slices.Equal(n1.nodeIDs(t), []string{"n1"}) })
}

// TestClusterNewNodeSendsAtOnce: the first send through a node that has just
// started reaches the clients of the others: it knows them before it serves.
func TestClusterNewNodeSendsAtOnce(t *testing.T) {
	nats := startNATS(t, 0)
	n1 := startNode(t, nats.ClientURL(), "n1")
	c, _ := n1.dial(t)
	n2 := startNode(t, nats.ClientURL(), "n2")
	if out := n2.mustPost(t, "/send/all", map[string]any{"data": "first"}); out["sent"] != 1.0 || out["partial"] != nil {
		t.Fatalf("first send through a new node: %v, want sent 1, whole", out)
	}
	expectText(t, "first", c)
}

// TestClusterMessageOverNATSPayload: a push NATS cannot carry is refused
// (400) before any client gets it; listings too long for one NATS message
// come in several and still count every name once.
func TestClusterMessageOverNATSPayload(t *testing.T) {
	nats := startNATSWith(t, &natsserver.Options{MaxPayload: 4096})
	n1, n2 := startNode(t, nats.ClientURL(), "n1"), startNode(t, nats.ClientURL(), "n2")
	waitNodes(t, []string{"n1", "n2"}, n1, n2)
	c, id := n1.dial(t)
	if status, out := n1.post(t, "/send/all", map[string]any{"data": strings.Repeat("x", 6000)}); status != http.StatusBadRequest {
		t.Fatalf("a push over the NATS payload: %d %v, want 400", status, out)
	}
	n1.mustPost(t, "/send/client", map[string]any{"client_id": id, "data": "after"})
	if got := readText(t, c); got != "after" {
		t.Fatalf("the refused push reached the client: read %.40q", got)
	}
	for i := range 300 { // 300 uids of 40 bytes on n2: about 13 KB of names
		_, cid := n2.dial(t)
		n1.mustPost(t, "/uid/bind", map[string]any{"client_id": cid, "uid": fmt.Sprintf("%036d-uid", i)})
	}
	if out := n1.mustGet(t, "/uid/count"); out["count"] != 300.0 || out["partial"] != nil {
		t.Fatalf("uid count over several NATS messages: %v, want 300, whole", out)
	}
	if got := walkPages(t, n1, "/uid/list?limit=1000"); got != 300 {
		t.Fatalf("uid list walk returned %d names, want 300", got)
	}
}

// walkPages follows a listing's cursor with the page size in path and
// counts the names.
func walkPages(t *testing.T, g *testGateway, path string) int {
	t.Helper()
	n, cursor := 0, ""
	for range 1000 {
		out := g.mustGet(t, path+"&cursor="+cursor)
		n += len(out["uids"].([]any))
		if cursor, _ = out["next_cursor"].(string); cursor == "" {
			return n
		}
	}
	t.Fatal("the walk does not end")
	return 0
}
