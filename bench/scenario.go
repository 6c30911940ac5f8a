//go:build linux

package bench

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// openFleet starts a fleet with room for capacity clients, opens n stable
// clients (stream = global index / streamSize) and records the connect
// phase in res.Connect. The caller shuts the fleet down.
func (env *runEnv) openFleet(ctx context.Context, res *Result, capacity, n, streamSize int) (*fleet, error) {
	f, err := newFleet(env.engineConfig(streamSize), capacity, env.cfg.Procs)
	if err != nil {
		return nil, err
	}
	c, err := env.connectMore(ctx, f, n)
	res.Connect = c
	return f, err
}

// nodeCounts asks a cluster for its nodes' connections; the other nodes'
// counts come with their heartbeats, so it waits (up to 3 s) until they add
// up to at least opened.
func (env *runEnv) nodeCounts(opened uint64) []NodeCount {
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		nodes := env.api.nodes()
		var sum uint64
		for _, n := range nodes {
			sum += uint64(n.Connections)
		}
		if len(nodes) == 0 || sum >= opened || time.Now().After(deadline) {
			return nodes
		}
	}
}

// connectMore opens n more stable clients and waits for them to settle.
func (env *runEnv) connectMore(ctx context.Context, f *fleet, n int) (*ConnectResult, error) {
	before, err := f.stats(true)
	if err != nil {
		return nil, err
	}
	pace := "unpaced"
	if env.cfg.Rate > 0 {
		pace = fmt.Sprintf("at %g/s", env.cfg.Rate)
	}
	env.logf("connecting %d clients %s over %d process(es)", n, pace, env.cfg.Procs)
	stopWatch := env.watch(watchEvery)
	start := time.Now()
	if err := f.connect(n, env.cfg.Rate); err != nil {
		stopWatch()
		return nil, err
	}
	// Bound: pacing, plus one handshake timeout per round of -inflight
	// handshakes in case every one of them times out.
	rounds := 1 + n/(env.cfg.Inflight*env.cfg.Procs)
	limit := time.Duration(rounds)*env.cfg.HandshakeTimeout + 10*time.Second
	if env.cfg.Rate > 0 {
		limit += time.Duration(float64(n) / env.cfg.Rate * float64(time.Second))
	}
	limit = min(limit, maxConnectWait)
	after, lastOpen, err := f.settle(ctx, start.Add(limit))
	seen := stopWatch()
	if err != nil {
		return nil, err
	}
	hs := after.Handshake.Sub(before.Handshake)
	c := &ConnectResult{
		Requested: uint64(n),
		Attempts:  after.Counts[cAttempts] - before.Counts[cAttempts],
		Opened:    after.Counts[cOpened] - before.Counts[cOpened],
		Failed:    after.Counts.failed() - before.Counts.failed(),
		Seconds:   lastOpen.Sub(start).Seconds(),
		Handshake: summarize(&hs), HandshakeHist: hs,
	}
	c.Unfinished = c.Requested - min(c.Requested, c.Opened+c.Failed)
	c.Failures = after.Counts.failures()
	for k, v := range before.Counts.failures() {
		c.Failures[k] -= v
	}
	if c.Seconds > 0 {
		c.UpgradesPerSec = float64(c.Opened) / c.Seconds
	}
	c.Nodes = env.nodeCounts(c.Opened)
	if seen.Goroutines.Samples > 0 {
		c.Goroutines, c.Handshaking = &seen.Goroutines, &seen.Handshaking
	}
	c.Webhooks, c.ServerCPUSeconds = seen.Webhooks, seen.CPUSeconds
	if c.Opened > 0 {
		c.CPUPerUpgradeUS = seen.CPUSeconds / float64(c.Opened) * 1e6
	}
	env.logf("%d opened, %d failed, %.0f upgrades/s", c.Opened, c.Failed, c.UpgradesPerSec)
	return c, nil
}

