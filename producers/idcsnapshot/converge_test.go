package idcsnapshot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/store"
)

const (
	adaKey = "00u1adalovelace001"
	bobKey = "00u1bobbyte0000002"
)

// planFunc is a Planner made of a function.
type planFunc func(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error)

func (f planFunc) Plan(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error) {
	return f(ctx, p, last, now)
}

// planners are the domain planners of cfg's targets, with the mail domain
// example.com: what the consumers plan with.
func planners(cfg domain.Config) map[domain.Target]idcsnapshot.Planner {
	out := map[domain.Target]idcsnapshot.Planner{}
	if cfg.WorkMail != nil {
		w := *cfg.WorkMail
		out[domain.TargetWorkMail] = planFunc(func(_ context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error) {
			return domain.PlanWorkMail(w, "example.com", p, last, now)
		})
	}
	if cfg.Connect != nil {
		k := *cfg.Connect
		out[domain.TargetConnect] = planFunc(func(_ context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error) {
			return domain.PlanConnect(k, domain.ConnectIdentitySAML, p, last, now)
		})
	}
	return out
}

// reconciling is the setup of a snapshotter that reconciles with cfg's
// planners.
func reconciling(cfg domain.Config) setup {
	return setup{cfg: &cfg, opts: idcsnapshot.Options{Planners: planners(cfg)}}
}

// apply plays the consumers having applied every plan: for every stored
// person and target of cfg, the state its plan reaches is stored (a
// created account gets the remote id r-<key>-<target>), except for the
// "<key>/<target>" pairs in skip.
func (f *fixture) apply(t *testing.T, cfg domain.Config, skip ...string) {
	t.Helper()
	ctx := testenv.Context(t)
	recs, err := f.st.AllRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if !r.HasIdentity() {
			continue
		}
		for tg, pl := range planners(cfg) {
			if contains(skip, r.Key+"/"+string(tg)) {
				continue
			}
			last := r.Target(tg)
			plan, err := pl.Plan(ctx, r.Person, last, f.clock.Now())
			if err != nil {
				t.Fatalf("plan %s for %s: %v", tg, r.Key, err)
			}
			next := plan.Next
			if next.Managed && next.RemoteID == "" && next.Status != domain.RemoteDeleted && next.Status != domain.RemoteAbsent {
				next.RemoteID = "r-" + r.Key + "-" + string(tg)
			}
			if next.Equal(last) {
				continue
			}
			if _, err := f.st.PutTarget(ctx, r.Key, next, last.Version); err != nil {
				t.Fatalf("store %s state of %s: %v", tg, r.Key, err)
			}
		}
	}
}

// recPub records what it publishes through the fixture's real publisher.
// (The queues' own deduplication window is wall-clock time, so a copy
// re-sent after a horizon of the test clock would not show there.)
type recPub struct {
	next   idcsnapshot.Publisher
	events []domain.Event
}

func (r *recPub) Publish(ctx context.Context, events []domain.Event) error {
	if err := r.next.Publish(ctx, events); err != nil {
		return err
	}
	r.events = append(r.events, events...)
	return nil
}

// run runs a snapshot at the clock's time and returns its summary and the
// events it published (once each; the queues are drained).
func (f *fixture) run(t *testing.T, s setup) (idcsnapshot.Summary, []domain.Event) {
	t.Helper()
	rec := &recPub{next: f.pub}
	if s.pub != nil {
		rec.next = s.pub
	}
	s.pub = rec
	sum, err := f.snapshotter(t, s).Run(testenv.Context(t))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	f.drain(t)
	return sum, rec.events
}

