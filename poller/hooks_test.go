package poller_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/wsframe"
)

// TestHandshakeHookSeesRequestAndAttachesData checks what OnHandshake is
// given, and that the data it accepts with is the Conn's before OnOpen.
func TestHandshakeHookSeesRequestAndAttachesData(t *testing.T) {
	type seen struct {
		path, query, token, remote string
		id                         string
	}
	hooked := make(chan seen, 1)
	opened := make(chan any, 1)
	s := startConfServer(t, poller.Config{
		OnHandshake: func(h *poller.Handshake) {
			hooked <- seen{h.Path, h.Query, h.Header.Get("X-Token"), h.RemoteAddr, h.Conn.ID()}
			if !h.Accept("session-of-" + h.Header.Get("X-Token")) {
				t.Error("Accept of a waiting handshake reported false")
			}
			if h.Accept(nil) || h.Refuse(403, "late") {
				t.Error("a second answer took effect")
			}
		},
		OnOpen: func(c *poller.Conn) error {
			opened <- c.Data()
			return nil
		},
	})
	c := openWS(t, s.addr, "/chat?room=1&token=abc", "X-Token: t1")
	got := <-hooked
	if got.path != "/chat" || got.query != "room=1&token=abc" || got.token != "t1" || got.remote != c.nc.LocalAddr().String() || got.id != c.id {
		t.Errorf("OnHandshake saw %+v; client %s at %s", got, c.id, c.nc.LocalAddr())
	}
	if d := <-opened; d != "session-of-t1" {
		t.Errorf("Conn.Data in OnOpen = %v, want the accepted data", d)
	}
	if d := s.conn(t, c.id).Data(); d != "session-of-t1" {
		t.Errorf("Conn.Data = %v after open", d)
	}
	c.roundTrip()
}

// TestHandshakeHookAnswersLater: a hook that answers from another goroutine
// holds no read goroutine; the client gets nothing until the answer, then the
// 101, its id and the answers to the frames it pipelined, in order.
func TestHandshakeHookAnswersLater(t *testing.T) {
	const delay = 150 * time.Millisecond
	var mu sync.Mutex
	var messages []string
	s := startConfServer(t, poller.Config{
		OnHandshake: func(h *poller.Handshake) {
			time.AfterFunc(delay, func() { h.Accept(nil) })
		},
		OnMessage: func(_ *poller.Conn, m wsframe.Message) {
			mu.Lock()
			messages = append(messages, string(m.Payload))
			mu.Unlock()
		},
	})
	start := time.Now()
	c := openWSPipelined(t, s.addr, "/", enc(pingF("early"), textF("hello"), textF("ping")))
	if d := time.Since(start); d < delay {
		t.Errorf("upgraded after %v, before the hook answered (%v)", d, delay)
	}
	c.expectFrame(ws.OpPong, []byte("early"))
	c.expectFrame(ws.OpText, []byte("pong"))
	c.mustWrite(enc(textF("later")))
	c.roundTrip()
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(messages, []string{"hello", "later"}) {
		t.Errorf("OnMessage got %q, want [hello later]", messages)
	}
}

// TestHandshakeHookRefuses: a refusal is an HTTP answer with the hook's
// status and text, no upgrade, counted as refused, and no OnOpen or OnClose.
func TestHandshakeHookRefuses(t *testing.T) {
	s := startConfServer(t, poller.Config{
		OnHandshake: func(h *poller.Handshake) {
			go h.Refuse(http.StatusUnauthorized, "bad token")
		},
		OnOpen: func(*poller.Conn) error {
			t.Error("OnOpen for a refused handshake")
			return nil
		},
	})
	a, _, _ := exchangeRaw(t, s.addr, upgradeRequest("/", newKey()).bytes(), confIOTimeout)
	if a.status != http.StatusUnauthorized || string(a.body) != "bad token" || !a.closed {
		t.Fatalf("answer %q body %q closed %v, want 401 \"bad token\" and closed", a.statusLine, a.body, a.closed)
	}
	if n := s.Stats().Closes[poller.ReasonRefused.String()]; n != 1 {
		t.Errorf("%d ends with reason refused, want 1", n)
	}
	if st := s.Stats(); st.Connections != 0 || st.HandshakeFailures != 1 {
		t.Errorf("stats %+v: want no connection and one handshake failure", st)
	}
}

