package poller

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wsgate/wsgate/wsframe"
)

// ErrConfig wraps every Config validation error.
var ErrConfig = errors.New("poller: invalid config")

// Defaults for the zero values of Config.
const (
	DefaultAddr             = ":8282"
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultHeartbeatTimeout = 60 * time.Second
	DefaultMaxMessage       = 64 << 10
	DefaultSendQueue        = 1 << 20
	DefaultWriteTimeout     = 10 * time.Second
	DefaultMaxHeaderBytes   = 8 << 10
	DefaultMaxInboundRate   = 1000
)

// closeLinger is how long a connection whose final frame is written waits for
// the peer to close its side before the socket is closed anyway.
const closeLinger = time.Second

// Close codes the gateway sends besides the RFC 6455 ones.
const (
	CloseGoingAway        uint16 = 1001 // server shutdown
	ClosePolicy           uint16 = 1008 // inbound rate over MaxInboundRate
	CloseInternal         uint16 = 1011 // OnOpen refused the connection
	CloseServiceRestart   uint16 = 1012 // Drain: the node is leaving its cluster
	CloseHeartbeatTimeout uint16 = 4000 // client silent for HeartbeatTimeout
	CloseExpired          uint16 = 4001 // Conn.ExpireAt's time passed ("token expired": reconnect with a fresh one)
)

// Config configures a Server. Zero values mean the documented defaults.
type Config struct {
	Addr             string        // listen address; DefaultAddr
	Path             string        // if set, only this request path upgrades (others get 404)
	HandshakeTimeout time.Duration // whole opening handshake; DefaultHandshakeTimeout
	HeartbeatTimeout time.Duration // silence after which a client is closed with 4000; DefaultHeartbeatTimeout
	PingInterval     time.Duration // server Ping frames to every client; 0 disables
	MaxMessage       int           // inbound message limit (1009 over it); DefaultMaxMessage
	MaxConns         int           // upgraded connections; over it the upgrade gets 503; 0 = unlimited
	SendQueue        int           // per-connection outbound queue in bytes (a batch being written comes on top); DefaultSendQueue
	WriteTimeout     time.Duration // a flush blocked this long closes the connection; DefaultWriteTimeout
	AllowedOrigins   []string      // Origin header values allowed to upgrade; empty or "*" = any; no Origin = allowed
	MaxHeaderBytes   int           // opening handshake size limit (431 over it); DefaultMaxHeaderBytes
	MaxInboundRate   int           // client messages per second before a 1008 close; DefaultMaxInboundRate; < 0 = no limit

	// DisableCompression turns permessage-deflate (RFC 7692) off. When on, it is
	// negotiated with clients that offer it, with no context takeover either
	// way and server_max_window_bits declined (Go's flate has a fixed 32 KiB
	// window); a pushed frame is compressed once and shared by every such client.
	DisableCompression bool

	Logger *slog.Logger // nil = slog.Default()

	// NewID makes each connection's client id, a 36-character UUID string,
	// on the goroutine that upgrades it; it must be safe for concurrent use
	// and never return an id twice. nil = a random UUID (v4). A cluster tags
	// its ids with the node that owns them.
	NewID func() string

	// The hooks of the layer above, all optional. Each runs on the goroutine
	// named here; none may block for long, because that goroutine serves the
	// connection (netpoll's pool is unbounded, so one slow hook never stalls
	// another connection, but it does delay this one). A panic in a hook called
	// on a read goroutine costs that connection only.

	// OnHandshake is called once per request that passed the handshake
	// checks, before the 101 answer, on the connection's read goroutine. It
	// must call h.Accept or h.Refuse, now or later from any goroutine: see
	// Handshake. nil accepts every handshake with no data.
	OnHandshake func(h *Handshake)
	// OnOpen is called once per accepted connection, before the 101 answer
	// and the id frame are written, on the goroutine that called Accept (the
	// read goroutine without OnHandshake). Frames queued from then on go after
	// the id frame. A non-nil error closes the connection with 1011
	// (ReasonInternal) and OnClose is not called.
	OnOpen func(c *Conn) error
	// OnMessage is called for each client data message (text or binary, after
	// reassembly and inflation), except the text heartbeat "ping", which the
	// poller answers itself, on the connection's read goroutine, in the order
	// the client sent them. m.Payload is valid only until OnMessage returns.
	OnMessage func(c *Conn, m wsframe.Message)
	// OnClose is called exactly once for every connection OnOpen took, when
	// it ends, with how it ended, from whichever goroutine ended it (a read
	// goroutine, the timer goroutine, a sender, Shutdown). It must not block.
	OnClose func(c *Conn, cl Closure)
}

func (c Config) withDefaults() (Config, error) {
	setDefault(&c.Addr, DefaultAddr)
	setDefault(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setDefault(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	setDefault(&c.MaxMessage, DefaultMaxMessage)
	setDefault(&c.SendQueue, DefaultSendQueue)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&c.MaxInboundRate, DefaultMaxInboundRate)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.HandshakeTimeout < 0, c.HeartbeatTimeout < 0, c.PingInterval < 0, c.WriteTimeout < 0:
		return c, fmt.Errorf("%w: negative duration", ErrConfig)
	case c.MaxMessage < 0, c.MaxConns < 0, c.SendQueue < 0, c.MaxHeaderBytes < 0:
		return c, fmt.Errorf("%w: negative size", ErrConfig)
	case c.PingInterval > 0 && c.PingInterval >= c.HeartbeatTimeout:
		return c, fmt.Errorf("%w: ping interval %v must be shorter than heartbeat timeout %v", ErrConfig, c.PingInterval, c.HeartbeatTimeout)
	case c.MaxHeaderBytes < 256:
		return c, fmt.Errorf("%w: max header bytes %d below 256", ErrConfig, c.MaxHeaderBytes)
	}
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// wheelShape picks a tick fine enough for the shortest timeout (1/20 of it,
// between 5 ms and 250 ms) and enough slots to cover the longest in one lap, up
// to 65,536 slots (longer timeouts take several laps: expire re-arms).
func (c Config) wheelShape() (tick time.Duration, slots int) {
	shortest := min(c.HandshakeTimeout, c.HeartbeatTimeout)
	longest := max(c.HandshakeTimeout, c.HeartbeatTimeout)
	if c.PingInterval > 0 {
		shortest = min(shortest, c.PingInterval)
	}
	tick = min(max(shortest/20, 5*time.Millisecond), 250*time.Millisecond)
	slots = 2
	for time.Duration(slots-1)*tick < longest && slots < 1<<16 {
		slots <<= 1
	}
	return tick, slots
}