// TestReconcileRepairsAMissedTarget: Ada's Connect consumer never heard
// of her (the hook's Connect queue failed, or the message was
// dead-lettered), while the shared person says she qualifies. The next run
// sends one reconcile event to Connect only; while it is in flight no run
// sends it again, until snapshot.redeliverAfter has passed, when the same
// event (same id) is sent again; once its consumer recorded a permanent
// failure, only after snapshot.retryFailedAfter; once applied, never.
func TestReconcileRepairsAMissedTarget(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 21})
	f.seedTestdata(t)
	f.baseline(t)
	f.apply(t, f.cfg, adaKey+"/connect")
	rs := reconciling(f.cfg)

	sum, evs := f.run(t, rs)
	if d := cmp.Diff([]string{"reconcile " + adaKey + " for connect"}, describeAll(evs)); d != "" {
		t.Fatalf("run 1 (-want +got):\n%s", d)
	}
	first := evs[0]
	if first.Subject.IdCUserID == "" || first.Subject.Login != "" || sum.Reconciled != 1 || sum.Events != 1 {
		t.Errorf("reconcile event %+v, summary %+v", first, sum)
	}
	for _, e := range f.drainQueue(t, f.queues[domain.TargetWorkMail].URL) {
		t.Errorf("WorkMail's queue got %s", describe(e))
	}

	// In flight: nothing again within the horizon.
	f.clock.Advance(15 * time.Minute)
	if sum, evs := f.run(t, rs); len(evs) != 0 || sum.InFlight != 1 {
		t.Errorf("run 2 queued %v (in flight %d), want nothing and 1 in flight", describeAll(evs), sum.InFlight)
	}
	// Past the horizon: the same event again.
	f.clock.Advance(domain.DefaultRedeliverAfter)
	if _, evs := f.run(t, rs); len(evs) != 1 || !cmp.Equal(evs[0], first) {
		t.Errorf("after the horizon queued %v, want the first event again:\n%s", describeAll(evs), cmp.Diff([]domain.Event{first}, evs))
	}
	// Its consumer dead-letters it and records that: retried only a day on.
	if err := f.st.MarkFailed(testenv.Context(t), adaKey, domain.TargetConnect, first.ID, "LimitExceededException"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(domain.DefaultRedeliverAfter + time.Minute)
	if sum, evs := f.run(t, rs); len(evs) != 0 || sum.InFlight != 1 {
		t.Errorf("after a recorded failure queued %v, want nothing for a day", describeAll(evs))
	}
	f.clock.Advance(domain.DefaultRetryFailedAfter)
	if _, evs := f.run(t, rs); len(evs) != 1 || evs[0].ID != first.ID {
		t.Errorf("a day after the failure queued %v, want the event again", describeAll(evs))
	}
	// Applied: nothing more, and the mark is gone.
	f.apply(t, f.cfg)
	f.clock.Advance(15 * time.Minute)
	if sum, evs := f.run(t, rs); len(evs) != 0 || sum.InFlight != 0 {
		t.Errorf("after applying queued %v (in flight %d)", describeAll(evs), sum.InFlight)
	}
	rec, err := f.st.Person(testenv.Context(t), adaKey)
	if err != nil || len(rec.Marks) != 0 {
		t.Errorf("marks left after convergence: %+v, %v", rec.Marks, err)
	}
}