// watchEvery is how often the gateway's goroutines and webhook queue are
// sampled while clients connect or send.
const watchEvery = 100 * time.Millisecond

// maxConnectWait bounds the wait for one batch of connections.
const maxConnectWait = 15 * time.Minute

// runConnect: open N connections at up to -rate per second.
func runConnect(ctx context.Context, env *runEnv, res *Result) error {
	f, err := env.openFleet(ctx, res, env.cfg.N, env.cfg.N, 0)
	if f != nil {
		defer f.shutdown()
	}
	return err
}

// runIdle: hold idle connections and sample the server's memory after a GC
// at zero and at each count of -sweep (or -n), then fit a line.
func runIdle(ctx context.Context, env *runEnv, res *Result) error {
	points := env.cfg.Sweep
	if len(points) == 0 {
		points = []int{env.cfg.N}
	}
	idle := &IdleResult{Source: "stats", Failures: map[string]uint64{}}
	if env.cfg.PID != 0 {
		idle.Source = "proc"
	}
	res.Idle = idle
	base, err := env.probe.sample(true)
	if err != nil {
		return fmt.Errorf("reading the server's memory: %w (for a server without GET /stats, pass -pid)", err)
	}
	idle.Baseline = base
	if base.Connections > 0 {
		res.Notes = append(res.Notes, "the server already had connections at the baseline; per-connection numbers include them")
	}
	f, err := newFleet(env.engineConfig(0), points[len(points)-1], env.cfg.Procs)
	if err != nil {
		return err
	}
	defer f.shutdown()
	have := 0
	for _, target := range points {
		c, err := env.connectMore(ctx, f, target-have)
		if err != nil {
			return err
		}
		have = target
		for k, v := range c.Failures {
			idle.Failures[k] += v
		}
		sleepCtx(ctx, idleSettle)
		if ctx.Err() != nil {
			break
		}
		p, err := env.idlePoint(ctx, f, target, base)
		if err != nil {
			return err
		}
		idle.Points = append(idle.Points, p)
		env.logf("%d idle: RSS %s/conn, heap %s/conn, %d goroutines, CPU %.2f%%", p.Open, bytesText(p.RSSPerConn), bytesText(p.HeapPerConn), p.Server.Goroutines, p.CPUPercent)
	}
	xs, rss, heap := []float64{0}, []float64{float64(base.RSS)}, []float64{float64(base.HeapInuse)}
	for _, p := range idle.Points {
		xs = append(xs, float64(p.Open))
		rss = append(rss, float64(p.Server.RSS))
		heap = append(heap, float64(p.Server.HeapInuse))
	}
	if fit, err := FitLine(xs, rss); err == nil {
		idle.RSSFit = &fit
		if fit.R2 < 0.9 {
			res.Notes = append(res.Notes, "RSS is far from linear in connections (R2 < 0.9): was the server warm from earlier runs? Measure idle on a freshly started server")
		}
	}
	if fit, err := FitLine(xs, heap); err == nil && idle.Source == "stats" {
		idle.HeapFit = &fit
	}
	return nil
}

// idleSettle is the pause between opening connections and sampling memory,
// so the server finishes its upgrade work first.
const idleSettle = time.Second

