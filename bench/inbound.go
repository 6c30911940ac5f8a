//go:build linux

package bench

import (
	"context"
	"fmt"
	"time"
)

// InboundResult reports the inbound scenario: clients send text messages,
// the gateway posts each as a webhook message event, and the receiver
// counts them. EventsPerSec is Received over Seconds, the time from the
// first send to the last time the receiver's count grew. Missing is what
// was sent but neither counted by the receiver nor counted as dropped by
// the gateway when the wait ended.
type InboundResult struct {
	Clients     uint64  `json:"clients"`
	PerClient   int     `json:"messages_per_client"`
	Size        int     `json:"size"`
	Planned     uint64  `json:"planned"`
	Sent        uint64  `json:"sent"`
	SendSeconds float64 `json:"send_seconds"`
	SendsPerSec float64 `json:"sends_per_sec"`

	Received         uint64  `json:"received"`
	Seconds          float64 `json:"seconds"`
	EventsPerSec     float64 `json:"events_per_sec"`
	Requests         uint64  `json:"requests"`
	EventsPerRequest float64 `json:"events_per_request"`
	Dropped          int64   `json:"dropped"`
	Missing          uint64  `json:"missing"`

	// GatewayCPUSeconds is the CPU time the gateway used from the first
	// send to the end of the wait (GET /stats cpu_seconds), its own and
	// the kernel's on its behalf; CPUPerEventUS divides it by Received.
	GatewayCPUSeconds float64 `json:"gateway_cpu_seconds"`
	CPUPerEventUS     float64 `json:"gateway_cpu_per_event_us"`

	Receiver   ReceiverCounts `json:"receiver"`           // change over the run
	Webhooks   *WebhookStats  `json:"webhooks,omitempty"` // change over the run; QueueBytes is the peak
	Goroutines *Range         `json:"server_goroutines,omitempty"`
}

// runInbound: -n clients each send -m texts of -size bytes, at -msg-rate in
// total or as fast as they can, and the receiver counts the message events.
func runInbound(ctx context.Context, env *runEnv, res *Result) error {
	c := env.cfg
	rcv, err := newAPIClient("http://"+c.Receiver, "", 2)
	if err != nil {
		return err
	}
	defer rcv.close()
	var rcBefore ReceiverCounts
	if err := rcv.getJSON("/counts", &rcBefore); err != nil {
		return fmt.Errorf("reading the receiver's counts: %w", err)
	}
	f, err := env.openFleet(ctx, res, c.N, c.N, 0)
	if f != nil {
		defer f.shutdown()
	}
	if err != nil || ctx.Err() != nil {
		return err
	}
	in := &InboundResult{PerClient: c.Messages, Size: c.Size}
	res.Inbound = in
	// The connects' own events (connected) must not mix with the messages.
	if err := rcv.getJSON("/counts", &rcBefore); err != nil {
		return err
	}
	gwBefore, err := env.gatewaySample()
	if err != nil || gwBefore.Webhooks == nil {
		return fmt.Errorf("the gateway reports no webhooks in GET /stats (start it with -webhook-url and -webhook-events message): %v", err)
	}
	st0, err := f.stats(false)
	if err != nil {
		return err
	}
	stopWatch := env.watch(watchEvery)
	start := time.Now()
	in.Planned, err = f.sendMessages(c.Messages, c.Size, c.MsgRate)
	if err != nil {
		stopWatch()
		return err
	}
	in.Clients = in.Planned / uint64(c.Messages)
	pace := "as fast as they can"
	if c.MsgRate > 0 {
		pace = fmt.Sprintf("at %g/s in total", c.MsgRate)
	}
	env.logf("%d clients sending %d texts of %d bytes each %s", in.Clients, c.Messages, c.Size, pace)
	lastSend, lastRecv, err := env.waitInbound(ctx, f, rcv, st0.Counts[cMsgsSent], in, rcBefore)
	seen := stopWatch()
	if err != nil {
		return err
	}
	if seen.Goroutines.Samples > 0 {
		in.Goroutines = &seen.Goroutines
	}
	in.GatewayCPUSeconds = seen.CPUSeconds
	if in.Received > 0 {
		in.CPUPerEventUS = seen.CPUSeconds / float64(in.Received) * 1e6
	}
	in.SendSeconds, in.Seconds = lastSend.Sub(start).Seconds(), lastRecv.Sub(start).Seconds()
	if in.SendSeconds > 0 {
		in.SendsPerSec = float64(in.Sent) / in.SendSeconds
	}
	if in.Seconds > 0 {
		in.EventsPerSec = float64(in.Received) / in.Seconds
	}
	if in.Requests > 0 {
		in.EventsPerRequest = float64(in.Receiver.Events["message"]) / float64(in.Requests)
	}
	gwAfter := env.settleHooks(in.Sent, gwBefore.Webhooks)
	in.Webhooks = gwAfter.sub(gwBefore.Webhooks)
	in.Webhooks.QueueBytes = max(seen.MaxQueue, 0)
	in.Dropped = in.Webhooks.Events["message"]["dropped"]
	in.Missing = in.Sent - min(in.Sent, in.Received+uint64(max(in.Dropped, 0)))
	env.logf("%d sent, %d message events received in %.2f s = %.0f events/s, %d dropped", in.Sent, in.Received, in.Seconds, in.EventsPerSec, in.Dropped)
	if in.Missing > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d messages were sent but neither received nor dropped when the wait ended (closed clients, a slow receiver, or -drain too short)", in.Missing))
	}
	return nil
}

