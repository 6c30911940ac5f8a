package cluster

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/gobwas/ws"
	"github.com/google/uuid"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// The operations a node asks of others.
const (
	opSendAll      = "send_all"
	opSendClients  = "send_clients"
	opSendUIDs     = "send_uids"
	opSendGroups   = "send_groups"
	opBind         = "bind"
	opUnbind       = "unbind"
	opJoin         = "join"
	opLeave        = "leave"
	opDissolve     = "dissolve"
	opCloseClient  = "close_client"
	opCloseUID     = "close_uid"
	opInfo         = "info"
	opCount        = "count"
	opUIDOnline    = "uid_online"
	opUIDClients   = "uid_clients"
	opGroupClients = "group_clients"
	opGroupUIDs    = "group_uids"
	opGroupCount   = "group_count"
	opList         = "list"          // names after a name, in order: Listing, After, Limit
	opSetSession   = "set_session"   // Payload: the session object
	opMergeSession = "merge_session" // Payload: the object merged in
)

// request is one operation sent to other nodes (codec.go has its encoding).
type request struct {
	Op      string
	From    string
	IDs     []string
	Names   []string
	Exclude []string
	Code    uint16
	Reason  string
	Frame   ws.OpCode // the opcode of a pushed message
	Payload []byte    // its payload
	Listing registry.Listing
	After   string
	Limit   int
}

// withFrame carries f as opcode and payload.
func (r *request) withFrame(f *wsframe.Frame) *request {
	r.Frame, r.Payload = f.Op(), f.Payload()
	return r
}

// reply is one node's answer (codec.go has its encoding).
type reply struct {
	Node   string
	N      int
	OK     bool
	Names  []string
	Info   *hub.Info
	More   bool   // a listing has names past Names
	ErrKey string // "not_found", "invalid", "too_large", "error"
	ErrMsg string // what went wrong
}

// errorOf turns a reply's error back into the hub's.
func (r *reply) errorOf() error {
	switch r.ErrKey {
	case "":
		return nil
	case "not_found":
		return hub.ErrNotFound
	case "invalid":
		return fmt.Errorf("%w: %s", hub.ErrInvalid, r.ErrMsg)
	case "too_large":
		return fmt.Errorf("%w: %s", hub.ErrTooLarge, r.ErrMsg)
	}
	return errors.New(r.ErrMsg)
}

// setErr records err in the reply.
func (r *reply) setErr(err error) {
	switch {
	case err == nil:
	case errors.Is(err, hub.ErrNotFound):
		r.ErrKey = "not_found"
	case errors.Is(err, hub.ErrInvalid):
		r.ErrKey, r.ErrMsg = "invalid", strings.TrimPrefix(err.Error(), hub.ErrInvalid.Error()+": ")
	case errors.Is(err, hub.ErrTooLarge):
		r.ErrKey, r.ErrMsg = "too_large", strings.TrimPrefix(err.Error(), hub.ErrTooLarge.Error()+": ")
	default:
		r.ErrKey, r.ErrMsg = "error", err.Error()
	}
}

// NodeInfo is what a node announces, and what Nodes lists.
type NodeInfo struct {
	ID          string  `json:"id"`
	WSAddr      string  `json:"ws_addr"`
	APIAddr     string  `json:"api_addr"`
	Connections int     `json:"connections"`
	UptimeS     float64 `json:"uptime_s"`
	LastSeenMS  int64   `json:"last_seen_ms"`
}

// beat is the heartbeat payload.
type beat struct {
	ID          string  `json:"id"`
	Tag         uint32  `json:"tag"`
	WSAddr      string  `json:"ws_addr"`
	APIAddr     string  `json:"api_addr"`
	Connections int     `json:"connections"`
	UptimeS     float64 `json:"uptime_s"`
	Leaving     bool    `json:"leaving,omitempty"`
}

// tagOf is a node id's tag: the first four bytes of its client ids.
func tagOf(nodeID string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(nodeID))
	return h.Sum32()
}

// newTaggedID is a random UUID whose first four bytes are tag.
func newTaggedID(tag uint32) string {
	u := uuid.New()
	u[0], u[1], u[2], u[3] = byte(tag>>24), byte(tag>>16), byte(tag>>8), byte(tag)
	return u.String()
}

// idTag reads the tag of a client id; false if id is not a UUID string.
func idTag(id string) (uint32, bool) {
	if !hub.IsClientID(id) {
		return 0, false
	}
	var b [4]byte
	if _, err := hex.Decode(b[:], []byte(id[:8])); err != nil {
		return 0, false
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}
