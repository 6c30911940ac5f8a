//go:build linux

package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// engineConfig is what one engine (one process's share of the clients)
// needs. It travels to child processes as JSON.
type engineConfig struct {
	URL              string        `json:"url"`               // ws:// targets, comma-separated: clients go round-robin
	LocalAddrs       []string      `json:"local_addrs"`       // source addresses, chosen by global index
	Loops            int           `json:"loops"`             // event-loop goroutines (0: 1)
	Capacity         int           `json:"capacity"`          // clients this engine may ever hold
	IndexBase        int           `json:"index_base"`        // global index of local index 0
	StreamSize       int           `json:"stream_size"`       // clients per stream (0: one stream)
	Heartbeat        time.Duration `json:"heartbeat"`         // "ping" text per client this often (0: never)
	HandshakeTimeout time.Duration `json:"handshake_timeout"` // connect plus upgrade (0: 10s)
	Inflight         int           `json:"inflight"`          // handshakes in progress at once (0: 1000)
	API              string        `json:"api"`               // REST API, for churn binds and joins
	APIToken         string        `json:"api_token"`
}

// churnSpec starts churn: Slots extra clients that connect at Rate per second,
// each joins group GroupPrefix+stream and binds uid UIDPrefix+index, lives
// about Lifetime (0.5x to 1.5x), closes and reconnects, until closeAll.
type churnSpec struct {
	Slots       int           `json:"slots"`
	Rate        float64       `json:"rate"`
	Lifetime    time.Duration `json:"lifetime"`
	Streams     int           `json:"streams"` // the slot's stream is its global index mod Streams
	GroupPrefix string        `json:"group_prefix"`
	UIDPrefix   string        `json:"uid_prefix"`
}

// lossStats is the end-of-run check of stable clients: Expected is what the
// API reported sent to each client's stream, Received the distinct messages
// it got. Clients not open at the check (they failed to connect or were
// closed) are counted in Disconnected and not checked: they did not keep
// reading.
type lossStats struct {
	Clients         uint64 `json:"clients"`
	Disconnected    uint64 `json:"disconnected"`
	Expected        uint64 `json:"expected"`
	Received        uint64 `json:"received"`
	Lost            uint64 `json:"lost"`
	Extra           uint64 `json:"extra"` // received beyond expected: deliveries of sends the API reported as failed
	ClientsWithLoss uint64 `json:"clients_with_loss"`
}

func (s *lossStats) add(o lossStats) {
	s.Clients += o.Clients
	s.Disconnected += o.Disconnected
	s.Expected += o.Expected
	s.Received += o.Received
	s.Lost += o.Lost
	s.Extra += o.Extra
	s.ClientsWithLoss += o.ClientsWithLoss
}

// engineStats is a snapshot of an engine's counters and, when asked for,
// its latency histograms.
type engineStats struct {
	Counts    counts     `json:"counts"`
	Handshake *Histogram `json:"handshake,omitempty"` // connect start to 101
	Latency   *Histogram `json:"latency,omitempty"`   // message send time to receipt
}

func (s *engineStats) add(o engineStats) {
	s.Counts.add(&o.Counts)
	for _, p := range []struct{ dst, src **Histogram }{{&s.Handshake, &o.Handshake}, {&s.Latency, &o.Latency}} {
		if *p.src == nil {
			continue
		}
		if *p.dst == nil {
			*p.dst = new(Histogram)
		}
		(*p.dst).Add(*p.src)
	}
}

// Engine simulates many WebSocket clients in one process with a few
// event-loop goroutines over raw epoll. Clients are numbered by local index
// in the order connect hands them out; local index i lives in loop i%Loops.
// Methods are safe for concurrent use; shutdown is idempotent and waits for
// every goroutine the engine started.
type Engine struct {
	cfg   engineConfig
	tgts  []target // client with fleet-wide index i connects to tgts[i%len(tgts)]
	local []netip.Addr
	loops []*loop

	extra atomicCounts // counters not owned by a loop (churn API calls)
	joins chan joinRequest
	api   *apiClient // nil unless churn runs

	mu     sync.Mutex // guards next, closed, api, joins; held while handing clients to loops
	next   int        // local indexes handed out
	closed bool       // shutdown has begun

	wg       sync.WaitGroup
	shutOnce sync.Once
}

