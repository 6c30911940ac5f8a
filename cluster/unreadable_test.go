package cluster

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestUnreadableRequests: a malformed request of this wire version gets an
// error answer at once; one of another version (a node of the previous
// release, during a rolling upgrade) gets none, so that node counts this
// one as not answering instead of failing its whole call on an error
// reply it would take for a refusal of the input.
func TestUnreadableRequests(t *testing.T) {
	_, nc := startNodeWithPeer(t, Config{NodeID: "new"})
	subj := "wsgate." + DefaultName + ".node.new"
	if _, err := nc.Request(subj, encodeRequest(nil, &request{Op: opInfo, From: "peer", IDs: []string{"x"}}), time.Second); err != nil {
		t.Fatalf("a request of this version got no answer: %v", err)
	}
	m, err := nc.Request(subj, []byte{wireVersion, 200}, time.Second)
	if err != nil {
		t.Fatalf("a malformed request got no answer: %v", err)
	}
	if rep, err := decodeReply(m.Data); err != nil || rep.ErrKey != "error" {
		t.Fatalf("answer to a malformed request: %+v, %v; want an error reply", rep, err)
	}
	old := encodeRequest(nil, &request{Op: opInfo, From: "old", IDs: []string{"x"}})
	old[0] = wireVersion - 1
	if _, err := nc.Request(subj, old, 300*time.Millisecond); err != nats.ErrTimeout {
		t.Fatalf("a request of the previous wire version: %v, want no answer", err)
	}
}
