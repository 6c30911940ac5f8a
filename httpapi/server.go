package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wsgate/wsgate/hub"
)

// ErrConfig wraps every Config validation error.
var ErrConfig = errors.New("httpapi: invalid config")

// Defaults for the zero values of Config.
const (
	DefaultAddr        = "127.0.0.1:8283"
	DefaultMaxBody     = 4 << 20
	DefaultMaxInflight = 64 << 20
	DefaultTimeout     = 10 * time.Second
)

// Config configures a Server. Zero values mean the documented defaults.
type Config struct {
	Addr  string // listen address; DefaultAddr
	Token string // if set, every route but /healthz needs "Authorization: Bearer <Token>"
	// AllowedOrigins are the browser origins ("https://admin.example.com")
	// besides the API's own that may call it; they get CORS answers. Default none.
	AllowedOrigins []string
	// AllowedHosts are the Host names, besides IP literals and localhost,
	// under which the API answers (DNS-rebinding protection). Default none.
	AllowedHosts []string
	MaxBody      int // request body limit in bytes (413 over it); DefaultMaxBody
	// MaxInflight bounds the bytes of all request bodies being read or
	// handled at once (503 past it); at least MaxBody; DefaultMaxInflight.
	MaxInflight int64
	Timeout     time.Duration // read, write and idle timeout per connection; DefaultTimeout
	// Cluster, when set, is the gateway's nodes: GET /cluster/nodes lists
	// them and GET /healthz says whether the cluster is reachable.
	Cluster Cluster
	// Stats returns extra fields for GET /stats (marshalled to a JSON object and
	// merged in); called on the request goroutine. May be nil.
	Stats func() any
	// Metrics, when set, serves GET /metrics and records every request
	// answered. Nil: /metrics answers 404.
	Metrics Metrics
	Logger  *slog.Logger // nil = slog.Default()
}

// Metrics is what the API needs of the gateway's metrics. Both methods are
// called on request goroutines, concurrently.
type Metrics interface {
	// WriteText writes the exposition in the Prometheus text format 0.0.4.
	WriteText(w io.Writer) error
	// ObserveRequest records one answered request: route is the route's
	// path, or "other" for paths that are no route; code the HTTP status.
	ObserveRequest(route string, code int, d time.Duration)
}

// Cluster is what the API shows of a gateway that spans nodes.
type Cluster interface {
	// Health is "ok" or "degraded" (the other nodes are unreachable) and
	// how many nodes this one knows, itself included.
	Health() (state string, nodes int)
	// Nodes is the answer of GET /cluster/nodes: {"self","nodes":[...]}.
	Nodes() any
}

// Server serves the REST API. Create it with New, run Serve, stop with Shutdown.
type Server struct {
	hub     hub.Hub
	cfg     Config
	log     *slog.Logger
	ln      *connSet
	srv     *fasthttp.Server
	started time.Time
	budget  bodyBudget
	// refusals holds the verdicts headerReceived refused, by request
	// header, for handleParseError; headerReceived clears a header's entry
	// when it admits the next request on it.
	refusals sync.Map // *fasthttp.RequestHeader -> verdict
}

// New validates cfg and listens on cfg.Addr; h serves every request.
func New(h hub.Hub, cfg Config) (*Server, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil hub", ErrConfig)
	}
	if cfg.MaxBody < 0 || cfg.Timeout < 0 || cfg.MaxInflight < 0 {
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
	if cfg.MaxInflight == 0 {
		cfg.MaxInflight = max(DefaultMaxInflight, int64(cfg.MaxBody))
	}
	if cfg.MaxInflight < int64(cfg.MaxBody) {
		return nil, fmt.Errorf("%w: MaxInflight %d is below MaxBody %d", ErrConfig, cfg.MaxInflight, cfg.MaxBody)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{hub: h, cfg: cfg, log: cfg.Logger, started: time.Now()}
	s.budget.max = cfg.MaxInflight
	s.srv = &fasthttp.Server{
		Handler:               s.Handle,
		HeaderReceived:        s.headerReceived,
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
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("httpapi: listen %s: %w", cfg.Addr, err)
	}
	s.ln = newConnSet(ln)
	return s, nil
}

// Addr is the address the API listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves requests until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve() error { return s.srv.Serve(s.ln) }

// Shutdown stops accepting, closes idle connections and waits for requests in
// flight; when ctx expires it closes the connections still open (requests in
// flight are cut off) and returns nil: nothing is left behind.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.ShutdownWithContext(ctx)
	if errors.Is(err, ctx.Err()) && ctx.Err() != nil {
		s.log.Debug("API shutdown deadline: closing the connections still open", "connections", s.ln.closeAll())
		return nil
	}
	return err
}

