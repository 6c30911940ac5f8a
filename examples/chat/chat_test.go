package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/examples/webhooks/verify"
	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/internal/browsertest"
	"github.com/wsgate/wsgate/internal/gatewaytest"
	"github.com/wsgate/wsgate/webhook"
)

// testSecret is the webhook secret of the tests' gateway and chat.
const testSecret = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdGluZy0xMjM0NTY3OA=="

// startChat runs the real gateway, posting its connected and disconnected
// webhooks to the chat backend, and the backend, until t ends; it returns
// them and the chat's URL.
func startChat(t *testing.T) (*gatewaytest.Gateway, *server, string) {
	t.Helper()
	// The chat's listener comes first (the gateway needs its URL) and closes
	// last (the gateway posts its clients' disconnected events at shutdown).
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	g := gatewaytest.Start(t, func(c *gateway.Config) {
		c.Webhook = webhook.Config{
			URL:     "http://" + srv.Listener.Addr().String() + "/wsgate/events",
			Secrets: []string{testSecret},
			Events:  []string{webhook.TypeConnected, webhook.TypeDisconnected},
		}
	})
	s, err := newServer(config{
		WSGateAPI:     g.APIURL,
		WSGateWS:      g.WSURL,
		WebhookSecret: testSecret,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = s
	srv.Start()
	return g, s, srv.URL
}

// chatPage is a tab on the chat page, its console watched.
type chatPage struct {
	t    *testing.T
	name string
	ctx  context.Context
	// close closes the tab.
	close context.CancelFunc
}

// joinChat opens a tab on url and joins room as name through the form.
func joinChat(t *testing.T, bctx context.Context, url, name, room string) *chatPage {
	t.Helper()
	ctx, closeTab := browsertest.NewTab(t, bctx)
	console := browsertest.WatchConsole(t, ctx)
	t.Cleanup(func() { console.ExpectClean(t) })
	p := &chatPage{t: t, name: name, ctx: ctx, close: closeTab}
	p.do(
		chromedp.EmulateViewport(900, 560),
		chromedp.Navigate(url),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SetValue(chromedp.ID("room"), room),
		chromedp.Click(chromedp.ID("join")),
	)
	p.waitFor(`!document.getElementById("chat").hidden && getComputedStyle(document.getElementById("join-form")).display === "none"`, name+"'s page to show the room instead of the form")
	return p
}

func (p *chatPage) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s's page: %v", p.name, err)
	}
}

