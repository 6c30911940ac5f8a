package webhook

import (
	"bytes"
	"encoding/json"
	"testing"
)

// eventCases cover every part of an event and the escapes.
func eventCases() map[string]*event {
	text, b64 := "hello <b>&\"\\\n\t\b\f\x01\x7f é \u2028\u2029 \xff end", "aGk="
	return map[string]*event{
		"node.started": {ID: "n1-x-e1", Type: TypeNodeStarted, Time: "2026-12-01T10:00:00.000Z", Node: "n1", Epoch: 1764583200000},
		"message text": {ID: "e2", Type: TypeMessage, Time: "t", Node: "n1", Data: &text,
			clientPart: &clientPart{ClientID: "c1", UID: "u<1>", Groups: []string{"g1", "g&2"}, Session: json.RawMessage(`{"a":1,"b":"<x>"}`), RemoteAddr: "127.0.0.2:1"}},
		"message binary": {ID: "e3", Type: TypeMessage, Time: "t", Node: "n1", DataBase64: &b64,
			clientPart: &clientPart{ClientID: "c1", Groups: []string{}, Session: emptyObject}},
		"nil groups and session": {ID: "e4", Type: TypeConnected, clientPart: &clientPart{}},
		"session with spaces":    {ID: "e5", Type: TypeConnected, clientPart: &clientPart{Session: json.RawMessage(" { \"a\" : [1, 2],\n\"s\":\"x y\u2028\" } ")}},
		"connect": {ID: "e6", Type: TypeConnect, Node: "n1", clientPart: &clientPart{ClientID: "c", Groups: []string{}, Session: emptyObject},
			connectPart: &connectPart{Path: "/ws", Query: "a=1&b=<2>", Headers: map[string]string{"User-Agent": "x", "Origin": "https://a", "Accept-Language": "de"}}},
		"connect nil headers": {ID: "e7", Type: TypeConnect, connectPart: &connectPart{}},
		"disconnected": {ID: "e8", Type: TypeDisconnected, clientPart: &clientPart{ClientID: "c", Groups: []string{"g"}, Session: emptyObject},
			closePart: &closePart{Code: 1006, Reason: "peer_gone", By: "client"}},
		"empty": {},
	}
}

func TestAppendEventMatchesMarshal(t *testing.T) {
	for name, e := range eventCases() {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if got := encode(e); !bytes.Equal(got, want) {
				t.Errorf("encode =\n%s\nwant (json.Marshal)\n%s", got, want)
			}
		})
	}
}

// FuzzAppendEvent checks appendEvent against json.Marshal on fuzzed
// strings (any bytes: invalid UTF-8, controls, HTML characters) in every
// string field and a fuzzed session that is valid JSON.
func FuzzAppendEvent(f *testing.F) {
	f.Add("id", "message", "a<b>&c\u2028", "uid", "g", []byte(`{"k": "v <x>"}`), 1000)
	f.Add("\xff\xfe", "\x00\x1f\"\\", "\u2029", "", "", []byte(`{}`), -1)
	f.Fuzz(func(t *testing.T, id, typ, data, uid, group string, session []byte, code int) {
		if !json.Valid(session) {
			session = nil
		}
		e := &event{ID: id, Type: typ, Time: data, Node: uid, Epoch: int64(code), Data: &data,
			clientPart:  &clientPart{ClientID: id, UID: uid, Groups: []string{group, data}, Session: session, RemoteAddr: typ},
			connectPart: &connectPart{Path: data, Query: group, Headers: map[string]string{uid: data, group: id}},
			closePart:   &closePart{Code: code, Reason: data, By: group}}
		want, err := json.Marshal(e)
		if err != nil {
			t.Skip() // a RawMessage json.Marshal refuses
		}
		if got := encode(e); !bytes.Equal(got, want) {
			t.Fatalf("encode =\n%q\nwant (json.Marshal)\n%q", got, want)
		}
	})
}
