package gateway_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/poller"
)

const unknownID = "00000000-0000-4000-8000-000000000000"

// TestAPIBadInput checks that every kind of bad input gets the documented status
// and a JSON error, and changes nothing.
func TestAPIBadInput(t *testing.T) {
	g := startGateway(t)
	c, id := g.dial(t)
	g.mustPost(t, "/uid/bind", map[string]any{"client_id": id, "uid": "u1"})
	g.mustPost(t, "/group/join", map[string]any{"client_id": id, "group": "g1"})

	tests := []struct {
		method, path, body string
		status             int
		errPart            string
	}{
		{"GET", "/nope", "", 404, "no route"},
		{"GET", "/send/all", "", 405, "needs POST"},
		{"POST", "/client/count", "{}", 405, "needs GET"},
		{"POST", "/send/all", "", 400, "empty body"},
		{"POST", "/send/all", "{", 400, "invalid JSON"},
		{"POST", "/send/all", `{"data":"x"} {}`, 400, "after the object"},
		{"POST", "/send/all", `{"data":"x"}]junk`, 400, "after the object"},
		{"POST", "/send/all", `{"dta":"x"}`, 400, "unknown field"},
		{"POST", "/send/all", `{}`, 400, "missing data"},
		{"POST", "/send/all", `{"data":null}`, 400, "missing data"},
		{"POST", "/send/all", `{"data":"x","data_base64":"eA=="}`, 400, "not both"},
		{"POST", "/send/all", `{"data_base64":"%%%"}`, 400, "base64"},
		{"POST", "/send/all", `{"data":"x","exclude":["nope"]}`, 400, "not a client id"},
		{"POST", "/send/all", `[` + strings.Repeat("[", 20000) + `]`, 400, "invalid JSON"},
		{"POST", "/send/client", `{"data":"x"}`, 400, "missing client_id"},
		{"POST", "/send/client", `{"client_id":"abc","data":"x"}`, 400, "not a client id"},
		{"POST", "/send/client", `{"client_id":"` + id + `","client_ids":["` + id + `"],"data":"x"}`, 400, "not both"},
		{"POST", "/send/client", `{"client_ids":[],"data":"x"}`, 400, "empty"},
		// A field of the API that does not belong to the route is named, never ignored.
		{"POST", "/send/client", `{"client_id":"` + id + `","uid":"u1","data":"x"}`, 400, `field "uid" does not apply`},
		{"POST", "/send/uid", `{"uids":["u1"],"exclude":["` + id + `"],"data":"x"}`, 400, `field "exclude" does not apply`},
		{"POST", "/send/all", `{"group":"g1","data":"x"}`, 400, `field "group" does not apply`},
		{"POST", "/uid/bind", `{"client_id":"` + id + `","uid":"u1","groups":["g1"]}`, 400, `field "groups" does not apply`},
		{"POST", "/group/join", `{"client_id":"` + id + `","group":"g1","data":"x"}`, 400, `field "data" does not apply`},
		{"POST", "/client/close", `{"client_id":"` + id + `","uids":[]}`, 400, `field "uids" does not apply`},
		{"POST", "/send/client", `{"client_id":"` + id + `","uid":"","data":"x"}`, 400, `field "uid" does not apply`},
		// What encoding/json lets through silently: case-insensitive and
		// repeated keys, invalid UTF-8 and lone surrogates (they became U+FFFD,
		// so two different invalid uids were one).
		{"POST", "/uid/bind", `{"CLIENT_ID":"` + id + `","uid":"u2"}`, 400, `unknown field "CLIENT_ID"`},
		{"POST", "/uid/bind", `{"client_id":"` + id + `","UID":"u2"}`, 400, `unknown field "UID"`},
		{"POST", "/uid/bind", `{"client_id":"` + id + `","uid":"u2","uid":"u3"}`, 400, "given twice"},
		{"POST", "/uid/bind", "{\"client_id\":\"" + id + "\",\"uid\":\"\xff\"}", 400, "not valid UTF-8"},
		{"POST", "/uid/bind", `{"client_id":"` + id + `","uid":"\ud800"}`, 400, "surrogate"},
		{"POST", "/group/join", `{"client_id":"` + id + `","group":"\udfff"}`, 400, "surrogate"},
		{"POST", "/send/all", "{\"data\":\"x\xfe\"}", 400, "not valid UTF-8"},
		{"POST", "/group/join", `{"client_id":"` + id + `","groups":` + manyGroups(1000) + `}`, 400, "would be in 1001 groups, the limit is 1000"},
		{"POST", "/send/uid", `{"uid":"","data":"x"}`, 400, "missing uid"},
		{"POST", "/send/uid", `{"uid":"` + strings.Repeat("u", 300) + `","data":"x"}`, 400, "limit"},
		{"POST", "/send/group", `{"groups":["g1",""],"data":"x"}`, 400, "missing groups"},
		{"POST", "/client/close", `{"client_id":"` + id + `","code":1006}`, 400, "1000 or 3000-4999"},
		{"POST", "/client/close", `{"client_id":"` + id + `","reason":"` + strings.Repeat("r", 200) + `"}`, 400, "reason"},
		{"POST", "/client/close", `{"client_id":"` + unknownID + `"}`, 404, "not connected"},
		{"GET", "/client/online", "", 400, "missing client_id"},
		{"GET", "/client/info?client_id=" + unknownID, "", 404, "not connected"},
		{"GET", "/client/list?limit=abc", "", 400, "limit"},
		{"GET", "/client/list?limit=-1", "", 400, "limit"},
		{"GET", "/client/list?cursor=garbage", "", 400, "cursor"},
		{"POST", "/uid/bind", `{"client_id":"` + unknownID + `","uid":"u2"}`, 404, "not found"},
		{"POST", "/uid/bind", `{"client_id":"` + id + `"}`, 400, "missing uid"},
		{"POST", "/uid/unbind", `{"client_id":"` + unknownID + `"}`, 404, "not found"},
		{"POST", "/uid/close", `{}`, 400, "missing uid"},
		{"GET", "/uid/online", "", 400, "missing uid"},
		{"GET", "/uid/clients", "", 400, "missing uid"},
		{"GET", "/uid/list?cursor=zz", "", 400, "cursor"},
		{"POST", "/group/join", `{"client_id":"` + unknownID + `","group":"g2"}`, 404, "not found"},
		{"POST", "/group/join", `{"client_id":"` + id + `","groups":["g2",""]}`, 400, "missing groups"},
		{"POST", "/group/leave", `{"client_id":"` + id + `"}`, 400, "missing group"},
		{"POST", "/group/dissolve", `{}`, 400, "missing group"},
		{"GET", "/group/clients", "", 400, "missing group"},
		{"GET", "/group/uids", "", 400, "missing group"},
		{"GET", "/group/count", "", 400, "missing group"},
		{"GET", "/group/list?limit=0", "", 400, "limit"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %.40s", tt.method, tt.path, tt.body), func(t *testing.T) {
			status, out := g.call(t, tt.method, tt.path, tt.body)
			msg, _ := out["error"].(string)
			if status != tt.status || !strings.Contains(msg, tt.errPart) {
				t.Fatalf("got %d %q, want %d with %q", status, msg, tt.status, tt.errPart)
			}
		})
	}
	// Nothing changed: the client is still bound, in its group, and got no frame.
	info := g.mustGet(t, "/client/info?client_id="+id)
	if info["uid"] != "u1" || fmt.Sprint(info["groups"]) != "[g1]" {
		t.Fatalf("state changed by bad requests: %v", info)
	}
	if n := g.number(t, "/group/total", "count"); n != 1 {
		t.Fatalf("group total %d, want 1 (bad join created a group?)", n)
	}
	c.WriteMessage(websocket.TextMessage, []byte("ping"))
	if got := readText(t, c); got != "pong" {
		t.Fatalf("client received %q from a rejected send", got)
	}
}

