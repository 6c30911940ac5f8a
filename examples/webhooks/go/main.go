// Command webhooks is an example receiver for wsgate's signed webhooks,
// standard library only. It verifies each request as the Standard Webhooks
// specification says (https://www.standardwebhooks.com/), drops events it has
// already seen, prints each new event as one line of JSON on stdout, and
// answers the blocking connect event.
//
//	WEBHOOK_SECRET=whsec_... go run ./examples/webhooks/go -listen 127.0.0.1:9000
//
// Requests: POST with a body {"events":[...]} and the headers webhook-id,
// webhook-timestamp (unix seconds) and webhook-signature, a space-separated
// list of "v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>"
// (several during a key rotation). A request is accepted when any v1
// signature matches under any configured secret and its timestamp is within
// five minutes of this machine's clock; otherwise the answer is 401.
//
// Answers: a connect event is posted alone and waits for the answer: 200 with
// {"uid", "groups", "session"} (all optional) or 204 accepts the connection,
// 401 or 403 refuses it. This example answers {"uid": <the "user" query
// parameter of the WebSocket URL>} when there is one, 204 otherwise. Every
// other batch is asynchronous and needs only a 2xx: 204 here.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	tolerance = 5 * time.Minute // largest difference between webhook-timestamp and our clock
	maxBody   = 1 << 20         // a larger body is refused with 413
	recentIDs = 10000           // event ids remembered for deduplication
)

func main() {
	listen := flag.String("listen", envOr("WEBHOOK_LISTEN", "127.0.0.1:9000"), "address to listen on (env WEBHOOK_LISTEN)")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "comma-separated whsec_ secrets (env WEBHOOK_SECRET)")
	flag.Parse()
	if err := run(*listen, *secret); err != nil {
		log.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run serves until SIGINT or SIGTERM, then shuts down within five seconds.
func run(listen, secrets string) error {
	keys, err := parseSecrets(secrets)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newReceiver(keys, os.Stdout, time.Now), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// parseSecrets reads a comma-separated list of "whsec_<base64 key>" secrets
// and returns the HMAC keys.
func parseSecrets(list string) ([][]byte, error) {
	var keys [][]byte
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) == 0 {
			return nil, errors.New("a webhook secret is not whsec_ followed by base64")
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no webhook secret: set WEBHOOK_SECRET or -secret")
	}
	return keys, nil
}

// receiver is the HTTP handler; it is safe for concurrent requests.
type receiver struct {
	keys [][]byte
	now  func() time.Time

	outMu sync.Mutex // guards out: one event per line, never interleaved
	out   io.Writer

	seen *recent
}

func newReceiver(keys [][]byte, out io.Writer, now func() time.Time) *receiver {
	return &receiver{keys: keys, out: out, now: now, seen: newRecent(recentIDs)}
}

// event holds the fields the receiver looks at; the whole event is printed.
type event struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Query string `json:"query"` // connect only: the WebSocket URL's raw query
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	// Verify the raw body before parsing anything in it.
	if err := rc.verify(r.Header, body); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var batch struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		http.Error(w, "body is not {\"events\":[...]}", http.StatusBadRequest)
		return
	}
	var connect *event
	for _, raw := range batch.Events {
		var ev event
		if err := json.Unmarshal(raw, &ev); err != nil {
			http.Error(w, "an event is not a JSON object", http.StatusBadRequest)
			return
		}
		if ev.Type == "connect" {
			connect = &ev
		}
		if ev.ID != "" && !rc.seen.add(ev.ID) {
			continue // delivered before (at-least-once): already printed
		}
		rc.printEvent(raw)
	}
	if connect == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// A retried connect gets the same answer: it is computed from the event.
	q, _ := url.ParseQuery(connect.Query)
	user := q.Get("user")
	if user == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"uid": user})
}

// verify checks the Standard Webhooks signature and timestamp of a request.
func (rc *receiver) verify(h http.Header, body []byte) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad webhook-timestamp")
	}
	if d := rc.now().Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook-timestamp too far from now")
	}
	for _, key := range rc.keys {
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.", id, ts)
		mac.Write(body)
		want := mac.Sum(nil)
		for sig := range strings.FieldsSeq(sigs) {
			b64, ok := strings.CutPrefix(sig, "v1,")
			if !ok {
				continue // another scheme (v1a, ...)
			}
			got, err := base64.StdEncoding.DecodeString(b64)
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return errors.New("no valid signature")
}

// printEvent writes one event as one compact line of JSON.
func (rc *receiver) printEvent(raw json.RawMessage) {
	var line bytes.Buffer
	if json.Compact(&line, raw) != nil {
		return // cannot happen: raw was decoded as an object above
	}
	line.WriteByte('\n')
	rc.outMu.Lock()
	defer rc.outMu.Unlock()
	rc.out.Write(line.Bytes())
}

// recent is a bounded set of the last n ids added.
type recent struct {
	mu   sync.Mutex
	ids  map[string]struct{} // guarded by mu
	ring []string            // guarded by mu: insertion order, oldest at next
	next int                 // guarded by mu
}

func newRecent(n int) *recent {
	return &recent{ids: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add reports whether id is new, and remembers it, forgetting the oldest id
// once n are remembered.
func (s *recent) add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return false
	}
	delete(s.ids, s.ring[s.next])
	s.ring[s.next] = id
	s.ids[id] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
	return true
}
