package idcsnapshot_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/store"
)

// recordingPublisher queues through next and keeps every event it was
// given to queue.
type recordingPublisher struct {
	next idcsnapshot.Publisher

	mu     sync.Mutex
	events []domain.Event
}

func (p *recordingPublisher) Publish(ctx context.Context, events []domain.Event) error {
	p.mu.Lock()
	p.events = append(p.events, events...)
	p.mu.Unlock()
	return p.next.Publish(ctx, events)
}

// distinct returns the events once each (an interrupted batch may be
// queued again, with the same ids), described and sorted.
func (p *recordingPublisher) distinct() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, e := range p.events {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e.ID+" "+describe(e))
		}
	}
	slices.Sort(out)
	return out
}

// resumeDirectory seeds 1,200 users (most in mail, every fifth in agents),
// the same ids in every fixture built with the same seed.
func resumeDirectory(t *testing.T) *fixture {
	f := newFixture(t, simidentitystore.Options{Seed: 16, NoQuota: true})
	for i := range 1200 {
		var groups []string
		if i%6 != 5 {
			groups = append(groups, "mail")
		}
		if i%5 == 0 {
			groups = append(groups, "agents")
		}
		f.addUser(t, genUser(i), groups...)
	}
	return f
}

// resumeChanges moves the directory on: leavers, movers, profile changes
// and joiners.
func resumeChanges(t *testing.T, f *fixture) {
	for i := range 20 {
		f.leave(t, genUser(i*6).UserName, "mail")
	}
	for i := range 10 {
		f.leave(t, genUser(i*5+600).UserName, "agents")
	}
	for i := range 25 {
		u := genUser(i*7 + 300)
		u.Title = "Moved"
		if err := f.sim.ReplaceUser(f.storeID, f.users[u.UserName], u); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		f.addUser(t, genUser(5000+i), "mail", "agents")
	}
}

// marks returns every stored mark, by person and target.
func marks(t *testing.T, st *store.Store) map[string]store.Mark {
	t.Helper()
	recs, err := st.AllRecords(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Mark{}
	for _, r := range recs {
		for tg, m := range r.Marks {
			out[r.Key+"/"+string(tg)] = m
		}
	}
	return out
}

// TestInterruptedRunResumesToTheSameResult: two identical deployments take
// the same snapshots, the first in one invocation each, the second under a
// scaled-down Lambda time limit (the invocation's context deadline) that
// stops it while it reads and while it queues. Each interrupted
// invocation saves its progress and the next continues it: the first run
// (everyone a joiner) and a later one (leavers, movers, profile changes,
// joiners and reconciliation of every managed person) end with the same
// events, marks, summary figures and bookkeeping as the uninterrupted
// runs.
func TestInterruptedRunResumesToTheSameResult(t *testing.T) {
	if testing.Short() {
		t.Skip("two deployments of 1,200 users")
	}
	whole, cut := resumeDirectory(t), resumeDirectory(t)
	ctx := testenv.LongContext(t, 10*time.Minute)
	opts := func(f *fixture) idcsnapshot.Options {
		return idcsnapshot.Options{Rate: 20, Burst: 1, Planners: planners(f.cfg), TimeReserve: 500 * time.Millisecond, EmitBatch: 25}
	}
	for round, change := range []func(*testing.T, *fixture){nil, resumeChanges} {
		if change != nil {
			change(t, whole)
			change(t, cut)
		}
		wholePub, cutPub := &recordingPublisher{next: whole.pub}, &recordingPublisher{next: cut.pub}
		want, err := whole.snapshotter(t, setup{pub: wholePub, opts: opts(whole)}).Run(ctx)
		if err != nil || want.Continued || want.Invocations != 1 {
			t.Fatalf("round %d: uninterrupted run = %+v, %v", round, want, err)
		}

		snap := cut.snapshotter(t, setup{pub: cutPub, opts: opts(cut)})
		var got idcsnapshot.Summary
		readCut, emitCut := 0, 0
		// The time limit: 1.5 s, which reading alone (27 requests at 20/s)
		// exceeds. An invocation that moves the run on neither in reading
		// nor in queueing (a loaded machine spent it all re-deciding) gets
		// the next one twice the time, as a longer Lambda timeout would:
		// what is tested is that progress carries over, not the machine's
		// speed.
		budget, users, events := 1500*time.Millisecond, 0, 0
		for inv := 1; ; inv++ {
			if inv > 100 {
				t.Fatalf("round %d: run not finished after 100 invocations", round)
			}
			ictx, cancel := context.WithTimeout(ctx, budget)
			got, err = snap.Run(ictx)
			cancel()
			if err != nil {
				t.Fatalf("round %d, invocation %d: %v", round, inv, err)
			}
			if got.Invocations != inv {
				t.Fatalf("round %d: invocation %d reports %d invocations", round, inv, got.Invocations)
			}
			if !got.Continued {
				break
			}
			if got.Events == 0 {
				readCut++
			} else {
				emitCut++
			}
			if got.Users <= users && got.Events <= events {
				budget = min(2*budget, 30*time.Second)
			}
			users, events = max(users, got.Users), max(events, got.Events)
		}
		t.Logf("round %d: %d invocations (%d stopped while reading, %d while queueing), %d events, %d requests (uninterrupted %d)",
			round, got.Invocations, readCut, emitCut, got.Events, got.APICalls, want.APICalls)
		if readCut == 0 || emitCut == 0 {
			t.Errorf("round %d: %d invocations stopped while reading and %d while queueing; want both", round, readCut, emitCut)
		}
		figures := func(s idcsnapshot.Summary) string {
			return fmt.Sprintf("complete %v members %d users %d joiners %d leavers %d changes %d removals %d reconciled %d inFlight %d events %d",
				s.Complete, s.Members, s.Users, s.Joiners, s.Leavers, s.Changes, s.Removals, s.Reconciled, s.InFlight, s.Events)
		}
		if figures(got) != figures(want) || !got.TakenAt.Equal(want.TakenAt) {
			t.Errorf("round %d: resumed run\n %s at %v\nuninterrupted\n %s at %v", round, figures(got), got.TakenAt, figures(want), want.TakenAt)
		}
		if d := cmp.Diff(wholePub.distinct(), cutPub.distinct()); d != "" {
			t.Errorf("round %d: events differ (-uninterrupted +resumed):\n%s", round, d)
		}
		if d := cmp.Diff(marks(t, whole.st), marks(t, cut.st)); d != "" {
			t.Errorf("round %d: marks differ (-uninterrupted +resumed):\n%s", round, d)
		}
		if d := cmp.Diff(whole.records(t), cut.records(t)); d != "" {
			t.Errorf("round %d: bookkeeping differs (-uninterrupted +resumed):\n%s", round, d)
		}
		if rows := cut.runRows(t); len(rows) != round+1 {
			t.Errorf("round %d: %d run rows, want one per run", round, len(rows))
		}
		if _, found, err := cut.st.RunProgress(ctx, idcsnapshot.DefaultLeaseName); err != nil || found {
			t.Errorf("round %d: progress left after the run finished (%v)", round, err)
		}
		// The consumers catch up before the next round.
		whole.fold(t, whole.drain(t))
		cut.fold(t, cut.drain(t))
		whole.clock.Advance(15 * time.Minute)
		cut.clock.Advance(15 * time.Minute)
	}
}
