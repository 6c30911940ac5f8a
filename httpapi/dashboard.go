package httpapi

import (
	_ "embed"

	"github.com/valyala/fasthttp"
)

// dashboardPage is GET /: one self-contained page (no CDN, works offline)
// that polls /metrics, /healthz and, in a cluster, /cluster/nodes every
// second and draws them. It holds no data, so it needs no token: when the
// data endpoints answer 401 it asks for the token and keeps it in the tab's
// sessionStorage.
//
//go:embed dashboard.html
var dashboardPage []byte

// dashboardCSP allows the page's inline script and style and same-origin
// fetches, nothing else (no framing, no remote code).
const dashboardCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var dashboard = route{method: fasthttp.MethodGet, public: true, handle: func(_ *Server, ctx *fasthttp.RequestCtx) (any, error) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	return rawAnswer{"text/html; charset=utf-8", dashboardPage}, nil
}}
