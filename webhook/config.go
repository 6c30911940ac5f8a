package webhook

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wsgate/wsgate/registry"
)

// Event types.
const (
	TypeConnect      = "connect"
	TypeConnected    = "connected"
	TypeMessage      = "message"
	TypeDisconnected = "disconnected"
	TypeNodeStarted  = "node.started"
)

// ClientTypes are the event types Config.Events may name.
var ClientTypes = []string{TypeConnect, TypeConnected, TypeMessage, TypeDisconnected}

// DefaultEvents is Config.Events's default.
var DefaultEvents = []string{TypeConnected, TypeDisconnected}

// Defaults of Config.
const (
	DefaultTimeout            = 2 * time.Second
	DefaultQueueBytes         = 64 << 20
	DefaultRetryFor           = 5 * time.Minute
	DefaultConnectConcurrency = 128
)

// DefaultHeaders are the request headers a connect event carries
// (Config.Headers adds to them). Cookie and Authorization are never among
// them unless named.
var DefaultHeaders = []string{"Accept-Language", "Origin", "Sec-Websocket-Protocol", "User-Agent", "X-Forwarded-For", "X-Real-Ip"}

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("webhook: invalid config")

// Config is one backend endpoint. Zero values mean the documented defaults.
type Config struct {
	URL string // http:// or https://; required
	// Secrets are Standard Webhooks secrets, "whsec_" + base64 of the key;
	// at least one. Every request is signed with each (key rotation: the
	// backend accepts any one it knows).
	Secrets []string
	// Events are the client event types posted (ClientTypes); nil means
	// DefaultEvents. node.started is always posted.
	Events  []string
	Timeout time.Duration // one request's limit; 0 means DefaultTimeout
	// QueueBytes bounds the encoded events waiting to be posted; 0 means
	// DefaultQueueBytes.
	QueueBytes int
	// RetryFor is how long a batch is retried after its first attempt
	// before it is dropped (counted as expired); 0 means DefaultRetryFor.
	RetryFor time.Duration
	// ConnectConcurrency is how many connect events may be in flight at
	// once (each holds one worker goroutine and one backend connection);
	// more wait in line. 0 means DefaultConnectConcurrency.
	ConnectConcurrency int
	// ConnectFailOpen lets a client in (with what its token gave it) when the
	// connect event fails (timeout, 5xx, a garbled answer); by default such
	// a client is refused with 503.
	ConnectFailOpen bool
	// Headers are request headers a connect event carries besides
	// DefaultHeaders (e.g. "Cookie"); case-insensitive.
	Headers []string
	// MaxSession and MaxGroups bound what a connect answer may give a
	// client; 0 means the registry's defaults.
	MaxSession int
	MaxGroups  int
	Node       string       // the node id every event names; required
	Logger     *slog.Logger // nil = slog.Default()
}

// keys decodes the secrets' HMAC keys.
func (c *Config) keys() ([][]byte, error) {
	if len(c.Secrets) == 0 {
		return nil, fmt.Errorf("%w: a webhook secret is required (whsec_ + base64 key)", ErrConfig)
	}
	keys := make([][]byte, 0, len(c.Secrets))
	for i, s := range c.Secrets {
		b64, ok := strings.CutPrefix(strings.TrimSpace(s), "whsec_")
		key, err := base64.StdEncoding.DecodeString(b64)
		if !ok || err != nil || len(key) < 16 {
			return nil, fmt.Errorf("%w: secret %d is not whsec_ + the base64 of a key of 16 bytes or more", ErrConfig, i+1)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// normalize checks c and applies its defaults.
func (c *Config) normalize() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: webhook URL %q is not an http(s) URL", ErrConfig, c.URL)
	}
	if c.Node == "" {
		return fmt.Errorf("%w: a node id is required", ErrConfig)
	}
	if c.Events == nil {
		c.Events = DefaultEvents
	}
	for _, t := range c.Events {
		if !slices.Contains(ClientTypes, t) {
			return fmt.Errorf("%w: unknown event type %q (want any of %s)", ErrConfig, t, strings.Join(ClientTypes, ","))
		}
	}
	if c.Timeout < 0 || c.QueueBytes < 0 || c.RetryFor < 0 || c.ConnectConcurrency < 0 || c.MaxSession < 0 || c.MaxGroups < 0 {
		return fmt.Errorf("%w: negative limit", ErrConfig)
	}
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.QueueBytes = cmp.Or(c.QueueBytes, DefaultQueueBytes)
	c.RetryFor = cmp.Or(c.RetryFor, DefaultRetryFor)
	c.ConnectConcurrency = cmp.Or(c.ConnectConcurrency, DefaultConnectConcurrency)
	c.MaxSession = cmp.Or(c.MaxSession, registry.DefaultMaxSessionBytes)
	c.MaxGroups = cmp.Or(c.MaxGroups, registry.DefaultMaxGroupsPerClient)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return nil
}
