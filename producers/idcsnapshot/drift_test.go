package idcsnapshot_test

import (
	"context"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/store"
)

// fakeInventory answers the accounts it holds.
type fakeInventory map[string]domain.Observed

func (f fakeInventory) Accounts(context.Context) (map[string]domain.Observed, error) { return f, nil }

// TestDriftCheckReportsMissingAndRepairsDisabled: Bob's mailbox is found
// disabled and the other managed mailboxes (Ada's, Dee's, Eve's) not at
// all (deleted by hand), and an account idsync does not manage is disabled too. The drift
// check queues one repair, for Bob's mailbox to WorkMail only, carrying
// what was found; the others are reported missing and never re-created; the
// unmanaged account is not compared. The check is not made again until
// snapshot.driftEvery has passed.
func TestDriftCheckReportsMissingAndRepairsDisabled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 31})
	f.seedTestdata(t)
	f.baseline(t)
	f.apply(t, f.cfg)
	ctx := testenv.Context(t)
	bobBox := "r-" + bobKey + "-workmail"
	rec, err := f.st.Person(ctx, bobKey)
	if err != nil {
		t.Fatal(err)
	}
	bob := rec.Target(domain.TargetWorkMail)
	found := domain.Observed{State: bob, Fields: []domain.AccountField{domain.FieldStatus, domain.FieldDisplayName}}
	found.State.Status = domain.RemoteDisabled
	unmanaged := domain.Observed{State: domain.TargetState{RemoteID: "someone-else", Status: domain.RemoteDisabled}, Fields: []domain.AccountField{domain.FieldStatus}}
	rs := reconciling(f.cfg)
	rs.opts.Inventories = map[domain.Target]idcsnapshot.Inventory{
		domain.TargetWorkMail: fakeInventory{bobBox: found, "someone-else": unmanaged},
	}

	sum, evs := f.run(t, rs)
	if !sum.DriftChecked || sum.Drifted != 1 || sum.DriftRepairs != 1 || sum.DriftMissing != 3 {
		t.Errorf("summary: checked %v, drifted %d, repairs %d, missing %d; want 1, 1, 3 (Ada, Dee, Eve)", sum.DriftChecked, sum.Drifted, sum.DriftRepairs, sum.DriftMissing)
	}
	if len(evs) != 1 {
		t.Fatalf("queued %v, want one drift repair", describeAll(evs))
	}
	e := evs[0]
	if e.Kind != domain.KindReconcile || e.Target != domain.TargetWorkMail || e.Subject.Key() != bobKey || e.Drift == nil ||
		e.Drift.RemoteID != bobBox || e.Drift.TargetVersion != bob.Version || domain.DescribeDrift(e.Drift.Fields) != "status: recorded enabled, found disabled" {
		t.Errorf("drift event %+v (drift %+v)", e, e.Drift)
	}
	page, err := f.st.Audit(ctx, store.AuditQuery{PersonKey: adaKey, Outcomes: []domain.Outcome{domain.OutcomeDrift}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 1 || page.Entries[0].Detail["action"] != "missing" || page.Entries[0].Target != domain.TargetWorkMail {
		t.Errorf("Ada's drift rows %+v, want one missing row for WorkMail", page.Entries)
	}

	// Within driftEvery: no check, so nothing about drift.
	f.clock.Advance(2 * time.Hour)
	if sum, evs := f.run(t, rs); sum.DriftChecked || len(evs) != 0 {
		t.Errorf("a run 2 h later checked drift (%v) or queued %v", sum.DriftChecked, describeAll(evs))
	}
}
