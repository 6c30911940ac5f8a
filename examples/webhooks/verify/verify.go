// Package verify is what a receiver of wsgate's webhooks does before it acts
// on a request, standard library only: check its signature the Standard
// Webhooks way (https://www.standardwebhooks.com/), and drop events already
// seen (delivery is at least once). The Go receiver in examples/webhooks/go
// and the chat backend in examples/chat use it.
//
// A request carries webhook-id, webhook-timestamp (unix seconds) and
// webhook-signature: one or more space-separated
// "v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>", one per
// secret wsgate signs with (several during a key rotation), where a secret is
// "whsec_" + the base64 of key.
package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tolerance is the largest difference between a request's webhook-timestamp
// and this machine's clock: an older request may be a replay.
const Tolerance = 5 * time.Minute

// Verifier checks requests against one or more secrets; safe for concurrent
// use.
type Verifier struct {
	keys [][]byte
}

// New parses a comma-separated list of secrets, "whsec_<base64 key>" (the
// prefix is optional); a request signed under any of them is accepted.
func New(secrets string) (*Verifier, error) {
	var v Verifier
	for s := range strings.SplitSeq(secrets, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) == 0 {
			return nil, errors.New("a webhook secret is not whsec_ followed by base64")
		}
		v.keys = append(v.keys, key)
	}
	if len(v.keys) == 0 {
		return nil, errors.New("no webhook secret")
	}
	return &v, nil
}

// Verify checks a request's headers against its raw body, before anything in
// the body is trusted: the timestamp must be within Tolerance of now and any
// v1 signature must match under any secret (compared in constant time).
func (v *Verifier) Verify(h http.Header, body []byte) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad webhook-timestamp")
	}
	if d := time.Since(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return errors.New("webhook-timestamp too far from now")
	}
	for _, key := range v.keys {
		want := mac(key, id, ts, body)
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

// Sign is the webhook-signature of body under secret ("v1,<base64 HMAC>"),
// for tests of a receiver.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	v, err := New(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(v.keys[0], id, strconv.FormatInt(timestamp, 10), body)), nil
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return m.Sum(nil)
}

// Seen is a bounded set of the last event ids added; safe for concurrent
// use.
type Seen struct {
	mu   sync.Mutex
	ids  map[string]struct{} // guarded by mu
	ring []string            // guarded by mu: insertion order, oldest at next
	next int                 // guarded by mu
}

// NewSeen remembers up to n ids.
func NewSeen(n int) *Seen {
	return &Seen{ids: make(map[string]struct{}, n), ring: make([]string, n)}
}

// Add reports whether id is new, and remembers it, forgetting the oldest id
// once n are remembered.
func (s *Seen) Add(id string) bool {
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
