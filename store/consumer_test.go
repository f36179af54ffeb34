package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// applyEvent is the store's part of a consumer handling one event: fold
// it, load the target's state (from the fold's partition read when
// fromFold, else with Target), and commit the plan's outcome with one op
// row.
func applyEvent(ctx context.Context, st *store.Store, e domain.Event, fromFold bool) error {
	res, err := st.Fold(ctx, e)
	if err != nil {
		return err
	}
	last := res.Target(domain.TargetWorkMail)
	if !fromFold {
		if last, err = st.Target(ctx, res.Key, domain.TargetWorkMail); err != nil {
			return err
		}
	}
	next := last
	next.Managed, next.RemoteID, next.Status = true, "wm-"+res.Key, domain.RemoteEnabled
	_, _, err = st.Commit(ctx, store.Commit{
		PersonKey: res.Key, EventID: e.ID, Target: domain.TargetWorkMail, Expected: last.Version, Next: next,
		Entries: []domain.LedgerEntry{{Op: domain.OpUpdateAttributes, Source: e.Source, Kind: e.Kind, RemoteID: next.RemoteID}},
	})
	return err
}

func subject(i int) domain.Subject { return domain.Subject{OktaID: fmt.Sprintf("00uP%06d", i)} }

func memberAdded(person, n int) domain.Event {
	g := fmt.Sprintf("00gG%06d", n)
	return ev(domain.KindMemberAdded, subject(person), fmt.Sprintf("evt-%d-%d", person, n), t0.Add(time.Duration(n)*time.Millisecond), group(g))
}

func TestConsumerPathRoundTrips(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	for i, tc := range []struct {
		name     string
		person   int
		fromFold bool
		want     map[string]int
	}{
		{"new person", 1, false, map[string]int{"Query": 2, "PutItem": 1, "GetItem": 1, "TransactWriteItems": 1}},
		{"known person", 1, false, map[string]int{"Query": 1, "PutItem": 1, "GetItem": 1, "TransactWriteItems": 1}},
		{"known person, target from the fold's read", 1, true, map[string]int{"Query": 1, "PutItem": 1, "TransactWriteItems": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.calls.Reset()
			if err := applyEvent(ctx, f.st, memberAdded(tc.person, i+1), tc.fromFold); err != nil {
				t.Fatal(err)
			}
			got := f.calls.ByOp()
			for op, n := range tc.want {
				if got[op] != n {
					t.Errorf("%s: %d calls, want %d (all: %v)", op, got[op], n, got)
				}
			}
			total := 0
			for _, n := range tc.want {
				total += n
			}
			if int(f.calls.Total()) != total {
				t.Errorf("%d round trips, want %d (%v)", f.calls.Total(), total, got)
			}
			t.Logf("%s: %d round trips %v", tc.name, f.calls.Total(), got)
		})
	}
}

// benchConsumer measures the consumer path for people already known (the
// steady state): round trips per event and events per second.
func benchConsumer(b *testing.B, fromFold, parallel bool) {
	f := newFixture(b)
	ctx := testenv.Context(b)
	const people = 64
	for p := range people {
		if _, err := f.st.Fold(ctx, memberAdded(p, 0)); err != nil {
			b.Fatal(err)
		}
	}
	f.calls.Reset()
	var n atomic.Int64
	b.ResetTimer()
	if parallel {
		var worker atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			w := int(worker.Add(1))
			for pb.Next() {
				i := int(n.Add(1))
				// Each worker has its own people, as each SQS message group
				// is handled by one consumer at a time.
				if err := applyEvent(ctx, f.st, memberAdded((w*4+i%4)%people, i), fromFold); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for b.Loop() {
			i := int(n.Add(1))
			if err := applyEvent(ctx, f.st, memberAdded(i%people, i), fromFold); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(f.calls.Total())/float64(n.Load()), "roundtrips/event")
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkConsumerPath(b *testing.B) {
	b.Run("fold+target+commit", func(b *testing.B) { benchConsumer(b, false, false) })
	b.Run("fold+commit,target-from-fold", func(b *testing.B) { benchConsumer(b, true, false) })
	b.Run("fold+target+commit,parallel", func(b *testing.B) { benchConsumer(b, false, true) })
}
