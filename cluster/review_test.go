package cluster

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// TestReviewOtherVersionGetsAnAnswer: codec.go says "a node answers a
// request of another version with an error instead of misreading it", but
// serve drops an undecodable request without a reply. This change bumps
// wireVersion to 2, so during a rolling upgrade every one-client operation
// between an old and a new node waits the whole cluster Timeout and fails
// as unavailable (fan-outs report the other nodes missing after it).
func TestReviewOtherVersionGetsAnAnswer(t *testing.T) {
	ns := startNATS(t)
	reg, err := registry.New[*wsframe.Frame](registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(reg, Config{NATSURL: ns.ClientURL(), NodeID: "new"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	subj := "wsgate." + DefaultName + ".node.new"
	if _, err := nc.Request(subj, encodeRequest(nil, &request{Op: opInfo, From: "peer", IDs: []string{"x"}}), time.Second); err != nil {
		t.Fatalf("a request of this version got no answer: %v", err)
	}
	old := encodeRequest(nil, &request{Op: opInfo, From: "old", IDs: []string{"x"}})
	old[0] = wireVersion - 1 // what a node of the previous release sends
	if _, err := nc.Request(subj, old, time.Second); err != nil {
		t.Fatalf("a request of the previous wire version got no answer: %v", err)
	}
}
