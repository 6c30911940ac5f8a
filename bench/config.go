//go:build linux

package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenarios, in the order the usage lists them.
var scenarioNames = []string{"connect", "idle", "broadcast", "groups", "uids", "api", "churn", "inbound", "receiver", "report"}

// Config is one wsbench run. Zero values mean the defaults documented on
// each field; Run applies them (withDefaults) and validates.
type Config struct {
	Scenario string `json:"scenario"`

	WS       string `json:"ws"`             // WebSocket URL (default ws://127.0.0.1:8282/)
	API      string `json:"api"`            // REST API base URL (default http://127.0.0.1:8283)
	APIToken string `json:"-"`              // bearer token for the API; never written to results
	GRPC     string `json:"grpc,omitempty"` // api scenario: send through this gRPC address (SendMessageToClient) instead of REST
	PID      int    `json:"pid"`            // read memory and CPU from /proc/PID instead of GET /stats

	N                int           `json:"n"`                 // clients (default 1000)
	Rate             float64       `json:"rate"`              // connects per second (0: unpaced, only -inflight bounds)
	Duration         time.Duration `json:"duration"`          // hold (idle) or send (groups, uids, api, churn) time (default 10s)
	Procs            int           `json:"procs"`             // processes holding clients (default 1: this one)
	Loops            int           `json:"loops"`             // event loops per process (default GOMAXPROCS)
	LocalAddrs       string        `json:"local_addrs"`       // source addresses, e.g. 127.0.0.2-127.0.0.20
	Heartbeat        time.Duration `json:"heartbeat"`         // "ping" text per client this often (default 25s; negative: never)
	HandshakeTimeout time.Duration `json:"handshake_timeout"` // connect plus upgrade (default 10s)
	Inflight         int           `json:"inflight"`          // handshakes in progress per process (default 1000)

	Sweep    []int         `json:"sweep,omitempty"` // idle: connection counts to measure at
	Messages int           `json:"messages"`        // broadcast: messages to send; inbound: per client (default 20)
	Size     int           `json:"size"`            // message size in bytes (default 64)
	MsgRate  float64       `json:"msg_rate"`        // messages per second (broadcast default 10, find-max start 2, churn 200; groups/uids/api 0: as fast as the callers go; inbound 0: as fast as the clients can, in total)
	Callers  int           `json:"callers"`         // concurrent API callers (broadcast 4, churn 8, others 64)
	FindMax  bool          `json:"find_max"`        // broadcast: raise the rate until p95 passes P95Limit
	P95Limit time.Duration `json:"p95_limit"`       // find-max limit (default 500ms)
	Step     time.Duration `json:"step"`            // find-max time per rate step (default 5s)
	MaxSteps int           `json:"max_steps"`       // find-max steps at most (default 20)

	GroupSize int           `json:"group_size"` // groups, churn: clients per group (default 100)
	UIDConns  int           `json:"uid_conns"`  // uids, churn: connections per uid (default 2)
	Churners  int           `json:"churners"`   // churn: churn slots (default N/2)
	ChurnRate float64       `json:"churn_rate"` // churn: churn connects per second (default 500)
	Lifetime  time.Duration `json:"lifetime"`   // churn: mean churn connection lifetime (default 2s)

	// Receiver is the webhook receiver's address, HOST:PORT: the receiver
	// scenario listens there; inbound reads its GET /counts.
	Receiver     string        `json:"receiver,omitempty"`
	ConnectDelay time.Duration `json:"connect_delay,omitempty"` // receiver: connect answer delay (default 1ms; negative: none)

	Drain  time.Duration `json:"drain"`  // longest wait for deliveries after the last send (default 10s)
	Sample time.Duration `json:"sample"` // time-series sampling interval (default 500ms)

	JSON   string   `json:"-"` // write the Result as JSON to this file
	Report string   `json:"-"` // write an HTML report to this file
	Inputs []string `json:"-"` // report: result JSON files to merge
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	if c.WS == "" {
		c.WS = "ws://127.0.0.1:8282/"
	}
	if c.API == "" {
		c.API = "http://127.0.0.1:8283"
	}
	def(&c.N, 1000)
	def(&c.Procs, 1)
	def(&c.Loops, runtime.GOMAXPROCS(0))
	def(&c.Inflight, 1000)
	def(&c.Messages, 20)
	def(&c.Size, 64)
	def(&c.MaxSteps, 20)
	def(&c.GroupSize, 100)
	def(&c.UIDConns, 2)
	def(&c.Churners, max(c.N/2, 1))
	callers := map[string]int{"broadcast": 4, "churn": 8}[c.Scenario]
	if callers == 0 {
		callers = 64
	}
	def(&c.Callers, callers)
	defDur(&c.Duration, 10*time.Second)
	defDur(&c.Heartbeat, 25*time.Second)
	defDur(&c.HandshakeTimeout, 10*time.Second)
	defDur(&c.P95Limit, 500*time.Millisecond)
	defDur(&c.Step, 5*time.Second)
	defDur(&c.Lifetime, 2*time.Second)
	defDur(&c.Drain, 10*time.Second)
	defDur(&c.Sample, 500*time.Millisecond)
	defDur(&c.ConnectDelay, DefaultConnectDelay)
	if c.MsgRate == 0 {
		switch {
		case c.Scenario == "broadcast" && c.FindMax:
			c.MsgRate = 2
		case c.Scenario == "broadcast":
			c.MsgRate = 10
		case c.Scenario == "churn":
			c.MsgRate = 200
		}
	}
	if c.ChurnRate == 0 {
		c.ChurnRate = 500
	}
	return c
}

