package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	_ "net/http/pprof" // served only with -pprof-addr
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/cluster"
	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/httpapi"
	"github.com/wsgate/wsgate/logging"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/webhook"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wsgate:", err)
		os.Exit(1)
	}
}

// config is everything the flags set.
type config struct {
	gw              gateway.Config
	process         gateway.Process
	origins         string
	inboundRate     int
	apiOrigins      string
	grpcAllow       string
	apiHosts        string
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
	pprofAddr       string
	compression     bool
	webhookSecrets  string
	webhookEvents   string
	webhookHeaders  string
	webhookFail     string
	jwtSecret       string
	jwtPublicKey    string
	jwtRequired     bool
}

// parseFlags reads args, with WSGATE_* environment variables as defaults.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("wsgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.gw.WS.Addr, "ws-addr", poller.DefaultAddr, "WebSocket listen address")
	fs.StringVar(&c.gw.WS.Path, "ws-path", "", "only this request path upgrades (default: any path)")
	fs.StringVar(&c.gw.API.Addr, "api-addr", httpapi.DefaultAddr, "REST API listen address")
	fs.StringVar(&c.gw.API.Token, "api-token", "", "bearer token the REST API requires (default: none)")
	fs.DurationVar(&c.gw.WS.HeartbeatTimeout, "heartbeat-timeout", poller.DefaultHeartbeatTimeout, "close clients silent this long (code 4000)")
	fs.DurationVar(&c.gw.WS.PingInterval, "ping-interval", 0, "send WebSocket Ping frames this often (0: never)")
	fs.DurationVar(&c.gw.WS.HandshakeTimeout, "handshake-timeout", poller.DefaultHandshakeTimeout, "close connections that do not finish the upgrade in time")
	fs.IntVar(&c.gw.WS.MaxMessage, "max-message", poller.DefaultMaxMessage, "largest inbound message in bytes (1009 over it)")
	fs.IntVar(&c.gw.WS.MaxConns, "max-conns", 0, "most upgraded connections; over it upgrades get 503 (0: unlimited)")
	fs.IntVar(&c.gw.WS.SendQueue, "send-queue", poller.DefaultSendQueue, "per-connection outbound queue in bytes; a client over it is closed as a slow consumer")
	fs.DurationVar(&c.gw.WS.WriteTimeout, "write-timeout", poller.DefaultWriteTimeout, "close a client whose socket accepts nothing for this long")
	fs.IntVar(&c.process.BufferSize, "buffer-size", poller.DefaultBufferSize, "netpoll buffer size per connection in bytes")
	fs.IntVar(&c.inboundRate, "max-inbound-rate", poller.DefaultMaxInboundRate, "client messages per second before a 1008 close (0: no limit)")
	fs.IntVar(&c.gw.Registry.MaxGroupsPerClient, "max-groups-per-client", registry.DefaultMaxGroupsPerClient, "most groups one client can be in (joins past it get 400)")
	fs.BoolVar(&c.compression, "compression", true, "negotiate permessage-deflate with clients that offer it")
	fs.StringVar(&c.origins, "allowed-origins", "*", "comma-separated Origin values allowed to connect (*: any)")
	fs.IntVar(&c.gw.API.MaxBody, "api-max-body", httpapi.DefaultMaxBody, "REST API request body limit in bytes")
	fs.Int64Var(&c.gw.API.MaxInflight, "api-max-inflight", httpapi.DefaultMaxInflight, "REST API request bodies being read or handled at once, in bytes (503 past it)")
	fs.StringVar(&c.apiOrigins, "api-allowed-origins", "", "comma-separated browser origins besides the API's own that may call the REST API (default: none)")
	fs.StringVar(&c.apiHosts, "api-allowed-hosts", "", "comma-separated Host names the REST API answers besides IP addresses and localhost (default: none)")
	fs.StringVar(&c.gw.GRPC.Addr, "grpc-addr", "", "serve the replaced gateway's gRPC API here, e.g. :8182 (default: off)")
	fs.StringVar(&c.grpcAllow, "grpc-allow", "127.0.0.0/8,::1/128", "comma-separated CIDRs of the peers allowed to call the gRPC API")
	fs.BoolVar(&c.gw.GRPC.BinaryMessages, "grpc-binary-messages", false, "push gRPC messages as binary frames instead of text")
	fs.StringVar(&c.gw.Cluster.NATSURL, "nats-url", "", "comma-separated NATS URLs of one NATS cluster: run as a node of a wsgate cluster (default: single node)")
	fs.StringVar(&c.gw.Cluster.Name, "cluster", cluster.DefaultName, "cluster name: nodes see only nodes of the same name, so clusters can share a NATS")
	fs.StringVar(&c.gw.Cluster.NodeID, "node-id", "", "this node's id, letters, digits, - and _ (default: random at start)")
	fs.DurationVar(&c.gw.Cluster.Timeout, "cluster-timeout", cluster.DefaultTimeout, "how long a cluster-wide answer waits for the nodes")
	fs.DurationVar(&c.gw.DrainDuration, "drain-duration", gateway.DefaultDrainDuration, "cluster mode: on shutdown, close clients with 1012 spread over this long")
	fs.StringVar(&c.jwtSecret, "jwt-secret", "", "HMAC key (HS256/384/512) clients' JWTs are signed with; prefer WSGATE_JWT_SECRET (default: no tokens)")
	fs.StringVar(&c.jwtPublicKey, "jwt-public-key", "", "PEM file of the RSA, ECDSA or Ed25519 public key clients' JWTs are signed with (default: no tokens)")
	fs.StringVar(&c.gw.Auth.Issuer, "jwt-issuer", "", "required iss claim (default: not checked)")
	fs.StringVar(&c.gw.Auth.Audience, "jwt-audience", "", "required aud claim (default: not checked)")
	fs.DurationVar(&c.gw.Auth.Leeway, "jwt-leeway", 30*time.Second, "clock skew allowed on exp, nbf and iat")
	fs.BoolVar(&c.jwtRequired, "jwt-required", true, "with a JWT key: refuse clients without a token (false: let them in anonymously)")
	fs.IntVar(&c.gw.Registry.MaxSessionBytes, "max-session", registry.DefaultMaxSessionBytes, "largest session data per client, compact JSON bytes (413 over it)")
	fs.StringVar(&c.gw.Webhook.URL, "webhook-url", "", "post client events to this backend URL, signed (default: off)")
	fs.StringVar(&c.webhookSecrets, "webhook-secret", "", "comma-separated Standard Webhooks secrets, whsec_ + base64 key; each signs every request")
	fs.StringVar(&c.webhookEvents, "webhook-events", strings.Join(webhook.DefaultEvents, ","), "comma-separated events to post: any of connect,connected,message,disconnected")
	fs.DurationVar(&c.gw.Webhook.Timeout, "webhook-timeout", webhook.DefaultTimeout, "one webhook request's limit")
	fs.IntVar(&c.gw.Webhook.QueueBytes, "webhook-queue", webhook.DefaultQueueBytes, "bytes of events waiting to be posted; past it message events are dropped first")
	fs.DurationVar(&c.gw.Webhook.RetryFor, "webhook-retry-for", webhook.DefaultRetryFor, "how long an undelivered batch of events is retried before it is dropped")
	fs.StringVar(&c.webhookFail, "webhook-connect-fail", "closed", "when the connect webhook fails: closed (503 to the client) or open (let it in)")
	fs.IntVar(&c.gw.Webhook.ConnectConcurrency, "webhook-connect-concurrency", webhook.DefaultConnectConcurrency, "connect webhooks in flight at once")
	fs.StringVar(&c.webhookHeaders, "webhook-headers", "", "comma-separated request headers a connect event carries besides the default ones (e.g. Cookie)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", logging.FormatText, "log lines as text (key=value) or json (one object per line)")
	fs.StringVar(&c.pprofAddr, "pprof-addr", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (default: off)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for clients to take their Close")
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "WSGATE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil {
				envErr = errors.Join(envErr, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if err := c.checkRanges(); err != nil {
		return c, err
	}
	c.gw.WS.MaxInboundRate = c.inboundRate
	if c.inboundRate == 0 {
		c.gw.WS.MaxInboundRate = -1 // poller: < 0 is no limit
	}
	c.gw.WS.DisableCompression = !c.compression
	c.gw.WS.AllowedOrigins = list(c.origins)
	c.gw.API.AllowedOrigins = list(c.apiOrigins)
	c.gw.API.AllowedHosts = list(c.apiHosts)
	c.gw.GRPC.Token = c.gw.API.Token
	c.gw.Auth.Secret = []byte(c.jwtSecret)
	c.gw.Auth.Optional = !c.jwtRequired
	if c.jwtPublicKey != "" {
		pem, err := os.ReadFile(c.jwtPublicKey)
		if err != nil {
			return c, fmt.Errorf("-jwt-public-key: %w", err)
		}
		c.gw.Auth.PublicKeyPEM = pem
	}
	c.gw.Webhook.Secrets = list(c.webhookSecrets)
	c.gw.Webhook.Events = list(c.webhookEvents)
	if c.gw.Webhook.Events == nil {
		c.gw.Webhook.Events = []string{}
	}
	c.gw.Webhook.Headers = list(c.webhookHeaders)
	c.gw.Webhook.ConnectFailOpen = c.webhookFail == "open"
	for _, cidr := range list(c.grpcAllow) {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return c, fmt.Errorf("-grpc-allow %q: %w", cidr, err)
		}
		c.gw.GRPC.Allow = append(c.gw.GRPC.Allow, p)
	}
	if c.gw.GRPC.Allow == nil {
		c.gw.GRPC.Allow = []netip.Prefix{} // an empty list allows nobody, not the default
	}
	return c, nil
}

