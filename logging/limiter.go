package logging

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultEvery is the interval the gateway's limiters summarise over.
const DefaultEvery = 10 * time.Second

// Limiter rate-limits repeated log lines by message. The first line with a
// given message is logged at once and opens an interval; the lines with that
// message during the interval are counted, not logged, and when it ends one
// summary line says how many there were ("suppressed"). A line after that
// opens the next interval. So a kind of line costs at most two lines per
// interval, whatever the rate. Messages must come from a fixed set (they key
// the counts): put what varies in the attributes.
type Limiter struct {
	log   *slog.Logger
	every time.Duration
	// now and afterFunc are the clock; tests swap in a fake one.
	now       func() time.Time
	afterFunc func(time.Duration, func())

	mu    sync.Mutex
	kinds map[string]*kind // guarded by mu
}

// kind is one message's interval.
type kind struct {
	until      time.Time // the interval opened by the last line logged ends here
	suppressed int       // lines held back in it
	level      slog.Level
}

// NewLimiter returns a limiter logging to log, summarising every interval
// (DefaultEvery when 0).
func NewLimiter(log *slog.Logger, every time.Duration) *Limiter {
	if every <= 0 {
		every = DefaultEvery
	}
	return &Limiter{
		log:       log,
		every:     every,
		now:       time.Now,
		afterFunc: func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		kinds:     map[string]*kind{},
	}
}

// Warn logs msg at warn level, rate-limited.
func (l *Limiter) Warn(msg string, args ...any) { l.Log(slog.LevelWarn, msg, args...) }

// Log logs msg at level with args, unless a line with msg was logged less
// than an interval ago: then it is only counted.
func (l *Limiter) Log(level slog.Level, msg string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	now := l.now()
	l.mu.Lock()
	k := l.kinds[msg]
	if k == nil {
		k = &kind{}
		l.kinds[msg] = k
	}
	if now.Before(k.until) {
		k.suppressed++
		if k.suppressed == 1 {
			k.level = level
			l.afterFunc(k.until.Sub(now), func() { l.summarise(msg) })
		}
		k.level = max(k.level, level)
		l.mu.Unlock()
		return
	}
	k.until = now.Add(l.every)
	l.mu.Unlock()
	l.log.Log(context.Background(), level, msg, args...)
}

// summarise logs how many lines with msg the interval held back.
func (l *Limiter) summarise(msg string) {
	l.mu.Lock()
	k := l.kinds[msg]
	n, level := k.suppressed, k.level
	k.suppressed, k.level = 0, 0
	l.mu.Unlock()
	if n > 0 {
		l.log.Log(context.Background(), level, msg+" (repeated)", "suppressed", n, "interval", l.every.String())
	}
}
