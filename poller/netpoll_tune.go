package poller

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"syscall"
	_ "unsafe" // go:linkname

	"github.com/cloudwego/netpoll"
	"github.com/google/uuid"
)

// netpollBarrierPool is netpoll's pool of per-connection write "barriers":
// 32 iovecs (1.3 KiB) that every connection holds for its whole life, used only
// when netpoll itself flushes a connection's output buffer.
//
//go:linkname netpollBarrierPool github.com/cloudwego/netpoll.barrierPool
var netpollBarrierPool sync.Pool

// barrierIovecs is how many iovecs a trimmed barrier has. Conn.write sends
// directly with its own iovecs and uses netpoll's flush only for what a full
// socket left over, so a few are enough; the poller goroutine writes the rest.
const barrierIovecs = 4

// barrierLayout mirrors netpoll v0.7.2's unexported barrier struct; trimBarriers
// checks with reflection that it still matches before using it.
type barrierLayout struct {
	bs  [][]byte
	ivs []syscall.Iovec
}

// DefaultBufferSize is Process.BufferSize's default.
const DefaultBufferSize = 256

// Process holds the settings netpoll and uuid keep per process, not per
// Server: netpoll's goroutines read them without synchronisation, so they are
// set once, before any Server exists, by Setup.
type Process struct {
	// BufferSize is netpoll's per-connection buffer size and minimum node
	// size (netpoll.Configure BufferSize and netpoll.LinkBufferCap), 64 B to
	// 1 MiB; it sets most of an idle connection's memory. DefaultBufferSize.
	BufferSize int
	// Logger gets netpoll's own log lines, at debug level (peer resets and
	// the like are routine for a server on the internet). nil = slog.Default().
	Logger *slog.Logger
}

var (
	setupMu   sync.Mutex
	setupDone *Process // guarded by setupMu; the settings applied
)

// ErrSetup reports a Setup that conflicts with the one before, or a New
// before any Setup.
var ErrSetup = errors.New("poller: process setup")

// Setup applies p to the process: netpoll's buffer sizes and logger, the trim
// of netpoll's per-connection write barriers, and uuid's random pool. The
// first call applies; a later call with the same BufferSize does nothing and
// one with another BufferSize returns an error wrapping ErrSetup, since
// netpoll cannot change them while connections use them. New requires it.
func Setup(p Process) error {
	setDefault(&p.BufferSize, DefaultBufferSize)
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.BufferSize < 64 || p.BufferSize > 1<<20 {
		return fmt.Errorf("%w: buffer size %d outside 64 B..1 MiB", ErrSetup, p.BufferSize)
	}
	setupMu.Lock()
	defer setupMu.Unlock()
	if setupDone != nil {
		if setupDone.BufferSize != p.BufferSize {
			return fmt.Errorf("%w: netpoll already uses buffer size %d in this process, not %d", ErrSetup, setupDone.BufferSize, p.BufferSize)
		}
		return nil
	}
	if !trimBarriers() {
		p.Logger.Warn("netpoll's barrier layout changed: idle connections use about 1.2 KiB more")
	}
	netpoll.LinkBufferCap = p.BufferSize
	if err := netpoll.Configure(netpoll.Config{BufferSize: p.BufferSize, LoggerOutput: debugWriter{p.Logger}}); err != nil {
		return fmt.Errorf("poller: configure netpoll: %w", err)
	}
	uuid.EnableRandPool()
	setupDone = &p
	return nil
}

// isSetUp reports whether Setup has run.
func isSetUp() bool {
	setupMu.Lock()
	defer setupMu.Unlock()
	return setupDone != nil
}

// debugWriter turns netpoll's log lines into debug records.
type debugWriter struct{ log *slog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug("netpoll", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}

// trimBarriers makes netpoll give new connections barriers of barrierIovecs
// iovecs instead of 32, saving about 1.2 KiB per connection. It does nothing
// (and reports false) if netpoll's barrier type no longer has the expected
// layout. Process-global: Setup calls it once.
func trimBarriers() bool {
	v := netpollBarrierPool.Get()
	defer netpollBarrierPool.Put(v)
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || !sameLayout(t.Elem(), reflect.TypeFor[barrierLayout]()) {
		return false
	}
	netpollBarrierPool.New = func() any {
		p := reflect.New(t.Elem())
		b := (*barrierLayout)(p.UnsafePointer())
		b.bs = make([][]byte, barrierIovecs)
		b.ivs = make([]syscall.Iovec, barrierIovecs)
		return p.Interface()
	}
	return true
}

// sameLayout reports whether struct types a and b have the same field names,
// types and offsets.
func sameLayout(a, b reflect.Type) bool {
	if a.Kind() != reflect.Struct || a.NumField() != b.NumField() || a.Size() != b.Size() {
		return false
	}
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Type != fb.Type || fa.Offset != fb.Offset {
			return false
		}
	}
	return true
}