// idlePoint samples memory after a GC, then holds for -duration measuring
// the server's CPU and the connections it closed.
func (env *runEnv) idlePoint(ctx context.Context, f *fleet, target int, base ServerSample) (IdlePoint, error) {
	p := IdlePoint{Target: target}
	mem, err := env.probe.sample(true)
	if err != nil {
		return p, err
	}
	st0, err := f.stats(false)
	if err != nil {
		return p, err
	}
	cpu0, err := env.probe.sample(false)
	if err != nil {
		return p, err
	}
	t0 := time.Now()
	sleepCtx(ctx, env.cfg.Duration)
	cpu1, err := env.probe.sample(false)
	if err != nil {
		return p, err
	}
	hold := time.Since(t0).Seconds()
	st1, err := f.stats(false)
	if err != nil {
		return p, err
	}
	p.Server, p.Open, p.HoldSeconds = mem, st0.Counts.open(), hold
	if p.Open > 0 {
		p.RSSPerConn = (float64(mem.RSS) - float64(base.RSS)) / float64(p.Open)
		p.HeapPerConn = (float64(mem.HeapInuse) - float64(base.HeapInuse)) / float64(p.Open)
	}
	p.CPUPercent = (cpu1.CPUSeconds - cpu0.CPUSeconds) / hold * 100
	p.Closed = st1.Counts[cClosed] - st0.Counts[cClosed]
	p.PingsSent = st1.Counts[cPingsSent] - st0.Counts[cPingsSent]
	p.Pongs = st1.Counts[cPongs] - st0.Counts[cPongs]
	return p, nil
}

// sampler records open connections and deliveries per second over time.
type sampler struct {
	stop   chan struct{}
	done   chan struct{}
	points []SeriesPoint
}

// startSampler samples f every interval until finish.
func startSampler(f *fleet, every time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		start := time.Now()
		t := time.NewTicker(every)
		defer t.Stop()
		var prev SeriesPoint
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			st, err := f.stats(false)
			if err != nil {
				continue
			}
			p := SeriesPoint{T: time.Since(start).Seconds(), Open: st.Counts.open(), Delivered: st.Counts[cDelivered]}
			if len(s.points) > 0 {
				p.DeliveriesPerSec = float64(p.Delivered-prev.Delivered) / (p.T - prev.T)
			}
			s.points = append(s.points, p)
			prev = p
		}
	}()
	return s
}

// finish stops sampling and returns the series.
func (s *sampler) finish() []SeriesPoint {
	close(s.stop)
	<-s.done
	return s.points
}

// drain waits until stable clients hold want distinct deliveries, nothing
// arrives for drainIdle, limit passes or ctx ends; it returns when the count
// last grew.
func drain(ctx context.Context, f *fleet, want uint64, limit time.Duration) (time.Time, error) {
	start := time.Now()
	last, lastGrow := uint64(0), start
	for {
		st, err := f.stats(false)
		if err != nil {
			return lastGrow, err
		}
		got := st.Counts[cUnique]
		if got != last {
			last, lastGrow = got, time.Now()
		}
		if got >= want || time.Since(start) > limit || time.Since(lastGrow) > drainIdle || ctx.Err() != nil {
			return lastGrow, nil
		}
		sleepCtx(ctx, pollEvery)
	}
}

// drainIdle ends a drain when no delivery arrived for this long.
const drainIdle = 3 * time.Second

// measure runs one burst through snd and returns what the clients saw.
// Everything is for this burst except Expected, Received, Lost and
// ClientsWithLoss: the per-client check covers every send of snd so far.
func (env *runEnv) measure(ctx context.Context, f *fleet, snd *sender, members []int, b burst) (*DeliveryResult, burstResult, error) {
	before, err := f.stats(true)
	if err != nil {
		return nil, burstResult{}, err
	}
	expBefore, sentBefore := snd.expected(members), snd.serverSent.Load()
	start := time.Now()
	br := snd.run(ctx, b)
	lastGrow, err := drain(ctx, f, before.Counts[cUnique]+snd.expected(members)-expBefore, env.cfg.Drain)
	if err != nil {
		return nil, br, err
	}
	after, err := f.stats(true)
	if err != nil {
		return nil, br, err
	}
	sent, failed := snd.totals()
	loss, err := f.loss(sent, failed)
	if err != nil {
		return nil, br, err
	}
	lat := after.Latency.Sub(before.Latency)
	d := &DeliveryResult{
		Endpoint: snd.path, Streams: len(snd.picks),
		Calls: br.Calls - br.Failed, FailedCalls: br.Failed, APIErrors: snd.errorCounts(),
		SendSeconds: br.Elapsed.Seconds(), APIRequestsPerSec: br.Achieved,
		API: summarize(&br.Latency), APIHist: br.Latency, ServerSent: snd.serverSent.Load() - sentBefore,
		Deliveries:      after.Counts[cDelivered] - before.Counts[cDelivered],
		DeliverySeconds: lastGrow.Sub(start).Seconds(),
		Latency:         summarize(&lat), LatencyHist: lat,
		Expected: loss.Expected, Received: loss.Received, Lost: loss.Lost, ClientsWithLoss: loss.ClientsWithLoss,
		Duplicated:   after.Counts[cDups] - before.Counts[cDups],
		Unverified:   after.Counts[cUnverified] - before.Counts[cUnverified],
		Misrouted:    after.Counts[cMisrouted] - before.Counts[cMisrouted],
		Disconnected: loss.Disconnected, Clients: loss.Clients - loss.Disconnected,
	}
	if d.DeliverySeconds > 0 {
		d.DeliveriesPerSec = float64(d.Deliveries) / d.DeliverySeconds
	}
	return d, br, nil
}