func (g *testGateway) mustGet(t testing.TB, path string) map[string]any {
	t.Helper()
	status, out := g.call(t, http.MethodGet, path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, status, out)
	}
	return out
}

func TestAPIBodyLimitAndToken(t *testing.T) {
	g := startGateway(t, func(c *gateway.Config) { c.API.Token, c.API.MaxBody = "s3cret", 1024 })
	auth := http.Header{"Authorization": {"Bearer s3cret"}}
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		header http.Header
		status int
	}{
		{"no token", "GET", "/client/count", "", nil, 401},
		{"wrong token", "GET", "/client/count", "", http.Header{"Authorization": {"Bearer nope"}}, 401},
		{"not bearer", "GET", "/client/count", "", http.Header{"Authorization": {"s3cret"}}, 401},
		{"good token", "GET", "/client/count", "", auth, 200},
		{"healthz needs no token", "GET", "/healthz", "", nil, 200},
		{"body over limit", "POST", "/send/all", `{"data":"` + strings.Repeat("x", 2000) + `"}`, auth, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := g.callRaw(t, tt.method, tt.path, tt.body, tt.header)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, raw, tt.status)
			}
			if status != 200 && !strings.Contains(string(raw), `"error"`) {
				t.Fatalf("error answer %q is not {\"error\":...}", raw)
			}
		})
	}
}

