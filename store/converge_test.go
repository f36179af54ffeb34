package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// mappedOnly maps the groups 00gMAIL and 00gAGENTS (by Okta id) and
// idc-mail (by IdC id).
func mappedOnly(o *store.Options) {
	o.GroupMapped = func(g domain.GroupRef) bool {
		return g.OktaID == "00gMAIL" || g.OktaID == "00gAGENTS" || g.IdCID == "idc-mail"
	}
}

// TestFoldStoresOnlyManagedPeople: with Options.GroupMapped, an event that
// would create a person outside every mapped group is refused as stale
// with ErrNotManaged and writes nothing; once a person is managed, every
// kind of fact about them folds.
func TestFoldStoresOnlyManagedPeople(t *testing.T) {
	f := newFixture(t, mappedOnly)
	ctx := testenv.Context(t)
	stranger := domain.Subject{OktaID: "00uSTRANGER", Login: "stranger@example.com"}
	for name, e := range map[string]domain.Event{
		"suspended":          ev(domain.KindSuspended, stranger, "s1", t0),
		"profile":            ev(domain.KindProfileChanged, stranger, "p1", t0, profile(domain.Profile{FirstName: ptr("Str")})),
		"unmapped group":     ev(domain.KindMemberAdded, stranger, "g1", t0, group("00gEVERYONE")),
		"removed from group": ev(domain.KindMemberRemoved, stranger, "g2", t0, group("00gMAIL")),
		"reconcile": ev(domain.KindReconcile, domain.Subject{OktaID: stranger.OktaID}, "r1", t0, func(e *domain.Event) {
			e.Source, e.Target = domain.SourceIdCSnapshot, domain.TargetWorkMail
		}),
	} {
		t.Run(name, func(t *testing.T) {
			f.calls.Reset()
			for what, fold := range map[string]func(context.Context, domain.Event) (store.FoldResult, error){"fold": f.st.Fold, "preview": f.st.Preview} {
				_, err := fold(ctx, e)
				if !errors.Is(err, store.ErrNotManaged) || domain.KindOf(err) != domain.ErrorStale {
					t.Fatalf("%s: %v, want a stale ErrNotManaged", what, err)
				}
				if got := err.Error(); strings.Contains(got, "stranger@") || strings.Contains(got, "Str") {
					t.Errorf("%s: the error carries personal data: %s", what, got)
				}
			}
			if n := f.calls.ByOp()["PutItem"] + f.calls.ByOp()["TransactWriteItems"]; n != 0 {
				t.Errorf("%d writes for an unmanaged person", n)
			}
		})
	}
	if _, err := f.st.FindByOktaID(ctx, stranger.OktaID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the stranger is stored: %v", err)
	}

	// A mapped group makes the person managed, whichever id names it;
	// then any fact folds.
	ann := domain.Subject{OktaID: "00uANN", IdCUserID: "idc-ann", Login: "ann@example.com"}
	joined, err := f.st.Fold(ctx, ev(domain.KindObserved, ann, "o1", t0, func(e *domain.Event) {
		e.Source = domain.SourceIdCSnapshot
		e.Groups = []domain.GroupRef{{IdCID: "idc-mail"}}
		e.Profile = &domain.Profile{FirstName: ptr("Ann")}
	}))
	if err != nil || !joined.Created || joined.Person.FirstName.Value != "Ann" {
		t.Fatalf("joiner: %+v, %v", joined, err)
	}
	if r, err := f.st.Fold(ctx, ev(domain.KindSuspended, domain.Subject{OktaID: ann.OktaID}, "s2", t0.Add(time.Minute))); err != nil || !r.Changed {
		t.Fatalf("suspending a managed person: %+v, %v", r, err)
	}
	if r, err := f.st.Fold(ctx, ev(domain.KindMemberAdded, ann, "g3", t0.Add(time.Minute), group("00gEVERYONE"))); err != nil || !r.Changed {
		t.Fatalf("an unmapped group of a managed person: %+v, %v", r, err)
	}

	// Without a predicate every event may create a person.
	open := newFixture(t)
	if r, err := open.st.Fold(ctx, ev(domain.KindSuspended, stranger, "s1", t0)); err != nil || !r.Created {
		t.Fatalf("without GroupMapped: %+v, %v", r, err)
	}
}

