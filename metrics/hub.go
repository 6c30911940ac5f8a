package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/wsframe"
)

// timedHub is a hub.Hub whose sends are timed; everything else passes through.
type timedHub struct {
	hub.Hub
	all, client, uid, group prometheus.Observer
}

// TimeSends returns h with every send timed into
// wsgate_send_fanout_duration_seconds{target="all|client|uid|group"}: from the
// call until every target has the message queued (in a cluster, until the
// nodes answered). Both API faces drive the returned hub, so REST and gRPC
// sends are counted alike.
func (r *Registry) TimeSends(h hub.Hub) hub.Hub {
	v := r.HistogramVec(Namespace+"_send_fanout_duration_seconds",
		"Time a send takes until every target connection has the message queued, by target kind.", "target")
	return &timedHub{Hub: h,
		all:    v.WithLabelValues("all"),
		client: v.WithLabelValues("client"),
		uid:    v.WithLabelValues("uid"),
		group:  v.WithLabelValues("group"),
	}
}

func since(o prometheus.Observer, start time.Time) { o.Observe(time.Since(start).Seconds()) }

func (t *timedHub) SendAll(ctx context.Context, f *wsframe.Frame, exclude []string) (hub.Sent, error) {
	defer since(t.all, time.Now())
	return t.Hub.SendAll(ctx, f, exclude)
}

func (t *timedHub) SendClients(ctx context.Context, ids []string, f *wsframe.Frame) (hub.Sent, error) {
	defer since(t.client, time.Now())
	return t.Hub.SendClients(ctx, ids, f)
}

func (t *timedHub) SendUIDs(ctx context.Context, uids []string, f *wsframe.Frame) (hub.Sent, error) {
	defer since(t.uid, time.Now())
	return t.Hub.SendUIDs(ctx, uids, f)
}

func (t *timedHub) SendGroups(ctx context.Context, groups []string, f *wsframe.Frame, exclude []string) (hub.Sent, error) {
	defer since(t.group, time.Now())
	return t.Hub.SendGroups(ctx, groups, f, exclude)
}