// TestReconcilePlansDueGraceDeletes: with onLeave delete after 30 days, a
// leaver's mailbox is disabled by the diff's removal and deleted by
// reconciliation once the 30 days are over, although no event about the
// person arrives any more. While a group is unread, the delete (a leave
// op) is withheld and reported.
func TestReconcilePlansDueGraceDeletes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 22})
	cfg := f.cfg
	wm := *cfg.WorkMail
	wm.OnLeave = domain.WorkMailLeave{Action: domain.LeaveDelete, DeleteAfterDays: 30}
	cfg.WorkMail = &wm
	rs := reconciling(cfg)
	f.seedTestdata(t)
	f.baseline(t)
	f.apply(t, cfg)

	// Bob leaves: the diff removes him, the consumer disables his mailbox.
	f.leave(t, "bob.byte@example.com", "mail")
	_, evs := f.run(t, rs)
	if d := cmp.Diff([]string{"member-removed " + bobKey + " " + oktaMail}, describeAll(evs)); d != "" {
		t.Fatalf("the leaver's run (-want +got):\n%s", d)
	}
	f.fold(t, evs)
	// The WorkMail consumer folded the removal but lags on the disable:
	// reconciliation sends it once, not every run.
	f.clock.Advance(15 * time.Minute)
	if _, evs := f.run(t, rs); !cmp.Equal(describeAll(evs), []string{"reconcile " + bobKey + " for workmail"}) {
		t.Errorf("the disable not applied yet: queued %v, want one reconcile", describeAll(evs))
	}
	f.clock.Advance(15 * time.Minute)
	if sum, evs := f.run(t, rs); len(evs) != 0 || sum.InFlight != 1 {
		t.Errorf("the disable still in flight: queued %v (in flight %d), want nothing", describeAll(evs), sum.InFlight)
	}
	f.apply(t, cfg)
	rec, err := f.st.Person(testenv.Context(t), bobKey)
	if err != nil || rec.Target(domain.TargetWorkMail).Status != domain.RemoteDisabled {
		t.Fatalf("bob's mailbox %+v, %v; want disabled", rec.Target(domain.TargetWorkMail), err)
	}

	f.clock.Advance(10 * 24 * time.Hour)
	if _, evs := f.run(t, rs); len(evs) != 0 {
		t.Errorf("within the grace period queued %v", describeAll(evs))
	}

	// Day 31, but the agents group cannot be read: the delete is withheld.
	f.clock.Advance(21 * 24 * time.Hour)
	agents := f.groups["agents"]
	f.rec.setFail(func(op string, body []byte) bool {
		return op == "ListGroupMemberships" && strings.Contains(string(body), agents)
	})
	sum, evs := f.run(t, setup{cfg: &cfg, attempts: 1, opts: rs.opts})
	if len(evs) != 0 || sum.ReconcileWithheld != 1 || len(sum.UnreadGroups) != 1 {
		t.Errorf("with a group unread: queued %v, summary %+v; want nothing, 1 reconcile withheld", describeAll(evs), sum)
	}
	rows := f.runRows(t)
	if d := rows[len(rows)-1].Detail; d["reconcileWithheld"] != "1" || !strings.HasPrefix(d["unreadGroups"], agents+": ") {
		t.Errorf("summary row detail %v", d)
	}

	// Healed: the due delete goes to WorkMail only.
	f.rec.setFail(nil)
	f.clock.Advance(time.Minute)
	sum, evs = f.run(t, rs)
	if d := cmp.Diff([]string{"reconcile " + bobKey + " for workmail"}, describeAll(evs)); d != "" || sum.Removals != 1 {
		t.Fatalf("day 31 (removals %d) (-want +got):\n%s", sum.Removals, d)
	}
	f.apply(t, cfg)
	rec, err = f.st.Person(testenv.Context(t), bobKey)
	if err != nil || rec.Target(domain.TargetWorkMail).Status != domain.RemoteDeleted {
		t.Fatalf("bob's mailbox %+v, %v; want deleted", rec.Target(domain.TargetWorkMail), err)
	}
	f.clock.Advance(time.Hour)
	if _, evs := f.run(t, rs); len(evs) != 0 {
		t.Errorf("after the delete queued %v", describeAll(evs))
	}
}

// TestRemovalCapCoversReconciliation: suspensions that reached the state
// through hooks (IdC has no status, so the diff sees nothing) would have
// reconciliation disable three accounts of two people; with a cap of one
// the run is refused and emits nothing at all.
func TestRemovalCapCoversReconciliation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 23})
	f.seedTestdata(t)
	f.baseline(t)
	f.apply(t, f.cfg)
	for _, k := range []string{adaKey, bobKey} {
		at := f.clock.Now().Add(-time.Hour)
		f.fold(t, []domain.Event{{
			ID:     domain.NewEventID(domain.SourceOktaHook, "suspend-"+k, k, at),
			Source: domain.SourceOktaHook, SourceEventID: "suspend-" + k, Kind: domain.KindSuspended,
			Subject: domain.Subject{OktaID: k}, OccurredAt: at, ReceivedAt: at,
		}})
	}
	capped := f.cfg
	capped.Snapshot.RemovalCap = domain.RemovalCap{Max: 1, MaxPercent: 100}
	sum, err := f.snapshotter(t, reconciling(capped)).Run(testenv.Context(t))
	if !errorsIsCap(err) || sum.Removals != 2 || sum.Events != 0 {
		t.Fatalf("run = %v, summary %+v; want the cap refusing 2 removals", err, sum)
	}
	if evs := f.drain(t); len(evs) != 0 {
		t.Errorf("a refused run queued %v", describeAll(evs))
	}
	// Within the cap they go, to the targets the people have accounts in.
	_, evs := f.run(t, reconciling(f.cfg))
	want := []string{"reconcile " + adaKey + " for connect", "reconcile " + adaKey + " for workmail", "reconcile " + bobKey + " for workmail"}
	if d := cmp.Diff(want, describeAll(evs)); d != "" {
		t.Errorf("within the cap (-want +got):\n%s", d)
	}
}