// TestHandshakeHookThatNeverAnswers: the handshake timeout still applies, the
// slot is given back, and a late answer does nothing.
func TestHandshakeHookThatNeverAnswers(t *testing.T) {
	const timeout = 300 * time.Millisecond
	pending := make(chan *poller.Handshake, 1)
	s := startConfServer(t, poller.Config{
		HandshakeTimeout: timeout,
		MaxConns:         1,
		OnHandshake:      func(h *poller.Handshake) { pending <- h },
	})
	a, _, _ := exchangeRaw(t, s.addr, upgradeRequest("/", newKey()).bytes(), confIOTimeout)
	if a.statusLine != "" || !a.closed || a.elapsed < timeout-timeout/10 {
		t.Fatalf("answer %q closed %v after %v, want a bare close at %v", a.statusLine, a.closed, a.elapsed, timeout)
	}
	h := <-pending
	if h.Accept(nil) {
		t.Error("Accept after the timeout reported true")
	}
	if n := s.Stats().Closes[poller.ReasonHandshakeTimeout.String()]; n != 1 {
		t.Errorf("%d ends with reason handshake_timeout, want 1", n)
	}
	// MaxConns is 1: the slot the timed-out upgrade held must be free again.
	go func() { (<-pending).Accept(nil) }()
	openWS(t, s.addr, "/").roundTrip()
}

// TestOnMessage gets every data message, reassembled, but not the text
// heartbeat, and the payload only for the call.
func TestOnMessage(t *testing.T) {
	var mu sync.Mutex
	var got []wsframe.Message
	s := startConfServer(t, poller.Config{
		OnMessage: func(c *poller.Conn, m wsframe.Message) {
			mu.Lock()
			got = append(got, wsframe.Message{Op: m.Op, Payload: slices.Clone(m.Payload)})
			mu.Unlock()
		},
	})
	c := openWS(t, s.addr, "/")
	c.mustWrite(enc(textF("one"), textF("ping"), binF([]byte{0, 1, 2}), fragF(ws.OpText, false, "fr"), pingF("x"), contF(true, "agment")))
	c.expectFrame(ws.OpText, []byte("pong"))
	c.expectFrame(ws.OpPong, []byte("x"))
	c.roundTrip()
	mu.Lock()
	defer mu.Unlock()
	want := []wsframe.Message{{Op: ws.OpText, Payload: []byte("one")}, {Op: ws.OpBinary, Payload: []byte{0, 1, 2}}, {Op: ws.OpText, Payload: []byte("fragment")}}
	if !slices.EqualFunc(got, want, func(a, b wsframe.Message) bool { return a.Op == b.Op && string(a.Payload) == string(b.Payload) }) {
		t.Errorf("OnMessage got %v, want %v", got, want)
	}
}

// TestHookPanicCostsOneConnection: a hook that panics while a connection
// opens, on a goroutine of the hook's own (an async Accept), ends that
// connection (ReasonInternal) and still owes it its OnClose; the process and
// the other clients go on.
func TestHookPanicCostsOneConnection(t *testing.T) {
	var mu sync.Mutex
	opened, closed := map[string]int{}, map[string]poller.Closure{}
	s := startConfServer(t, poller.Config{
		OnHandshake: func(h *poller.Handshake) { go h.Accept(nil) },
		OnOpen: func(c *poller.Conn) error {
			mu.Lock()
			opened[c.ID()]++
			mu.Unlock()
			return nil
		},
		OnMessage: func(_ *poller.Conn, m wsframe.Message) {
			if string(m.Payload) == "boom" {
				panic("hook bug")
			}
		},
		OnClose: func(c *poller.Conn, cl poller.Closure) {
			mu.Lock()
			closed[c.ID()] = cl
			mu.Unlock()
		},
	})
	nc := dialConf(t, s.addr)
	nc.Write(append(upgradeRequest("/", newKey()).bytes(), enc(textF("boom"))...))
	confEventually(t, "OnClose of the connection whose hook panicked", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(closed) == 1
	})
	mu.Lock()
	for id, cl := range closed {
		if opened[id] != 1 || cl.Reason != poller.ReasonInternal {
			t.Errorf("client %s: opened %d times, closed with %v; want once, internal", id, opened[id], cl.Reason)
		}
	}
	mu.Unlock()
	openWS(t, s.addr, "/").roundTrip()
}
