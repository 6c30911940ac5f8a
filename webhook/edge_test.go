package webhook

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/webhooktest"
)

// TestNoDisconnectedAfterExpiredConnected: a client's connected that
// expired (the backend was down for longer than RetryFor) was never
// delivered, so its disconnected must not be posted once the backend is
// back: the backend would get a disconnected for a client it never heard
// of ("disconnected is sent only for a client whose connected was sent";
// "a dropped connected also drops its disconnected").
func TestNoDisconnectedAfterExpiredConnected(t *testing.T) {
	var up atomic.Bool
	rc := webhooktest.New(t, func(*http.Request, []map[string]any) (int, string) {
		if up.Load() {
			return http.StatusNoContent, ""
		}
		return http.StatusServiceUnavailable, ""
	})
	s := newSender(t, rc, func(c *Config) { c.RetryFor = 300 * time.Millisecond })
	s.Start()
	eventually(t, "node.started expired", func() bool { return s.Stats().Events["node.started"]["expired"] == 1 })
	tr := &Tracker{lane: s.lanes[0]}
	c := &Client{ID: "orphan"}
	s.Connected(tr, c)
	s.Message(tr, c, true, []byte("hi"))
	eventually(t, "connected expired", func() bool { return s.Stats().Events["connected"]["expired"] == 1 })
	up.Store(true)
	s.Disconnected(tr, c, Close{Code: 1000, Reason: "peer_close", By: "client"})
	time.Sleep(300 * time.Millisecond)
	if got := rc.Summary(); slices.Contains(got, "disconnected orphan") {
		t.Fatalf("backend got %q: a disconnected whose connected was never delivered", got)
	}
}

// TestEveryDropCounted: the disconnected of a client that left before its
// connected went out is not posted, and is counted as skipped like its
// connected and its messages.
func TestEveryDropCounted(t *testing.T) {
	g := webhooktest.NewGate()
	rc := webhooktest.New(t, g.Wait)
	s := newSender(t, rc, nil)
	s.Start()
	eventually(t, "node.started in flight", func() bool { return s.queued.Load() == 0 })
	tr := &Tracker{lane: s.lanes[0]}
	c := &Client{ID: "left"}
	s.Connected(tr, c)
	s.Disconnected(tr, c, Close{Code: 1000, Reason: "peer_close", By: "client"})
	g.Open()
	eventually(t, "connected skipped", func() bool { return s.Stats().Events["connected"]["skipped"] == 1 })
	if st := s.Stats(); st.Events["disconnected"]["skipped"]+st.Events["disconnected"]["dropped"] != 1 {
		t.Fatalf("the unsent disconnected is not counted: %v", st.Events)
	}
}

// TestLargeAnswerIsDelivered: a 2xx answer with a body over maxAnswerBytes
// (an echo, a verbose framework page) still delivers the batch: it is not
// posted again.
func TestLargeAnswerIsDelivered(t *testing.T) {
	big := strings.Repeat("x", maxAnswerBytes+1)
	rc := webhooktest.New(t, func(*http.Request, []map[string]any) (int, string) { return http.StatusOK, big })
	s := newSender(t, rc, func(c *Config) { c.RetryFor = time.Second })
	s.Start()
	eventually(t, "node.started done with", func() bool {
		ev := s.Stats().Events["node.started"]
		return ev["delivered"]+ev["expired"] == 1
	})
	if st := s.Stats(); st.Events["node.started"]["delivered"] != 1 || rc.Requests() != 1 {
		t.Fatalf("a 200 with a large body: %d requests, stats %v", rc.Requests(), st.Events)
	}
}

// TestCloseLeavesNoConnection: after Close no connection to the backend
// stays open (not even an idle keep-alive one).
func TestCloseLeavesNoConnection(t *testing.T) {
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	s, err := New(Config{URL: srv.URL, Secrets: []string{testSecret}, Node: "n1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	eventually(t, "node.started delivered", func() bool { return s.Stats().Events["node.started"]["delivered"] == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for open.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the backend still open 1 s after Close", open.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseBoundedByItsDeadline: a request in flight when Close's deadline
// passes is cut then, not waited for up to Config.Timeout: the gateway's
// Shutdown keeps its "up to 2 s more" for the webhooks.
func TestCloseBoundedByItsDeadline(t *testing.T) {
	release := make(chan struct{})
	rc := webhooktest.New(t, func(*http.Request, []map[string]any) (int, string) {
		<-release
		return 204, ""
	})
	defer close(release)
	s := newSender(t, rc, func(c *Config) { c.Timeout = 3 * time.Second })
	s.Start()
	eventually(t, "node.started in flight", func() bool { return rc.Requests() == 0 && s.queued.Load() == 0 })
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	s.Close(ctx)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Close with a 200 ms deadline took %v", took)
	}
}