// runBroadcast: -m messages via POST /send/all at -msg-rate, or -find-max.
func runBroadcast(ctx context.Context, env *runEnv, res *Result) error {
	f, err := env.openFleet(ctx, res, env.cfg.N, env.cfg.N, 0)
	if f != nil {
		defer f.shutdown()
	}
	if err != nil || ctx.Err() != nil {
		return err
	}
	st, err := f.stats(false)
	if err != nil {
		return err
	}
	members := []int{int(st.Counts.open())}
	snd := newSender(env.api, "/send/all", "", []string{""})
	smp := startSampler(f, env.cfg.Sample)
	defer func() { res.Series = smp.finish() }()
	c := env.cfg
	if c.FindMax {
		return env.findMax(ctx, f, snd, members, res)
	}
	env.logf("broadcasting %d messages of %d bytes at %g/s to %d clients", c.Messages, c.Size, c.MsgRate, members[0])
	limit := time.Duration(float64(c.Messages)/c.MsgRate*float64(time.Second))*2 + 30*time.Second
	d, _, err := env.measure(ctx, f, snd, members, burst{callers: c.Callers, rate: c.MsgRate, count: c.Messages, duration: limit, size: c.Size})
	res.Delivery = d
	return err
}

// findMax raises the broadcast rate by 1.5x per step until a step's p95
// latency passes the limit, something is lost or duplicated, or the API
// cannot keep the rate; the best is the highest passing step, whose
// delivery details go into res.Delivery (the first step's if none passed).
func (env *runEnv) findMax(ctx context.Context, f *fleet, snd *sender, members []int, res *Result) error {
	c := env.cfg
	fm := &FindMaxResult{P95LimitMS: ms(c.P95Limit)}
	res.FindMax = fm
	var lostBefore uint64
	rate := c.MsgRate
	for range c.MaxSteps {
		env.logf("find-max: %.1f broadcasts/s to %d clients", rate, members[0])
		count := max(1, int(rate*c.Step.Seconds()))
		// Enough callers to keep the rate while calls take up to the limit,
		// so a slow API shows as latency rather than as a missed rate.
		callers := max(c.Callers, int(math.Ceil(rate*c.P95Limit.Seconds()))+1)
		d, br, err := env.measure(ctx, f, snd, members, burst{callers: callers, rate: rate, count: count, duration: c.Step + c.Step/2, size: c.Size})
		if err != nil {
			return err
		}
		if res.Delivery == nil {
			res.Delivery = d
		}
		s := FindMaxStep{TargetRate: rate, AchievedRate: br.Achieved, DeliveriesPerSec: d.DeliveriesPerSec, Latency: d.Latency,
			Lost: d.Lost - lostBefore, Duplicated: d.Duplicated, Pass: true}
		lostBefore = d.Lost
		switch {
		case ctx.Err() != nil:
			s.Pass, s.Reason = false, "interrupted"
		case d.Latency.P95 > fm.P95LimitMS:
			s.Pass, s.Reason = false, "p95 over the limit"
		case s.Lost > 0 || s.Duplicated > 0:
			s.Pass, s.Reason = false, "lost or duplicated deliveries"
		case br.Achieved < 0.9*rate:
			s.Pass, s.Reason = false, "the API could not take the rate"
		}
		fm.Steps = append(fm.Steps, s)
		if !s.Pass {
			break
		}
		if s.DeliveriesPerSec > fm.BestDeliveriesPerSec {
			fm.BestRate, fm.BestDeliveriesPerSec, res.Delivery = rate, s.DeliveriesPerSec, d
		}
		rate *= 1.5
	}
	return nil
}