// usageErr builds an ErrUsage error.
func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUsage}, a...)...)
}

// validate checks a defaulted config; every error wraps ErrUsage and names
// the flag.
func (c *Config) validate() error {
	if !slices.Contains(scenarioNames, c.Scenario) {
		return usageErr("unknown scenario %q (want one of %s)", c.Scenario, strings.Join(scenarioNames, ", "))
	}
	if c.Scenario == "report" {
		if c.Report == "" || len(c.Inputs) == 0 {
			return usageErr("report needs -report OUT.html and at least one result JSON file")
		}
		return nil
	}
	if (c.Scenario == "receiver" || c.Scenario == "inbound") && c.Receiver == "" {
		return usageErr("%s needs -receiver HOST:PORT", c.Scenario)
	}
	if c.Receiver != "" {
		if _, _, err := net.SplitHostPort(c.Receiver); err != nil {
			return usageErr("-receiver %q: want HOST:PORT", c.Receiver)
		}
	}
	checks := []struct {
		bad  bool
		what string
	}{
		{c.N < 1 || c.N > 10_000_000, fmt.Sprintf("-n must be 1..10000000 (got %d)", c.N)},
		{c.Rate < 0, fmt.Sprintf("-rate must be >= 0 (got %g)", c.Rate)},
		{c.Duration <= 0 || c.Duration > 24*time.Hour, fmt.Sprintf("-duration must be in (0, 24h] (got %s)", c.Duration)},
		{c.Procs < 1 || c.Procs > 256, fmt.Sprintf("-procs must be 1..256 (got %d)", c.Procs)},
		{c.Loops < 1 || c.Loops > 256, fmt.Sprintf("-loops must be 1..256 (got %d)", c.Loops)},
		{c.HandshakeTimeout < 0, "-handshake-timeout must be > 0"},
		{c.Inflight < 1, fmt.Sprintf("-inflight must be >= 1 (got %d)", c.Inflight)},
		{c.Messages < 1 || c.Messages > 10_000_000, fmt.Sprintf("-m must be 1..10000000 (got %d)", c.Messages)},
		{c.Size < 1 || c.Size > 1<<20, fmt.Sprintf("-size must be 1..1048576 bytes (got %d)", c.Size)},
		{c.MsgRate < 0, fmt.Sprintf("-msg-rate must be >= 0 (got %g)", c.MsgRate)},
		{c.Callers < 1 || c.Callers > 4096, fmt.Sprintf("-callers must be 1..4096 (got %d)", c.Callers)},
		{c.P95Limit < 0 || c.Step < 0 || c.MaxSteps < 1 || c.MaxSteps > 100, "-p95-limit and -step must be > 0, -max-steps 1..100"},
		{c.GroupSize < 1 || c.UIDConns < 1, "-group-size and -uid-conns must be >= 1"},
		{c.Churners < 1 || c.ChurnRate < 0 || c.Lifetime < 0, "-churners must be >= 1, -churn-rate and -lifetime >= 0"},
		{c.Drain < 0 || c.Sample < 10*time.Millisecond, "-drain must be >= 0 and -sample >= 10ms"},
		{c.PID < 0, fmt.Sprintf("-pid must be a process id (got %d)", c.PID)},
		{len(c.Sweep) > 0 && c.Scenario != "idle", "-sweep is for the idle scenario"},
		{c.FindMax && c.Scenario != "broadcast", "-find-max is for the broadcast scenario"},
		{c.GRPC != "" && c.Scenario != "api", "-grpc is for the api scenario"},
	}
	for _, ch := range checks {
		if ch.bad {
			return usageErr("%s", ch.what)
		}
	}
	for i, n := range c.Sweep {
		if n < 1 || n > 10_000_000 || (i > 0 && n <= c.Sweep[i-1]) {
			return usageErr("-sweep values must be ascending counts in 1..10000000 (got %v)", c.Sweep)
		}
	}
	if _, err := ParseLocalAddrs(c.LocalAddrs); err != nil {
		return err
	}
	if _, err := newAPIClient(c.API, "", 1); err != nil {
		return err
	}
	return nil
}

