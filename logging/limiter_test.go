package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// fakeClock is a manual clock: timers fire when Advance passes them.
type fakeClock struct {
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	f  func()
}

func (c *fakeClock) afterFunc(d time.Duration, f func()) {
	c.timers = append(c.timers, fakeTimer{c.now.Add(d), f})
}

func (c *fakeClock) advance(d time.Duration) {
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	var due []func()
	for _, t := range c.timers {
		if t.at.After(c.now) {
			keep = append(keep, t)
		} else {
			due = append(due, t.f)
		}
	}
	c.timers = keep
	for _, f := range due {
		f()
	}
}

// lines decodes the JSON lines logged so far and resets buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, m)
	}
	buf.Reset()
	return out
}

func newTestLimiter(buf *bytes.Buffer) (*Limiter, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	l := NewLimiter(slog.New(slog.NewJSONHandler(buf, nil)), 10*time.Second)
	l.now, l.afterFunc = func() time.Time { return clock.now }, clock.afterFunc
	return l, clock
}

func TestLimiterLogsFirstThenOneSummaryPerInterval(t *testing.T) {
	var buf bytes.Buffer
	l, clock := newTestLimiter(&buf)

	l.Warn("slow consumer closed", "client_id", "a")
	got := lines(t, &buf)
	if len(got) != 1 || got[0]["client_id"] != "a" || got[0]["level"] != "WARN" {
		t.Fatalf("first occurrence: %v, want it logged at once", got)
	}
	for i := range 5 {
		clock.advance(time.Second)
		l.Warn("slow consumer closed", "client_id", string(rune('b'+i)))
	}
	l.Warn("rate limit", "client_id", "z") // another kind has its own interval
	got = lines(t, &buf)
	if len(got) != 1 || got[0]["msg"] != "rate limit" {
		t.Fatalf("within the interval: %v, want only the other kind's first line", got)
	}

	clock.advance(5 * time.Second) // the first kind's interval ends
	got = lines(t, &buf)
	if len(got) != 1 || got[0]["msg"] != "slow consumer closed (repeated)" || got[0]["suppressed"] != 5.0 {
		t.Fatalf("at the interval's end: %v, want one summary of 5", got)
	}

	clock.advance(time.Second)
	l.Warn("slow consumer closed", "client_id", "later")
	clock.advance(time.Minute)
	got = lines(t, &buf) // the rate-limit kind held nothing back: no summary for it
	if len(got) != 1 || got[0]["client_id"] != "later" {
		t.Fatalf("after the interval: %v, want the next line logged at once and no empty summary", got)
	}
}

func TestLimiterSkipsDisabledLevels(t *testing.T) {
	var buf bytes.Buffer
	l, clock := newTestLimiter(&buf) // info and above
	for range 3 {
		l.Log(slog.LevelDebug, "client connected")
	}
	clock.advance(time.Minute)
	if buf.Len() != 0 {
		t.Fatalf("debug lines under an info logger: %q", buf.String())
	}
}
