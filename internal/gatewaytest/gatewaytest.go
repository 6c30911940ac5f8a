package gatewaytest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/httpapi"
	"github.com/wsgate/wsgate/poller"
)

// Gateway is a running gateway and the URLs to reach it.
type Gateway struct {
	*gateway.Gateway
	WSURL  string // ws://127.0.0.1:port/
	APIURL string // http://127.0.0.1:port, no trailing slash
}

// Start runs a gateway on 127.0.0.1:0 for both listeners, with cfg adjusted
// by opts, until t ends; its shutdown (which waits up to 5 s for clients to
// take their 1001) must succeed.
func Start(t testing.TB, opts ...func(*gateway.Config)) *Gateway {
	t.Helper()
	if err := gateway.Setup(gateway.Process{}); err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{
		WS:     poller.Config{Addr: "127.0.0.1:0"},
		API:    httpapi.Config{Addr: "127.0.0.1:0"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Shutdown(sctx); err != nil {
			t.Errorf("gateway shutdown: %v", err)
		}
		stop()
		if err := <-served; err != nil {
			t.Errorf("gateway serve: %v", err)
		}
	})
	return &Gateway{Gateway: g, WSURL: "ws://" + g.WSAddr().String() + "/", APIURL: "http://" + g.APIAddr().String()}
}

// Eventually polls cond every 10 ms until it holds, failing t after 10 s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer that a logger (or any writer) and a test may use
// at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
