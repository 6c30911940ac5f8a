package httpapi

import (
	"bytes"
	"crypto/subtle"
	"net"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// The gate decides on a request from its head alone, before fasthttp reads
// its body (see Server.headerReceived): a request it refuses costs a few KiB
// whatever body it declares. The rules, in order:
//
//  1. GET /healthz is always open (load balancers).
//  2. Host must be an IP literal, "localhost" or one of Config.AllowedHosts:
//     a DNS-rebinding page reaches the API under a name of its own.
//  3. A browser's cross-site request is refused: an Origin header that is
//     neither the API's own origin nor in Config.AllowedOrigins, or
//     Sec-Fetch-Site cross-site or same-site without such an allowed Origin.
//  4. The bearer token, when one is set (also for unknown routes, so that
//     routes cannot be enumerated without it), except on public routes (the
//     dashboard page, which holds no data: it asks for the token).
//  5. The route (404), its method (405; an allowed origin's CORS preflight
//     is answered), and for POST a JSON Content-Type (415): a browser sends
//     text/plain and form posts without a CORS preflight.
type verdict struct {
	status int    // 0: admitted
	msg    string // the error answered
	rt     route  // the route, when admitted
}

// judge applies the rules to the request head h for path (as routed).
func (s *Server) judge(h *fasthttp.RequestHeader, path string) verdict {
	rt, known := routes[path]
	if path == "/healthz" {
		return verdict{rt: rt}
	}
	if host := h.Host(); !s.hostAllowed(host) {
		return verdict{status: fasthttp.StatusForbidden, msg: "host " + quoteTrunc(host) + " is not allowed: use an IP address, localhost, or a name in -api-allowed-hosts"}
	}
	origin := h.Peek("Origin")
	allowedOrigin := len(origin) > 0 && s.originAllowed(origin)
	if len(origin) > 0 && !allowedOrigin && !sameOrigin(origin, h.Host()) {
		return verdict{status: fasthttp.StatusForbidden, msg: "cross-origin request from " + quoteTrunc(origin) + " refused: add it to -api-allowed-origins"}
	}
	if site := h.Peek("Sec-Fetch-Site"); (bytes.EqualFold(site, []byte("cross-site")) || bytes.EqualFold(site, []byte("same-site"))) && !allowedOrigin {
		return verdict{status: fasthttp.StatusForbidden, msg: "cross-site browser request refused"}
	}
	if allowedOrigin && h.IsOptions() {
		return verdict{status: fasthttp.StatusNoContent} // the preflight: Handle answers it
	}
	if s.cfg.Token != "" && !rt.public && !s.authorized(h) {
		return verdict{status: fasthttp.StatusUnauthorized, msg: "missing or wrong API token"}
	}
	if !known {
		return verdict{status: fasthttp.StatusNotFound, msg: "no route " + truncate(path, 128)}
	}
	if string(h.Method()) != rt.method {
		return verdict{status: fasthttp.StatusMethodNotAllowed, msg: path + " needs " + rt.method, rt: rt}
	}
	if rt.method == fasthttp.MethodPost && !isJSON(h.ContentType()) {
		return verdict{status: fasthttp.StatusUnsupportedMediaType, msg: "Content-Type must be application/json"}
	}
	return verdict{rt: rt}
}

// hostAllowed reports whether the Host header names this API: an IP literal,
// localhost, or a configured name; the port is ignored.
func (s *Server) hostAllowed(host []byte) bool {
	name := string(host)
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	switch {
	case name == "":
		return false
	case net.ParseIP(name) != nil, strings.EqualFold(name, "localhost"):
		return true
	}
	return slices.ContainsFunc(s.cfg.AllowedHosts, func(a string) bool { return strings.EqualFold(a, name) })
}

func (s *Server) originAllowed(origin []byte) bool {
	return slices.ContainsFunc(s.cfg.AllowedOrigins, func(a string) bool { return strings.EqualFold(a, string(origin)) })
}

// sameOrigin reports whether origin is the API's own: the scheme (http, or
// https behind a TLS proxy) and the Host the request was sent to.
func sameOrigin(origin, host []byte) bool {
	o := string(origin)
	for _, scheme := range []string{"http://", "https://"} {
		if rest, ok := strings.CutPrefix(o, scheme); ok {
			return len(host) > 0 && strings.EqualFold(rest, string(host))
		}
	}
	return false
}

// isJSON reports whether a Content-Type is application/json (parameters
// allowed, case-insensitive).
func isJSON(ct []byte) bool {
	mt, _, _ := bytes.Cut(ct, []byte(";"))
	return bytes.EqualFold(bytes.TrimSpace(mt), []byte("application/json"))
}

// authorized checks "Authorization: Bearer <token>"; the scheme is
// case-insensitive (RFC 7235 section 2.1).
func (s *Server) authorized(h *fasthttp.RequestHeader) bool {
	scheme, token, ok := bytes.Cut(h.Peek("Authorization"), []byte(" "))
	if !ok || !bytes.EqualFold(scheme, []byte("Bearer")) {
		return false
	}
	return subtle.ConstantTimeCompare(bytes.TrimSpace(token), []byte(s.cfg.Token)) == 1
}

// allowCORS adds the CORS answer headers for an allowed origin, and answers
// its preflight.
func (s *Server) allowCORS(ctx *fasthttp.RequestCtx, preflight bool) {
	origin := ctx.Request.Header.Peek("Origin")
	if len(origin) == 0 || !s.originAllowed(origin) {
		return
	}
	ctx.Response.Header.SetBytesV("Access-Control-Allow-Origin", origin)
	ctx.Response.Header.Set("Vary", "Origin")
	if preflight {
		ctx.Response.Header.Set("Access-Control-Allow-Methods", "GET, POST")
		ctx.Response.Header.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		ctx.Response.Header.Set("Access-Control-Max-Age", "600")
	}
}

func quoteTrunc(b []byte) string { return `"` + truncate(string(b), 64) + `"` }
