//go:build linux

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEventTypes(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // nil with err
		err  bool
	}{
		{"batch", `{"events":[{"id":"a","type":"message","data":"hi"},{"type":"connected"}]}`, []string{"message", "connected"}, false},
		{"empty", `{"events":[]}`, []string{}, false},
		{"spaces", " {\n \"events\" : [ { \"type\" : \"message\" } , {\"type\":\"x\"} ] }\n", []string{"message", "x"}, false},
		{"type in session and data", `{"events":[{"session":{"type":"no","a":[{"type":"no"}]},"data":"\"type\":\"no\"","type":"message"}]}`, []string{"message"}, false},
		{"escaped quotes and backslashes", `{"events":[{"data":"a\\\"b\\\\","type":"message","x":"\\\\"}]}`, []string{"message"}, false},
		{"other keys first", `{"v":1,"more":{"events":[{"type":"no"}]},"events":[{"type":"disconnected","code":1000,"ok":true,"n":null}]}`, []string{"disconnected"}, false},
		{"event without type", `{"events":[{"id":"a"},{"type":7}]}`, []string{"", ""}, false},
		{"non-object elements", `{"events":[1,"s",[{"type":"no"}],{"type":"message"}]}`, []string{"message"}, false},
		{"no events", `{"other":[]}`, nil, true},
		{"not an object", `[{"type":"message"}]`, nil, true},
		{"truncated", `{"events":[{"type":"message"}`, nil, true},
		{"unterminated string", `{"events":[{"type":"mess`, nil, true},
		{"missing colon", `{"events" [{"type":"message"}]}`, nil, true},
		{"missing comma", `{"events":[{"type":"message"} {"type":"x"}]}`, nil, true},
		{"trailing garbage", `{"events":[]}x`, nil, true},
		{"empty body", ``, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []string{}
			err := eventTypes([]byte(tt.body), func(typ []byte) { got = append(got, string(typ)) })
			if tt.err {
				if !errors.Is(err, errEventsBody) {
					t.Fatalf("err = %v, want errEventsBody", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("types = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// FuzzEventTypes checks eventTypes against encoding/json: a body that
// json.Marshal builds from fuzzed strings gives back exactly the types it
// was built with, as json.Marshal wrote them. Any input must not panic.
func FuzzEventTypes(f *testing.F) {
	f.Add("message", `he said "type":"x"`, "type", []byte(`{"events":[{"type":"a"}]}`))
	f.Add("node.started", `\"]}`, `"`, []byte(`{"events":[{"type":"a\"`))
	f.Add("", "{[", "events", []byte(`{"events":[[[[`))
	f.Fuzz(func(t *testing.T, typ, data, key string, junk []byte) {
		_ = eventTypes(junk, func([]byte) {})
		events := []map[string]any{
			{"id": "e1", "data": data, key: map[string]any{"type": data}, "type": typ},
			{"type": "message", "list": []any{typ, map[string]any{"type": key}}},
		}
		body, err := json.Marshal(map[string]any{key + "x": data, "events": events})
		if err != nil {
			t.Skip()
		}
		raw, _ := json.Marshal(typ)
		want := []string{string(raw[1 : len(raw)-1]), "message"}
		var got []string
		if err := eventTypes(body, func(b []byte) { got = append(got, string(b)) }); err != nil || !slices.Equal(got, want) {
			t.Fatalf("eventTypes(%s) = %q, %v; want %q", body, got, err, want)
		}
	})
}

func TestReceiverServesAndCounts(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Scenario: "receiver", Receiver: addr, ConnectDelay: 50 * time.Millisecond}, io.Discard, io.Discard)
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("receiver: %v", err)
		}
	}()
	base := "http://" + addr
	waitFor(t, func() bool {
		resp, err := http.Get(base + "/counts")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	post := func(body string, signed bool) (int, time.Duration) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/hook", strings.NewReader(body))
		if signed {
			req.Header.Set("webhook-id", "m1")
			req.Header.Set("webhook-timestamp", "1700000000")
			req.Header.Set("webhook-signature", "v1,abc")
		}
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	if st, took := post(`{"events":[{"type":"message"},{"type":"message"},{"type":"connected"},{"type":"weird"}]}`, true); st != http.StatusNoContent || took >= 50*time.Millisecond {
		t.Errorf("batch: %d after %s, want 204 at once", st, took)
	}
	if st, took := post(`{"events":[{"type":"connect","client_id":"c"}]}`, true); st != http.StatusNoContent || took < 50*time.Millisecond {
		t.Errorf("connect: %d after %s, want 204 after the 50ms delay", st, took)
	}
	if st, _ := post(`{"events":[{"type":"message"}]}`, false); st != http.StatusUnauthorized {
		t.Errorf("unsigned: %d, want 401", st)
	}
	if st, _ := post(`{"events":[{"type":"message"}`, true); st != http.StatusBadRequest {
		t.Errorf("bad body: %d, want 400", st)
	}
	resp, err := http.Get(base + "/counts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got ReceiverCounts
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := ReceiverCounts{Events: map[string]uint64{"connect": 1, "connected": 1, "message": 2, "disconnected": 0, "node.started": 0, "other": 1},
		Requests: 4, Bad: 1, Unsigned: 1}
	if g, w := mustJSON(t, got), mustJSON(t, want); !bytes.Equal(g, w) {
		t.Errorf("counts = %s, want %s", g, w)
	}
	if d := got.sub(want); d.Requests != 0 || d.Events["message"] != 0 {
		t.Errorf("counts minus themselves = %+v, want zeros", d)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhookStatsSub(t *testing.T) {
	before := &WebhookStats{Events: map[string]map[string]int64{"message": {"delivered": 5}}, Retries: 1, QueueBytes: 10}
	after := &WebhookStats{Events: map[string]map[string]int64{"message": {"delivered": 15, "dropped": 2}, "connect": {"accepted": 3}}, Retries: 1, QueueBytes: 7}
	d := after.sub(before)
	want := `{"events":{"connect":{"accepted":3},"message":{"delivered":10,"dropped":2}},"retries":0,"queue_bytes":7}`
	if got := string(mustJSON(t, d)); got != want {
		t.Errorf("sub = %s, want %s", got, want)
	}
	if got := d.text(); got != "connect accepted=3; message delivered=10 dropped=2; retries 0; queue peak 7 B" {
		t.Errorf("text = %q", got)
	}
}