// waitFor polls the page until the JS expression cond is true (8 s at most).
func (p *chatPage) waitFor(cond, what string) {
	p.t.Helper()
	poll := chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second))
	if err := chromedp.Do(p.ctx, poll); err != nil {
		var seen string
		chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			seen, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("messages").innerText + " | online: " + document.getElementById("members").innerText`))
			return nil
		}))
		p.t.Fatalf("waiting for %s: %v (page shows: %q)", what, err, seen)
	}
}

// say sends text through the page's form.
func (p *chatPage) say(text string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.ID("text"), text), chromedp.Click(chromedp.ID("send")))
}

// expectLine waits until the page shows text said by from.
func (p *chatPage) expectLine(from, text string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf(`[...document.querySelectorAll("#messages li")].some((li) =>
		li.querySelector(".from")?.textContent === %q && li.lastChild.textContent === %q)`, from, text),
		fmt.Sprintf("%s's page to show %s: %s", p.name, from, text))
}

// expectNotice waits until the page shows the notice text.
func (p *chatPage) expectNotice(text string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf(`[...document.querySelectorAll("#messages li.notice")].some((li) => li.textContent === %q)`, text),
		fmt.Sprintf("%s's page to show %q", p.name, text))
}

// expectMembers waits until the page's online list is exactly names (sorted).
func (p *chatPage) expectMembers(names ...string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf(`[...document.querySelectorAll("#members li")].map((li) => li.textContent).join(",") === %q`, strings.Join(names, ",")),
		fmt.Sprintf("%s's online list to be %v", p.name, names))
}

func TestChatInChromium(t *testing.T) {
	g, _, url := startChat(t)
	bctx := browsertest.Start(t)

	alice := joinChat(t, bctx, url, "alice", "lobby")
	bob := joinChat(t, bctx, url, "bob", "lobby")
	alice.expectNotice("bob joined")
	alice.expectMembers("alice", "bob")
	bob.expectMembers("alice", "bob")
	if uids, err := g.Hub().GroupUIDs(context.Background(), "lobby"); err != nil || len(uids.Names) != 2 {
		t.Fatalf("wsgate's lobby has uids %+v (%v), want alice and bob", uids, err)
	}

	alice.say("hi bob, this goes through wsgate")
	bob.expectLine("alice", "hi bob, this goes through wsgate")
	bob.say("hello alice, all good here")
	alice.expectLine("bob", "hello alice, all good here")
	alice.say("see you")
	bob.expectLine("alice", "see you")
	alice.expectLine("alice", "see you") // her own line comes back as a push too
	browsertest.Screenshot(t, alice.ctx, "chat")

	bob.close()
	alice.expectNotice("bob left")
	alice.expectMembers("alice")
	gatewaytest.Eventually(t, "bob's connection to end", func() bool { return g.Stats().Connections == 1 })
}

// TestJoinAndSayValidate checks the backend's answers to bad calls, without
// a browser: it never reaches wsgate with them.
func TestJoinAndSayValidate(t *testing.T) {
	_, _, url := startChat(t)
	for _, tc := range []struct {
		path, contentType, body string
		status                  int
	}{
		{"/join", "text/plain", `{"client_id":"x","name":"a","room":"lobby"}`, http.StatusUnsupportedMediaType},
		{"/join", "application/json", `{"client_id":"x","name":"a","room":"Lobby!"}`, http.StatusBadRequest},
		{"/join", "application/json", `{"client_id":"x","name":"  ","room":"lobby"}`, http.StatusBadRequest},
		{"/join", "application/json", `{"client_id":"","name":"a","room":"lobby"}`, http.StatusBadRequest},
		{"/join", "application/json", `{"client_id":"x","name":"a","room":"lobby","admin":true}`, http.StatusBadRequest},
		{"/join", "application/json", `{"client_id":"9b2f0c4e-8a51-4f7e-9d43-3c1d2b6a7e10","name":"a","room":"lobby"}`, http.StatusNotFound},
		{"/join", "application/json", `{"client_id":"not-an-id","name":"a","room":"lobby"}`, http.StatusBadRequest},
		{"/say", "application/json", `{"client_id":"never-joined","text":"hi"}`, http.StatusNotFound},
		{"/say", "application/json", `{"client_id":"x","text":""}`, http.StatusBadRequest},
	} {
		resp, err := http.Post(url+tc.path, tc.contentType, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("POST %s %s: %d, want %d", tc.path, tc.body, resp.StatusCode, tc.status)
		}
	}
}

// postEvents posts body to the chat's webhook with the headers sig gives
// ("" values are left out) and returns the status.
func postEvents(t *testing.T, url, body string, sig map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/wsgate/events", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range sig {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// signed is the headers of a request signed under secret at ts.
func signed(t *testing.T, secret, msgID string, ts time.Time, body string) map[string]string {
	t.Helper()
	sig, err := verify.Sign(secret, msgID, ts.Unix(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"webhook-id": msgID, "webhook-timestamp": strconv.FormatInt(ts.Unix(), 10), "webhook-signature": sig}
}

// TestEventsRefuseBadSignatures: a request to /wsgate/events that is not
// signed under the chat's secret, recently, over this very body, gets 401 and
// changes nothing: the member stays, and the same events, then properly
// signed, are handled (they were not marked as seen).
func TestEventsRefuseBadSignatures(t *testing.T) {
	_, s, url := startChat(t)
	s.rooms.add("c1", member{name: "alice", room: "lobby"})
	s.rooms.connected("c1", "n1")
	body := `{"events":[{"id":"e1","type":"disconnected","node":"n1","client_id":"c1"},{"id":"e2","type":"node.started","node":"n1"}]}`
	now := time.Now()
	const otherSecret = "whsec_b3RoZXIta2V5LW5vdC10cnVzdGVkLWJ5LWFueW9uZQ=="
	tampered := signed(t, testSecret, "msg_3", now, strings.Replace(body, "c1", "c2", 1))
	garbage := signed(t, testSecret, "msg_4", now, body)
	garbage["webhook-signature"] = "v1,AAAA v1a," + strings.TrimPrefix(garbage["webhook-signature"], "v1,")
	otherID := signed(t, testSecret, "msg_5", now, body)
	otherID["webhook-id"] = "msg_6"
	for name, sig := range map[string]map[string]string{
		"unsigned":             nil,
		"another secret":       signed(t, otherSecret, "msg_1", now, body),
		"timestamp 6 min old":  signed(t, testSecret, "msg_2", now.Add(-6*time.Minute), body),
		"another body":         tampered,
		"garbage, v1a":         garbage,
		"another webhook-id":   otherID,
		"no webhook-timestamp": {"webhook-id": "msg_7", "webhook-signature": signed(t, testSecret, "msg_7", now, body)["webhook-signature"]},
	} {
		if status := postEvents(t, url, body, sig); status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, status)
		}
		if _, ok := s.rooms.get("c1"); !ok {
			t.Fatalf("%s: the member was forgotten", name)
		}
	}
	if status := postEvents(t, url, body, signed(t, testSecret, "msg_8", now, body)); status != http.StatusNoContent {
		t.Fatalf("signed: status %d, want 204", status)
	}
	if _, ok := s.rooms.get("c1"); ok {
		t.Fatal("signed: the member is still there")
	}
}

// TestEventsDedupeAndNodeStarted: an event id seen before is ignored, and
// node.started forgets the members on that node, and the others that wsgate
// says are offline.
func TestEventsDedupeAndNodeStarted(t *testing.T) {
	g, s, url := startChat(t)
	post := func(msgID, body string) {
		t.Helper()
		if status := postEvents(t, url, body, signed(t, testSecret, msgID, time.Now(), body)); status != http.StatusNoContent {
			t.Fatalf("%s: status %d, want 204", msgID, status)
		}
	}
	s.rooms.add("c1", member{name: "alice", room: "lobby"})
	post("msg_1", `{"events":[{"id":"e1","type":"connected","node":"n1","client_id":"c1"},{"id":"e2","type":"disconnected","node":"n1","client_id":"c1"}]}`)
	if _, ok := s.rooms.get("c1"); ok {
		t.Fatal("disconnected: the member is still there")
	}
	s.rooms.add("c1", member{name: "alice", room: "lobby"})
	post("msg_2", `{"events":[{"id":"e2","type":"disconnected","node":"n1","client_id":"c1"}]}`) // a redelivery
	if _, ok := s.rooms.get("c1"); !ok {
		t.Fatal("a duplicate event was handled again")
	}
	s.rooms.remove("c1")

	// Members on node n1, on another node (a live client of the gateway)
	// and on no known node (a client id the gateway does not know).
	ws, _, err := websocket.DefaultDialer.Dial(g.WSURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, live, err := ws.ReadMessage() // the client id frame
	if err != nil {
		t.Fatal(err)
	}
	const gone = "9b2f0c4e-8a51-4f7e-9d43-3c1d2b6a7e10"
	s.rooms.add("c2", member{name: "c2", room: "lobby"})
	s.rooms.connected("c2", "n1")
	s.rooms.add(string(live), member{name: "live", room: "lobby"})
	s.rooms.add(gone, member{name: "gone", room: "lobby"})
	post("msg_3", `{"events":[{"id":"e3","type":"node.started","node":"n1"}]}`)
	for id, want := range map[string]bool{"c2": false, string(live): true, gone: false} {
		if _, ok := s.rooms.get(id); ok != want {
			t.Errorf("after node.started n1: member %s there = %v, want %v", id, ok, want)
		}
	}
}
