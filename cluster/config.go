package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrConfig wraps every Config validation error.
var ErrConfig = errors.New("cluster: invalid config")

// Defaults for the zero values of Config.
const (
	DefaultName      = "wsgate"
	DefaultTimeout   = 500 * time.Millisecond
	DefaultHeartbeat = time.Second
	DefaultQueueLen  = 8192
)

// Config configures a cluster Hub. Zero values mean the documented defaults.
type Config struct {
	NATSURL   string        // comma-separated URLs of one NATS cluster; required
	Name      string        // cluster name: nodes see only nodes of the same name; DefaultName
	NodeID    string        // this node's id (letters, digits, - and _); required: see NewNodeID and IDs
	Timeout   time.Duration // how long a cluster-wide answer waits for the nodes; DefaultTimeout
	Heartbeat time.Duration // announce interval; a node is dropped after 3 missed; DefaultHeartbeat
	QueueLen  int           // requests received and not yet handled (memory: at most this many messages); DefaultQueueLen

	// Describe tells what this node shows of itself (heartbeats, Nodes);
	// called on the heartbeat goroutine. nil shows nothing.
	Describe func() (wsAddr, apiAddr string, connections int)

	Logger *slog.Logger // nil = slog.Default(); the gateway gives one whose lines carry node (this node's id)
}

func (c Config) withDefaults() (Config, error) {
	if c.NATSURL == "" {
		return c, fmt.Errorf("%w: no NATS URL", ErrConfig)
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.QueueLen == 0 {
		c.QueueLen = DefaultQueueLen
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Describe == nil {
		c.Describe = func() (string, string, int) { return "", "", 0 }
	}
	switch {
	case c.Timeout < 0 || c.Heartbeat < 0 || c.QueueLen < 0:
		return c, fmt.Errorf("%w: negative timeout, heartbeat or queue", ErrConfig)
	case !validToken(c.Name):
		return c, fmt.Errorf("%w: cluster name %q: use letters, digits, - and _", ErrConfig, c.Name)
	case !validToken(c.NodeID):
		return c, fmt.Errorf("%w: node id %q: use letters, digits, - and _", ErrConfig, c.NodeID)
	}
	return c, nil
}

// validToken reports whether s can be one NATS subject token.
func validToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