// waitInbound polls the clients and the receiver until everything planned
// was sent and received, neither count grew for -drain, or ctx ends. It
// fills in's Sent, Received, Requests and Receiver and returns when each
// count last grew.
func (env *runEnv) waitInbound(ctx context.Context, f *fleet, rcv *apiClient, sent0 uint64, in *InboundResult, rc0 ReceiverCounts) (lastSend, lastRecv time.Time, err error) {
	lastSend, lastRecv = time.Now(), time.Now()
	for {
		sleepCtx(ctx, watchEvery)
		st, err := f.stats(false)
		if err != nil {
			return lastSend, lastRecv, err
		}
		var rc ReceiverCounts
		if err := rcv.getJSON("/counts", &rc); err != nil {
			return lastSend, lastRecv, fmt.Errorf("reading the receiver's counts: %w", err)
		}
		now := time.Now()
		if sent := st.Counts[cMsgsSent] - sent0; sent != in.Sent {
			in.Sent, lastSend = sent, now
		}
		d := rc.sub(rc0)
		if got := d.Events["message"]; got != in.Received {
			in.Received, lastRecv = got, now
		}
		in.Receiver, in.Requests = d, d.Requests
		idle := now.Sub(lastSend)
		if lastRecv.After(lastSend) {
			idle = now.Sub(lastRecv)
		}
		if (in.Sent >= in.Planned && in.Received >= in.Sent) || idle > env.cfg.Drain || ctx.Err() != nil {
			return lastSend, lastRecv, nil
		}
	}
}

// settleHooks waits (at most hooksSettle) until the gateway has counted
// the fate of sent message events, delivered or dropped (its count of a
// batch follows the receiver's answer), and returns its webhook stats.
func (env *runEnv) settleHooks(sent uint64, before *WebhookStats) *WebhookStats {
	last := before
	for deadline := time.Now().Add(hooksSettle); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s, err := env.gatewaySample()
		if err != nil || s.Webhooks == nil {
			continue
		}
		last = s.Webhooks
		m, m0 := last.Events["message"], before.Events["message"]
		if uint64(m["delivered"]+m["dropped"]-m0["delivered"]-m0["dropped"]) >= sent {
			break
		}
	}
	return last
}

// hooksSettle bounds settleHooks.
const hooksSettle = 3 * time.Second
