package webhook

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Client is a snapshot of one client for its events. The Sender reads it
// during the call only.
type Client struct {
	ID         string
	UID        string
	Groups     []string
	Session    json.RawMessage // a JSON object, or nil
	RemoteAddr string
}

// Close describes how a client left, for its disconnected event.
type Close struct {
	Code   int    // the close code sent or received (1006 when none)
	Reason string // the lifecycle's reason, e.g. "peer_close"
	By     string // who ended it: client, server, heartbeat, slow_consumer, api, shutdown, token_expired, ...
}

// event is the JSON of one event. Optional parts are pointers to embedded
// structs, absent from the JSON when nil. appendEvent writes what
// json.Marshal would for it: a field added here must be added there (the
// differential test fails until it is).
type event struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Time  string `json:"time"`
	Node  string `json:"node"`
	Epoch int64  `json:"epoch,omitempty"` // node.started: the node's boot time, unix ms
	*clientPart
	*connectPart
	Data       *string `json:"data,omitempty"`
	DataBase64 *string `json:"data_base64,omitempty"`
	*closePart
}

type clientPart struct {
	ClientID   string          `json:"client_id"`
	UID        string          `json:"uid"`
	Groups     []string        `json:"groups"`
	Session    json.RawMessage `json:"session"`
	RemoteAddr string          `json:"remote_addr"`
}

type connectPart struct {
	Path    string            `json:"path"`
	Query   string            `json:"query"`
	Headers map[string]string `json:"headers"`
}

type closePart struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	By     string `json:"by"`
}

// emptyObject stands for a client without session data.
var emptyObject = json.RawMessage("{}")

func newClientPart(c *Client) *clientPart {
	p := &clientPart{ClientID: c.ID, UID: c.UID, Groups: c.Groups, Session: c.Session, RemoteAddr: c.RemoteAddr}
	if p.Groups == nil {
		p.Groups = []string{}
	}
	if p.Session == nil {
		p.Session = emptyObject
	}
	return p
}

// ids issues event and request ids: the node, its boot time and a counter,
// unique across nodes and restarts.
type ids struct {
	prefix string
	n      atomic.Uint64
}

func newIDs(node string, boot time.Time) *ids {
	return &ids{prefix: node + "-" + strconv.FormatInt(boot.UnixMilli(), 36) + "-"}
}

func (g *ids) next(kind string) string {
	return g.prefix + kind + strconv.FormatUint(g.n.Add(1), 36)
}

// timeFormat is RFC 3339 with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// newEvent starts an event of type t.
func (s *Sender) newEvent(t string) event {
	return event{ID: s.ids.next("e"), Type: t, Time: time.Now().UTC().Format(timeFormat), Node: s.cfg.Node}
}

// encode returns e's JSON, byte for byte what json.Marshal writes for it
// (see appendEvent), in a new slice.
func encode(e *event) []byte {
	size := 256
	if e.Data != nil {
		size += len(*e.Data)
	}
	if e.DataBase64 != nil {
		size += len(*e.DataBase64)
	}
	if e.clientPart != nil {
		size += len(e.Session)
	}
	return appendEvent(make([]byte, 0, size), e)
}

// messageEvent encodes a client data message.
func (s *Sender) messageEvent(c *Client, text bool, data []byte) []byte {
	e := s.newEvent(TypeMessage)
	e.clientPart = newClientPart(c)
	if text {
		d := string(data)
		e.Data = &d
	} else {
		d := base64.StdEncoding.EncodeToString(data)
		e.DataBase64 = &d
	}
	return encode(&e)
}

// connectEvent encodes a connect question: the client, the request path,
// its query without the token, and the configured headers.
func (s *Sender) connectEvent(c *Client, path, query string, h http.Header) []byte {
	e := s.newEvent(TypeConnect)
	e.clientPart = newClientPart(c)
	e.connectPart = &connectPart{Path: path, Query: withoutToken(query), Headers: map[string]string{}}
	for _, name := range s.headers {
		if v := h.Values(name); len(v) > 0 {
			e.Headers[name] = strings.Join(v, ", ")
		}
	}
	return encode(&e)
}

// withoutToken is a raw query without its token parameters: the token
// never leaves the gateway.
func withoutToken(query string) string {
	var kept []string
	for _, p := range strings.Split(query, "&") {
		k, _, _ := strings.Cut(p, "=")
		if k, err := url.QueryUnescape(k); p == "" || (err == nil && k == "token") {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&")
}
