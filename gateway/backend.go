package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/webhook"
	"github.com/wsgate/wsgate/wsframe"
)

// CloseTokenExpired closes a client whose token expired: a reconnect-class
// code (the client gets a fresh token and connects again).
const CloseTokenExpired = poller.CloseExpired

// client is what the gateway keeps with one connection (poller.Conn.Data):
// what its handshake granted, and its place in the webhook stream.
type client struct {
	// grant is read by open and dropped there (the registry has it then),
	// so an open connection keeps only this small struct.
	grant *grant
	// Set by open, read by message and closed, which the poller runs
	// after it; nil without webhooks.
	track *webhook.Tracker
}

// grant is what a client is given before its id frame: the token's claims,
// then the connect webhook's answer.
type grant struct {
	uid     string
	groups  []string
	session json.RawMessage // compact JSON object or nil
	expires time.Time       // zero: never
}

// answered applies the connect webhook's answer: its uid replaces the
// token's, its groups are added, its session replaces the token's.
func (gr *grant) answered(a webhook.Answer) {
	if a.UID != "" {
		gr.uid = a.UID
	}
	for _, g := range a.Groups {
		if !slices.Contains(gr.groups, g) {
			gr.groups = append(gr.groups, g)
		}
	}
	if a.Session != nil {
		gr.session = a.Session
	}
}

// handshake is the poller's OnHandshake when the gateway checks tokens or
// asks the backend: it refuses a bad token at once, and otherwise accepts,
// or lets the connect webhook answer later (from its worker goroutine).
func (g *Gateway) handshake(h *poller.Handshake) {
	cl := &client{grant: &grant{}}
	if g.auth != nil {
		claims, _, err := g.auth.Check(h.Query, h.Header)
		if err != nil {
			g.countAuthFailure(auth.Kind(err))
			h.Refuse(http.StatusUnauthorized, auth.Reason(err))
			return
		}
		*cl.grant = grant{uid: claims.UID, groups: claims.Groups, session: claims.Session}
		if !claims.Expires.IsZero() {
			cl.grant.expires = claims.Expires.Add(g.leeway) // it was accepted within the leeway
		}
	}
	if g.hooks == nil || !g.hooks.Wants(webhook.TypeConnect) {
		h.Accept(cl)
		return
	}
	req := &webhook.ConnectRequest{
		Client: webhook.Client{ID: h.Conn.ID(), UID: cl.grant.uid, Groups: cl.grant.groups, Session: cl.grant.session, RemoteAddr: h.RemoteAddr},
		Path:   h.Path, Query: h.Query, Header: h.Header, Waiting: h.Waiting,
	}
	g.hooks.Connect(req, func(a webhook.Answer) {
		if !a.Accept {
			h.Refuse(a.Status, a.Text)
			return
		}
		cl.grant.answered(a)
		h.Accept(cl)
	})
}

// countAuthFailure counts one refused token of the given kind.
func (g *Gateway) countAuthFailure(kind string) {
	n, _ := g.authFailures.LoadOrStore(kind, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

// authCounts is the refused tokens by kind.
func (g *Gateway) authCounts() map[string]int64 {
	m := map[string]int64{}
	g.authFailures.Range(func(k, v any) bool {
		m[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return m
}

// open gives a client what its handshake granted, before its id frame, and
// starts its webhook stream and token clock.
func (g *Gateway) open(c *poller.Conn) error {
	cl, _ := c.Data().(*client)
	if cl == nil {
		return nil
	}
	gr := cl.grant
	id := c.ID()
	if gr.uid != "" {
		if err := g.reg.BindUID(id, gr.uid); err != nil {
			return fmt.Errorf("binding the granted uid: %w", err)
		}
	}
	if len(gr.groups) > 0 {
		if err := g.reg.JoinGroups(id, gr.groups); err != nil {
			return fmt.Errorf("joining the granted groups: %w", err)
		}
	}
	if gr.session != nil {
		if err := g.reg.UpdateSession(id, func([]byte) ([]byte, error) { return gr.session, nil }); err != nil {
			return fmt.Errorf("setting the granted session: %w", err)
		}
	}
	if !gr.expires.IsZero() {
		c.ExpireAt(gr.expires) // the poller's wheel closes it: no timer per connection
	}
	cl.grant = nil // the registry has it now
	if g.hooks != nil {
		cl.track = g.hooks.Track(id)
		if g.hooks.Wants(webhook.TypeConnected) {
			g.hooks.Connected(cl.track, g.snapshot(id, c.RemoteAddr()))
		}
	}
	return nil
}

// message posts a client's data message to the backend (installed only when
// message events are wanted).
func (g *Gateway) message(c *poller.Conn, m wsframe.Message) {
	if cl, _ := c.Data().(*client); cl != nil && cl.track != nil {
		g.hooks.Message(cl.track, g.snapshot(c.ID(), c.RemoteAddr()), m.Op == ws.OpText, m.Payload)
	}
}

// closed removes a client and tells the backend how it left.
func (g *Gateway) closed(c *poller.Conn, cl poller.Closure) {
	st, _ := c.Data().(*client)
	if st == nil || st.track == nil {
		g.reg.Remove(c.ID())
		return
	}
	info, _ := g.reg.Take(c.ID())
	g.hooks.Disconnected(st.track, &webhook.Client{ID: c.ID(), UID: info.UID, Groups: info.Groups, Session: info.Session, RemoteAddr: c.RemoteAddr()},
		webhook.Close{Code: int(cl.Code), Reason: cl.Reason.String(), By: closedBy(cl)})
}

// snapshot describes a registered client for an event.
func (g *Gateway) snapshot(id, remote string) *webhook.Client {
	info, _ := g.reg.Info(id)
	return &webhook.Client{ID: id, UID: info.UID, Groups: info.Groups, Session: info.Session, RemoteAddr: remote}
}

// closedBy is a disconnected event's "by": who ended the connection.
func closedBy(cl poller.Closure) string {
	switch cl.Reason {
	case poller.ReasonPeerClose, poller.ReasonPeerGone:
		return "client"
	case poller.ReasonHeartbeatTimeout:
		return "heartbeat"
	case poller.ReasonSlowConsumer, poller.ReasonWriteTimeout:
		return "slow_consumer"
	case poller.ReasonRateLimit:
		return "rate_limit"
	case poller.ReasonProtocolError:
		return "protocol_error"
	case poller.ReasonShutdown:
		return "shutdown"
	case poller.ReasonServerClose:
		if cl.Code == CloseTokenExpired {
			return "token_expired"
		}
		return "api"
	}
	return "server"
}