// TestAPISendsAndQueries walks every endpoint's good path with real clients.
func TestAPISendsAndQueries(t *testing.T) {
	g := startGateway(t)
	a, idA := g.dial(t)
	b, idB := g.dial(t)
	c, idC := g.dial(t)

	g.mustPost(t, "/uid/bind", map[string]any{"client_id": idA, "uid": "alice"})
	g.mustPost(t, "/uid/bind", map[string]any{"client_id": idB, "uid": "alice"})
	g.mustPost(t, "/uid/bind", map[string]any{"client_id": idC, "uid": "carol"})
	g.mustPost(t, "/group/join", map[string]any{"client_id": idA, "groups": []string{"red", "blue"}})
	g.mustPost(t, "/group/join", map[string]any{"client_id": idB, "group": "red"})
	g.mustPost(t, "/group/join", map[string]any{"client_id": idC, "group": "blue"})

	expectSent := func(path string, body map[string]any, want int) {
		t.Helper()
		if out := g.mustPost(t, path, body); out["sent"] != float64(want) {
			t.Fatalf("POST %s %v: sent %v, want %d", path, body, out["sent"], want)
		}
	}
	expectSent("/send/client", map[string]any{"client_id": idA, "data": "to-a"}, 1)
	expectSent("/send/client", map[string]any{"client_ids": []string{idA, idB, unknownID}, "data": map[string]int{"n": 1}}, 2)
	expectSent("/send/uid", map[string]any{"uid": "alice", "data": "to-alice"}, 2)
	expectSent("/send/uid", map[string]any{"uids": []string{"alice", "carol", "nobody"}, "data": "to-uids"}, 3)
	expectSent("/send/group", map[string]any{"group": "red", "data": "to-red"}, 2)
	expectSent("/send/group", map[string]any{"groups": []string{"red", "blue"}, "data": "to-both", "exclude": []string{idB}}, 2) // A once, C
	expectSent("/send/all", map[string]any{"data": "to-all", "exclude": []string{idC}}, 2)
	expectSent("/send/all", map[string]any{"data_base64": base64.StdEncoding.EncodeToString([]byte{0, 1, 2})}, 3)

	wantA := []string{"to-a", `{"n":1}`, "to-alice", "to-uids", "to-red", "to-both", "to-all", "\x00\x01\x02"}
	wantB := []string{`{"n":1}`, "to-alice", "to-uids", "to-red", "to-all", "\x00\x01\x02"}
	wantC := []string{"to-uids", "to-both", "\x00\x01\x02"}
	for name, tc := range map[string]struct {
		c    *websocket.Conn
		want []string
	}{"A": {a, wantA}, "B": {b, wantB}, "C": {c, wantC}} {
		for i, w := range tc.want {
			if got := readText(t, tc.c); got != w {
				t.Fatalf("client %s message %d: %q, want %q", name, i, got, w)
			}
		}
	}

	checks := []struct {
		path, field string
		want        any
	}{
		{"/client/count", "count", 3.0},
		{"/client/online?client_id=" + idA, "online", true},
		{"/client/online?client_id=" + unknownID, "online", false},
		{"/uid/online?uid=alice", "online", true},
		{"/uid/online?uid=nobody", "online", false},
		{"/uid/count", "count", 2.0},
		{"/group/count?group=red", "count", 2.0},
		{"/group/count?group=none", "count", 0.0},
		{"/group/total", "count", 2.0},
	}
	for _, ck := range checks {
		if got := g.mustGet(t, ck.path)[ck.field]; got != ck.want {
			t.Fatalf("GET %s: %s = %v, want %v", ck.path, ck.field, got, ck.want)
		}
	}
	sameSet := func(path, field string, want ...string) {
		t.Helper()
		var got []string
		for _, v := range g.mustGet(t, path)[field].([]any) {
			got = append(got, v.(string))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("GET %s: %s = %v, want %v", path, field, got, want)
		}
	}
	sameSet("/uid/clients?uid=alice", "client_ids", idA, idB)
	sameSet("/group/clients?group=blue", "client_ids", idA, idC)
	sameSet("/group/uids?group=blue", "uids", "alice", "carol")
	sameSet("/client/list", "client_ids", idA, idB, idC)
	sameSet("/uid/list", "uids", "alice", "carol")
	sameSet("/group/list", "groups", "red", "blue")

	info := g.mustGet(t, "/client/info?client_id="+idA)
	if info["client_id"] != idA || info["uid"] != "alice" || fmt.Sprint(info["groups"]) != "[blue red]" ||
		!strings.HasPrefix(info["remote_addr"].(string), "127.0.0.1:") {
		t.Fatalf("info %v", info)
	}
	if ts, err := time.Parse(time.RFC3339, info["connected_at"].(string)); err != nil || time.Since(ts) > time.Minute {
		t.Fatalf("connected_at %v: %v", info["connected_at"], err)
	}

	// Pagination: one id per page, three pages, then an empty cursor.
	var paged []string
	cursor := ""
	for range 10 {
		out := g.mustGet(t, "/client/list?limit=1&cursor="+cursor)
		for _, v := range out["client_ids"].([]any) {
			paged = append(paged, v.(string))
		}
		if cursor = out["next_cursor"].(string); cursor == "" {
			break
		}
	}
	slices.Sort(paged)
	want := []string{idA, idB, idC}
	slices.Sort(want)
	if !slices.Equal(paged, want) {
		t.Fatalf("paged ids %v, want %v", paged, want)
	}

	// Rebinding moves the uid; unbind and leave; dissolve.
	g.mustPost(t, "/uid/bind", map[string]any{"client_id": idB, "uid": "bob"})
	sameSet("/uid/clients?uid=alice", "client_ids", idA)
	g.mustPost(t, "/uid/unbind", map[string]any{"client_id": idA})
	if g.mustGet(t, "/uid/online?uid=alice")["online"] != false {
		t.Fatal("alice still online after unbind")
	}
	g.mustPost(t, "/group/leave", map[string]any{"client_id": idA, "groups": []string{"red", "blue"}})
	sameSet("/group/clients?group=red", "client_ids", idB)
	if out := g.mustPost(t, "/group/dissolve", map[string]any{"group": "blue"}); out["removed"] != 1.0 {
		t.Fatalf("dissolve: %v", out)
	}
	if n := g.number(t, "/group/total", "count"); n != 1 {
		t.Fatalf("group total %d after dissolve, want 1", n)
	}

	// Closing: one client with a code, then a whole uid.
	if out := g.mustPost(t, "/client/close", map[string]any{"client_id": idA, "code": 4001, "reason": "bye"}); out["closed"] != true {
		t.Fatalf("close: %v", out)
	}
	g.expectClose(t, a, idA, 4001, poller.ReasonServerClose)
	if g.mustGet(t, "/client/online?client_id="+idA)["online"] != false {
		t.Fatal("closed client still online right after /client/close")
	}
	if out := g.mustPost(t, "/uid/close", map[string]any{"uid": "bob"}); out["closed"] != 1.0 {
		t.Fatalf("uid close: %v", out)
	}
	g.expectClose(t, b, idB, 1000, poller.ReasonServerClose)
	eventually(t, "one client left", func() bool { return g.number(t, "/client/count", "count") == 1 })

	st := g.mustGet(t, "/stats?gc=1")
	for _, k := range []string{"connections", "uids", "groups", "goroutines", "heap_inuse_bytes", "rss_bytes",
		"frames_sent", "bytes_sent", "slow_consumer_closes", "uptime_s", "pid", "cpu_seconds"} {
		if _, ok := st[k]; !ok {
			t.Errorf("/stats lacks %q", k)
		}
	}
	if st["healthz"] != nil || g.mustGet(t, "/healthz")["ok"] != true {
		t.Fatal("healthz")
	}
}

// manyGroups is a JSON list of n distinct group names.
func manyGroups(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%q", fmt.Sprintf("many-%d", i))
	}
	return "[" + strings.Join(names, ",") + "]"
}
