//go:build linux

package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// A child process runs one Engine for the parent (-procs). The parent
// starts its own executable with childEnv=1; the child reads one JSON
// request per line on stdin and answers each with one JSON line on stdout,
// in order. stdin closing (the parent exited) shuts the child down.

// childEnv marks a process as a wsbench child.
const childEnv = "WSBENCH_CHILD"

// IsChild reports whether this process was started as a wsbench child.
func IsChild() bool { return os.Getenv(childEnv) == "1" }

// rpcRequest is one call from parent to child.
type rpcRequest struct {
	Op     string        `json:"op"` // init, connect, churn, send, stats, ids, loss, close_all, shutdown
	Config *engineConfig `json:"config,omitempty"`
	N      int           `json:"n,omitempty"`
	Rate   float64       `json:"rate,omitempty"`
	Size   int           `json:"size,omitempty"`
	Full   bool          `json:"full,omitempty"`
	Sent   []uint32      `json:"sent,omitempty"`
	Failed []uint32      `json:"failed,omitempty"`
	Churn  *churnSpec    `json:"churn,omitempty"`
}

// rpcResponse is the child's answer; Error is "" on success.
type rpcResponse struct {
	Error string       `json:"error,omitempty"`
	Stats *engineStats `json:"stats,omitempty"`
	IDs   []string     `json:"ids,omitempty"`
	Loss  *lossStats   `json:"loss,omitempty"`
	// Planned is send's answer: the messages its clients will send.
	Planned uint64 `json:"planned,omitempty"`
}

// RunChild serves the parent's requests from in, answering on out, until
// in ends or a shutdown request. It ignores SIGINT: the parent decides when
// a child stops, so Ctrl-C still yields the parent's partial results. It
// raises the open-files limit first.
func RunChild(in io.Reader, out io.Writer) error {
	signal.Ignore(os.Interrupt)
	if err := raiseNoFileLimit(); err != nil {
		return err
	}
	dec := json.NewDecoder(bufio.NewReader(in))
	enc := json.NewEncoder(out)
	var e *Engine
	defer func() {
		if e != nil {
			e.shutdown()
		}
	}()
	for {
		var req rpcRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("bench: child: reading request: %w", err)
		}
		resp, err := serveChild(&e, &req)
		if err != nil {
			resp.Error = err.Error()
		}
		if err := enc.Encode(resp); err != nil {
			return fmt.Errorf("bench: child: writing answer: %w", err)
		}
		if req.Op == "shutdown" {
			return nil
		}
	}
}

// serveChild runs one request against the child's engine, creating it on
// init.
func serveChild(e **Engine, req *rpcRequest) (rpcResponse, error) {
	var resp rpcResponse
	if req.Op == "init" {
		if *e != nil || req.Config == nil {
			return resp, errors.New("bench: child: init must come once, with a config")
		}
		var err error
		*e, err = newEngine(*req.Config)
		return resp, err
	}
	if *e == nil {
		if req.Op == "shutdown" {
			return resp, nil
		}
		return resp, fmt.Errorf("bench: child: %q before init", req.Op)
	}
	switch req.Op {
	case "connect":
		return resp, (*e).connect(req.N, req.Rate)
	case "churn":
		if req.Churn == nil {
			return resp, errors.New("bench: child: churn without a spec")
		}
		return resp, (*e).churn(*req.Churn)
	case "send":
		p, err := (*e).sendMessages(req.N, req.Size, req.Rate)
		resp.Planned = p
		return resp, err
	case "stats":
		s, err := (*e).stats(req.Full)
		resp.Stats = &s
		return resp, err
	case "ids":
		ids, err := (*e).ids()
		resp.IDs = ids
		return resp, err
	case "loss":
		l, err := (*e).loss(req.Sent, req.Failed)
		resp.Loss = &l
		return resp, err
	case "close_all":
		return resp, (*e).closeAll()
	case "shutdown":
		return resp, (*e).shutdown()
	}
	return resp, fmt.Errorf("bench: child: unknown op %q", req.Op)
}

// childProc is the parent's handle on a child; it implements member.
// Requests are serialised by mu.
type childProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	enc  *json.Encoder
	dec  *json.Decoder
	mu   sync.Mutex // guards enc, dec, done
	done bool
}

// childStopWait bounds how long shutdown waits for a child to exit before
// killing it.
const childStopWait = 10 * time.Second

// startChild starts a child running an engine with cfg. The child is killed
// if this process dies (Pdeathsig).
func startChild(cfg engineConfig) (*childProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: finding own executable for -procs: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting child: %w", err)
	}
	c := &childProc{cmd: cmd, in: in, enc: json.NewEncoder(in), dec: json.NewDecoder(bufio.NewReader(out))}
	if _, err := c.call(rpcRequest{Op: "init", Config: &cfg}); err != nil {
		c.shutdown()
		return nil, err
	}
	return c, nil
}

// call sends one request and waits for its answer.
func (c *childProc) call(req rpcRequest) (rpcResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var resp rpcResponse
	if c.done {
		return resp, errEngineClosed
	}
	if err := c.enc.Encode(req); err != nil {
		return resp, fmt.Errorf("bench: child %d: %s: %w", c.cmd.Process.Pid, req.Op, err)
	}
	if err := c.dec.Decode(&resp); err != nil {
		return resp, fmt.Errorf("bench: child %d: %s: %w", c.cmd.Process.Pid, req.Op, err)
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("bench: child %d: %s", c.cmd.Process.Pid, resp.Error)
	}
	return resp, nil
}

func (c *childProc) connect(n int, rate float64) error {
	_, err := c.call(rpcRequest{Op: "connect", N: n, Rate: rate})
	return err
}

func (c *childProc) churn(spec churnSpec) error {
	_, err := c.call(rpcRequest{Op: "churn", Churn: &spec})
	return err
}

func (c *childProc) sendMessages(m, size int, rate float64) (uint64, error) {
	resp, err := c.call(rpcRequest{Op: "send", N: m, Size: size, Rate: rate})
	return resp.Planned, err
}

func (c *childProc) stats(full bool) (engineStats, error) {
	resp, err := c.call(rpcRequest{Op: "stats", Full: full})
	if err != nil || resp.Stats == nil {
		return engineStats{}, err
	}
	return *resp.Stats, nil
}

func (c *childProc) ids() ([]string, error) {
	resp, err := c.call(rpcRequest{Op: "ids"})
	return resp.IDs, err
}

func (c *childProc) loss(sent, failed []uint32) (lossStats, error) {
	resp, err := c.call(rpcRequest{Op: "loss", Sent: sent, Failed: failed})
	if err != nil || resp.Loss == nil {
		return lossStats{}, err
	}
	return *resp.Loss, nil
}

func (c *childProc) closeAll() error {
	_, err := c.call(rpcRequest{Op: "close_all"})
	return err
}

// shutdown asks the child to stop, closes its stdin and waits for it,
// killing it after childStopWait. It is idempotent.
func (c *childProc) shutdown() error {
	_, err := c.call(rpcRequest{Op: "shutdown"})
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return nil
	}
	c.done = true
	c.mu.Unlock()
	c.in.Close()
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	select {
	case werr := <-exited:
		return errors.Join(err, werr)
	case <-time.After(childStopWait):
		c.cmd.Process.Kill()
		return errors.Join(err, <-exited)
	}
}