// route is one endpoint: its method and handler. A handler returns the value to
// send as JSON with 200 (or a rawAnswer, sent as it is), or an error that
// errorStatus maps to a status. The request context is the hub calls'
// context: it ends when the server shuts down. A public route needs no token
// (it serves no data); the rest of the gate applies to it.
type route struct {
	method string
	handle func(*Server, *fasthttp.RequestCtx) (any, error)
	public bool
}

// rawAnswer is a handler's answer that is not JSON.
type rawAnswer struct {
	contentType string
	body        []byte
}

// routeLabel is path's name in metrics: the route, or "other", so that
// labels stay a fixed set whatever paths clients try.
func routeLabel(path []byte) string {
	if _, ok := routes[string(path)]; ok {
		return string(path)
	}
	return "other"
}

// observe records an answered request, when metrics are on.
func (s *Server) observe(ctx *fasthttp.RequestCtx, start time.Time) {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.ObserveRequest(routeLabel(ctx.Path()), ctx.Response.StatusCode(), time.Since(start))
	}
}

// Handle is the fasthttp handler: the gate (see verdict), routing, errors as JSON.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	defer s.budget.release(&ctx.Request.Header)
	defer s.observe(ctx, time.Now())
	v := s.judge(&ctx.Request.Header, string(ctx.Path()))
	s.allowCORS(ctx, v.status == fasthttp.StatusNoContent)
	if v.status != 0 {
		s.refuse(ctx, v)
		return
	}
	out, err := v.rt.handle(s, ctx)
	if err != nil {
		writeError(ctx, errorStatus(err), err.Error())
		return
	}
	if raw, ok := out.(rawAnswer); ok {
		ctx.SetContentType(raw.contentType)
		ctx.SetBody(raw.body)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// refuse answers a request the gate refused.
func (s *Server) refuse(ctx *fasthttp.RequestCtx, v verdict) {
	switch v.status {
	case fasthttp.StatusNoContent:
		ctx.SetStatusCode(v.status)
		return
	case fasthttp.StatusUnauthorized:
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="wsgate"`)
	case fasthttp.StatusMethodNotAllowed:
		ctx.Response.Header.Set("Allow", v.rt.method)
	}
	writeError(ctx, v.status, v.msg)
}

// headerReceived runs the gate as soon as a request's head is in, and
// reserves room for its body (see bodyBudget): a request it will refuse, or
// that finds no room, gets a body limit of one byte, so fasthttp never reads
// (or allocates for) the body it declares; handleParseError then answers
// with the refusal.
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	v := verdict{status: fasthttp.StatusBadRequest, msg: "malformed request URI"}
	if err := u.Parse(h.Host(), h.RequestURI()); err == nil {
		v = s.judge(h, string(u.Path()))
	}
	if v.status == 0 && !s.budget.reserve(h, s.cfg.MaxBody) {
		v = verdict{status: fasthttp.StatusServiceUnavailable, msg: "too many request bodies in flight (-api-max-inflight): retry"}
	}
	if v.status == 0 {
		s.refusals.Delete(h) // one a previous request on this header left (its answer never came)
		return fasthttp.RequestConfig{}
	}
	// Kept for handleParseError: fasthttp may reset the header (a chunked
	// body cut off by the limit) before it runs.
	s.refusals.Store(h, v)
	return fasthttp.RequestConfig{MaxRequestBodySize: 1}
}

// handleParseError answers requests fasthttp could not read. A connection
// that timed out (an idle keep-alive one, or one that never sent a request)
// is closed without an answer: nobody asked for one, and an HTTP client would
// take it for the answer to its next request.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	h := &ctx.Request.Header
	defer s.budget.release(h)
	refused, wasRefused := s.refusals.LoadAndDelete(h)
	var ne net.Error
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &ne) && ne.Timeout() {
		ctx.Conn().Close()
		return
	}
	defer s.observe(ctx, time.Now()) // only the answer's time: the request's read is fasthttp's
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		if wasRefused {
			s.refuse(ctx, refused.(verdict))
			return
		}
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("body over the %d-byte limit", s.cfg.MaxBody))
	case errors.As(err, &small):
		writeError(ctx, fasthttp.StatusRequestURITooLong, "request line or headers too long")
	default:
		writeError(ctx, fasthttp.StatusBadRequest, "malformed HTTP request")
	}
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
