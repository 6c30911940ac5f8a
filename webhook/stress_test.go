package webhook

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/webhooktest"
)

// TestStressAccounting: concurrent clients, a small queue, a backend
// that fails now and then: every lifecycle event is accounted for and the
// queue returns to 0.
func TestStressAccounting(t *testing.T) {
	var mu sync.Mutex
	n := 0
	rc := webhooktest.New(t, func(*http.Request, []map[string]any) (int, string) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k%7 == 0 {
			return 503, ""
		}
		if k%11 == 0 {
			return 400, ""
		}
		return 204, ""
	})
	s := newSender(t, rc, func(c *Config) { c.QueueBytes = 32 << 10; c.RetryFor = 200 * time.Millisecond })
	s.Start()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				id := fmt.Sprintf("c%d-%d", w, i)
				tr := s.Track(id)
				c := &Client{ID: id}
				s.Connected(tr, c)
				for range i % 5 {
					s.Message(tr, c, true, make([]byte, 200))
				}
				s.Disconnected(tr, c, Close{Code: 1000})
			}
		}()
	}
	wg.Wait()
	eventually(t, "queue empty", func() bool { return s.queued.Load() == 0 })
	time.Sleep(500 * time.Millisecond)
	st := s.Stats()
	t.Logf("%+v", st)
	if st.QueueBytes != 0 {
		t.Fatal(st.QueueBytes)
	}
	var total int64
	for _, r := range st.Events["connected"] {
		total += r
	}
	if total != 2400 {
		t.Fatalf("connected accounted %d of 2400", total)
	}
	var dis int64
	for _, r := range st.Events["disconnected"] {
		dis += r
	}
	if dis != 2400 {
		t.Fatalf("disconnected accounted %d of 2400", dis)
	}
}
