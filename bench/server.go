//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// ServerSample is one reading of the measured server's resources. Fields a
// source cannot tell are -1 (Goroutines, Connections) or 0 (HeapInuse).
type ServerSample struct {
	Connections int64   `json:"connections"`
	Goroutines  int64   `json:"goroutines"`
	HeapInuse   uint64  `json:"heap_inuse_bytes"`
	RSS         uint64  `json:"rss_bytes"`
	CPUSeconds  float64 `json:"cpu_seconds"`
}

// serverProbe reads the measured server's resources; gc asks for a garbage
// collection first where the source supports it.
type serverProbe interface {
	sample(gc bool) (ServerSample, error)
}

// statsProbe reads the gateway's GET /stats.
type statsProbe struct{ api *apiClient }

// sample with gc asks for two collections: objects in sync.Pools survive
// the first one (in the victim cache), so one GC overstates live memory.
func (p statsProbe) sample(gc bool) (ServerSample, error) {
	var s ServerSample
	if !gc {
		return s, p.api.getJSON("/stats", &s)
	}
	if err := p.api.getJSON("/stats?gc=1", &s); err != nil {
		return s, err
	}
	return s, p.api.getJSON("/stats?gc=1", &s)
}

// procProbe reads /proc/PID of any server process.
type procProbe struct {
	pid  int
	proc string // the proc mount, "/proc" outside tests
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

func (p procProbe) sample(bool) (ServerSample, error) {
	s := ServerSample{Connections: -1, Goroutines: -1}
	dir := fmt.Sprintf("%s/%d/", p.proc, p.pid)
	status, err := os.ReadFile(dir + "status")
	if err != nil {
		return s, fmt.Errorf("bench: -pid %d: %w", p.pid, err)
	}
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(v)
			if len(f) < 2 {
				return s, fmt.Errorf("bench: -pid %d: bad VmRSS line %q", p.pid, line)
			}
			kb, err := strconv.ParseUint(string(f[0]), 10, 64)
			if err != nil {
				return s, fmt.Errorf("bench: -pid %d: bad VmRSS line %q", p.pid, line)
			}
			s.RSS = kb * 1024
		}
	}
	stat, err := os.ReadFile(dir + "stat")
	if err != nil {
		return s, fmt.Errorf("bench: -pid %d: %w", p.pid, err)
	}
	// Fields after the command name, which may hold spaces and ")": state is
	// field 3, utime 14 and stime 15 (proc(5)).
	i := bytes.LastIndexByte(stat, ')')
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return s, fmt.Errorf("bench: -pid %d: cannot parse %sstat", p.pid, dir)
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("bench: -pid %d: cannot parse utime/stime in %sstat", p.pid, dir)
	}
	s.CPUSeconds = float64(ut+st) / clockTicks
	return s, nil
}
