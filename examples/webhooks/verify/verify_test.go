package verify

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	oldSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	newSecret = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdGluZy0xMjM0NTY3OA=="
)

func TestNew(t *testing.T) {
	for _, bad := range []string{"", " , ", "whsec_not base64!", "whsec_"} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	v, err := New(newSecret + "," + strings.TrimPrefix(oldSecret, "whsec_"))
	if err != nil || len(v.keys) != 2 || string(v.keys[0]) != "secret-key-for-testing-12345678" {
		t.Fatalf("New = %+v, %v", v, err)
	}
}

// TestVerify covers what the receivers' tests cannot see from outside: the
// Standard Webhooks example vector. The request cases (rotation, tampering,
// timestamps...) are in examples/webhooks/go.
func TestVerify(t *testing.T) {
	// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
	// (the "Verifying webhooks" example): the signature of msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}
	sig, err := Sign(oldSecret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil || sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("Sign = %q, %v", sig, err)
	}
	v, _ := New(oldSecret)
	body := []byte(`{"events":[]}`)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	good, _ := Sign(oldSecret, "msg_1", time.Now().Unix(), body)
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", now)
	h.Set("webhook-signature", "v1a,xyz v1,AAAA "+good)
	if err := v.Verify(h, body); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	h.Set("webhook-id", "msg_2")
	if err := v.Verify(h, body); err == nil {
		t.Fatal("Verify accepted a signature of another webhook-id")
	}
}

// TestSeenBounded: the set forgets the oldest id once full.
func TestSeenBounded(t *testing.T) {
	s := NewSeen(2)
	for _, step := range []struct {
		id  string
		new bool
	}{{"a", true}, {"a", false}, {"b", true}, {"c", true}, {"a", true}, {"c", false}} {
		if got := s.Add(step.id); got != step.new {
			t.Fatalf("Add(%q) = %v, want %v", step.id, got, step.new)
		}
	}
	if len(s.ids) != 2 {
		t.Fatalf("%d ids remembered, want 2", len(s.ids))
	}
}
