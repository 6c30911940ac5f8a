package httpapi

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// stats answers GET /stats: gateway counts, the Stats hook's fields, and process
// metrics. ?gc=1 first collects garbage twice (the second collection frees what
// sync.Pools kept through the first) and returns freed memory to the OS, so the
// memory per connection can be measured.
func stats(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
	if string(ctx.QueryArgs().Peek("gc")) == "1" {
		runtime.GC()
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	clients, err := s.hub.ClientCount(ctx)
	if err != nil {
		return nil, err
	}
	uids, err := s.hub.UIDCount(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := s.hub.GroupTotal(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"connections":      clients.Count,
		"uids":             uids.Count,
		"groups":           groups.Count,
		"goroutines":       runtime.NumGoroutine(),
		"heap_inuse_bytes": ms.HeapInuse,
		"heap_alloc_bytes": ms.HeapAlloc,
		"sys_bytes":        ms.Sys,
		"rss_bytes":        rssBytes(),
		"cpu_seconds":      cpuSeconds(),
		"num_gc":           ms.NumGC,
		"pid":              os.Getpid(),
		"uptime_s":         time.Since(s.started).Seconds(),
	}
	if s.cfg.Stats != nil {
		b, err := json.Marshal(s.cfg.Stats())
		if err != nil {
			return nil, err
		}
		var extra map[string]any
		if err := json.Unmarshal(b, &extra); err != nil {
			return nil, err
		}
		for k, v := range extra {
			out[k] = v
		}
	}
	return out, nil
}

// rssBytes reads the resident set size from /proc/self/statm (0 where absent).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// cpuSeconds is the process's user plus system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
