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
// five minutes of this machine's clock; otherwise the answer is 401. The
// checks and the deduplication are package examples/webhooks/verify.
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
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/examples/webhooks/verify"
)

const (
	maxBody   = 1 << 20 // a larger body is refused with 413
	recentIDs = 10000   // event ids remembered for deduplication
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
	v, err := verify.New(secrets)
	if err != nil {
		return fmt.Errorf("%w: set WEBHOOK_SECRET or -secret", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newReceiver(v, os.Stdout), ReadHeaderTimeout: 10 * time.Second}
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

// receiver is the HTTP handler; it is safe for concurrent requests.
type receiver struct {
	verifier *verify.Verifier

	outMu sync.Mutex // guards out: one event per line, never interleaved
	out   io.Writer

	seen *verify.Seen
}

func newReceiver(v *verify.Verifier, out io.Writer) *receiver {
	return &receiver{verifier: v, out: out, seen: verify.NewSeen(recentIDs)}
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
	if err := rc.verifier.Verify(r.Header, body); err != nil {
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
		if ev.ID != "" && !rc.seen.Add(ev.ID) {
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
