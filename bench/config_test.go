//go:build linux

package bench

import (
	"errors"
	"flag"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // substring of the error
	}{
		{nil, "missing scenario"},
		{[]string{"bogus"}, `unknown scenario "bogus"`},
		{[]string{"connect", "-n", "-1"}, "-n must be"},
		{[]string{"connect", "-n", "abc"}, `invalid value "abc" for flag -n`},
		{[]string{"connect", "-nope"}, "flag provided but not defined: -nope"},
		{[]string{"connect", "-rate", "-5"}, "-rate must be >= 0"},
		{[]string{"connect", "-procs", "0"}, ""}, // 0 means the default
		{[]string{"connect", "-procs", "999"}, "-procs must be 1..256"},
		{[]string{"connect", "extra"}, `unexpected argument "extra"`},
		{[]string{"idle", "-sweep", "1000,500"}, "-sweep values must be ascending"},
		{[]string{"idle", "-sweep", "10,x"}, `"x" is not a count`},
		{[]string{"idle", "-sweep", "10", "-n", "5"}, "-n and -sweep exclude each other"},
		{[]string{"connect", "-sweep", "10"}, "-sweep is for the idle scenario"},
		{[]string{"groups", "-find-max"}, "-find-max is for the broadcast scenario"},
		{[]string{"broadcast", "-grpc", "127.0.0.1:8182"}, "-grpc is for the api scenario"},
		{[]string{"broadcast", "-size", "0"}, ""},
		{[]string{"broadcast", "-size", "2000000"}, "-size must be"},
		{[]string{"api", "-callers", "99999"}, "-callers must be"},
		{[]string{"connect", "-duration", "-1s"}, "-duration must be"},
		{[]string{"connect", "-local-addrs", "127.0.0.9-127.0.0.2"}, "ends before it starts"},
		{[]string{"connect", "-api", "ftp://x"}, "-api"},
		{[]string{"report"}, "report needs -report"},
		{[]string{"inbound"}, "inbound needs -receiver HOST:PORT"},
		{[]string{"receiver"}, "receiver needs -receiver HOST:PORT"},
		{[]string{"receiver", "-receiver", "nohostport"}, "want HOST:PORT"},
		{[]string{"inbound", "-receiver", "127.0.0.1:9", "-m", "5"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := ParseArgs(tt.args)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrUsage containing %q", err, tt.want)
			}
		})
	}
}

func TestParseArgsDefaultsAndHelp(t *testing.T) {
	if _, err := ParseArgs([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v, want flag.ErrHelp", err)
	}
	if _, err := ParseArgs([]string{"connect", "-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("connect -h: err = %v, want flag.ErrHelp", err)
	}
	c, err := ParseArgs([]string{"broadcast", "-n", "10", "-ws", "ws://127.0.0.1:1/x?y=1", "-local-addrs", "127.0.0.2-127.0.0.4"})
	if err != nil {
		t.Fatal(err)
	}
	if c.N != 10 || c.Callers != 4 || c.MsgRate != 10 || c.Messages != 20 || c.Size != 64 || c.Heartbeat != 25*time.Second || c.Procs != 1 {
		t.Errorf("defaults not applied: %+v", c)
	}
	c, err = ParseArgs([]string{"report", "-report", "out.html", "a.json", "b.json"})
	if err != nil || !slices.Equal(c.Inputs, []string{"a.json", "b.json"}) {
		t.Errorf("report inputs = %v, %v", c.Inputs, err)
	}
}

func TestParseLocalAddrs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"127.0.0.2", []string{"127.0.0.2"}, ""},
		{"127.0.0.2-127.0.0.4", []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, ""},
		{"127.0.0.254-127.0.1.1", []string{"127.0.0.254", "127.0.0.255", "127.0.1.0", "127.0.1.1"}, ""},
		{" 127.0.0.2 , 127.0.0.9-127.0.0.10", []string{"127.0.0.2", "127.0.0.9", "127.0.0.10"}, ""},
		{"::1", []string{"::1"}, ""},
		{"127.0.0.5-127.0.0.1", nil, "ends before it starts"},
		{"127.0.0.1-::1", nil, "mixes IPv4 and IPv6"},
		{"localhost", nil, `"localhost" is not an IP address`},
		{"127.0.0.1-", nil, `"" is not an IP address`},
		{"10.0.0.0-10.1.0.0", nil, "more than 4096 addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLocalAddrs(tt.in)
			if tt.err != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, a := range got {
				s = append(s, a.String())
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("got %v, want %v", s, tt.want)
			}
		})
	}
}

func TestCheckLocalAddrs(t *testing.T) {
	tgt := target{addr: netip.MustParseAddrPort("127.0.0.1:8282")}
	for _, tt := range []struct {
		addr string
		ok   bool
	}{{"127.0.0.2", true}, {"192.0.2.1", false}, {"::1", false}} {
		err := checkLocalAddrs(tgt, []netip.Addr{netip.MustParseAddr(tt.addr)})
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
}

func TestResolveTarget(t *testing.T) {
	tests := []struct {
		url, addr, path, err string
	}{
		{"ws://127.0.0.1:8282/", "127.0.0.1:8282", "/", ""},
		{"ws://127.0.0.1:9/a/b?x=1", "127.0.0.1:9", "/a/b?x=1", ""},
		{"ws://[::1]:80", "[::1]:80", "/", ""},
		{"wss://127.0.0.1/", "", "", "wss:// is not supported"},
		{"ws://127.0.0.1:99999/", "", "", "bad port"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := resolveTarget(t.Context(), tt.url)
			if tt.err != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got.addr.String() != tt.addr || got.path != tt.path {
				t.Errorf("got %+v, %v; want %s %s", got, err, tt.addr, tt.path)
			}
		})
	}
}
