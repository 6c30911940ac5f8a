package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewFormats(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "debug", FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("client connected", "client_id", "id-1", "remote", "10.0.0.7:5000")
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("JSON format wrote %q: %v", buf.String(), err)
	}
	for _, k := range []string{"time", "level", "msg", "client_id", "remote"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON line %v has no %q", m, k)
		}
	}
	buf.Reset()
	if log, err = New(&buf, "warn", FormatText); err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "reason", "slow_consumer")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "level=WARN msg=shown reason=slow_consumer") {
		t.Errorf("text format at warn: %q", got)
	}
	for _, bad := range [][2]string{{"loud", FormatText}, {"info", "xml"}} {
		if _, err := New(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("New(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://alice:s3cret@10.0.0.5:4222,nats://10.0.0.6:4222", "nats://alice:xxxxx@10.0.0.5:4222,nats://10.0.0.6:4222"},
		{"nats://tok3n@10.0.0.5:4222", "nats://xxxxx@10.0.0.5:4222"},
		{"nats://a:b@%zz", "(unparsable URL with credentials)"},
	} {
		got := RedactURL(tc.in)
		if got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		for _, secret := range []string{"s3cret", "tok3n"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactURL(%q) = %q keeps a secret", tc.in, got)
			}
		}
	}
}
