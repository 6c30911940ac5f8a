//go:build linux

package bench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// fakeGateway is a small stand-in for wsgate for tests: gorilla/websocket
// with a goroutine per connection, the client-id first frame, ping/pong and
// the REST endpoints the harness uses. It is as simple as possible, not fast.
type fakeGateway struct {
	ws, api *httptest.Server
	token   string

	sends atomic.Int64 // /send/* calls answered

	mu      sync.Mutex // guards clients, uids, groups
	clients map[string]*fakeConn
	uids    map[string]map[string]bool // uid -> client ids
	groups  map[string]map[string]bool // group -> client ids
}

type fakeConn struct {
	mu   sync.Mutex // serialises writes
	conn *websocket.Conn
}

func (c *fakeConn) write(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.WriteMessage(websocket.TextMessage, []byte(text))
}

// startFakeGateway starts the WebSocket and API servers; both stop at test
// cleanup.
func startFakeGateway(t *testing.T, token string) *fakeGateway {
	t.Helper()
	g := &fakeGateway{token: token, clients: map[string]*fakeConn{}, uids: map[string]map[string]bool{}, groups: map[string]map[string]bool{}}
	g.ws = httptest.NewServer(http.HandlerFunc(g.serveWS))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /send/all", g.send(func(r *fakeRequest) []string { return g.all(r.Exclude) }))
	mux.HandleFunc("POST /send/client", g.send(func(r *fakeRequest) []string { return append(r.ClientIDs, r.ClientID) }))
	mux.HandleFunc("POST /send/uid", g.send(func(r *fakeRequest) []string { return g.members(g.uids, append(r.UIDs, r.UID)) }))
	mux.HandleFunc("POST /send/group", g.send(func(r *fakeRequest) []string { return g.members(g.groups, append(r.Groups, r.Group)) }))
	mux.HandleFunc("POST /uid/bind", g.add(func(r *fakeRequest) (map[string]map[string]bool, []string) { return g.uids, []string{r.UID} }))
	mux.HandleFunc("POST /group/join", g.add(func(r *fakeRequest) (map[string]map[string]bool, []string) {
		return g.groups, append(r.Groups, r.Group)
	}))
	mux.HandleFunc("GET /client/count", g.count(func() int { return len(g.clients) }))
	mux.HandleFunc("GET /uid/count", g.count(func() int { return len(g.uids) }))
	mux.HandleFunc("GET /group/total", g.count(func() int { return len(g.groups) }))
	mux.HandleFunc("GET /stats", g.stats)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"ok":true}`)) })
	g.api = httptest.NewServer(g.auth(mux))
	t.Cleanup(func() {
		g.ws.CloseClientConnections()
		g.ws.Close()
		g.api.Close()
	})
	return g
}

func (g *fakeGateway) wsURL() string { return "ws" + strings.TrimPrefix(g.ws.URL, "http") + "/" }

func (g *fakeGateway) serveWS(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	id, c := uuid.NewString(), &fakeConn{conn: conn}
	g.mu.Lock()
	g.clients[id] = c
	g.mu.Unlock()
	c.write(id)
	defer g.drop(id)
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if string(msg) == "ping" {
			c.write("pong")
		}
	}
}

// drop forgets a client and the uids and groups it leaves empty.
func (g *fakeGateway) drop(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clients[id].conn.Close()
	delete(g.clients, id)
	for _, m := range []map[string]map[string]bool{g.uids, g.groups} {
		for name, ids := range m {
			delete(ids, id)
			if len(ids) == 0 {
				delete(m, name)
			}
		}
	}
}

type fakeRequest struct {
	Data      string   `json:"data"`
	Exclude   []string `json:"exclude"`
	ClientID  string   `json:"client_id"`
	ClientIDs []string `json:"client_ids"`
	UID       string   `json:"uid"`
	UIDs      []string `json:"uids"`
	Group     string   `json:"group"`
	Groups    []string `json:"groups"`
}

func (g *fakeGateway) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.token != "" && r.URL.Path != "/healthz" && r.Header.Get("Authorization") != "Bearer "+g.token {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func decode(w http.ResponseWriter, r *http.Request) (*fakeRequest, bool) {
	req := new(fakeRequest)
	if err := json.NewDecoder(r.Body).Decode(req); err != nil {
		http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
		return nil, false
	}
	return req, true
}

func (g *fakeGateway) all(exclude []string) []string {
	var ids []string
	for id := range g.clients {
		ids = append(ids, id)
	}
	skip := map[string]bool{}
	for _, id := range exclude {
		skip[id] = true
	}
	out := ids[:0]
	for _, id := range ids {
		if !skip[id] {
			out = append(out, id)
		}
	}
	return out
}

func (g *fakeGateway) members(m map[string]map[string]bool, names []string) []string {
	seen := map[string]bool{}
	for _, n := range names {
		for id := range m[n] {
			seen[id] = true
		}
	}
	var out []string
	for id := range seen {
		out = append(out, id)
	}
	return out
}

// send resolves targets under the lock, then writes outside it.
func (g *fakeGateway) send(targets func(*fakeRequest) []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, ok := decode(w, r)
		if !ok {
			return
		}
		var conns []*fakeConn
		g.mu.Lock()
		for _, id := range targets(req) {
			if c := g.clients[id]; c != nil {
				conns = append(conns, c)
			}
		}
		g.mu.Unlock()
		for _, c := range conns {
			c.write(req.Data)
		}
		json.NewEncoder(w).Encode(map[string]int{"sent": len(conns)})
		g.sends.Add(1)
	}
}

func (g *fakeGateway) add(target func(*fakeRequest) (map[string]map[string]bool, []string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, ok := decode(w, r)
		if !ok {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.clients[req.ClientID] == nil {
			http.Error(w, `{"error":"unknown client"}`, http.StatusNotFound)
			return
		}
		m, names := target(req)
		for _, n := range names {
			if n == "" {
				continue
			}
			if m[n] == nil {
				m[n] = map[string]bool{}
			}
			m[n][req.ClientID] = true
		}
		w.Write([]byte(`{"ok":true}`))
	}
}

func (g *fakeGateway) count(n func() int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]int{"count": n()})
	}
}

// stats reports this test process's own memory and CPU.
func (g *fakeGateway) stats(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("gc") == "1" {
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	g.mu.Lock()
	conns := len(g.clients)
	g.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{
		"connections": conns, "goroutines": runtime.NumGoroutine(), "heap_inuse_bytes": ms.HeapInuse,
		"rss_bytes": ms.Sys, "cpu_seconds": float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9,
	})
}
