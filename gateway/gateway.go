package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/cluster"
	"github.com/wsgate/wsgate/grpcapi"
	"github.com/wsgate/wsgate/httpapi"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/metrics"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/webhook"
	"github.com/wsgate/wsgate/wsframe"
)

// Process holds the settings that are the process's, not a Gateway's; see Setup.
type Process = poller.Process

// Setup applies the process-wide settings (netpoll's buffer size and logger,
// uuid's random pool). Call it once before the first New; a second call with
// the same settings does nothing, one with another buffer size fails.
func Setup(p Process) error { return poller.Setup(p) }

// Config is one gateway. Zero values mean each component's documented defaults.
type Config struct {
	WS   poller.Config  // its hooks are the gateway's: set the ones below instead
	API  httpapi.Config // its Stats is the gateway's
	GRPC grpcapi.Config // the replaced gateway's gRPC API; off when GRPC.Addr is ""
	// Cluster joins this gateway to others over NATS; off when
	// Cluster.NATSURL is "". Its NodeID defaults to a random one.
	Cluster cluster.Config
	// DrainDuration is how long a clustered gateway's Shutdown spreads the
	// closes of its clients (1012, so they reconnect to other nodes) over;
	// 0 means DefaultDrainDuration. A single node closes them at once (1001).
	DrainDuration time.Duration
	Registry      registry.Config // sharding and fan-out of local sends
	// Auth verifies a JWT at each handshake (see package auth); off when it
	// has no key. Its MaxSession and MaxGroups are the registry's limits.
	Auth auth.Config
	// Webhook posts client events to a backend; off when Webhook.URL is "".
	// Its Node is the gateway's node id, MaxSession and MaxGroups the
	// registry's limits.
	Webhook webhook.Config
	Logger  *slog.Logger // nil = slog.Default(); given to every component

	// OnHandshake decides on each upgrade before the 101 (see
	// poller.Handshake: it may answer later); nil accepts every client. It
	// replaces the gateway's own handshake step (token, connect webhook), so
	// setting it with Auth or Webhook is an error.
	OnHandshake func(h *poller.Handshake)
	// OnMessage gets each client data message but the "ping" heartbeat (see
	// poller.Config.OnMessage for its goroutine and the payload's lifetime).
	OnMessage func(c *poller.Conn, m wsframe.Message)
	// OnClose is called once per connection that was open, after it left the
	// registry, with how it ended. It must not block.
	OnClose func(c *poller.Conn, cl poller.Closure)
}

// Gateway is a running wsgate: clients on the WebSocket listener, backends on
// the API listener.
type Gateway struct {
	log   *slog.Logger
	node  string // this node's id: the cluster's, or a random one
	reg   *hub.Registry
	hooks *webhook.Sender // nil without webhooks
	auth  *auth.Verifier  // nil without tokens
	// leeway is how long past its exp a token still counts (Auth.Leeway).
	leeway time.Duration
	// authFailures counts refused tokens by auth.Kind.
	authFailures sync.Map // string -> *atomic.Int64
	hub          hub.Hub
	nodes        *cluster.Hub // nil for a single node
	drain        time.Duration
	// apiAddr is the API's address, for the cluster's heartbeat goroutine
	// (the API starts after the cluster hub it serves).
	apiAddr atomic.Pointer[string]
	ws      *poller.Server
	api     *httpapi.Server
	grpc    *grpcapi.Server // nil when off
	metrics *metrics.Registry
}

