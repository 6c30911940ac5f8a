package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/wsframe"
)

// TestAddingSeriesIsOneLine: a component's counter vector registered
// through the registry shows in the exposition, next to the built-in series.
func TestAddingSeriesIsOneLine(t *testing.T) {
	r := New()
	r.CounterVec("wsgate_webhook_events_total", "Webhook events by type and result.", "type", "result").WithLabelValues("connect", "ok").Add(3)
	r.ObserveRequest("/send/all", 200, 3*time.Millisecond)
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`wsgate_webhook_events_total{result="ok",type="connect"} 3`,
		`wsgate_api_requests_total{code="200",route="/send/all"} 1`,
		`wsgate_api_request_duration_seconds_bucket{route="/send/all",le="0.005"} 1`,
		`wsgate_api_request_duration_seconds_bucket{route="/send/all",le="0.0025"} 0`,
		"wsgate_build_info{",
		"go_goroutines ",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

// countingHub is a hub.Hub whose SendAll answers a fixed count.
type countingHub struct{ hub.Hub }

func (countingHub) SendAll(context.Context, *wsframe.Frame, []string) (hub.Sent, error) {
	return hub.Sent{Sent: 7}, nil
}

// TestTimeSendsPassesThroughAndCounts: a timed send answers what the hub
// answered and adds one observation under its target only.
func TestTimeSendsPassesThroughAndCounts(t *testing.T) {
	r := New()
	h := r.TimeSends(countingHub{})
	if s, err := h.SendAll(context.Background(), nil, nil); err != nil || s.Sent != 7 {
		t.Fatalf("SendAll through the timer: %v, %v", s, err)
	}
	var b strings.Builder
	r.WriteText(&b)
	for _, want := range []string{`wsgate_send_fanout_duration_seconds_count{target="all"} 1`, `wsgate_send_fanout_duration_seconds_count{target="uid"} 0`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}