// TestLaggingConsumersAreNotFloodedWithCopies measures what a run emits on
// an unchanged directory while the consumers lag (nothing folded): without
// the marks every run re-emits every difference; with them, nothing until
// the redelivery horizon, then the same events (same ids) once.
func TestLaggingConsumersAreNotFloodedWithCopies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 24, NoQuota: true})
	const people = 300
	for i := range people {
		f.addUser(t, genUser(i), "mail")
	}
	rs := reconciling(f.cfg)
	runs := func(s setup, n int) []int {
		var out []int
		for range n {
			_, evs := f.run(t, s)
			out = append(out, len(evs))
			f.clock.Advance(10 * time.Second)
		}
		return out
	}

	// Without marks (the store hiding them): every run re-emits.
	noMarks := rs
	noMarks.store = &hideMarks{Store: f.st}
	before := runs(noMarks, 4)
	// With marks: the first run emits, the next ones nothing.
	after := runs(rs, 4)
	t.Logf("events per run, %d joiners not yet consumed: without marks %v, with marks %v", people, before, after)
	if !cmp.Equal(before, []int{people, people, people, people}) || !cmp.Equal(after, []int{people, 0, 0, 0}) {
		t.Errorf("events per run without marks %v, with marks %v; want %d each, then %d and none", before, after, people, people)
	}

	// 50 profiles change while the consumers still lag: 50 events, once.
	for i := range 50 {
		u := genUser(i)
		u.Title = "Renamed"
		if err := f.sim.ReplaceUser(f.storeID, f.users[u.UserName], u); err != nil {
			t.Fatal(err)
		}
	}
	changed := runs(rs, 3)
	t.Logf("events per run after 50 profile changes, consumers lagging: %v", changed)
	if !cmp.Equal(changed, []int{50, 0, 0}) {
		t.Errorf("after 50 changes: %v, want 50 then none", changed)
	}

	// Past the horizon the undelivered differences go again, with their ids.
	f.clock.Advance(domain.DefaultRedeliverAfter)
	sum, evs := f.run(t, rs)
	if len(evs) != people || sum.InFlight != 0 {
		t.Errorf("after the horizon: %d events, %d in flight; want %d and 0", len(evs), sum.InFlight, people)
	}

	// The consumers catch up: nothing left, and no marks.
	f.fold(t, evs)
	f.apply(t, f.cfg)
	f.clock.Advance(time.Minute)
	sum, evs = f.run(t, rs)
	if len(evs) != 0 || sum.InFlight != 0 {
		t.Errorf("after catching up: %v, %d in flight", describeAll(evs), sum.InFlight)
	}
	recs, err := f.st.AllRecords(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if len(r.Marks) > 0 {
			t.Fatalf("%s keeps marks %+v after convergence", r.Key, r.Marks)
		}
	}
}

// hideMarks is the store as it was before marks: AllRecords without them,
// and no marks written.
type hideMarks struct{ idcsnapshot.Store }

func (h *hideMarks) AllRecords(ctx context.Context) ([]store.Record, error) {
	recs, err := h.Store.AllRecords(ctx)
	for i := range recs {
		recs[i].Marks = nil
	}
	return recs, err
}

func (h *hideMarks) WriteMarks(context.Context, []store.Mark, []store.Mark) error { return nil }

func errorsIsCap(err error) bool {
	var capErr *domain.RemovalCapError
	return errors.As(err, &capErr)
}

