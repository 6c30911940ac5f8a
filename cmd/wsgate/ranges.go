package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wsgate/wsgate/logging"
)

// Every size and duration flag has a range, checked at startup: a value
// outside it stops wsgate with a message naming the flag and the range,
// instead of failing later (a 30 GB -buffer-size used to start and then die
// of memory on the first connection). Zero means "off" or "no limit" where a
// flag allows it, and is out of range everywhere else.
const (
	kib = 1 << 10
	mib = 1 << 20
)

// intRange is the range of an integer flag.
type intRange struct {
	flag   string
	v      int
	lo, hi int
	zero   string // what 0 means, when it is allowed
}

// durRange is the range of a duration flag.
type durRange struct {
	flag   string
	v      time.Duration
	lo, hi time.Duration
	zero   string
}

func (r intRange) check() error {
	if r.v == 0 && r.zero != "" || r.v >= r.lo && r.v <= r.hi {
		return nil
	}
	return fmt.Errorf("-%s %d is out of range: %d to %d%s", r.flag, r.v, r.lo, r.hi, zeroNote(r.zero))
}

func (r durRange) check() error {
	if r.v == 0 && r.zero != "" || r.v >= r.lo && r.v <= r.hi {
		return nil
	}
	return fmt.Errorf("-%s %v is out of range: %v to %v%s", r.flag, r.v, r.lo, r.hi, zeroNote(r.zero))
}

func zeroNote(zero string) string {
	if zero == "" {
		return ""
	}
	return ", or 0 for " + zero
}

// checkRanges applies every flag's range (documented in the README) and the
// rules between flags.
func (c *config) checkRanges() error {
	ws := &c.gw.WS
	var errs []error
	for _, r := range []intRange{
		{"max-message", ws.MaxMessage, 125, 64 * mib, ""},
		{"max-conns", ws.MaxConns, 1, 10_000_000, "no limit"},
		{"send-queue", ws.SendQueue, 4 * kib, 256 * mib, ""},
		{"buffer-size", c.process.BufferSize, 64, mib, ""},
		{"max-inbound-rate", c.inboundRate, 1, 1_000_000, "no limit"},
		{"max-groups-per-client", c.gw.Registry.MaxGroupsPerClient, 1, 1_000_000, ""},
		{"api-max-body", c.gw.API.MaxBody, 64, 64 * mib, ""},
		{"max-session", c.gw.Registry.MaxSessionBytes, 2, mib, ""},
		{"webhook-queue", c.gw.Webhook.QueueBytes, mib, 64 * 1024 * mib, ""},
		{"webhook-connect-concurrency", c.gw.Webhook.ConnectConcurrency, 1, 10_000, ""},
	} {
		errs = append(errs, r.check())
	}
	for _, r := range []durRange{
		{"heartbeat-timeout", ws.HeartbeatTimeout, time.Second, 24 * time.Hour, ""},
		{"ping-interval", ws.PingInterval, 100 * time.Millisecond, 24 * time.Hour, "no server pings"},
		{"handshake-timeout", ws.HandshakeTimeout, 100 * time.Millisecond, 5 * time.Minute, ""},
		{"write-timeout", ws.WriteTimeout, 100 * time.Millisecond, 10 * time.Minute, ""},
		{"shutdown-timeout", c.shutdownTimeout, 100 * time.Millisecond, time.Hour, ""},
		{"cluster-timeout", c.gw.Cluster.Timeout, 10 * time.Millisecond, time.Minute, ""},
		{"drain-duration", c.gw.DrainDuration, 100 * time.Millisecond, time.Hour, ""},
		{"webhook-timeout", c.gw.Webhook.Timeout, 10 * time.Millisecond, time.Minute, ""},
		{"jwt-leeway", c.gw.Auth.Leeway, 0, 10 * time.Minute, ""},
		{"webhook-retry-for", c.gw.Webhook.RetryFor, time.Second, 7 * 24 * time.Hour, ""},
	} {
		errs = append(errs, r.check())
	}
	if api := c.gw.API; api.MaxInflight < int64(api.MaxBody) || api.MaxInflight > 16<<30 {
		errs = append(errs, fmt.Errorf("-api-max-inflight %d is out of range: -api-max-body (%d) to %d", api.MaxInflight, api.MaxBody, int64(16<<30)))
	}
	if ws.PingInterval > 0 && ws.PingInterval >= ws.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("-ping-interval %v must be shorter than -heartbeat-timeout %v", ws.PingInterval, ws.HeartbeatTimeout))
	}
	if c.webhookFail != "closed" && c.webhookFail != "open" {
		errs = append(errs, fmt.Errorf("-webhook-connect-fail %q: want closed or open", c.webhookFail))
	}
	if c.logFormat != logging.FormatText && c.logFormat != logging.FormatJSON {
		errs = append(errs, fmt.Errorf("-log-format %q: want %s or %s", c.logFormat, logging.FormatText, logging.FormatJSON))
	}
	if ws.Path != "" && !strings.HasPrefix(ws.Path, "/") {
		errs = append(errs, fmt.Errorf("-ws-path %q must start with /", ws.Path))
	}
	return errors.Join(errs...)
}