// flagSet declares every flag on c.
func flagSet(name string, c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.WS, "ws", "", "WebSocket URL of the server, or comma-separated URLs of a cluster's nodes: clients go round-robin (default ws://127.0.0.1:8282/)")
	fs.StringVar(&c.API, "api", "", "REST API base URL (default http://127.0.0.1:8283)")
	fs.StringVar(&c.APIToken, "api-token", "", "bearer token for the REST API")
	fs.StringVar(&c.GRPC, "grpc", "", "api scenario: send with the gRPC API's SendMessageToClient at HOST:PORT instead of POST /send/client")
	fs.IntVar(&c.PID, "pid", 0, "server process id: read memory (VmRSS) and CPU from /proc instead of GET /stats")
	fs.IntVar(&c.N, "n", 0, "clients (default 1000)")
	fs.Float64Var(&c.Rate, "rate", 0, "connects per second (default 0: unpaced, bounded by -inflight)")
	fs.DurationVar(&c.Duration, "duration", 0, "idle: hold time per point; groups, uids, api, churn: send time (default 10s)")
	fs.IntVar(&c.Procs, "procs", 0, "processes holding clients; >1 starts child processes (default 1)")
	fs.IntVar(&c.Loops, "loops", 0, "event loops per process (default GOMAXPROCS)")
	fs.StringVar(&c.LocalAddrs, "local-addrs", "", "source addresses to spread clients over, e.g. 127.0.0.2-127.0.0.20")
	fs.DurationVar(&c.Heartbeat, "heartbeat", 0, `each client sends "ping" text this often (default 25s; negative: never)`)
	fs.DurationVar(&c.HandshakeTimeout, "handshake-timeout", 0, "connect plus upgrade time limit (default 10s)")
	fs.IntVar(&c.Inflight, "inflight", 0, "handshakes in progress per process (default 1000)")
	fs.Func("sweep", "idle: ascending connection counts, e.g. 1000,5000,10000,15000", func(s string) error {
		c.Sweep = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("%q is not a count", f)
			}
			c.Sweep = append(c.Sweep, n)
		}
		return nil
	})
	fs.IntVar(&c.Messages, "m", 0, "broadcast: messages to send; inbound: messages per client (default 20)")
	fs.IntVar(&c.Size, "size", 0, "message size in bytes (default 64)")
	fs.Float64Var(&c.MsgRate, "msg-rate", 0, "messages per second (broadcast 10, find-max start 2, churn 200; groups, uids, api: 0 = as fast as the callers go)")
	fs.IntVar(&c.Callers, "callers", 0, "concurrent API callers (broadcast 4, churn 8, others 64)")
	fs.BoolVar(&c.FindMax, "find-max", false, "broadcast: raise the rate x1.5 per step until p95 passes -p95-limit")
	fs.DurationVar(&c.P95Limit, "p95-limit", 0, "find-max latency limit (default 500ms)")
	fs.DurationVar(&c.Step, "step", 0, "find-max time per rate step (default 5s)")
	fs.IntVar(&c.MaxSteps, "max-steps", 0, "find-max steps at most (default 20)")
	fs.IntVar(&c.GroupSize, "group-size", 0, "groups, churn: clients per group (default 100)")
	fs.IntVar(&c.UIDConns, "uid-conns", 0, "uids, churn: connections per uid (default 2)")
	fs.IntVar(&c.Churners, "churners", 0, "churn: churn slots connecting and disconnecting (default n/2)")
	fs.Float64Var(&c.ChurnRate, "churn-rate", 0, "churn: churn connects per second (default 500)")
	fs.DurationVar(&c.Lifetime, "lifetime", 0, "churn: mean churn connection lifetime (default 2s)")
	fs.StringVar(&c.Receiver, "receiver", "", "receiver: listen on HOST:PORT; inbound: the receiver to read GET /counts from")
	fs.DurationVar(&c.ConnectDelay, "connect-delay", 0, "receiver: answer a connect event after this long (default 1ms; negative: at once)")
	fs.DurationVar(&c.Drain, "drain", 0, "longest wait for deliveries after the last send (default 10s)")
	fs.DurationVar(&c.Sample, "sample", 0, "time-series sampling interval (default 500ms)")
	fs.StringVar(&c.JSON, "json", "", "write machine-readable results to this file")
	fs.StringVar(&c.Report, "report", "", "write a self-contained HTML report to this file")
	return fs
}