// joinRequest asks a churn worker to bind and join a fresh churn client.
type joinRequest struct {
	id     [idLen]byte
	stream int32
	index  int
}

// newEngine validates cfg, resolves the target and starts the loops.
func newEngine(cfg engineConfig) (*Engine, error) {
	cfg.Loops = max(cfg.Loops, 1)
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.Inflight <= 0 {
		cfg.Inflight = 1000
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tgts, err := resolveTargets(ctx, cfg.URL)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, tgts: tgts}
	for _, s := range cfg.LocalAddrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: local address %q", ErrUsage, s)
		}
		e.local = append(e.local, a)
	}
	perLoop := (cfg.Capacity + cfg.Loops - 1) / cfg.Loops
	for i := range cfg.Loops {
		l, err := newLoop(e, i, perLoop, max(1, cfg.Inflight/cfg.Loops))
		if err != nil {
			e.shutdown()
			return nil, err
		}
		e.loops = append(e.loops, l)
		e.wg.Go(l.run)
	}
	return e, nil
}

// addClients hands n new clients to the loops and queues them for
// connecting at rate per second in total (0: as fast as in-flight allows).
func (e *Engine) addClients(n int, rate float64, churn *churnSpec) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n < 0 || e.next+n > e.cfg.Capacity {
		return fmt.Errorf("%w: engine holds %d clients, cannot add %d (capacity %d)", ErrUsage, e.next, n, e.cfg.Capacity)
	}
	first, L := e.next, len(e.loops)
	e.next += n
	for j, l := range e.loops {
		err := l.do(func() {
			l.rate = rate / float64(L)
			if churn != nil {
				l.churnOn, l.lifetime = true, churn.Lifetime
			}
			for idx := first + ((j-first%L)+L)%L; idx < first+n; idx += L {
				c := client{fd: -1, churn: churn != nil}
				gi := e.cfg.IndexBase + idx
				switch {
				case churn != nil:
					c.stream = int32(gi % max(churn.Streams, 1))
				case e.cfg.StreamSize > 0:
					c.stream = int32(gi / e.cfg.StreamSize)
				}
				l.clients = append(l.clients, c)
				l.pending = append(l.pending, int32(len(l.clients)-1))
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// connect adds n stable clients and starts connecting them at rate per
// second (0: unpaced). It returns at once; progress shows in stats.
func (e *Engine) connect(n int, rate float64) error { return e.addClients(n, rate, nil) }

// churn adds spec.Slots churn clients and starts their connect, live, close
// cycle. Churn clients bind and join through the API from a few worker
// goroutines, never from a loop.
func (e *Engine) churn(spec churnSpec) error {
	if e.cfg.API == "" {
		return fmt.Errorf("%w: churn needs the REST API (-api)", ErrUsage)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return errEngineClosed
	}
	if e.api == nil {
		api, err := newAPIClient(e.cfg.API, e.cfg.APIToken, churnWorkers)
		if err != nil {
			e.mu.Unlock()
			return err
		}
		e.api, e.joins = api, make(chan joinRequest, 8192)
		for range churnWorkers {
			e.wg.Go(func() { e.joinWorker(spec) })
		}
	}
	e.mu.Unlock()
	return e.addClients(spec.Slots, spec.Rate, &spec)
}

// churnWorkers is the number of goroutines per engine that bind and join
// churn clients.
const churnWorkers = 4

// joinWorker binds and joins churn clients until shutdown closes e.joins.
// A client that closed before its calls land makes them fail; that is
// counted, not retried.
func (e *Engine) joinWorker(spec churnSpec) {
	for j := range e.joins {
		id := string(j.id[:])
		errGroup := e.api.join(id, spec.GroupPrefix+strconv.Itoa(int(j.stream)))
		errUID := e.api.bind(id, spec.UIDPrefix+strconv.Itoa(j.index))
		for _, err := range []error{errGroup, errUID} {
			if err != nil {
				e.extra.inc(cJoinErrors)
			} else {
				e.extra.inc(cJoins)
			}
		}
	}
}

// requestJoin queues a churn client for binding; it never blocks a loop.
func (e *Engine) requestJoin(j joinRequest) {
	select {
	case e.joins <- j:
	default:
		e.extra.inc(cJoinErrors)
	}
}

// stats sums the loops' counters; full adds the latency histograms.
func (e *Engine) stats(full bool) (engineStats, error) {
	s := engineStats{Counts: e.extra.load()}
	for _, l := range e.loops {
		c := l.counts.load()
		s.Counts.add(&c)
		if full {
			hs, lat := l.handshake.snapshot(), l.latency.snapshot()
			s.add(engineStats{Handshake: &hs, Latency: &lat})
		}
	}
	return s, nil
}

// sendMessages has every open stable client send m text messages of size
// bytes, at rate per second in total (0: as fast as the sockets take them),
// and returns at once with how many messages that is; progress shows in
// stats as msgs_sent.
func (e *Engine) sendMessages(m, size int, rate float64) (planned uint64, err error) {
	for _, l := range e.loops {
		err := l.do(func() { planned += l.startSending(m, size, rate/float64(len(e.loops))) })
		if err != nil {
			return planned, err
		}
	}
	return planned, nil
}

// ids returns the client id of every local index handed out ("" for churn
// clients and clients without an id).
func (e *Engine) ids() ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, e.next)
	L := len(e.loops)
	for j, l := range e.loops {
		err := l.do(func() {
			for slot := range l.clients {
				if c := &l.clients[slot]; c.hasID && !c.churn {
					out[slot*L+j] = string(c.id[:])
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// loss checks every stable client against sent[stream]-failed[stream], the
// messages the API accepted for its stream.
func (e *Engine) loss(sent, failed []uint32) (lossStats, error) {
	var total lossStats
	for _, l := range e.loops {
		var s lossStats
		err := l.do(func() {
			for i := range l.clients {
				c := &l.clients[i]
				if c.churn {
					continue
				}
				s.Clients++
				if c.state != stOpen {
					s.Disconnected++
					continue
				}
				var want uint64
				if int(c.stream) < min(len(sent), len(failed)) {
					want = uint64(sent[c.stream] - failed[c.stream])
				}
				got := uint64(c.win.got)
				s.Expected += want
				s.Received += got
				if got < want {
					s.Lost += want - got
					s.ClientsWithLoss++
				} else {
					s.Extra += got - want
				}
			}
		})
		if err != nil {
			return total, err
		}
		total.add(s)
	}
	return total, nil
}

// closeAll stops churn and closes every client (open ones with a Close
// frame first). It returns when the loops have done so.
func (e *Engine) closeAll() error {
	for _, l := range e.loops {
		if err := l.do(l.closeAll); err != nil {
			return err
		}
	}
	return nil
}

// shutdown closes all clients, stops the loops and churn workers and waits
// for them. It is idempotent.
func (e *Engine) shutdown() error {
	e.shutOnce.Do(func() {
		for _, l := range e.loops {
			_ = l.do(func() { l.closeAll(); l.quit = true })
			<-l.exited
		}
		e.mu.Lock()
		e.closed = true
		if e.joins != nil {
			close(e.joins)
		}
		e.mu.Unlock()
		e.wg.Wait()
		if e.api != nil {
			e.api.close()
		}
	})
	return nil
}

// newRand returns a generator for one loop's masks and keys. It is not
// cryptographic: RFC 6455 only asks that masks be unpredictable to proxies.
func newRand() *rand.Rand { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }
