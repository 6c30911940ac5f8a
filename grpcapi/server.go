package grpcapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/hub"
)

// ErrConfig wraps every Config validation error.
var ErrConfig = errors.New("grpcapi: invalid config")

// DefaultAllow is Config.Allow's default: loopback only.
var DefaultAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// Config configures a Server.
type Config struct {
	Addr           string         // listen address (the replaced gateway used ":8182"); required
	Allow          []netip.Prefix // peer addresses allowed to call; nil = DefaultAllow
	Token          string         // if set, calls need "authorization: Bearer <Token>" metadata
	BinaryMessages bool           // push messages as binary frames instead of text
	Logger         *slog.Logger   // nil = slog.Default()
}

// Server serves the 21 services. Create it with New, run Serve, stop with Shutdown.
type Server struct {
	cfg  Config
	log  *slog.Logger
	ln   net.Listener
	srv  *grpc.Server
	ops  *services
	done chan struct{}
}

// New validates cfg, listens on cfg.Addr and registers every service over h.
func New(h hub.Hub, cfg Config) (*Server, error) {
	if h == nil || cfg.Addr == "" {
		return nil, fmt.Errorf("%w: a hub and an address are required", ErrConfig)
	}
	if cfg.Allow == nil {
		cfg.Allow = DefaultAllow
	}
	allow := make([]netip.Prefix, len(cfg.Allow))
	for i, p := range cfg.Allow {
		if p.Addr().Is4In6() && p.Bits() >= 96 { // ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are compared unmapped
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		allow[i] = p
	}
	cfg.Allow = allow
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, ops: &services{hub: h, binary: cfg.BinaryMessages}, done: make(chan struct{})}
	var err error
	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("grpcapi: listen %s: %w", cfg.Addr, err)
	}
	s.srv = grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			if err := s.admit(ctx); err != nil {
				return nil, err
			}
			return next(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
			if err := s.admit(ss.Context()); err != nil {
				return err
			}
			return next(srv, ss)
		}),
	)
	s.ops.register(s.srv)
	reflection.Register(s.srv)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves calls until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for calls in flight, until ctx is done;
// then it cuts them off.
func (s *Server) Shutdown(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() { s.srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		s.srv.Stop()
		return ctx.Err()
	}
}

// admit applies the allow-list and the token to one call.
func (s *Server) admit(ctx context.Context) error {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return status.Error(codes.PermissionDenied, "unknown peer")
	}
	ap, err := netip.ParseAddrPort(p.Addr.String())
	if err != nil || !s.allowed(ap.Addr().Unmap()) {
		return status.Errorf(codes.PermissionDenied, "%s is not in the allow-list (-grpc-allow)", p.Addr)
	}
	if s.cfg.Token == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, token, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.cfg.Token)) == 1 {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "missing or wrong token (authorization: Bearer <token>)")
}

func (s *Server) allowed(a netip.Addr) bool {
	for _, p := range s.cfg.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