// TestFoldRelinkAndIdentityConflicts: the Okta id is authoritative. A
// person whose IdC user was re-created is re-linked by the snapshot's
// relink fact (the IdC-id index follows); events still naming the old IdC
// user are stale; a subject that contradicts the person's ids otherwise is
// a permanent error naming the ids, and nothing is written.
func TestFoldRelinkAndIdentityConflicts(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	snap := func(e *domain.Event) { e.Source = domain.SourceIdCSnapshot }

	// Grace is first seen by IdC id, then linked to her Okta id: her
	// partition stays PERSON#idc-grace.
	grace := domain.Subject{OktaID: "00uGRACE", IdCUserID: "idc-grace", Login: "grace@example.com"}
	if _, err := f.st.Fold(ctx, ev(domain.KindMemberAdded, domain.Subject{IdCUserID: grace.IdCUserID}, "g1", t0, group("00gMAIL"), snap)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Fold(ctx, ev(domain.KindProfileChanged, grace, "g2", t0.Add(time.Minute), snap)); err != nil {
		t.Fatal(err)
	}
	bob := domain.Subject{OktaID: "00uBOB", IdCUserID: "idc-bob", Login: "bob@example.com"}
	if _, err := f.st.Fold(ctx, ev(domain.KindMemberAdded, bob, "b1", t0, group("00gMAIL"))); err != nil {
		t.Fatal(err)
	}

	// Her IdC user is re-created as idc-grace-2.
	relink := ev(domain.KindProfileChanged, domain.Subject{OktaID: grace.OktaID, IdCUserID: "idc-grace-2", Login: grace.Login}, "g3",
		t0.Add(2*time.Minute), snap, func(e *domain.Event) { e.ReplacesIdCUserID = grace.IdCUserID })
	r, err := f.st.Fold(ctx, relink)
	if err != nil || !r.Changed || r.Key != "idc-grace" || r.Person.IdCUserID != "idc-grace-2" || r.Person.Relinked.Value != "idc-grace" {
		t.Fatalf("relink: %+v, %v; want partition idc-grace re-linked to idc-grace-2", r, err)
	}
	if _, err := f.st.Fold(ctx, relink); err != nil {
		t.Fatalf("the relink again: %v", err)
	}
	testenv.Eventually(t, "the IdC-id index follows the relink", func() string {
		if rec, err := f.st.FindByIdCUserID(ctx, "idc-grace-2"); err != nil || rec.Key != "idc-grace" {
			return "new id: " + errString(err)
		}
		if _, err := f.st.FindByIdCUserID(ctx, "idc-grace"); !errors.Is(err, store.ErrNotFound) {
			return "old id still finds her: " + errString(err)
		}
		return ""
	})
	// Her new IdC user's facts fold; the old one's are stale.
	if r, err := f.st.Fold(ctx, ev(domain.KindMemberAdded, domain.Subject{OktaID: grace.OktaID, IdCUserID: "idc-grace-2"}, "g4",
		t0.Add(3*time.Minute), group("00gAGENTS"), snap)); err != nil || !r.Changed {
		t.Fatalf("a fact naming the new IdC user: %+v, %v", r, err)
	}
	if _, err := f.st.Fold(ctx, ev(domain.KindMemberRemoved, grace, "g5", t0.Add(time.Minute), group("00gMAIL"), snap)); !errors.Is(err, domain.ErrSupersededLink) ||
		domain.KindOf(err) != domain.ErrorStale {
		t.Fatalf("a fact naming the replaced IdC user: %v, want a stale ErrSupersededLink", err)
	}

	before, err := f.st.Person(ctx, "idc-grace")
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]domain.Event{
		// An IdC user carrying Grace's Okta id whose IdC id is Bob's: an
		// implicit relink to an IdC user another person is linked to.
		"an IdC user linked to someone else": ev(domain.KindMemberAdded, domain.Subject{OktaID: grace.OktaID, IdCUserID: bob.IdCUserID}, "c1",
			t0.Add(4*time.Minute), group("00gMAIL"), snap),
		// Bob's IdC user claiming another Okta id.
		"another Okta id for Bob's IdC user": ev(domain.KindMemberAdded, domain.Subject{OktaID: "00uMALLORY", IdCUserID: bob.IdCUserID}, "c3",
			t0.Add(4*time.Minute), group("00gMAIL"), snap),
	} {
		t.Run(name, func(t *testing.T) {
			f.calls.Reset()
			_, err := f.st.Fold(ctx, e)
			if !errors.Is(err, domain.ErrIdentityConflict) || domain.KindOf(err) != domain.ErrorPermanent {
				t.Fatalf("fold: %v, want a permanent ErrIdentityConflict", err)
			}
			if _, perr := f.st.Preview(ctx, e); !errors.Is(perr, domain.ErrIdentityConflict) {
				t.Errorf("preview: %v, want ErrIdentityConflict", perr)
			}
			if n := f.calls.ByOp()["PutItem"]; n != 0 {
				t.Errorf("%d writes for a conflict", n)
			}
			t.Log(err)
		})
	}
	after, err := f.st.Person(ctx, "idc-grace")
	if err != nil || !cmp.Equal(before, after) {
		t.Errorf("conflicts changed Grace:\n%s", cmp.Diff(before, after))
	}
	if _, err := f.st.FindByOktaID(ctx, "00uMALLORY"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a conflicting event created a person: %v", err)
	}
}

