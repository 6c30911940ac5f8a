package httpapi

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// discardConn is a connection that accepts every frame.
type discardConn struct{ id string }

func (c discardConn) ID() string                  { return c.id }
func (c discardConn) RemoteAddr() string          { return "127.0.0.1:1" }
func (c discardConn) Send(*wsframe.Frame) bool    { return true }
func (c discardConn) Close(code uint16, _ string) {}

// BenchmarkHandle measures one API request through routing, JSON decoding,
// validation and the registry, without the network.
func BenchmarkHandle(b *testing.B) {
	reg, err := registry.New[*wsframe.Frame](registry.Config{})
	if err != nil {
		b.Fatal(err)
	}
	const id = "00000000-0000-4000-8000-000000000001"
	if err := reg.Add(discardConn{id}); err != nil {
		b.Fatal(err)
	}
	if err := reg.BindUID(id, "user-1"); err != nil {
		b.Fatal(err)
	}
	s := &Server{hub: hub.NewLocal(reg), cfg: Config{MaxBody: DefaultMaxBody}}
	for _, bc := range []struct{ name, method, path, body string }{
		{"route=send-client", "POST", "/send/client", `{"client_id":"` + id + `","data":"hello, this is a 64-byte push message for the benchmark"}`},
		{"route=send-uid", "POST", "/send/uid", `{"uid":"user-1","data":{"type":"mail","n":3}}`},
		{"route=client-online", "GET", "/client/online?client_id=" + id, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod(bc.method)
				ctx.Request.Header.SetHost("127.0.0.1:8283")
				ctx.Request.Header.SetContentType("application/json")
				ctx.Request.SetRequestURI(bc.path)
				ctx.Request.SetBodyString(bc.body)
				s.Handle(&ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
	}
}
