package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wsgate/wsgate/hub"
)

// ErrConfig wraps every Config validation error.
var ErrConfig = errors.New("httpapi: invalid config")

// Defaults for the zero values of Config.
const (
	DefaultAddr    = "127.0.0.1:8283"
	DefaultMaxBody = 4 << 20
	DefaultTimeout = 10 * time.Second
)

// Config configures a Server. Zero values mean the documented defaults.
type Config struct {
	Addr    string        // listen address; DefaultAddr
	Token   string        // if set, every route but /healthz needs "Authorization: Bearer <Token>"
	MaxBody int           // request body limit in bytes (413 over it); DefaultMaxBody
	Timeout time.Duration // read, write and idle timeout per connection; DefaultTimeout
	// Stats returns extra fields for GET /stats (marshalled to a JSON object and
	// merged in); called on the request goroutine. May be nil.
	Stats  func() any
	Logger *slog.Logger // nil = slog.Default()
}

// Server serves the REST API. Create it with New, run Serve, stop with Shutdown.
type Server struct {
	hub     hub.Hub
	cfg     Config
	log     *slog.Logger
	ln      net.Listener
	srv     *fasthttp.Server
	started time.Time
}

// New validates cfg and listens on cfg.Addr; h serves every request.
func New(h hub.Hub, cfg Config) (*Server, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil hub", ErrConfig)
	}
	if cfg.MaxBody < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative limit", ErrConfig)
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{hub: h, cfg: cfg, log: cfg.Logger, started: time.Now()}
	s.srv = &fasthttp.Server{
		Handler:               s.Handle,
		ErrorHandler:          s.handleParseError,
		Name:                  "wsgate",
		MaxRequestBodySize:    cfg.MaxBody,
		ReadTimeout:           cfg.Timeout,
		WriteTimeout:          cfg.Timeout,
		IdleTimeout:           cfg.Timeout,
		NoDefaultContentType:  true,
		NoDefaultServerHeader: true,
		Logger:                slogPrinter{cfg.Logger},
	}
	var err error
	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("httpapi: listen %s: %w", cfg.Addr, err)
	}
	return s, nil
}

// Addr is the address the API listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves requests until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve() error { return s.srv.Serve(s.ln) }

// Shutdown stops accepting, waits for requests in flight, and closes idle
// connections; it gives up when ctx expires.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

// route is one endpoint: its method and handler. A handler returns the value to
// send as JSON with 200, or an error that errorStatus maps to a status. The
// request context is the hub calls' context: it ends when the server shuts down.
type route struct {
	method string
	handle func(*Server, *fasthttp.RequestCtx) (any, error)
}

// Handle is the fasthttp handler: authentication, routing, errors as JSON.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	rt, ok := routes[path]
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, fmt.Sprintf("no route %s", truncate(path, 128)))
		return
	}
	if s.cfg.Token != "" && path != "/healthz" && !s.authorized(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="wsgate"`)
		writeError(ctx, fasthttp.StatusUnauthorized, "missing or wrong API token")
		return
	}
	if string(ctx.Method()) != rt.method {
		ctx.Response.Header.Set("Allow", rt.method)
		writeError(ctx, fasthttp.StatusMethodNotAllowed, fmt.Sprintf("%s needs %s", path, rt.method))
		return
	}
	v, err := rt.handle(s, ctx)
	if err != nil {
		writeError(ctx, errorStatus(err), err.Error())
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, v)
}

func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	const prefix = "Bearer "
	h := ctx.Request.Header.Peek("Authorization")
	if len(h) <= len(prefix) || string(h[:len(prefix)]) != prefix {
		return false
	}
	return subtle.ConstantTimeCompare(h[len(prefix):], []byte(s.cfg.Token)) == 1
}

// handleParseError answers requests fasthttp could not read.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("body over the %d-byte limit", s.cfg.MaxBody))
		return
	}
	writeError(ctx, fasthttp.StatusBadRequest, "malformed HTTP request")
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = fasthttp.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '\n'))
}

func writeError(ctx *fasthttp.RequestCtx, status int, msg string) {
	writeJSON(ctx, status, struct {
		Error string `json:"error"`
	}{msg})
}

// slogPrinter adapts slog to fasthttp's Logger.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.l.Debug("fasthttp", "msg", fmt.Sprintf(format, args...))
}
