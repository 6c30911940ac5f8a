//go:build linux

package bench

import (
	"context"
	"errors"
	"time"
)

// member is one share of the simulated clients: an Engine in this process
// or a child process running one. Calls return promptly (connect and churn
// only start work); closeAll and shutdown return when done.
type member interface {
	connect(n int, rate float64) error
	churn(spec churnSpec) error
	sendMessages(m, size int, rate float64) (planned uint64, err error)
	stats(full bool) (engineStats, error)
	ids() ([]string, error)
	loss(sent, failed []uint32) (lossStats, error)
	closeAll() error
	shutdown() error
}

// fleet spreads clients over its members. Member j owns the global indexes
// [j*per, (j+1)*per). Not safe for concurrent use, except stats.
type fleet struct {
	members []member
	per     int   // capacity of each member
	stable  []int // stable clients handed to each member so far
}

// newFleet starts procs members (this process when procs is 1, else child
// processes) sharing capacity clients.
func newFleet(ec engineConfig, capacity, procs int) (*fleet, error) {
	f := &fleet{per: (capacity + procs - 1) / procs, stable: make([]int, procs)}
	for j := range procs {
		c := ec
		c.Capacity, c.IndexBase = f.per, j*f.per
		var m member
		var err error
		if procs == 1 {
			m, err = newEngine(c)
		} else {
			m, err = startChild(c)
		}
		if err != nil {
			f.shutdown()
			return nil, err
		}
		f.members = append(f.members, m)
	}
	return f, nil
}

// split divides n (and rate in proportion) over the members so that their
// running totals, have plus the new clients, differ by at most one.
func (f *fleet) split(n int, rate float64, have []int) (adds []int, rates []float64) {
	P := len(f.members)
	total, left := n+sum(have), n
	for j := range P {
		want := total / P
		if j < total%P {
			want++
		}
		a := max(0, min(want-have[j], left))
		left -= a
		adds = append(adds, a)
		rates = append(rates, rate*float64(a)/float64(max(n, 1)))
	}
	return adds, rates
}

func sum(xs []int) (s int) {
	for _, x := range xs {
		s += x
	}
	return s
}

// connect starts n more stable clients at rate per second in total.
func (f *fleet) connect(n int, rate float64) error {
	adds, rates := f.split(n, rate, f.stable)
	for j, m := range f.members {
		if adds[j] == 0 {
			continue
		}
		if err := m.connect(adds[j], rates[j]); err != nil {
			return err
		}
		f.stable[j] += adds[j]
	}
	return nil
}

// churn starts spec.Slots churn clients spread over the members.
func (f *fleet) churn(spec churnSpec) error {
	adds, rates := f.split(spec.Slots, spec.Rate, make([]int, len(f.members)))
	for j, m := range f.members {
		s := spec
		s.Slots, s.Rate = adds[j], rates[j]
		if err := m.churn(s); err != nil {
			return err
		}
	}
	return nil
}

// sendMessages has every open stable client send m messages of size bytes
// at rate per second in total, shared by the members in proportion to
// their clients; it returns the messages planned.
func (f *fleet) sendMessages(m, size int, rate float64) (uint64, error) {
	var planned uint64
	for j, mb := range f.members {
		p, err := mb.sendMessages(m, size, rate*float64(f.stable[j])/float64(max(sum(f.stable), 1)))
		planned += p
		if err != nil {
			return planned, err
		}
	}
	return planned, nil
}

// stats sums the members' stats.
func (f *fleet) stats(full bool) (engineStats, error) {
	var s engineStats
	for _, m := range f.members {
		ms, err := m.stats(full)
		if err != nil {
			return s, err
		}
		s.add(ms)
	}
	return s, nil
}

// ids returns client ids by global index ("" where there is no stable
// client with an id).
func (f *fleet) ids() ([]string, error) {
	out := make([]string, f.per*len(f.members))
	for j, m := range f.members {
		ids, err := m.ids()
		if err != nil {
			return nil, err
		}
		copy(out[j*f.per:], ids)
	}
	return out, nil
}

// loss sums the members' loss checks.
func (f *fleet) loss(sent, failed []uint32) (lossStats, error) {
	var s lossStats
	for _, m := range f.members {
		ms, err := m.loss(sent, failed)
		if err != nil {
			return s, err
		}
		s.add(ms)
	}
	return s, nil
}

// closeAll closes every client of every member.
func (f *fleet) closeAll() error {
	var errs []error
	for _, m := range f.members {
		errs = append(errs, m.closeAll())
	}
	return errors.Join(errs...)
}

// shutdown stops every member; it is safe to call more than once.
func (f *fleet) shutdown() error {
	var errs []error
	for _, m := range f.members {
		errs = append(errs, m.shutdown())
	}
	return errors.Join(errs...)
}

// pollEvery is how often waits poll the members' counters.
const pollEvery = 10 * time.Millisecond

// settle waits until every stable connection attempt so far has opened or
// failed, the context ends or the deadline passes. It returns full stats and
// when cOpened last grew.
func (f *fleet) settle(ctx context.Context, deadline time.Time) (engineStats, time.Time, error) {
	want := uint64(sum(f.stable))
	var lastOpened uint64
	lastGrow := time.Now()
	for {
		s, err := f.stats(false)
		if err != nil {
			return s, lastGrow, err
		}
		if s.Counts[cOpened] != lastOpened {
			lastOpened, lastGrow = s.Counts[cOpened], time.Now()
		}
		done := s.Counts[cOpened]-s.Counts[cChurnOpened]+s.Counts.failed() >= want
		if done || time.Now().After(deadline) || ctx.Err() != nil {
			s, err = f.stats(true)
			return s, lastGrow, err
		}
		sleepCtx(ctx, pollEvery)
	}
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
