package idcsnapshot_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/store"
)

// BenchmarkRun100k is a first run over 100,000 users, all members of one
// group (so 100,000 joiners), against the stand-in without a quota. It
// reports Identity Store requests per run and the peak heap growth during
// the run (sampled; it includes the stand-in's transient encoding in the
// same process, so it overstates the snapshotter's own share).
func BenchmarkRun100k(b *testing.B) {
	f := newFixture(b, simidentitystore.Options{Seed: 8, NoQuota: true})
	const users = 100000
	for i := range users {
		f.addUser(b, genUser(i), "mail")
	}
	mailOnly := f.cfg
	mailOnly.Connect = nil
	snap := f.snapshotter(b, setup{cfg: &mailOnly, store: &memStore{}, pub: &countingPublisher{},
		opts: idcsnapshot.Options{Rate: 100000, Burst: 100}})
	ctx := testenv.Context(b)
	b.ResetTimer()
	for range b.N {
		f.sim.Control().ResetCounters()
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		done := make(chan struct{})
		go func() {
			var m runtime.MemStats
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					runtime.ReadMemStats(&m)
					if m.HeapInuse > peak.Load() {
						peak.Store(m.HeapInuse)
					}
				}
			}
		}()
		sum, err := snap.Run(ctx)
		close(done)
		if err != nil {
			b.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		requests, _, _ := simCalls(f.sim)
		b.ReportMetric(float64(requests), "requests/run")
		b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(sum.Events), "events/run")
	}
}

// eventsPublisher keeps the events it is given.
type eventsPublisher struct {
	mu     sync.Mutex
	events []domain.Event
}

func (p *eventsPublisher) Publish(_ context.Context, events []domain.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, events...)
	return nil
}

// BenchmarkSteadyRun100k is a run over 100,000 users, all members of one
// group, when everything is up to date: every person stored and every
// mailbox as planned (fake store and queue). It compares the run without
// and with reconciliation, which plans every managed person against the
// WorkMail state.
func BenchmarkSteadyRun100k(b *testing.B) {
	f := newFixture(b, simidentitystore.Options{Seed: 8, NoQuota: true})
	const users = 100000
	for i := range users {
		f.addUser(b, genUser(i), "mail")
	}
	mailOnly := f.cfg
	mailOnly.Connect = nil
	st := &memStore{}
	opts := idcsnapshot.Options{Rate: 100000, Burst: 100}
	first := &eventsPublisher{}
	ctx := testenv.Context(b)
	if _, err := f.snapshotter(b, setup{cfg: &mailOnly, store: st, pub: first, opts: opts}).Run(ctx); err != nil {
		b.Fatal(err)
	}
	wm := planners(mailOnly)[domain.TargetWorkMail]
	for _, e := range first.events {
		p, _ := domain.Fold(domain.Person{}, e)
		p.Version = 1
		plan, err := wm.Plan(ctx, p, domain.TargetState{Target: domain.TargetWorkMail}, f.clock.Now())
		if err != nil {
			b.Fatal(err)
		}
		next := plan.Next
		next.RemoteID, next.Version = "r-"+p.Key, 1
		st.records = append(st.records, store.Record{Key: p.Key, Person: p, Targets: map[domain.Target]domain.TargetState{domain.TargetWorkMail: next}})
	}
	f.clock.Advance(time.Hour)
	for _, withPlanners := range []bool{false, true} {
		o := opts
		if withPlanners {
			o.Planners = planners(mailOnly)
		}
		name := map[bool]string{false: "diff only", true: "with reconciliation"}[withPlanners]
		b.Run(name, func(b *testing.B) {
			pub := &countingPublisher{}
			snap := f.snapshotter(b, setup{cfg: &mailOnly, store: st, pub: pub, opts: o})
			for range b.N {
				sum, err := snap.Run(ctx)
				if err != nil {
					b.Fatal(err)
				}
				f.clock.Advance(time.Hour)
				b.ReportMetric(float64(sum.Events), "events/run")
			}
		})
	}
}