// New builds every component from cfg and opens both listeners. Setup must
// have run. Call Serve next.
func New(cfg Config) (*Gateway, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	reg, err := registry.New[*wsframe.Frame](cfg.Registry)
	if err != nil {
		return nil, err
	}
	g := &Gateway{log: log, reg: reg, hub: hub.NewLocal(reg), drain: cmp.Or(cfg.DrainDuration, DefaultDrainDuration)}
	g.node = cmp.Or(cfg.Cluster.NodeID, cluster.NewNodeID())
	if cfg.Cluster.NATSURL != "" {
		log = log.With("node", g.node) // on every line of every component
		g.log = log
	}
	if len(cfg.Auth.Secret) > 0 || len(cfg.Auth.PublicKeyPEM) > 0 {
		ac := cfg.Auth
		ac.MaxSession, ac.MaxGroups = cfg.Registry.MaxSessionBytes, cfg.Registry.MaxGroupsPerClient
		if g.auth, err = auth.New(ac); err != nil {
			return nil, err
		}
		g.leeway = cmp.Or(ac.Leeway, auth.DefaultLeeway)
		log.Info("client tokens required", "algorithms", g.auth.Algorithms(), "optional", ac.Optional)
	}
	if cfg.Webhook.URL != "" {
		wc := cfg.Webhook
		wc.Node, wc.Logger = g.node, log
		wc.MaxSession, wc.MaxGroups = cfg.Registry.MaxSessionBytes, cfg.Registry.MaxGroupsPerClient
		if g.hooks, err = webhook.New(wc); err != nil {
			return nil, err
		}
	}
	ws, err := g.wsConfig(cfg)
	if err != nil {
		return nil, err
	}
	if g.ws, err = poller.New(ws); err != nil {
		return nil, err
	}

	if cfg.Cluster.NATSURL != "" {
		cc := cfg.Cluster
		cc.NodeID, cc.Logger = g.node, log
		cc.Describe = g.describe
		if g.nodes, err = cluster.New(reg, cc); err != nil {
			return nil, errors.Join(err, g.ws.Shutdown(context.Background()))
		}
		g.hub = g.nodes
	}
	g.instrument()
	api := cfg.API
	api.Logger = log
	api.Stats = g.stats
	api.Metrics = g.metrics
	if g.nodes != nil {
		api.Cluster = g.nodes
	}
	if g.api, err = httpapi.New(g.hub, api); err != nil {
		return nil, errors.Join(err, g.closeNodes(), g.ws.Shutdown(context.Background()))
	}
	apiAddr := g.api.Addr().String()
	g.apiAddr.Store(&apiAddr)
	if cfg.GRPC.Addr != "" {
		rpc := cfg.GRPC
		rpc.Logger = log
		if g.grpc, err = grpcapi.New(g.hub, rpc); err != nil {
			return nil, errors.Join(err, g.closeNodes(), g.ws.Shutdown(context.Background()), g.api.Shutdown(context.Background()))
		}
	}
	if g.hooks != nil {
		g.hooks.Start() // node.started goes out now
	}
	return g, nil
}

// wsConfig is the poller's config: cfg.WS with the gateway's hooks, which
// register clients and run the backend integration around cfg's hooks.
func (g *Gateway) wsConfig(cfg Config) (poller.Config, error) {
	ws := cfg.WS
	if cfg.Cluster.NATSURL != "" {
		ws.NewID = cluster.IDs(g.node)
	}
	ws.Logger = g.log
	ws.OnHandshake = cfg.OnHandshake
	if g.hooks != nil || g.auth != nil {
		if cfg.OnHandshake != nil {
			return ws, errors.New("gateway: OnHandshake excludes Auth and Webhook: they are the gateway's own handshake step")
		}
		ws.OnHandshake = g.handshake
	}
	ws.OnOpen = func(c *poller.Conn) error {
		if err := g.reg.Add(c); err != nil {
			return err
		}
		if err := g.open(c); err != nil {
			// The poller calls no OnClose for a connection OnOpen refused:
			// take back the entry Add made, with what open gave it.
			g.reg.Remove(c.ID())
			return err
		}
		return nil
	}
	ws.OnMessage = cfg.OnMessage // nil: the poller calls nothing per message
	if g.hooks != nil && g.hooks.Wants(webhook.TypeMessage) {
		ws.OnMessage = func(c *poller.Conn, m wsframe.Message) {
			g.message(c, m)
			if cfg.OnMessage != nil {
				cfg.OnMessage(c, m)
			}
		}
	}
	ws.OnClose = func(c *poller.Conn, cl poller.Closure) {
		g.closed(c, cl)
		if cfg.OnClose != nil {
			cfg.OnClose(c, cl)
		}
	}
	return ws, nil
}

// WSAddr is the address clients connect to (useful with port 0).
func (g *Gateway) WSAddr() net.Addr { return g.ws.Addr() }

// APIAddr is the REST API's address.
func (g *Gateway) APIAddr() net.Addr { return g.api.Addr() }

