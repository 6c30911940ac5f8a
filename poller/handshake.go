package poller

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/wsgate/wsgate/wsframe"
)

// readHandshake accumulates the opening handshake (RFC 6455 section 4.2.1) until
// the blank line, then upgrades. Bytes after the header are frames.
func (c *Conn) readHandshake(b []byte) {
	s := c.srv
	data, from := b, 0
	if c.hs != nil {
		from = max(len(c.hs)-3, 0) // the blank line may straddle the old and new bytes
		c.hs = append(c.hs, b...)
		data = c.hs
	}
	end := bytes.Index(data[from:], []byte("\r\n\r\n"))
	if end >= 0 {
		end += from
	}
	switch {
	case end < 0 && len(data) > s.cfg.MaxHeaderBytes:
		c.reject(http.StatusRequestHeaderFieldsTooLarge)
		return
	case len(data) > 0 && (data[0] < 'A' || data[0] > 'Z'):
		c.reject(http.StatusBadRequest) // TLS ClientHello, garbage: no request line starts this way
		return
	case end < 0:
		if c.hs == nil {
			c.hs = append(make([]byte, 0, len(b)), b...) // b dies at Release
		}
		return
	case end+4 > s.cfg.MaxHeaderBytes:
		c.reject(http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	head, rest := data[:end+4], data[end+4:]
	head, status := checkHead(head)
	if status != 0 {
		c.reject(status)
		return
	}
	rw := handshakeIO{in: head}
	u := s.upgrader
	var deflate *wsflate.Extension
	if !s.cfg.DisableCompression {
		deflate = &wsflate.Extension{Parameters: wsflate.DefaultParameters} // no context takeover
		u.Negotiate = func(o httphead.Option) (httphead.Option, error) {
			accept, err := deflate.Negotiate(o)
			if err != nil { // RFC 7692 section 5: decline an offer we cannot parse, keep upgrading
				return httphead.Option{}, nil
			}
			return accept, nil
		}
	}
	_, err := u.Upgrade(&rw)
	c.hs = nil
	if err != nil {
		if len(rw.out) == 0 { // gobwas gave up before answering (unparsable request line)
			c.reject(http.StatusBadRequest)
			return
		}
		c.refuse(rejectReason(err), rw.out)
		return
	}

	// The upgrade reserved a connection slot (OnBeforeUpgrade): from here every
	// end gives it back (ended, from upgrading or open).
	if deflate != nil {
		_, c.dec.Deflate = deflate.Accepted()
	}
	c.id = s.newID()
	hook := s.cfg.OnHandshake
	if hook != nil {
		c.hs = append([]byte(nil), rest...) // rest dies at Release
	}
	if !c.life.advance(stateHandshake, stateUpgrading) {
		// Ended meanwhile (timeout, Shutdown, the peer) as a handshake, whose
		// end owes no slot: give back the one the upgrade reserved.
		c.hs = nil
		s.conns.Add(-1)
		return
	}
	if hook == nil {
		c.rmu.Lock()
		defer c.rmu.Unlock()
		c.open(rw.out, rest)
		return
	}
	hook(newHandshake(c, head, rw.out))
}

// open completes an accepted upgrade, with rmu held: it queues the 101 answer
// and the id frame but holds them until OnOpen has registered the connection,
// so a client that reads its id can be addressed at once and a push queued
// meanwhile still goes after the id frame; then it decodes the frames that came
// with or after the request and moves to open. A connection that ended
// meanwhile (Shutdown, a timeout, an API close, the peer) still gets its
// OnClose here if OnOpen took it: its end saw it upgrading and left that to us.
// A panic in a hook ends this connection only (Accept may run on a goroutine
// no one else recovers).
func (c *Conn) open(resp, pending []byte) {
	s := c.srv
	if c.life.state() != stateUpgrading {
		return
	}
	took, opened := false, false
	defer func() {
		if r := recover(); r != nil {
			s.warn.Log(slog.LevelError, "panic while opening a connection", "panic", r, "client_id", c.id)
			c.abort(ReasonInternal, CodeAbnormal)
		}
		if took && !opened && s.cfg.OnClose != nil {
			s.cfg.OnClose(c, c.life.closure())
		}
	}()
	c.mu.Lock()
	c.flushing = true
	c.mu.Unlock()
	c.enqueue(wsframe.AppendFrame(resp, ws.OpText, []byte(c.id)), false)
	now := s.wheel.Now()
	c.lastSeen.Store(now)
	c.lastPing = now
	if s.cfg.OnOpen != nil {
		if err := s.cfg.OnOpen(c); err != nil {
			s.warn.Warn("connection refused by OnOpen", "client_id", c.id, "remote", c.RemoteAddr(), "err", err)
			c.closeWith(ReasonInternal, CloseInternal, "registration failed")
			c.drain(false)
			return
		}
	}
	took = true
	if len(pending) > 0 {
		s.stats.bytesReceived.Add(int64(len(pending)))
		c.readFrames(pending)
	}
	if opened = c.life.advance(stateUpgrading, stateOpen); opened {
		s.stats.accepted.Add(1)
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("client connected", "client_id", c.id, "remote", c.RemoteAddr())
		}
		first := s.hbTicks
		if s.pingTicks > 0 {
			first = min(first, s.pingTicks)
		}
		if exp := c.expiry.Load(); exp != 0 {
			first = max(1, min(first, exp-s.wheel.Now()))
		}
		s.wheel.AddIf(&c.node, first, c.live)
	}
	c.drain(false)
}

// reject answers bytes that cannot become a handshake with an HTTP error and closes.
func (c *Conn) reject(status int) {
	c.hs = nil
	c.refuse(ReasonHandshakeFailure, httpError(status, http.StatusText(status)))
}

// refuse ends a connection that was not upgraded with r and answer, an HTTP
// error response written as its final bytes.
func (c *Conn) refuse(r Reason, answer []byte) {
	cl := Closure{Reason: r, Code: uint16(statusOf(answer))}
	if from, won := c.life.end(stateClosing, cl); won {
		c.ended(from, cl)
		c.enqueue(answer, true)
	}
}

// httpError is a complete HTTP error response with a text body.
func httpError(status int, text string) []byte {
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), len(text), text)
}