// TestVanishedGroupIsReportedAndBlocksOnlyItsMembers: a configured group
// deleted from Identity Center is reported every run (summary row, log
// line naming the group, metric) and withholds removals for its members
// only: a leaver of the other group is still removed.
func TestVanishedGroupIsReportedAndBlocksOnlyItsMembers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 25})
	f.seedTestdata(t)
	f.baseline(t)
	awsCfg, err := awsclient.Config(testenv.Context(t), awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	agents := f.groups["agents"]
	if _, err := awsclient.IdentityStore(awsCfg, f.url).DeleteGroup(testenv.Context(t), &identitystore.DeleteGroupInput{
		IdentityStoreId: aws.String(f.storeID), GroupId: aws.String(agents)}); err != nil {
		t.Fatal(err)
	}
	f.leave(t, "bob.byte@example.com", "mail")
	for run := 1; run <= 2; run++ {
		var logs strings.Builder
		s := setup{logTo: &logs}
		sum, evs := f.run(t, s)
		want := []string{}
		if run == 1 {
			want = []string{"member-removed " + bobKey + " " + oktaMail}
		}
		if d := cmp.Diff(want, describeAll(evs), cmpEmpty); d != "" {
			t.Errorf("run %d events (-want +got):\n%s", run, d)
		}
		wantGroup := agents + ": not found: the group no longer exists"
		if !cmp.Equal(sum.UnreadGroups, []string{wantGroup}) || sum.Withheld != 4 {
			t.Errorf("run %d: unread %v, withheld %d; want %q and the 4 agents withheld", run, sum.UnreadGroups, sum.Withheld, wantGroup)
		}
		if !strings.Contains(logs.String(), `"groupId":"`+agents+`"`) || !strings.Contains(logs.String(), "no longer exists") {
			t.Errorf("run %d: no log line names the vanished group:\n%s", run, logs.String())
		}
		rows := f.runRows(t)
		if rows[len(rows)-1].Detail["unreadGroups"] != wantGroup {
			t.Errorf("run %d summary row %v", run, rows[len(rows)-1].Detail)
		}
		m := f.metricLines(t)
		if m[len(m)-1]["UnreadGroups"] != 1.0 {
			t.Errorf("run %d UnreadGroups metric %v", run, m[len(m)-1]["UnreadGroups"])
		}
		f.fold(t, evs)
		f.clock.Advance(15 * time.Minute)
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal([]string(a), []string(b)) })

// TestUnreadProfileIsNeverARemoval: Bob's DescribeUser fails; he is left
// as he is (no removal from the group he is still in), reported, and the
// rest of the run goes on: Eve's removal from agents is emitted.
func TestUnreadProfileIsNeverARemoval(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 26})
	f.seedTestdata(t)
	f.baseline(t)
	bob := f.users["bob.byte@example.com"]
	f.rec.setFail(func(op string, body []byte) bool {
		return op == "DescribeUser" && strings.Contains(string(body), bob)
	})
	f.leave(t, "eve.echo@example.com", "agents")
	sum, evs := f.run(t, setup{attempts: 1})
	if d := cmp.Diff([]string{"member-removed 00u1eveecho0000005 " + oktaAgents}, describeAll(evs)); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	if sum.UnreadUsers != 1 || sum.Withheld != 1 || sum.Complete || sum.Removals != 1 {
		t.Errorf("summary %+v, want 1 unread profile, 1 withheld, incomplete, 1 removal", sum)
	}
	if d := f.runRows(t); d[len(d)-1].Detail["unreadUsers"] != "1" {
		t.Errorf("summary row %v", d[len(d)-1].Detail)
	}
}