// GRPCAddr is the gRPC API's address, nil when it is off.
func (g *Gateway) GRPCAddr() net.Addr {
	if g.grpc == nil {
		return nil
	}
	return g.grpc.Addr()
}

// Hub is the hub the API drives, for Go code that pushes without HTTP.
func (g *Gateway) Hub() hub.Hub { return g.hub }

// Stats is the WebSocket side's counters, closes by reason included.
func (g *Gateway) Stats() poller.Stats { return g.ws.Stats() }

// stats is GET /stats's extra fields: the WebSocket side's, the cluster's
// and the webhooks'.
func (g *Gateway) stats() any {
	st := struct {
		poller.Stats
		Cluster  map[string]int64 `json:"cluster,omitempty"`
		Webhooks *webhook.Stats   `json:"webhooks,omitempty"`
		// AuthFailures counts refused tokens by auth.Kind.
		AuthFailures map[string]int64 `json:"auth_failures,omitempty"`
	}{Stats: g.ws.Stats()}
	if g.auth != nil {
		st.AuthFailures = g.authCounts()
	}
	if g.nodes != nil {
		st.Cluster = g.nodes.Stats()
	}
	if g.hooks != nil {
		w := g.hooks.Stats()
		st.Webhooks = &w
	}
	return st
}

// describe is what this node announces to its cluster.
func (g *Gateway) describe() (wsAddr, apiAddr string, connections int) {
	if p := g.apiAddr.Load(); p != nil {
		apiAddr = *p
	}
	return g.ws.Addr().String(), apiAddr, int(g.ws.Stats().Connections)
}

// closeNodes leaves the cluster, if any.
func (g *Gateway) closeNodes() error {
	if g.nodes != nil {
		g.nodes.Close()
	}
	return nil
}

// Serve accepts clients and API requests until ctx is done (it then returns
// nil) or a listener fails (it returns that error). Either way the gateway
// keeps its clients: call Shutdown.
func (g *Gateway) Serve(ctx context.Context) error {
	errc := make(chan error, 3)
	go func() { errc <- g.ws.Serve() }()
	go func() { errc <- g.api.Serve() }()
	attrs := []any{"ws", g.WSAddr().String(), "api", g.APIAddr().String()}
	if g.grpc != nil {
		go func() { errc <- g.grpc.Serve() }()
		attrs = append(attrs, "grpc", g.grpc.Addr().String())
	}
	g.log.Info("wsgate listening", attrs...)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		if err == nil {
			return nil // Shutdown ran
		}
		return fmt.Errorf("gateway: %w", err)
	}
}

// DefaultDrainDuration is Config.DrainDuration's default.
const DefaultDrainDuration = 10 * time.Second

// webhookFlushGrace bounds how long Shutdown posts the last queued events.
const webhookFlushGrace = 2 * time.Second

// apiShutdownGrace is how long the API's shutdown may take once the
// WebSocket side is done, whatever was left of the caller's deadline.
const apiShutdownGrace = time.Second

// Shutdown closes every client with 1001 (ReasonShutdown; in a cluster first
// 1012 spread over DrainDuration, so they reconnect to other nodes) and waits
// for them within ctx, leaves the cluster, then stops the APIs, giving calls in flight up to
// apiShutdownGrace even when ctx has expired. It returns ctx's error when
// clients were still closing at the deadline (they are then cut off).
// Idempotent.
func (g *Gateway) Shutdown(ctx context.Context) error {
	if g.nodes != nil {
		// Clients go to the other nodes bit by bit (1012), while this node
		// still answers the cluster for the ones not closed yet.
		g.ws.Drain(ctx, poller.CloseServiceRestart, "service restart", g.drain)
	}
	wsErr := g.ws.Shutdown(ctx)
	g.closeNodes()
	if g.hooks != nil {
		// The disconnected events of the clients just closed go out, for
		// up to webhookFlushGrace.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), webhookFlushGrace)
		g.hooks.Close(wctx)
		cancel()
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiShutdownGrace)
	defer cancel()
	errs := []error{wsErr, g.api.Shutdown(actx)}
	if g.grpc != nil {
		errs = append(errs, g.grpc.Shutdown(actx))
	}
	return errors.Join(errs...)
}