// targetSpec says how the groups, uids and api scenarios address clients.
type targetSpec struct {
	size  int                                       // clients per stream
	path  string                                    // send endpoint
	field string                                    // target field in the send body
	setup func(a *apiClient, id, name string) error // puts a client into its stream; nil: none
	named bool                                      // stream names are run-unique names, not client ids
}

var targetSpecs = map[string]func(c *Config) targetSpec{
	"groups": func(c *Config) targetSpec {
		return targetSpec{c.GroupSize, "/send/group", "group", (*apiClient).join, true}
	},
	"uids": func(c *Config) targetSpec {
		return targetSpec{c.UIDConns, "/send/uid", "uid", (*apiClient).bind, true}
	},
	"api": func(*Config) targetSpec { return targetSpec{1, "/send/client", "client_id", nil, false} },
}

// streamTargets names each stream of size clients and counts its members
// from the ids by global index.
func streamTargets(ids []string, size int, name func(k int) string) (names []string, members []int) {
	n := (len(ids) + size - 1) / size
	names, members = make([]string, n), make([]int, n)
	for gi, id := range ids {
		if id == "" {
			continue
		}
		k := gi / size
		members[k]++
		if names[k] == "" {
			names[k] = name(k)
		}
	}
	return names, members
}

// parallel runs fn(i) for i in [0, n) on workers goroutines until ctx ends
// and returns how many calls failed.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) uint64 {
	var next atomic.Int64
	var failed atomic.Uint64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if fn(i) != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return failed.Load()
}

// runTargeted: groups, uids and api. Clients are put into streams (groups
// of -group-size, uids of -uid-conns, or one client each), then -callers
// send to random streams for -duration.
func runTargeted(ctx context.Context, env *runEnv, res *Result) error {
	c := env.cfg
	spec := targetSpecs[c.Scenario](c)
	f, err := env.openFleet(ctx, res, c.N, c.N, spec.size)
	if f != nil {
		defer f.shutdown()
	}
	if err != nil || ctx.Err() != nil {
		return err
	}
	ids, err := f.ids()
	if err != nil {
		return err
	}
	names, members := streamTargets(ids, spec.size, func(k int) string {
		if spec.named {
			return targetName(env.tag, spec.field[:1], k)
		}
		return ids[k*spec.size]
	})
	if spec.setup != nil {
		env.logf("putting %d clients into %d %ss", sum(members), len(names), spec.field)
		if bad := parallel(ctx, len(ids), c.Callers, func(gi int) error {
			if ids[gi] == "" {
				return nil
			}
			return spec.setup(env.api, ids[gi], names[gi/spec.size])
		}); bad > 0 {
			res.Notes = append(res.Notes, "setup calls failed: "+strconv.FormatUint(bad, 10)+" clients are not in their stream and will show as lost")
		}
	}
	snd := newSender(env.api, spec.path, spec.field, names)
	if c.GRPC != "" {
		if snd.rpc, err = newRPCClient(c.GRPC, c.APIToken); err != nil {
			return err
		}
		defer snd.rpc.close()
		env.logf("sending through gRPC SendMessageToClient at %s", c.GRPC)
	}
	smp := startSampler(f, c.Sample)
	env.logf("%d callers sending to %d %ss for %s", c.Callers, len(snd.picks), spec.field, c.Duration)
	d, _, err := env.measure(ctx, f, snd, members, burst{callers: c.Callers, rate: c.MsgRate, duration: c.Duration, size: c.Size})
	res.Series = smp.finish()
	res.Delivery = d
	return err
}

