package poller

import (
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"syscall"
	_ "unsafe" // go:linkname

	"github.com/cloudwego/netpoll"
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

var (
	trimOnce    sync.Once
	trimApplied bool

	configureOnce sync.Once
	configureErr  error
	configuredBuf int
)

// configureNetpoll sets netpoll's process-global buffer sizes and logger and
// trims its write barriers, once per process, before the first event loop
// runs: netpoll's goroutines read these globals without synchronisation. A
// later Server asking for another BufferSize gets a warning and the first size.
func configureNetpoll(bufferSize int, log *slog.Logger) error {
	configureOnce.Do(func() {
		configuredBuf = bufferSize
		if !trimBarriers() {
			log.Warn("netpoll's barrier layout changed: idle connections use about 1.2 KiB more")
		}
		netpoll.LinkBufferCap = bufferSize
		if err := netpoll.Configure(netpoll.Config{BufferSize: bufferSize, LoggerOutput: debugWriter{log}}); err != nil {
			configureErr = fmt.Errorf("poller: configure netpoll: %w", err)
		}
	})
	if configureErr == nil && bufferSize != configuredBuf {
		log.Warn("netpoll is already configured with another buffer size for this process", "using", configuredBuf, "asked", bufferSize)
	}
	return configureErr
}

// trimBarriers makes netpoll give new connections barriers of barrierIovecs
// iovecs instead of 32, saving about 1.2 KiB per connection. It does nothing
// (and reports false) if netpoll's barrier type no longer has the expected
// layout. Process-global, applied once.
func trimBarriers() bool {
	trimOnce.Do(func() {
		v := netpollBarrierPool.Get()
		defer netpollBarrierPool.Put(v)
		t := reflect.TypeOf(v)
		if t == nil || t.Kind() != reflect.Pointer || !sameLayout(t.Elem(), reflect.TypeFor[barrierLayout]()) {
			return
		}
		netpollBarrierPool.New = func() any {
			p := reflect.New(t.Elem())
			b := (*barrierLayout)(p.UnsafePointer())
			b.bs = make([][]byte, barrierIovecs)
			b.ivs = make([]syscall.Iovec, barrierIovecs)
			return p.Interface()
		}
		trimApplied = true
	})
	return trimApplied
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