// TestRelinkAfterIdCRecreation: Ada's IdC user is deleted and created
// again (same Okta user, new IdC user id). The snapshot re-links her under
// her Okta id, with a ledger row saying so, instead of removing her and
// never adding her back; then nothing is left to do.
func TestRelinkAfterIdCRecreation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 27})
	f.seedTestdata(t)
	f.baseline(t)
	ctx := testenv.Context(t)
	old := f.users["ada.lovelace@example.com"]
	if err := f.sim.RemoveUser(f.storeID, old); err != nil {
		t.Fatal(err)
	}
	ada := f.seeded["ada.lovelace@example.com"]
	recreated := f.addUser(t, ada, "mail", "agents")
	sum, evs := f.run(t, setup{})
	want := []string{"profile-changed " + adaKey + " replacing " + old}
	if d := cmp.Diff(want, describeAll(evs)); d != "" || sum.Removals != 0 {
		t.Fatalf("run after the re-creation (removals %d) (-want +got):\n%s", sum.Removals, d)
	}
	if evs[0].Subject.IdCUserID != recreated {
		t.Errorf("relink names IdC user %s, want %s", evs[0].Subject.IdCUserID, recreated)
	}
	f.fold(t, evs)
	rec, err := f.st.Person(ctx, adaKey)
	if err != nil || rec.Person.IdCUserID != recreated || rec.Person.Relinked.Value != old || !rec.Person.MemberOf(domain.GroupRef{OktaID: "00g1mailusers00001"}) {
		t.Fatalf("ada after the relink: %+v, %v", rec.Person, err)
	}
	page, err := f.st.Audit(ctx, store.AuditQuery{PersonKey: adaKey, Outcomes: []domain.Outcome{domain.OutcomeReceived}, PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range page.Entries {
		found = found || r.Detail["relink"] == fmt.Sprintf("IdC user %s replaced by %s", old, recreated)
	}
	if !found {
		t.Errorf("no ledger row records the relink: %+v", page.Entries)
	}
	f.clock.Advance(15 * time.Minute)
	if _, evs := f.run(t, setup{}); len(evs) != 0 {
		t.Errorf("after the relink queued %v", describeAll(evs))
	}
}

// TestIdentityConflictsAreReportedNotEmitted: a second IdC user carries
// Ada's Okta id (under another SCIM issuer). Nothing is emitted about her
// and she is not removed; every run reports the conflict.
func TestIdentityConflictsAreReportedNotEmitted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 28})
	f.seedTestdata(t)
	f.baseline(t)
	f.addUser(t, simidentitystore.User{UserName: "ada.twin@example.com", GivenName: "Ada", FamilyName: "Twin",
		ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/9999999", ID: adaKey}}}, "agents")
	for run := 1; run <= 2; run++ {
		var logs strings.Builder
		sum, evs := f.run(t, setup{logTo: &logs})
		if len(evs) != 0 || sum.Conflicts != 1 || sum.Removals != 0 {
			t.Errorf("run %d: queued %v, summary %+v; want nothing and 1 conflict", run, describeAll(evs), sum)
		}
		if !strings.Contains(logs.String(), "identity conflict") || !strings.Contains(logs.String(), adaKey) {
			t.Errorf("run %d: the conflict is not logged:\n%s", run, logs.String())
		}
		if d := f.runRows(t); d[len(d)-1].Detail["conflicts"] != "1" {
			t.Errorf("run %d summary row %v", run, d[len(d)-1].Detail)
		}
		page, err := f.st.Audit(testenv.Context(t), store.AuditQuery{PersonKey: adaKey, Outcomes: []domain.Outcome{domain.OutcomeFailed}, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(page.Entries); n != run || !strings.HasPrefix(page.Entries[n-1].Reason, domain.ErrIdentityConflict.Error()+": ") {
			t.Errorf("run %d: %d failed rows in the person's ledger, want %d naming the identity conflict: %+v", run, n, run, page.Entries)
		} else if d := page.Entries[n-1].Detail; d["oktaId"] != adaKey || d["runId"] != sum.RunID || strings.Count(d["idcUserIds"], ",") != 1 {
			t.Errorf("run %d: conflict row detail %v", run, d)
		}
		f.clock.Advance(15 * time.Minute)
	}
}

// foldAfterRead folds hook events into the state right after the run has
// read it: a hook fact that reaches the consumers while the snapshot runs.
type foldAfterRead struct {
	idcsnapshot.Store
	st     *store.Store
	events []domain.Event
}

func (f *foldAfterRead) AllRecords(ctx context.Context) ([]store.Record, error) {
	recs, err := f.Store.AllRecords(ctx)
	for _, e := range f.events {
		if _, ferr := f.st.Fold(ctx, e); ferr != nil {
			return nil, ferr
		}
	}
	return recs, err
}

// TestNoFlipFlopWhenTheHookIsAheadOfIdC drives the race of a person added
// to the WorkMail group through the Okta API while a snapshot runs before
// the Okta→IdC push has landed (the settle window as configured by
// default): the snapshot must not take her out, whether the hook's add was
// folded before the snapshot read the state or after.
func TestNoFlipFlopWhenTheHookIsAheadOfIdC(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 29})
	if w := time.Duration(f.cfg.Snapshot.SettleWindow); w != domain.DefaultSettleWindow {
		t.Fatalf("settle window %v, want the default", w)
	}
	ctx := testenv.Context(t)
	rs := reconciling(f.cfg)
	mail, _ := f.cfg.ResolveGroup(domain.GroupRef{OktaID: strings.TrimPrefix(oktaMail, "okta:")})
	hookAdd := func(okta, login, uuid string, at time.Time) domain.Event {
		return domain.Event{
			ID:     domain.NewEventID(domain.SourceOktaHook, uuid, okta, at),
			Source: domain.SourceOktaHook, SourceEventID: uuid, Kind: domain.KindMemberAdded,
			Subject: domain.Subject{OktaID: okta, Login: login}, Group: &domain.GroupRef{OktaID: mail.OktaID},
			OccurredAt: at, ReceivedAt: at,
		}
	}
	inBothSources := func(t *testing.T, key string) {
		t.Helper()
		rec, err := f.st.FindByOktaID(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Person.MemberOf(mail) || !f.cfg.WorkMail.Qualifies(rec.Person) {
			t.Fatalf("%s lost the membership the hook added: %+v", key, rec.Person.Groups)
		}
		enabled := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: "wm-1", Status: domain.RemoteEnabled}
		if plan, err := domain.PlanWorkMail(*f.cfg.WorkMail, "example.com", rec.Person, enabled, f.clock.Now()); err != nil || plan.Leaves() {
			t.Fatalf("%s's mailbox would be taken away: %+v, %v", key, plan.Ops, err)
		}
	}

	t.Run("hook add folded before the read", func(t *testing.T) {
		// Ann exists in IdC but the push of her membership has not landed.
		f.addUser(t, simidentitystore.User{UserName: "ann.race@example.com", GivenName: "Ann", FamilyName: "Race",
			ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: "00u1annrace0000011"}}})
		f.fold(t, []domain.Event{hookAdd("00u1annrace0000011", "ann.race@example.com", "hook-ann-add", f.clock.Now().Add(-300*time.Millisecond))})
		_, evs := f.run(t, rs)
		for _, e := range evs {
			if e.Kind == domain.KindMemberRemoved {
				t.Errorf("the snapshot removed a person the hook added 0.3 s before: %s", describe(e))
			}
		}
		f.fold(t, evs)
		inBothSources(t, "00u1annrace0000011")
	})

	t.Run("hook add published before the read, folded after it", func(t *testing.T) {
		// Ben was a member long ago; Okta removed him (that hook was lost,
		// IdC has the removal), then re-added him a second before the run.
		f.addUser(t, simidentitystore.User{UserName: "ben.race@example.com", GivenName: "Ben", FamilyName: "Race",
			ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: "00u1benrace0000012"}}})
		f.fold(t, []domain.Event{hookAdd("00u1benrace0000012", "ben.race@example.com", "hook-ben-old", f.clock.Now().Add(-30*24*time.Hour))})
		late := hookAdd("00u1benrace0000012", "ben.race@example.com", "hook-ben-readd", f.clock.Now().Add(-time.Second))
		s := rs
		s.store = &foldAfterRead{Store: f.st, st: f.st, events: []domain.Event{late}}
		_, evs := f.run(t, s)
		if d := cmp.Diff([]string{"member-removed 00u1benrace0000012 " + oktaMail}, describeAll(evs)); d != "" {
			t.Fatalf("the snapshot's view (-want +got):\n%s", d)
		}
		f.fold(t, evs) // the consumers fold the snapshot's removal after the hook's add
		inBothSources(t, "00u1benrace0000012")
		// Once the push lands, the next run has nothing to say.
		f.join(t, "ben.race@example.com", "mail")
		f.join(t, "ann.race@example.com", "mail")
		f.clock.Advance(time.Minute)
		_, evs = f.run(t, setup{})
		for _, e := range evs {
			if e.Kind == domain.KindMemberRemoved || e.Kind == domain.KindMemberAdded {
				t.Errorf("after the push: %s", describe(e))
			}
		}
	})
}