// list splits a comma-separated flag value, dropping empty items.
func list(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// run serves until SIGINT, SIGTERM or SIGHUP, then shuts down within
// -shutdown-timeout. SIGHUP is not a reload: it stops gracefully like
// SIGTERM, so a closed terminal never drops clients without their 1001.
func run(args []string, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := logging.New(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	// Signals are caught from here on: one that comes while the listeners
	// open is handled once they serve, never by the default (exit at once).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	c.process.Logger = log
	if err := gateway.Setup(c.process); err != nil {
		return err
	}
	c.gw.Logger = log
	g, err := gateway.New(c.gw)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	if c.pprofAddr != "" {
		go func() { // profiling only; its failure must not stop the gateway
			log.Warn("pprof stopped", "err", http.ListenAndServe(c.pprofAddr, nil))
		}()
	}
	var serveErr error
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case serveErr = <-served:
		log.Error("server stopped", "err", serveErr)
	}
	timeout := c.shutdownTimeout
	if c.gw.Cluster.NATSURL != "" {
		timeout += c.gw.DrainDuration // the clients' closes are spread first
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err = g.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Every client got its 1001; some had not closed their side in time
		// and were cut off. That is what the deadline is for, not a failure.
		log.Warn("shutdown deadline reached; the remaining clients were disconnected", "shutdown_timeout", c.shutdownTimeout)
		err = nil
	}
	if err = errors.Join(serveErr, err); err == nil {
		log.Info("stopped")
	}
	return err
}
