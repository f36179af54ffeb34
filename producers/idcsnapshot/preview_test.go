package idcsnapshot_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

func TestPreviewReturnsWhatRunWouldQueueAndWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 3})
	f.seedTestdata(t)
	ctx := testenv.Context(t)
	snap := f.snapshotter(t, setup{})

	sum, events, err := snap.Preview(ctx)
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	if sum.Outcome != domain.OutcomeWould || !sum.Complete || sum.Joiners != 6 || sum.Events != len(events) || len(events) != 6 {
		t.Fatalf("preview summary %+v with %d events", sum, len(events))
	}
	if queued := f.drain(t); len(queued) != 0 {
		t.Fatalf("preview queued %d events", len(queued))
	}
	page, err := f.st.Audit(ctx, store.AuditQuery{From: f.clock.Now().Add(-24 * time.Hour), To: f.clock.Now().Add(time.Hour)})
	if err != nil || len(page.Entries) != 0 {
		t.Fatalf("preview wrote ledger rows: %v %v", page.Entries, err)
	}
	if sys, err := f.st.Audit(ctx, store.AuditQuery{System: true}); err != nil || len(sys.Entries) != 0 {
		t.Fatalf("preview wrote a summary row: %v %v", sys.Entries, err)
	}
	if recs, err := f.st.SnapshotRecords(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("preview wrote bookkeeping: %v %v", recs, err)
	}

	// A run now queues the same facts (new ids: each run has its own).
	if _, err := snap.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := describeAll(events)
	got := describeAll(f.drain(t))
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Fatalf("preview and run differ:\npreview:\n%s\nrun:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

func TestPreviewRefusesWhatTheRemovalCapRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 4})
	f.seedTestdata(t)
	f.baseline(t)
	for _, u := range []string{"ada.lovelace@example.com", "bob.byte@example.com", "dee.delta@example.com"} {
		f.leave(t, u, "mail")
	}
	cfg := f.cfg
	cfg.Snapshot.RemovalCap = domain.RemovalCap{Max: 1, MaxPercent: 100, MinForPercent: 1}
	_, events, err := f.snapshotter(t, setup{cfg: &cfg}).Preview(testenv.Context(t))
	var capErr *domain.RemovalCapError
	if !errors.As(err, &capErr) || len(events) != 0 {
		t.Fatalf("preview over the cap: %d events, %v", len(events), err)
	}
}