// TestReconcilePlanErrorsAreCountedNotFatal: a planner that fails (here
// for every person) does not stop the run: nothing is emitted for it, the
// failures are counted in the summary and logged (the first few).
func TestReconcilePlanErrorsAreCountedNotFatal(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 30})
	f.seedTestdata(t)
	f.baseline(t)
	f.apply(t, f.cfg, adaKey+"/workmail")
	pl := planners(f.cfg)
	pl[domain.TargetConnect] = planFunc(func(context.Context, domain.Person, domain.TargetState, time.Time) (domain.Plan, error) {
		return domain.Plan{}, domain.Permanent(errors.New("connect: injected plan failure"))
	})
	var logs strings.Builder
	sum, evs := f.run(t, setup{opts: idcsnapshot.Options{Planners: pl}, logTo: &logs})
	if d := cmp.Diff([]string{"reconcile " + adaKey + " for workmail"}, describeAll(evs)); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	if sum.ReconcileErrors != 6 || sum.Outcome != domain.OutcomeSnapshot {
		t.Errorf("summary %+v, want 6 reconcile errors (one per managed person) and a run that succeeded", sum)
	}
	if n := strings.Count(logs.String(), "injected plan failure"); n != 6 {
		t.Errorf("%d failed plans logged, want 6", n)
	}
}
