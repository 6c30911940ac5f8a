package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address of the chat page and backend")
	var cfg config
	fs.StringVar(&cfg.WSGateAPI, "wsgate-api", "http://127.0.0.1:8283", "wsgate's REST API")
	fs.StringVar(&cfg.WSGateWS, "wsgate-ws", "ws://127.0.0.1:8282/", "wsgate's WebSocket URL, as the browser reaches it")
	fs.StringVar(&cfg.APIToken, "api-token", os.Getenv("WSGATE_API_TOKEN"), "wsgate's -api-token (default $WSGATE_API_TOKEN)")
	fs.StringVar(&cfg.WebhookSecret, "webhook-secret", os.Getenv("WEBHOOK_SECRET"), "wsgate's -webhook-secret, whsec_ + base64, to check its webhooks at /wsgate/events (default $WEBHOOK_SECRET)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	s, err := newServer(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("chat: open http://%s/ (wsgate at %s)\n", ln.Addr(), cfg.WSGateWS)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