// statusOf reads the status code of an HTTP response ("HTTP/1.1 403 ...").
func statusOf(resp []byte) int {
	if len(resp) < 12 {
		return 0
	}
	n, err := strconv.Atoi(string(resp[9:12]))
	if err != nil {
		return 0
	}
	return n
}

// rejectReason maps an error of the upgrader's callbacks to a close reason.
func rejectReason(err error) Reason {
	switch err {
	case errMaxConns:
		return ReasonServerFull
	case errStopping:
		return ReasonShutdown
	}
	return ReasonHandshakeFailure
}

// handshakeIO feeds exactly the buffered handshake bytes to ws.Upgrader and
// collects its response, so the upgrade never blocks and never swallows frames.
type handshakeIO struct {
	in  []byte
	out []byte
}

func (h *handshakeIO) Read(p []byte) (int, error) {
	if len(h.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p, h.in)
	h.in = h.in[n:]
	return n, nil
}

func (h *handshakeIO) Write(p []byte) (int, error) {
	h.out = append(h.out, p...)
	return len(p), nil
}

// newUpgrader builds the server's shared ws.Upgrader; its callbacks touch only
// server-wide state.
func (s *Server) newUpgrader() ws.Upgrader {
	u := ws.Upgrader{
		OnBeforeUpgrade: func() (ws.HandshakeHeader, error) {
			if s.stopping.Load() || s.draining.Load() {
				return nil, errStopping
			}
			if !s.reserveConn() {
				return nil, errMaxConns
			}
			return nil, nil
		},
	}
	if s.cfg.Path != "" {
		u.OnRequest = func(uri []byte) error {
			path, _, _ := bytes.Cut(uri, []byte("?"))
			if string(path) != s.cfg.Path {
				return errPath
			}
			return nil
		}
	}
	if origins := s.cfg.AllowedOrigins; len(origins) > 0 && !(len(origins) == 1 && origins[0] == "*") {
		u.OnHeader = func(key, value []byte) error {
			if string(key) != "Origin" {
				return nil
			}
			for _, o := range origins {
				if strings.EqualFold(o, string(value)) {
					return nil
				}
			}
			return errOrigin
		}
	}
	return u
}

// reserveConn counts one more upgraded connection unless MaxConns is reached.
func (s *Server) reserveConn() bool {
	for {
		n := s.conns.Load()
		if s.cfg.MaxConns > 0 && n >= int64(s.cfg.MaxConns) {
			return false
		}
		if s.conns.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// checkHead applies the opening-handshake rules gobwas/ws leaves out (RFC 6455
// section 4.2.1) to a complete request head: a well-formed request line
// ("METHOD SP request-target SP HTTP/d.d"), exactly one Sec-WebSocket-Key that
// is the base64 of 16 bytes, and an Upgrade header that may be a token list
// ("h2c, websocket": RFC 7230 section 6.7). It returns the head to hand to the
// upgrader (rewritten only in the token-list case) or an HTTP status to reject
// it with.
func checkHead(head []byte) ([]byte, int) {
	lines := strings.Split(string(head[:len(head)-4]), "\r\n")
	if !validRequestLine(lines[0]) {
		return nil, http.StatusBadRequest
	}
	keys, rewrite := 0, -1
	for i, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue // gobwas rejects malformed header lines
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Sec-WebSocket-Key"):
			keys++
			if k, err := base64.StdEncoding.DecodeString(value); err != nil || len(k) != 16 {
				return nil, http.StatusBadRequest
			}
		case strings.EqualFold(name, "Upgrade") && !strings.EqualFold(value, "websocket") && hasToken(value, "websocket"):
			rewrite = i + 1
		}
	}
	if keys > 1 {
		return nil, http.StatusBadRequest
	}
	if rewrite >= 0 {
		lines[rewrite] = "Upgrade: websocket"
		head = []byte(strings.Join(lines, "\r\n") + "\r\n\r\n")
	}
	return head, 0
}

// validRequestLine reports whether l is "METHOD SP request-target SP HTTP/d.d"
// (RFC 7230 section 3.1.1) with an upper-case method token.
func validRequestLine(l string) bool {
	method, rest, ok := strings.Cut(l, " ")
	if !ok || method == "" || strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return false
	}
	target, version, ok := strings.Cut(rest, " ")
	if !ok || target == "" || strings.ContainsAny(target, " \t") {
		return false
	}
	return len(version) == 8 && strings.HasPrefix(version, "HTTP/") && isDigit(version[5]) && version[6] == '.' && isDigit(version[7])
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// hasToken reports whether the comma-separated list v holds token t (case-insensitive).
func hasToken(v, t string) bool {
	for _, item := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(item), t) {
			return true
		}
	}
	return false
}
