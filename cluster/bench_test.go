package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// startNATS runs a NATS server in this process on a random loopback port,
// stopped when the test ends.
func startNATS(tb testing.TB) *natsserver.Server {
	tb.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		tb.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		tb.Fatal("NATS did not start")
	}
	tb.Cleanup(ns.Shutdown)
	return ns
}

type benchConn struct{ id string }

func (c benchConn) ID() string                  { return c.id }
func (c benchConn) RemoteAddr() string          { return "127.0.0.1:1" }
func (c benchConn) Send(*wsframe.Frame) bool    { return true }
func (c benchConn) Close(code uint16, _ string) {}

// BenchmarkClusterCounts measures /uid/count and /group/total through a
// three-node cluster on an in-process NATS, with 30,000 uids and 10,000
// groups over the nodes: 10,500 clients per node, each with a uid of its own
// but 750 uids every node has, a third of them in a group of their own but
// 250 groups every node has (each shared name must count once).
func BenchmarkClusterCounts(b *testing.B) {
	ns := startNATS(b)
	var hubs []*Hub
	for n := range 3 {
		reg, err := registry.New[*wsframe.Frame](registry.Config{})
		if err != nil {
			b.Fatal(err)
		}
		node := fmt.Sprintf("n%d", n)
		ids := IDs(node)
		for i := range 10500 {
			c := benchConn{ids()}
			reg.Add(c)
			uid := fmt.Sprintf("u-%d-%d", n, i)
			if i < 750 {
				uid = fmt.Sprintf("shared-u-%d", i)
			}
			reg.BindUID(c.id, uid)
			if j := i / 3; i%3 == 0 {
				g := fmt.Sprintf("g-%d-%d", n, j)
				if j < 250 {
					g = fmt.Sprintf("shared-g-%d", j)
				}
				reg.JoinGroups(c.id, []string{g})
			}
		}
		h, err := New(reg, Config{NATSURL: ns.ClientURL(), NodeID: node, Heartbeat: 100 * time.Millisecond, Timeout: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		hubs = append(hubs, h)
	}
	for deadline := time.Now().Add(5 * time.Second); len(hubs[0].members.ids()) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the nodes did not see each other")
		}
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name  string
		count func(context.Context) (hub.Count, error)
		want  int
	}{
		{"uid-count", hubs[0].UIDCount, 30000},
		{"group-total", hubs[0].GroupTotal, 10000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n, err := bc.count(ctx)
				if err != nil || n.Partial || n.Count != bc.want {
					b.Fatalf("%+v, %v; want %d, whole", n, err, bc.want)
				}
			}
		})
	}
}
