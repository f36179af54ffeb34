package idcsnapshot_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
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