// runChurn: stable clients in groups and uids receive group sends while
// churn clients connect, join, bind and disconnect; afterwards every client
// closes and the server's counts must return to where they were.
func runChurn(ctx context.Context, env *runEnv, res *Result) error {
	c := env.cfg
	before, err := env.api.counts()
	if err != nil {
		return err
	}
	ch := &ChurnResult{Churners: c.Churners, Before: before}
	res.Churn = ch
	f, err := env.openFleet(ctx, res, c.N+c.Churners, c.N, c.GroupSize)
	if f != nil {
		defer f.shutdown()
	}
	if err != nil || ctx.Err() != nil {
		return err
	}
	ids, err := f.ids()
	if err != nil {
		return err
	}
	names, members := streamTargets(ids, c.GroupSize, func(k int) string { return targetName(env.tag, "g", k) })
	if bad := parallel(ctx, len(ids), c.Callers, func(gi int) error {
		if ids[gi] == "" {
			return nil
		}
		if err := env.api.join(ids[gi], names[gi/c.GroupSize]); err != nil {
			return err
		}
		return env.api.bind(ids[gi], targetName(env.tag, "u", gi/c.UIDConns))
	}); bad > 0 {
		res.Notes = append(res.Notes, "setup calls failed for "+strconv.FormatUint(bad, 10)+" stable clients")
	}
	stBefore, err := f.stats(false)
	if err != nil {
		return err
	}
	err = f.churn(churnSpec{Slots: c.Churners, Rate: c.ChurnRate, Lifetime: c.Lifetime, Streams: len(names),
		GroupPrefix: env.tag + "g", UIDPrefix: env.tag + "cu"})
	if err != nil {
		return err
	}
	snd := newSender(env.api, "/send/group", "group", names)
	smp := startSampler(f, c.Sample)
	env.logf("churn: %d slots at %g connects/s, sending %g msg/s to %d groups for %s", c.Churners, c.ChurnRate, c.MsgRate, len(names), c.Duration)
	d, _, err := env.measure(ctx, f, snd, members, burst{callers: c.Callers, rate: c.MsgRate, duration: c.Duration, size: c.Size})
	res.Series = smp.finish()
	res.Delivery = d
	if err != nil {
		return err
	}
	stAfter, err := f.stats(false)
	if err != nil {
		return err
	}
	ch.ChurnOpened = stAfter.Counts[cChurnOpened] - stBefore.Counts[cChurnOpened]
	ch.Joins, ch.JoinErrors = stAfter.Counts[cJoins], stAfter.Counts[cJoinErrors]
	ch.ConnectFailures = stAfter.Counts.failures()
	for k, v := range stBefore.Counts.failures() {
		ch.ConnectFailures[k] -= v
	}
	env.logf("closing every client and waiting for the server's counts to return")
	if err := f.closeAll(); err != nil {
		return err
	}
	t0 := time.Now()
	for deadline := t0.Add(countsSettle); ; {
		ch.After, err = env.api.counts()
		if err != nil {
			return err
		}
		ch.Leak = ch.After.Clients > before.Clients || ch.After.UIDs > before.UIDs || ch.After.Groups > before.Groups
		if !ch.Leak || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	ch.SettleSeconds = time.Since(t0).Seconds()
	return nil
}

// countsSettle bounds the wait for the server's counts after churn.
const countsSettle = 15 * time.Second
