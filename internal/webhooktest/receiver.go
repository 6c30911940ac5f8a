// Package webhooktest is a backend for tests: a real HTTP server that
// checks every request's Standard Webhooks signature with the example
// receivers' implementation of the scheme (examples/webhooks/verify,
// independent of package webhook's), and
// records the events of the requests it accepts.
//
// It knows nothing of the gateway. A Receiver is safe for concurrent use.
package webhooktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/wsgate/wsgate/examples/webhooks/verify"
)

// Secret is a Standard Webhooks secret for tests (the one of the scheme's
// published test vector).
const Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// verifier checks requests against Secret.
var verifier = func() *verify.Verifier {
	v, err := verify.New(Secret)
	if err != nil {
		panic(err)
	}
	return v
}()

// Answer decides a request's status and body from its events; nil answers
// 204 to everything.
type Answer func(r *http.Request, events []map[string]any) (status int, body string)

// Receiver is a running backend.
type Receiver struct {
	URL    string
	Server *httptest.Server

	t      testing.TB
	answer Answer

	mu       sync.Mutex
	events   []map[string]any // guarded by mu: those of 2xx-answered requests, in order
	msgIDs   []string         // guarded by mu: every request's webhook-id
	accepted map[string]bool  // guarded by mu: webhook-ids answered 2xx
	requests int              // guarded by mu
}

// New starts a Receiver that stops when the test ends. A request whose
// signature (by Secret), timestamp or content type is wrong fails the test
// and gets 401.
func New(t testing.TB, answer Answer) *Receiver {
	rc := &Receiver{t: t, answer: answer, accepted: map[string]bool{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	rc.URL = rc.Server.URL
	t.Cleanup(rc.Server.Close)
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := verifier.Verify(r.Header, body); err != nil || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("webhook %s: bad signature or type: %q", r.Header.Get("webhook-id"), r.Header)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b struct{ Events []map[string]any }
	if err := json.Unmarshal(body, &b); err != nil {
		rc.t.Errorf("webhook body %q: %v", body, err)
	}
	status, text := http.StatusNoContent, ""
	if rc.answer != nil {
		status, text = rc.answer(r, b.Events)
	}
	rc.mu.Lock()
	rc.requests++
	rc.msgIDs = append(rc.msgIDs, r.Header.Get("webhook-id"))
	if id := r.Header.Get("webhook-id"); status/100 == 2 && !rc.accepted[id] {
		rc.accepted[id] = true // a retry of a request already taken repeats nothing
		rc.events = append(rc.events, b.Events...)
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
	io.WriteString(w, text)
}

// Events returns a copy of the accepted events, in arrival order, each
// request's once (a retry of a request answered 2xx before adds nothing,
// as a receiver deduplicating on webhook-id would do).
func (rc *Receiver) Events() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]any(nil), rc.events...)
}

// Summary lists the accepted events as "type client_id data" lines (parts
// that are absent left out), in arrival order.
func (rc *Receiver) Summary() []string {
	var out []string
	for _, e := range rc.Events() {
		s, _ := e["type"].(string)
		if id, ok := e["client_id"].(string); ok {
			s += " " + id
		}
		if d, ok := e["data"].(string); ok {
			s += " " + d
		}
		out = append(out, s)
	}
	return out
}

// MessageIDs returns every request's webhook-id, in arrival order.
func (rc *Receiver) MessageIDs() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.msgIDs...)
}

// Requests is how many requests arrived.
func (rc *Receiver) Requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.requests
}

// Gate is an Answer that holds every request until Open, then answers 204.
type Gate struct{ ch chan struct{} }

func NewGate() *Gate { return &Gate{ch: make(chan struct{})} }

func (g *Gate) Wait(*http.Request, []map[string]any) (int, string) {
	<-g.ch
	return http.StatusNoContent, ""
}

// Open lets every held and later request through. Call it once.
func (g *Gate) Open() { close(g.ch) }
