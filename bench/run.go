//go:build linux

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// runEnv is what a scenario works with.
type runEnv struct {
	cfg   *Config
	api   *apiClient
	probe serverProbe
	tag   string // run-unique prefix of group and uid names
	log   io.Writer
}

// logf writes a progress line.
func (env *runEnv) logf(format string, a ...any) {
	fmt.Fprintf(env.log, "wsbench: "+format+"\n", a...)
}

// scenario runs one scenario, filling res. It returns early, with what it
// has, when ctx ends.
type scenario func(ctx context.Context, env *runEnv, res *Result) error

var scenarios = map[string]scenario{
	"connect":   runConnect,
	"idle":      runIdle,
	"broadcast": runBroadcast,
	"groups":    runTargeted,
	"uids":      runTargeted,
	"api":       runTargeted,
	"churn":     runChurn,
	"inbound":   runInbound,
}

// Run runs cfg's scenario with defaults applied and validated, prints the
// result table to out (progress goes to log), and writes the -json and
// -report files. When ctx ends (Ctrl-C) the scenario stops early and the
// partial result is printed and written with Interrupted set. The error is
// the scenario's failure, or a failure to write the outputs. The report and
// receiver scenarios return a nil Result; receiver serves until ctx ends.
func Run(ctx context.Context, cfg Config, out, log io.Writer) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	switch cfg.Scenario {
	case "report":
		return nil, writeReportFile(cfg.Report, cfg.Inputs)
	case "receiver":
		return nil, runReceiver(ctx, &cfg, log)
	}
	if err := raiseNoFileLimit(); err != nil {
		return nil, err
	}
	env, err := newRunEnv(ctx, &cfg, log)
	if err != nil {
		return nil, err
	}
	res := &Result{Scenario: cfg.Scenario, Started: time.Now(), Machine: machine(), Config: cfg}
	runErr := scenarios[cfg.Scenario](ctx, env, res)
	res.Seconds = time.Since(res.Started).Seconds()
	res.Interrupted = ctx.Err() != nil
	if runErr != nil {
		res.Error = runErr.Error()
	}
	if err := res.WriteText(out); err != nil {
		return res, err
	}
	if cfg.JSON != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err == nil {
			err = os.WriteFile(cfg.JSON, append(b, '\n'), 0o644)
		}
		if err != nil {
			return res, fmt.Errorf("bench: writing -json: %w", err)
		}
	}
	if cfg.Report != "" {
		var buf bytes.Buffer
		if err := WriteReport(&buf, []*Result{res}); err != nil {
			return res, err
		}
		if err := os.WriteFile(cfg.Report, buf.Bytes(), 0o644); err != nil {
			return res, fmt.Errorf("bench: writing -report: %w", err)
		}
	}
	return res, runErr
}

// newRunEnv checks the target and limits before anything connects.
func newRunEnv(ctx context.Context, cfg *Config, log io.Writer) (*runEnv, error) {
	tgts, err := resolveTargets(ctx, cfg.WS)
	if err != nil {
		return nil, err
	}
	local, _ := ParseLocalAddrs(cfg.LocalAddrs) // validated
	for _, tgt := range tgts {
		if err := checkLocalAddrs(tgt, local); err != nil {
			return nil, err
		}
	}
	capacity := cfg.N
	if len(cfg.Sweep) > 0 {
		capacity = cfg.Sweep[len(cfg.Sweep)-1]
	}
	if cfg.Scenario == "churn" {
		capacity += cfg.Churners
	}
	perProc := uint64((capacity+cfg.Procs-1)/cfg.Procs) + fdReserve
	if limit := noFileLimit(); perProc > limit {
		return nil, usageErr("%d clients over %d process(es) need %d open files per process but the limit is %d: use -procs %d or more",
			capacity, cfg.Procs, perProc, limit, (uint64(capacity)+limit-fdReserve-1)/(limit-fdReserve))
	}
	api, err := newAPIClient(cfg.API, cfg.APIToken, max(cfg.Callers, apiConnsMin))
	if err != nil {
		return nil, err
	}
	env := &runEnv{cfg: cfg, api: api, probe: statsProbe{api}, log: log,
		tag: fmt.Sprintf("wsb%x-", time.Now().UnixNano()&0xffffff)}
	if cfg.PID != 0 {
		env.probe = procProbe{pid: cfg.PID, proc: "/proc"}
	}
	return env, nil
}

// apiConnsMin is the least number of API connections a run may open: find-max
// adds callers beyond -callers as the rate grows.
const apiConnsMin = 512

// fdReserve is the open files a process needs besides its clients.
const fdReserve = 100

// raiseNoFileLimit raises the soft open-files limit to the hard limit.
func raiseNoFileLimit() error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return fmt.Errorf("bench: getrlimit: %w", err)
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return fmt.Errorf("bench: raising the open-files limit to %d: %w", r.Max, err)
		}
	}
	return nil
}

// noFileLimit returns the soft open-files limit.
func noFileLimit() uint64 {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil {
		return 1024
	}
	return r.Cur
}

// machine describes this machine.
func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), NoFile: noFileLimit()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// engineConfig builds the engine settings for this run.
func (env *runEnv) engineConfig(streamSize int) engineConfig {
	c := env.cfg
	local, _ := ParseLocalAddrs(c.LocalAddrs) // validated
	ec := engineConfig{URL: c.WS, Loops: c.Loops, StreamSize: streamSize, Heartbeat: c.Heartbeat,
		HandshakeTimeout: c.HandshakeTimeout, Inflight: c.Inflight, API: c.API, APIToken: c.APIToken}
	for _, a := range local {
		ec.LocalAddrs = append(ec.LocalAddrs, a.String())
	}
	return ec
}

// writeReportFile merges result files into one HTML report.
func writeReportFile(out string, inputs []string) error {
	var results []*Result
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			return fmt.Errorf("bench: report: %w", err)
		}
		r := new(Result)
		if err := json.Unmarshal(b, r); err != nil {
			return fmt.Errorf("bench: report: %s: %w", in, err)
		}
		results = append(results, r)
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, results); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
