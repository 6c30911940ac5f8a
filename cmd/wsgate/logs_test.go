package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"
)

// TestJSONLogsKeysAndNoSecrets runs the real binary with -log-format json at
// debug level, as a cluster node whose NATS URL carries a password (NATS is
// not there: the node serves its own clients), with an API token. A client
// connects and leaves, the API is called with the token and with a wrong
// one. Every line must be one JSON object; the connect and disconnect lines
// carry the stable keys; neither secret appears anywhere.
func TestJSONLogsKeysAndNoSecrets(t *testing.T) {
	const token, password = "tok-hunter2-secret", "pw-s3cret-nats"
	bin := buildBinary(t)
	apiAddr := freeAddr(t)
	cmd, wsAddr, stderr := startBinary(t, bin, "-log-level", "debug", "-log-format", "json",
		"-api-addr", apiAddr, "-api-token", token, "-drain-duration", "100ms",
		"-nats-url", "nats://wsgate:"+password+"@"+freeAddr(t), "-node-id", "n1")

	c, _, err := websocket.DefaultDialer.Dial("ws://"+wsAddr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, id, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"))
	c.ReadMessage() // the echoed Close
	c.Close()
	for _, tok := range []string{token, "wrong-" + token} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+apiAddr+"/client/count", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitExit(t, cmd); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr)
	}

	out := stderr.String()
	for _, secret := range []string{token, password} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds the secret %q:\n%s", secret, out)
		}
	}
	seen := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", line, err)
		}
		if m["client_id"] == string(id) || m["msg"] == "joining the cluster" {
			seen[m["msg"].(string)] = m
		}
	}
	for msg, keys := range map[string][]string{
		"client connected":    {"time", "level", "node", "client_id", "remote"},
		"client disconnected": {"node", "client_id", "remote", "reason", "code"},
		"joining the cluster": {"node", "cluster", "nats"},
	} {
		m, ok := seen[msg]
		if !ok {
			t.Errorf("no %q line for the client:\n%s", msg, out)
			continue
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%q line %v has no key %q", msg, m, k)
			}
		}
	}
	if m := seen["client disconnected"]; m != nil && (m["reason"] != "peer_close" || m["code"] != 4001.0) {
		t.Errorf("disconnect line %v: want reason peer_close, code 4001", m)
	}
}