// TestFoldImplicitRelink: an event with a person's Okta id naming another
// IdC user id, newer than the person's link, re-links the person without a
// relink marker, and the IdC-id index follows; an older one is stale.
func TestFoldImplicitRelink(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	snap := func(e *domain.Event) { e.Source = domain.SourceIdCSnapshot }

	// Hal is first seen by IdC id, then linked to his Okta id: his
	// partition stays PERSON#idc-hal.
	hal := domain.Subject{OktaID: "00uHAL", IdCUserID: "idc-hal", Login: "hal@example.com"}
	if _, err := f.st.Fold(ctx, ev(domain.KindMemberAdded, domain.Subject{IdCUserID: hal.IdCUserID}, "h1", t0, group("00gMAIL"), snap)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Fold(ctx, ev(domain.KindProfileChanged, hal, "h2", t0.Add(time.Minute), snap)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the IdC-id index finds Hal", func() string {
		if rec, err := f.st.FindByIdCUserID(ctx, hal.IdCUserID); err != nil || rec.Key != "idc-hal" {
			return errString(err)
		}
		return ""
	})

	// His IdC user is re-created as idc-hal-2; the snapshot names it
	// without a relink marker (its view had no link yet).
	recreated := domain.Subject{OktaID: hal.OktaID, IdCUserID: "idc-hal-2", Login: hal.Login}
	r, err := f.st.Fold(ctx, ev(domain.KindObserved, recreated, "h3", t0.Add(2*time.Minute), snap,
		func(e *domain.Event) { e.Groups = []domain.GroupRef{{OktaID: "00gMAIL"}} }))
	if err != nil || !r.Changed || r.Key != "idc-hal" || r.Person.IdCUserID != "idc-hal-2" || r.Person.Relinked.Value != "idc-hal" {
		t.Fatalf("implicit relink: %+v, %v; want partition idc-hal re-linked to idc-hal-2", r, err)
	}
	got, err := f.st.Person(ctx, "idc-hal")
	if err != nil || got.Person.IdCUserID != "idc-hal-2" || got.Person.Linked.Value != "idc-hal-2" {
		t.Fatalf("stored: %+v, %v", got.Person, err)
	}
	testenv.Eventually(t, "the IdC-id index follows the implicit relink", func() string {
		if rec, err := f.st.FindByIdCUserID(ctx, "idc-hal-2"); err != nil || rec.Key != "idc-hal" {
			return "new id: " + errString(err)
		}
		if _, err := f.st.FindByIdCUserID(ctx, "idc-hal"); !errors.Is(err, store.ErrNotFound) {
			return "old id still finds him: " + errString(err)
		}
		return ""
	})
	if rec, err := f.st.FindByOktaID(ctx, hal.OktaID); err != nil || rec.Key != "idc-hal" {
		t.Errorf("FindByOktaID after the relink: %+v, %v", rec.Key, err)
	}

	// A fact naming the new IdC user with his Okta id resolves to him; an
	// older one naming a third IdC user is stale and writes nothing.
	if r, err := f.st.Fold(ctx, ev(domain.KindMemberAdded, domain.Subject{OktaID: hal.OktaID, IdCUserID: "idc-hal-2"}, "h4",
		t0.Add(3*time.Minute), group("00gAGENTS"), snap)); err != nil || !r.Changed || r.Key != "idc-hal" {
		t.Fatalf("a fact naming the new IdC user: %+v, %v", r, err)
	}
	f.calls.Reset()
	_, err = f.st.Fold(ctx, ev(domain.KindMemberRemoved, domain.Subject{OktaID: hal.OktaID, IdCUserID: "idc-hal-3"}, "h5",
		t0.Add(90*time.Second), group("00gMAIL"), snap))
	if !errors.Is(err, domain.ErrSupersededLink) || domain.KindOf(err) != domain.ErrorStale {
		t.Fatalf("an older fact naming another IdC user: %v, want a stale ErrSupersededLink", err)
	}
	if n := f.calls.ByOp()["PutItem"]; n != 0 {
		t.Errorf("%d writes for a stale fact", n)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestRecordReceivedDetail: a received row says which target an event was
// for and, for a relink, which IdC user replaced which.
func TestRecordReceivedDetail(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	relink := ev(domain.KindProfileChanged, domain.Subject{OktaID: "00uANN", IdCUserID: "idc-new"}, "r1", t0, func(e *domain.Event) {
		e.Source, e.ReplacesIdCUserID = domain.SourceIdCSnapshot, "idc-old"
	})
	rec := ev(domain.KindReconcile, domain.Subject{OktaID: "00uANN"}, "r2", t0, func(e *domain.Event) {
		e.Source, e.Target = domain.SourceIdCSnapshot, domain.TargetConnect
	})
	for _, e := range []domain.Event{relink, rec} {
		if _, err := f.st.RecordReceived(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	page, err := f.st.Audit(ctx, store.AuditQuery{PersonKey: "00uANN"})
	if err != nil || len(page.Entries) != 2 {
		t.Fatalf("audit: %+v, %v", page.Entries, err)
	}
	got := map[domain.Kind]map[string]string{}
	for _, e := range page.Entries {
		got[e.Kind] = e.Detail
	}
	if d := got[domain.KindProfileChanged]["relink"]; d != "IdC user idc-old replaced by idc-new" {
		t.Errorf("relink row detail %q", d)
	}
	if d := got[domain.KindReconcile]["target"]; d != "connect" {
		t.Errorf("reconcile row target %q", d)
	}
}

// TestMarks: marks live in the person's partition, come back with the
// partition read and the full scan, are replaced and deleted by
// WriteMarks, and take a consumer's failure only for their own event.
func TestMarks(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	ann := domain.Subject{OktaID: "00uANN", IdCUserID: "idc-ann"}
	if _, err := f.st.Fold(ctx, ev(domain.KindMemberAdded, ann, "a1", t0, group("00gMAIL"))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.PutTarget(ctx, "00uANN", domain.TargetState{Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteEnabled}, 0); err != nil {
		t.Fatal(err)
	}
	diffMark := store.Mark{Key: "00uANN", Digest: "facts-1", EventID: "01A", PersonVersion: 1, Since: t0, At: t0}
	wmMark := store.Mark{Key: "00uANN", Target: domain.TargetWorkMail, Digest: "plan-1", EventID: "01B", PersonVersion: 1, TargetVersion: 1, Since: t0, At: t0}
	joiner := store.Mark{Key: "00uJOINER", Digest: "facts-2", EventID: "01C", Since: t0, At: t0}
	if err := f.st.WriteMarks(ctx, []store.Mark{diffMark, wmMark, joiner}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.st.WriteMarks(ctx, []store.Mark{diffMark, diffMark}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a mark listed twice: %v, want ErrInvalid", err)
	}

	f.calls.Reset()
	recs, err := f.st.AllRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.calls.ByOp()["Scan"]; n != store.MaxWorkers {
		t.Errorf("AllRecords made %d Scan calls, want one per segment (%d)", n, store.MaxWorkers)
	}
	if len(recs) != 2 || recs[0].Key != "00uANN" || recs[1].Key != "00uJOINER" {
		t.Fatalf("records %+v, want 00uANN and 00uJOINER", recs)
	}
	ann0, j := recs[0], recs[1]
	if !ann0.HasIdentity() || ann0.Person.OktaID != "00uANN" || ann0.Target(domain.TargetWorkMail).Status != domain.RemoteEnabled ||
		!cmp.Equal(ann0.Marks, map[domain.Target]store.Mark{"": diffMark, domain.TargetWorkMail: wmMark}) {
		t.Errorf("Ann's record %+v", ann0)
	}
	if j.HasIdentity() || !cmp.Equal(j.Marks[""], joiner) {
		t.Errorf("a joiner's marks alone: %+v", j)
	}

	// A consumer's failure lands only on the mark of its event.
	if err := f.st.MarkFailed(ctx, "00uANN", domain.TargetWorkMail, "01OTHER", "quota"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failure of another event: %v, want ErrNotFound", err)
	}
	f.clock.Advance(time.Minute)
	if err := f.st.MarkFailed(ctx, "00uANN", domain.TargetWorkMail, "01B", "LimitExceededException: quota"); err != nil {
		t.Fatal(err)
	}
	rec, err := f.st.Person(ctx, "00uANN")
	if err != nil {
		t.Fatal(err)
	}
	m := rec.Marks[domain.TargetWorkMail]
	if !m.Failed() || m.FailedReason != "LimitExceededException: quota" || !m.FailedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("failed mark %+v", m)
	}
	if err := f.st.MarkFailed(ctx, "00uANN", domain.TargetConnect, "01B", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failure on a missing mark: %v, want ErrNotFound", err)
	}

	// A consumer hands an event over: only the mark naming it is released.
	if err := f.st.ReleaseMark(ctx, "00uANN", domain.TargetWorkMail, "01OTHER"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("release for another event: %v, want ErrNotFound", err)
	}
	if err := f.st.ReleaseMark(ctx, "00uANN", domain.TargetWorkMail, "01B"); err != nil {
		t.Fatal(err)
	}
	if rec, err = f.st.Person(ctx, "00uANN"); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.Marks[domain.TargetWorkMail]; ok || !cmp.Equal(rec.Marks[""], diffMark) {
		t.Errorf("after release: marks %+v, want only the diff mark", rec.Marks)
	}
	if err := f.st.ReleaseMark(ctx, "00uANN", domain.TargetWorkMail, "01B"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second release: %v, want ErrNotFound", err)
	}
	if err := f.st.ReleaseMark(ctx, "", domain.TargetWorkMail, "01B"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("release without key: %v, want ErrInvalid", err)
	}

	// The snapshotter replaces and deletes marks.
	wm2 := wmMark
	wm2.Digest, wm2.EventID = "plan-2", "01D"
	if err := f.st.WriteMarks(ctx, []store.Mark{wm2}, []store.Mark{{Key: "00uANN"}, {Key: "00uJOINER"}}); err != nil {
		t.Fatal(err)
	}
	recs, err = f.st.AllRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || !cmp.Equal(recs[0].Marks, map[domain.Target]store.Mark{domain.TargetWorkMail: wm2}) || recs[0].Marks[domain.TargetWorkMail].Failed() {
		t.Errorf("after replacing and deleting: %+v", recs)
	}
	// Other partitions (leases, snapshot records, brakes) are not people.
	if _, err := f.st.AcquireLease(ctx, "idcsnapshot", "run", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.TakeRemovals(ctx, domain.TargetWorkMail, 1, domain.RemovalBrake{}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.WriteSnapshotRecords(ctx, []store.SnapshotRecord{{Key: "00uANN"}}, nil); err != nil {
		t.Fatal(err)
	}
	if recs, err := f.st.AllRecords(ctx); err != nil || len(recs) != 1 {
		t.Errorf("AllRecords with other partitions: %d records, %v", len(recs), err)
	}
}

// TestTakeRemovals: the brake grants at most Max removals per target per
// window, also to concurrent callers, and starts again in the next window.
func TestTakeRemovals(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	f.clock.Set(time.Date(2024, 5, 15, 8, 1, 0, 0, time.UTC)) // one minute into a 10-minute window
	limit := domain.RemovalBrake{Max: 5, Window: domain.Duration(10 * time.Minute)}
	take := func(t domain.Target, n int) int {
		got, err := f.st.TakeRemovals(ctx, t, n, limit)
		if err != nil {
			panic(err)
		}
		return got
	}
	f.calls.Reset()
	if got := take(domain.TargetConnect, 2); got != 2 {
		t.Errorf("first 2: granted %d", got)
	}
	if got := take(domain.TargetConnect, 2); got != 2 {
		t.Errorf("next 2: granted %d", got)
	}
	if got := take(domain.TargetConnect, 2); got != 1 {
		t.Errorf("2 more with 1 left: granted %d", got)
	}
	if got := take(domain.TargetConnect, 1); got != 0 {
		t.Errorf("a full window granted %d", got)
	}
	if got := take(domain.TargetWorkMail, 3); got != 3 {
		t.Errorf("another target's brake: granted %d", got)
	}
	if got, err := f.st.TakeRemovals(ctx, domain.TargetConnect, 0, limit); got != 0 || err != nil {
		t.Errorf("taking none: %d, %v", got, err)
	}
	t.Logf("UpdateItem calls for 5 takes and a refusal: %d", f.calls.ByOp()["UpdateItem"])

	f.clock.Advance(9 * time.Minute) // the next window
	if got := take(domain.TargetConnect, 7); got != 5 {
		t.Errorf("a new window: granted %d of 7, want 5", got)
	}

	f.clock.Advance(10 * time.Minute)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted int
	)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := take(domain.TargetConnect, 1)
			mu.Lock()
			granted += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if granted != 5 {
		t.Errorf("12 concurrent takers were granted %d, want exactly 5", granted)
	}
	if _, err := f.st.TakeRemovals(ctx, "", 1, limit); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no target: %v, want ErrInvalid", err)
	}
	if _, err := f.st.TakeRemovals(ctx, domain.TargetConnect, 1, domain.RemovalBrake{Max: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a negative max: %v, want ErrInvalid", err)
	}
}
