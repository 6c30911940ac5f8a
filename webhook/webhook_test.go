package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/webhooktest"
)

const testSecret = webhooktest.Secret

// TestSignatureMatchesStandardWebhooksVector checks the signing against the
// test vector the Standard Webhooks libraries share.
func TestSignatureMatchesStandardWebhooksVector(t *testing.T) {
	cfg := Config{Secrets: []string{testSecret}}
	keys, err := cfg.keys()
	if err != nil {
		t.Fatal(err)
	}
	got := signature(keys, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:9/", Secrets: []string{testSecret}, Node: "n1"}
	for name, change := range map[string]func(*Config){
		"no url":        func(c *Config) { c.URL = "" },
		"ftp url":       func(c *Config) { c.URL = "ftp://x/" },
		"no secret":     func(c *Config) { c.Secrets = nil },
		"no prefix":     func(c *Config) { c.Secrets = []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} },
		"short key":     func(c *Config) { c.Secrets = []string{"whsec_AAAA"} },
		"unknown event": func(c *Config) { c.Events = []string{"connected", "opened"} },
		"node.started":  func(c *Config) { c.Events = []string{"node.started"} },
		"no node":       func(c *Config) { c.Node = "" },
		"negative":      func(c *Config) { c.QueueBytes = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			c := ok
			change(&c)
			if _, err := New(c); !errors.Is(err, ErrConfig) {
				t.Fatalf("New: %v, want ErrConfig", err)
			}
		})
	}
	if _, err := New(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

func newSender(t *testing.T, rc *webhooktest.Receiver, change func(*Config)) *Sender {
	t.Helper()
	cfg := Config{URL: rc.URL, Secrets: []string{testSecret}, Node: "n1", Events: ClientTypes, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)}
	if change != nil {
		change(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestDeliveryRules: a client's events arrive in order; one that leaves
// before its connected went out produces none of its events; one whose
// connected went out gets its disconnected.
func TestDeliveryRules(t *testing.T) {
	g := webhooktest.NewGate()
	rc := webhooktest.New(t, g.Wait)
	s := newSender(t, rc, nil)
	s.Start() // node.started holds lane 0 at the gate
	eventually(t, "node.started in flight", func() bool { return s.queued.Load() == 0 })
	l := s.lanes[0]
	left := &Tracker{lane: l}
	s.Connected(left, &Client{ID: "left"})
	s.Message(left, &Client{ID: "left"}, true, []byte("lost"))
	s.Disconnected(left, &Client{ID: "left"}, Close{Code: 1000, Reason: "peer_close", By: "client"})
	stays := &Tracker{lane: l}
	s.Connected(stays, &Client{ID: "stays"})
	s.Message(stays, &Client{ID: "stays"}, true, []byte("one"))
	s.Message(stays, &Client{ID: "stays"}, false, []byte{0xff})
	s.Message(stays, &Client{ID: "stays"}, true, []byte("two"))
	g.Open()
	eventually(t, "stays's events", func() bool { return len(rc.Summary()) == 5 })
	s.Disconnected(stays, &Client{ID: "stays"}, Close{Code: 1006, Reason: "peer_gone", By: "client"})
	s.Message(stays, &Client{ID: "stays"}, true, []byte("after close"))
	eventually(t, "stays's disconnected", func() bool { return len(rc.Summary()) == 6 })
	want := []string{"node.started", "connected stays", "message stays one", "message stays", "message stays two", "disconnected stays"}
	if got := rc.Summary(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events %q, want %q", got, want)
	}
	st := s.Stats()
	if st.Events["connected"]["skipped"] != 1 || st.Events["message"]["skipped"] != 1 {
		t.Fatalf("skipped counts %v", st.Events)
	}
	events := rc.Events()
	if e := events[3]; e["data_base64"] != "/w==" || e["node"] != "n1" {
		t.Fatalf("binary message event %v", e)
	}
	if e := events[5]; e["code"] != float64(1006) || e["reason"] != "peer_gone" || e["by"] != "client" {
		t.Fatalf("disconnected event %v", e)
	}
}

// TestEventFields checks one event's every field.
func TestEventFields(t *testing.T) {
	rc := webhooktest.New(t, nil)
	s := newSender(t, rc, nil)
	s.Start()
	c := &Client{ID: "c1", UID: "u1", Groups: []string{"a", "b"}, Session: json.RawMessage(`{"plan":"pro"}`), RemoteAddr: "127.0.0.1:5"}
	tr := s.Track("c1")
	s.Connected(tr, c)
	eventually(t, "connected", func() bool { return len(rc.Summary()) == 2 })
	if first := rc.Events()[0]; first["type"] != TypeNodeStarted {
		t.Fatalf("first event %v: node.started must come before any other", first)
	}
	e := rc.Events()[1]
	tm, err := time.Parse(time.RFC3339Nano, e["time"].(string))
	if err != nil || time.Since(tm) > time.Minute || !strings.Contains(e["time"].(string), ".") {
		t.Fatalf("time %v: %v", e["time"], err)
	}
	b, _ := json.Marshal(map[string]any{"client_id": e["client_id"], "uid": e["uid"], "groups": e["groups"], "session": e["session"], "remote_addr": e["remote_addr"], "node": e["node"]})
	if want := `{"client_id":"c1","groups":["a","b"],"node":"n1","remote_addr":"127.0.0.1:5","session":{"plan":"pro"},"uid":"u1"}`; string(b) != want {
		t.Fatalf("event %s, want %s", b, want)
	}
	if id, _ := e["id"].(string); !strings.HasPrefix(id, "n1-") {
		t.Fatalf("event id %q", id)
	}
}

// TestRetriesUntilAccepted: 500 and 429 are retried under the same
// webhook-id, then the batch is delivered once.
func TestRetriesUntilAccepted(t *testing.T) {
	var mu sync.Mutex
	answers := []int{500, 429, 204}
	rc := webhooktest.New(t, func(*http.Request, []map[string]any) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		a := answers[0]
		if len(answers) > 1 {
			answers = answers[1:]
		}
		return a, ""
	})
	s := newSender(t, rc, nil)
	s.Start()
	eventually(t, "node.started delivered", func() bool { return s.Stats().Events["node.started"]["delivered"] == 1 })
	ids := rc.MessageIDs()
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("webhook ids %q: want one id tried three times", ids)
	}
	if st := s.Stats(); st.Retries != 2 || st.Events["node.started"]["delivered"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRefusalNotRetried: a 400 drops the batch at once.
func TestRefusalNotRetried(t *testing.T) {
	rc := webhooktest.New(t, func(*http.Request, []map[string]any) (int, string) { return 400, "no" })
	s := newSender(t, rc, nil)
	s.Start()
	eventually(t, "the refusal counted", func() bool { return s.Stats().Events["node.started"]["rejected"] == 1 })
	if rc.Requests() != 1 || s.Stats().Retries != 0 {
		t.Fatalf("%d requests, %d retries: want 1, 0", rc.Requests(), s.Stats().Retries)
	}
}

// TestBackendDownExpires: a backend that never answers costs a bounded
// retry time, after which the batch is counted as expired.
func TestBackendDownExpires(t *testing.T) {
	rc := webhooktest.New(t, nil)
	rc.Server.Close() // nothing listens: every attempt fails
	s := newSender(t, rc, func(c *Config) { c.RetryFor = 600 * time.Millisecond })
	s.Start()
	eventually(t, "the batch expired", func() bool { return s.Stats().Events["node.started"]["expired"] == 1 })
	if s.Stats().Retries == 0 {
		t.Fatal("no retry before giving up")
	}
}

// TestQueueFullDropsMessagesFirst: with the backend stuck, message events
// past the bound are dropped, and lifecycle events push queued message
// events out; the queue never exceeds its bound.
func TestQueueFullDropsMessagesFirst(t *testing.T) {
	g := webhooktest.NewGate()
	rc := webhooktest.New(t, g.Wait)
	const bound = 64 << 10
	s := newSender(t, rc, func(c *Config) { c.QueueBytes = bound })
	s.Start()
	eventually(t, "node.started in flight", func() bool { return s.queued.Load() == 0 })
	l := s.lanes[0]
	payload := make([]byte, 1000)
	tr := &Tracker{lane: l}
	s.Connected(tr, &Client{ID: "talker"})
	for range 200 {
		s.Message(tr, &Client{ID: "talker"}, false, payload)
		if q := s.queued.Load(); q > bound {
			t.Fatalf("queue at %d bytes, bound %d", q, bound)
		}
	}
	dropped := s.Stats().Events["message"]["dropped"]
	if dropped == 0 {
		t.Fatal("no message dropped past the bound")
	}
	var lifecycle []*Tracker
	for range 40 {
		lt := &Tracker{lane: l}
		s.Connected(lt, &Client{ID: "quiet"})
		lifecycle = append(lifecycle, lt)
	}
	st := s.Stats()
	if st.Events["connected"]["dropped"] != 0 || st.Events["message"]["dropped"] <= dropped || st.QueueBytes > bound {
		t.Fatalf("after lifecycle events: %+v", st)
	}
	g.Open()
	eventually(t, "every event delivered or dropped", func() bool {
		st := s.Stats()
		return st.Events["connected"]["delivered"] == 41 && st.Events["message"]["delivered"]+st.Events["message"]["dropped"] == 200
	})
	if st := s.Stats(); st.QueueBytes != 0 {
		t.Fatalf("queue holds %d bytes after delivery", st.QueueBytes)
	}
}

// TestConnectAnswers: what each backend answer makes of a connecting client.
func TestConnectAnswers(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		delay    time.Duration
		failOpen bool
		want     Answer
	}{
		{"200 with grants", 200, `{"uid":"u9","groups":["g1"],"session":{"a":1},"other":true}`, 0, false, Answer{Accept: true, UID: "u9", Groups: []string{"g1"}, Session: json.RawMessage(`{"a":1}`)}},
		{"204", 204, "", 0, false, Answer{Accept: true}},
		{"200 empty", 200, "", 0, false, Answer{Accept: true}},
		{"401", 401, "bad user", 0, false, Answer{Status: 401, Text: "bad user"}},
		{"403 long text", 403, strings.Repeat("x", 300), 0, false, Answer{Status: 403, Text: "refused by the backend"}},
		{"500 closed", 500, "", 0, false, Answer{Status: 503, Text: "backend unavailable", Failed: true}},
		{"500 open", 500, "", 0, true, Answer{Accept: true, Failed: true}},
		{"404 closed", 404, "", 0, false, Answer{Status: 503, Text: "backend unavailable", Failed: true}},
		{"garbage", 200, `{"uid":`, 0, false, Answer{Status: 503, Text: "backend unavailable", Failed: true}},
		{"bad uid", 200, `{"uid":"` + strings.Repeat("u", 300) + `"}`, 0, false, Answer{Status: 503, Text: "backend unavailable", Failed: true}},
		{"session not an object", 200, `{"session":[1]}`, 0, false, Answer{Status: 503, Text: "backend unavailable", Failed: true}},
		{"timeout closed", 200, "", 300 * time.Millisecond, false, Answer{Status: 503, Text: "backend unavailable", Failed: true}},
		{"timeout open", 200, "", 300 * time.Millisecond, true, Answer{Accept: true, Failed: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			asked := make(chan map[string]any, 1)
			rc := webhooktest.New(t, func(r *http.Request, events []map[string]any) (int, string) {
				if len(events) == 1 && events[0]["type"] == TypeConnect {
					asked <- events[0]
					time.Sleep(tc.delay)
					return tc.status, tc.body
				}
				return 204, ""
			})
			s := newSender(t, rc, func(c *Config) {
				c.Timeout, c.ConnectFailOpen, c.Events = 100*time.Millisecond, tc.failOpen, []string{TypeConnect}
			})
			s.Start()
			h := http.Header{"User-Agent": {"test"}, "Cookie": {"secret"}, "Authorization": {"Bearer t"}}
			answers := make(chan Answer, 1)
			s.Connect(&ConnectRequest{Client: Client{ID: "c1", RemoteAddr: "127.0.0.1:9"}, Path: "/ws", Query: "room=1&token=abc", Header: h}, func(a Answer) { answers <- a })
			var a Answer
			select {
			case a = <-answers:
			case <-time.After(5 * time.Second):
				t.Fatal("no answer")
			}
			ab, _ := json.Marshal(a)
			wb, _ := json.Marshal(tc.want)
			if string(ab) != string(wb) {
				t.Fatalf("answer %s, want %s", ab, wb)
			}
			got := <-asked
			if got["query"] != "room=1" || got["path"] != "/ws" {
				t.Fatalf("connect event %v: the token must be left out of the query", got)
			}
			if hs := got["headers"].(map[string]any); hs["User-Agent"] != "test" || hs["Cookie"] != nil || hs["Authorization"] != nil {
				t.Fatalf("connect headers %v: want User-Agent only", hs)
			}
		})
	}
}

func TestWithoutToken(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "",
		"token=a":             "",
		"a=1&token=x&b=2":     "a=1&b=2",
		"to%6Ben=x&tokens=1":  "tokens=1",
		"a=1&&token&b":        "a=1&b",
		"x=token%3Dsecret&y=": "x=token%3Dsecret&y=",
	} {
		if got := withoutToken(in); got != want {
			t.Errorf("withoutToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackoffFullJitter(t *testing.T) {
	for attempt := range 30 {
		ceiling := min(maxBackoff, minBackoff<<min(attempt, 20))
		for range 100 {
			if d := backoff(attempt); d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, outside [0, %v]", attempt, d, ceiling)
			}
		}
	}
}

// TestCloseGivesUpAtItsDeadline: with the backend down and much queued,
// Close returns soon after its deadline, counting what it dropped.
func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	rc := webhooktest.New(t, nil)
	rc.Server.Close()
	s := newSender(t, rc, func(c *Config) { c.Timeout = 50 * time.Millisecond })
	s.Start()
	for i := range 5000 {
		tr := s.Track(strconv.Itoa(i))
		s.Connected(tr, &Client{ID: strconv.Itoa(i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want its deadline's error", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v with a 300ms deadline", took)
	}
	st := s.Stats()
	if got := st.Events["connected"]["dropped"] + st.Events["node.started"]["dropped"]; got != 5001 {
		t.Fatalf("dropped %d events, want all 5001 (%+v)", got, st)
	}
}
