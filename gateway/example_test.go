package gateway_test

import (
	"context"
	"log"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/httpapi"
	"github.com/wsgate/wsgate/poller"
)

// A Go program embeds wsgate: it checks a token at the handshake and attaches
// the user to the connection, logs every close with its reason, and serves
// until SIGTERM.
func Example() {
	if err := gateway.Setup(gateway.Process{}); err != nil {
		log.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{
		WS:  poller.Config{Addr: ":8282"},
		API: httpapi.Config{Addr: "127.0.0.1:8283"},
		OnHandshake: func(h *poller.Handshake) {
			user, ok := map[string]string{"t0ken": "alice"}[h.Header.Get("X-Token")]
			if !ok {
				h.Refuse(http.StatusUnauthorized, "bad token")
				return
			}
			h.Accept(user) // Conn.Data() from now on
		},
		OnClose: func(c *poller.Conn, cl poller.Closure) {
			log.Printf("%s (%v) left: %v, code %d", c.ID(), c.Data(), cl.Reason, cl.Code)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := g.Serve(ctx); err != nil {
		log.Print(err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(sctx); err != nil {
		log.Print(err)
	}
}