// ParseArgs parses "SCENARIO [flags]" (or "report -report OUT.html
// RESULT.json...") into a defaulted, validated Config. Errors wrap ErrUsage;
// -h yields flag.ErrHelp.
func ParseArgs(args []string) (Config, error) {
	if len(args) == 0 {
		return Config{}, usageErr("missing scenario (want one of %s)", strings.Join(scenarioNames, ", "))
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" || a == "help" {
		return Config{}, flag.ErrHelp
	}
	c := Config{Scenario: args[0]}
	if !slices.Contains(scenarioNames, c.Scenario) {
		return c, usageErr("unknown scenario %q (want one of %s)", c.Scenario, strings.Join(scenarioNames, ", "))
	}
	fs := flagSet("wsbench "+c.Scenario, &c)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, usageErr("%v", err)
	}
	if c.Scenario == "report" {
		c.Inputs = fs.Args()
	} else if fs.NArg() > 0 {
		return c, usageErr("unexpected argument %q (flags go after the scenario)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["n"] && set["sweep"] {
		return c, usageErr("-n and -sweep exclude each other: -sweep gives the counts")
	}
	c = c.withDefaults()
	return c, c.validate()
}

// Usage writes the command's help.
func Usage(w io.Writer) {
	fmt.Fprintf(w, `usage: wsbench SCENARIO [flags]
       wsbench report -report OUT.html RESULT.json...

scenarios:
  connect    open -n connections at up to -rate per second; upgrades/s, handshake latency, failures
  idle       hold -n idle connections for -duration (or each of -sweep); server memory per connection
  broadcast  -m messages of -size bytes via POST /send/all at -msg-rate; latency, LOST, DUPLICATED
             (-find-max: raise the rate until p95 latency passes -p95-limit)
  groups     groups of -group-size; -callers send to random groups for -duration
  uids       uids of -uid-conns connections; -callers send to random uids for -duration
  api        POST /send/client to one random client per call from -callers for -duration
  churn      connect/disconnect storm while sending to groups; server counts must return
  inbound    -n clients each send -m texts of -size bytes (at -msg-rate in total, 0: as fast as
             they can); the gateway posts each as a webhook message event to the -receiver;
             events/s the receiver counted, and the gateway's webhook drops and retries
  receiver   serve a webhook receiver on -receiver until Ctrl-C: 204 to batches, 204 to
             connect after -connect-delay, counts by event type at GET /counts
  listen     not a load test: one client prints its id and every message pushed to it
             (wsbench listen [ws://127.0.0.1:8282/]; runs on any OS)
  report     merge result JSON files into one HTML report

flags:
`)
	fs := flagSet("wsbench", new(Config))
	fs.SetOutput(w)
	fs.PrintDefaults()
}
