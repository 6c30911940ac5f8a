package main

import (
	"io"
	"strings"
	"testing"
)

// TestFlagRanges: every size and duration flag is range-checked at startup
// with a message naming it; absurd values are refused, not run.
func TestFlagRanges(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string // part of the error; "" = accepted
	}{
		{nil, ""},
		{[]string{"-buffer-size", "30000000000"}, "-buffer-size 30000000000 is out of range"},
		{[]string{"-buffer-size", "1000000000"}, "-buffer-size"},
		{[]string{"-buffer-size", "0"}, "-buffer-size 0 is out of range"},
		{[]string{"-ping-interval", "1ns"}, "-ping-interval 1ns is out of range"},
		{[]string{"-ping-interval", "2m"}, "must be shorter than -heartbeat-timeout"},
		{[]string{"-ping-interval", "0"}, ""},
		{[]string{"-ws-path", "ws"}, `-ws-path "ws" must start with /`},
		{[]string{"-ws-path", "/ws"}, ""},
		{[]string{"-max-message", "-5"}, "-max-message -5"},
		{[]string{"-send-queue", "10"}, "-send-queue 10"},
		{[]string{"-heartbeat-timeout", "0"}, "-heartbeat-timeout 0s is out of range"},
		{[]string{"-handshake-timeout", "1ns"}, "-handshake-timeout"},
		{[]string{"-write-timeout", "1000h"}, "-write-timeout"},
		{[]string{"-shutdown-timeout", "0"}, "-shutdown-timeout"},
		{[]string{"-max-conns", "-1"}, "or 0 for no limit"},
		{[]string{"-max-conns", "0"}, ""},
		{[]string{"-max-inbound-rate", "-1"}, "-max-inbound-rate -1 is out of range"},
		{[]string{"-max-groups-per-client", "0"}, "-max-groups-per-client 0"},
		{[]string{"-api-max-body", "10"}, "-api-max-body 10"},
		{[]string{"-api-max-inflight", "1000"}, "-api-max-inflight 1000 is out of range"},
		{[]string{"-log-format", "json"}, ""},
		{[]string{"-log-format", "xml"}, `-log-format "xml": want text or json`},
	} {
		_, err := parseFlags(tt.args, io.Discard)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v, want accepted", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}

// TestZeroMeansNoLimit: 0 means the same for every limit flag that takes it.
func TestZeroMeansNoLimit(t *testing.T) {
	c, err := parseFlags([]string{"-max-inbound-rate", "0", "-max-conns", "0", "-ping-interval", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.gw.WS.MaxInboundRate >= 0 || c.gw.WS.MaxConns != 0 || c.gw.WS.PingInterval != 0 {
		t.Errorf("poller config %+v: want no inbound limit (<0), no connection limit, no pings", c.gw.WS)
	}
}
