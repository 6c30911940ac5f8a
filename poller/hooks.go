package poller

import (
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
)

// Handshake is an opening handshake that passed every protocol check and
// waits for Config.OnHandshake's answer before the 101 is sent. Its fields are
// copies the hook may keep.
//
// The hook answers by calling Accept or Refuse exactly once (later calls do
// nothing), on its own goroutine or any other, before it returns or later: a
// hook that must wait (for a backend, say) returns at once and answers when it
// knows, without holding an event-loop goroutine. Until then the client gets
// nothing and frames it sends are kept (up to MaxHeaderBytes+MaxMessage bytes);
// an answer that does not come within HandshakeTimeout of the connection's
// accept ends it with ReasonHandshakeTimeout.
type Handshake struct {
	Conn       *Conn       // the connection: ID is set; do not Send to it or Close it before Accept
	Path       string      // request path, without the query
	Query      string      // raw query, without '?'; "" when none
	Header     http.Header // request headers, keys canonicalised
	RemoteAddr string

	resp     []byte // the 101 answer
	answered atomic.Bool
}

// newHandshake describes the validated request head for the hook.
func newHandshake(c *Conn, head, resp []byte) *Handshake {
	lines := strings.Split(string(head[:len(head)-4]), "\r\n")
	_, rest, _ := strings.Cut(lines[0], " ")
	target, _, _ := strings.Cut(rest, " ")
	path, query, _ := strings.Cut(target, "?")
	h := &Handshake{Conn: c, Path: path, Query: query, Header: make(http.Header, len(lines)-1), RemoteAddr: c.RemoteAddr(), resp: resp}
	for _, line := range lines[1:] {
		if name, value, ok := strings.Cut(line, ":"); ok {
			key := textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
			h.Header[key] = append(h.Header[key], strings.TrimSpace(value))
		}
	}
	return h
}

// Waiting reports whether the connection still waits for this handshake's
// answer: not answered, and neither closed nor timed out meanwhile. A hook
// that answers later may check it to skip work for a client that left.
func (h *Handshake) Waiting() bool {
	return !h.answered.Load() && h.Conn.life.state() == stateUpgrading
}

// Accept upgrades the connection and attaches data to it (Conn.Data). OnOpen
// runs, then the 101 answer and the id frame are sent. It reports whether the
// connection was still waiting (false once it timed out, closed or was
// answered before).
func (h *Handshake) Accept(data any) bool {
	return h.answer(func(c *Conn, pending []byte) {
		c.data = data
		c.open(h.resp, pending)
	})
}

// Refuse answers the handshake with an HTTP error status (400-599; anything
// else becomes 403) and text as the body, and closes the connection with
// ReasonRefused. It reports whether the connection was still waiting.
func (h *Handshake) Refuse(status int, text string) bool {
	if status < 400 || status > 599 {
		status = http.StatusForbidden
	}
	return h.answer(func(c *Conn, _ []byte) { c.refuse(ReasonRefused, httpError(status, text)) })
}

// answer runs fn, with the connection's read side (rmu) held and the bytes
// that came while it waited, if this is the first answer and the connection
// still waits for it.
func (h *Handshake) answer(fn func(c *Conn, pending []byte)) bool {
	if !h.answered.CompareAndSwap(false, true) {
		return false
	}
	c := h.Conn
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.life.state() != stateUpgrading {
		return false
	}
	pending := c.hs
	c.hs = nil
	fn(c, pending)
	return true
}
