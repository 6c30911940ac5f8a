package cluster

import (
	"reflect"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
)

func TestCodecRoundTrip(t *testing.T) {
	q := request{Op: opSendGroups, From: "n1", IDs: []string{"a"}, Names: []string{"g1", "g2"}, Exclude: []string{"x"},
		Code: 4001, Reason: "bye", Frame: ws.OpBinary, Payload: []byte{0, 1, 2}, Listing: registry.Groups, After: "m", Limit: -1}
	got, err := decodeRequest(encodeRequest(nil, &q))
	if err != nil || !reflect.DeepEqual(got, q) {
		t.Fatalf("request round trip: %+v, %v", got, err)
	}
	rep := reply{Node: "n2", N: 7, OK: true, More: true, Names: []string{"u"}, ErrKey: "invalid", ErrMsg: "no",
		Info: &hub.Info{ClientID: "c", UID: "u", Groups: []string{}, Session: []byte(`{"k":1}`), RemoteAddr: "1.2.3.4:5", ConnectedAt: time.Unix(0, 42)}}
	back, err := decodeReply(encodeReply(nil, &rep))
	if err != nil || !reflect.DeepEqual(back, rep) {
		t.Fatalf("reply round trip: %+v, %v", back, err)
	}
}

// FuzzDecodeRequest: any bytes from the network decode or are refused,
// never panic, and what decodes encodes back to the same request.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(encodeRequest(nil, &request{Op: opSendAll, From: "n1", Frame: ws.OpText, Payload: []byte("hi")}))
	f.Add([]byte{wireVersion, 200, 200, 200})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := decodeRequest(b)
		if err != nil {
			return
		}
		again, err := decodeRequest(encodeRequest(nil, &q))
		if err != nil || !reflect.DeepEqual(again, q) {
			t.Fatalf("re-encoding %+v gave %+v, %v", q, again, err)
		}
	})
}

// FuzzDecodeReply is FuzzDecodeRequest for replies.
func FuzzDecodeReply(f *testing.F) {
	f.Add(encodeReply(nil, &reply{Node: "n1", N: 3, Names: []string{"a"}}))
	f.Add(encodeReply(nil, &reply{Node: "n1", Info: &hub.Info{ClientID: "c", Groups: []string{"g"}}}))
	f.Add([]byte{wireVersion, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := decodeReply(b)
		if err != nil {
			return
		}
		if _, err := decodeReply(encodeReply(nil, &rep)); err != nil {
			t.Fatalf("re-encoding %+v: %v", rep, err)
		}
	})
}
