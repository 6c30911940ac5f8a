package cluster

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
)

// The wire encoding of requests and replies between nodes: a version byte,
// then each field in a fixed order, strings and byte slices length-prefixed
// (uvarint), lists count-prefixed. It is several times cheaper than JSON on
// the path every cluster-wide send takes. Heartbeats stay JSON (rare, and
// easy to read on the wire).

// wireVersion is the first byte of every request and reply. A node drops a
// request of another version unanswered (see Hub.refuse), so nodes of two
// versions see each other as not answering until the upgrade is done.
const wireVersion byte = 2 // 2: Info carries the session

var errWire = errors.New("cluster: malformed message")

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendList(b []byte, l []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(l)))
	for _, s := range l {
		b = appendStr(b, s)
	}
	return b
}

// encodeRequest appends r's encoding to b.
func encodeRequest(b []byte, r *request) []byte {
	b = append(b, wireVersion)
	b = appendStr(b, r.Op)
	b = appendStr(b, r.From)
	b = appendList(b, r.IDs)
	b = appendList(b, r.Names)
	b = appendList(b, r.Exclude)
	b = binary.AppendUvarint(b, uint64(r.Code))
	b = appendStr(b, r.Reason)
	b = append(b, byte(r.Frame))
	b = binary.AppendUvarint(b, uint64(len(r.Payload)))
	b = append(b, r.Payload...)
	b = append(b, byte(r.Listing))
	b = appendStr(b, r.After)
	return binary.AppendVarint(b, int64(r.Limit))
}

// encodeReply appends rep's encoding to b.
func encodeReply(b []byte, rep *reply) []byte {
	b = append(b, wireVersion)
	b = appendStr(b, rep.Node)
	b = binary.AppendVarint(b, int64(rep.N))
	flags := byte(0)
	if rep.OK {
		flags |= 1
	}
	if rep.More {
		flags |= 2
	}
	if rep.Info != nil {
		flags |= 4
	}
	b = append(b, flags)
	b = appendList(b, rep.Names)
	b = appendStr(b, rep.ErrKey)
	b = appendStr(b, rep.ErrMsg)
	if i := rep.Info; i != nil {
		b = appendStr(b, i.ClientID)
		b = appendStr(b, i.UID)
		b = appendList(b, i.Groups)
		b = appendStr(b, i.RemoteAddr)
		b = binary.AppendVarint(b, i.ConnectedAt.UnixNano())
		b = binary.AppendUvarint(b, uint64(len(i.Session)))
		b = append(b, i.Session...)
	}
	return b
}

// reader reads an encoding; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errWire
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if r.err != nil || n <= 0 {
		r.err = errWire
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if r.err != nil || n <= 0 {
		r.err = errWire
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errWire
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string { return string(r.bytes()) }

func (r *reader) list() []string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) { // every item takes a byte at least
		r.err = errWire
		return nil
	}
	var l []string
	if n > 0 {
		l = make([]string, n)
	}
	for i := range l {
		l[i] = r.str()
	}
	return l
}

// decodeRequest reads a request; its payload aliases b.
func decodeRequest(b []byte) (request, error) {
	r := reader{b: b}
	if r.byte() != wireVersion {
		return request{}, errWire
	}
	q := request{Op: r.str(), From: r.str(), IDs: r.list(), Names: r.list(), Exclude: r.list()}
	q.Code = uint16(r.uvarint())
	q.Reason = r.str()
	q.Frame = ws.OpCode(r.byte())
	q.Payload = r.bytes()
	q.Listing = registry.Listing(r.byte())
	q.After = r.str()
	q.Limit = int(r.varint())
	if r.err != nil || len(r.b) != 0 {
		return request{}, errWire
	}
	return q, nil
}

// decodeReply reads a reply.
func decodeReply(b []byte) (reply, error) {
	r := reader{b: b}
	if r.byte() != wireVersion {
		return reply{}, errWire
	}
	rep := reply{Node: r.str(), N: int(r.varint())}
	flags := r.byte()
	rep.OK, rep.More = flags&1 != 0, flags&2 != 0
	rep.Names = r.list()
	rep.ErrKey, rep.ErrMsg = r.str(), r.str()
	if flags&4 != 0 {
		rep.Info = &hub.Info{ClientID: r.str(), UID: r.str(), Groups: r.list(), RemoteAddr: r.str()}
		rep.Info.ConnectedAt = time.Unix(0, r.varint())
		if s := r.bytes(); len(s) > 0 {
			rep.Info.Session = s
		}
		if rep.Info.Groups == nil {
			rep.Info.Groups = []string{}
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return reply{}, errWire
	}
	return rep, nil
}
