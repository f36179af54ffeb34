package idcsnapshot_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/store"
)

// TestRunFindsJoinersLeaversAndChanges follows a deployment through three
// runs: the first finds everyone (joiners), the second finds what changed in
// Identity Center after the first run's events were consumed, the third
// finds nothing.
func TestRunFindsJoinersLeaversAndChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 1})
	f.seedTestdata(t)
	ctx := testenv.Context(t)
	snap := f.snapshotter(t, setup{})

	// Run 1: everyone in a mapped group is a joiner (one observed event
	// each); gil is in none.
	sum1, err := snap.Run(ctx)
	if err != nil {
		t.Fatalf("run 1: %v", err)
	}
	events1 := f.drain(t)
	want1 := idcsnapshot.Summary{
		RunID: sum1.RunID, TakenAt: f.clock.Now(), Invocations: 1, Outcome: domain.OutcomeSnapshot, Complete: true,
		Groups: 2, Members: 6, Users: 6, ProfileRead: idcsnapshot.ReadDescribeUser,
		Joiners: 6, Events: 6, APICalls: 8,
	}
	if d := cmp.Diff(want1, sum1, ignoreDuration); d != "" {
		t.Errorf("run 1 summary (-want +got):\n%s", d)
	}
	if len(events1) != 6 {
		t.Fatalf("run 1 queued %d events, want 6:\n%s", len(events1), strings.Join(describeAll(events1), "\n"))
	}
	got1 := describeAll(events1)
	fay := f.users["fay.fixture@example.com"] // no Okta issuer: keyed by IdC user id
	for _, want := range []string{
		"observed 00u1adalovelace001 groups=" + oktaMail + "," + oktaAgents +
			" login=ada.lovelace@example.com firstName=Ada lastName=Lovelace displayName=Ada Lovelace email=ada.lovelace@example.com department=R&D title=Engineer",
		"observed 00u1cycipher000003 groups=" + oktaAgents +
			" login=cy.cipher@example.com firstName=Cy lastName=Cipher displayName=Cy C. email=cy.cipher@example.com department=Support title=",
		"observed " + fay + " groups=" + oktaAgents +
			" login=fay.fixture@example.com firstName=Fay lastName=Fixture displayName=Fay Fixture email=fay.fixture@example.com department= title=",
	} {
		if !contains(got1, want) {
			t.Errorf("run 1 lacks %q; got:\n%s", want, strings.Join(got1, "\n"))
		}
	}
	// The facts occur at TakenAt − settle window: a hook fact from within
	// the window wins over them whatever the fold order.
	occurred := f.clock.Now().Add(-time.Duration(f.cfg.Snapshot.SettleWindow))
	for _, e := range events1 {
		if e.Source != domain.SourceIdCSnapshot || !e.OccurredAt.Equal(occurred) || !e.ReceivedAt.Equal(f.clock.Now()) {
			t.Errorf("event %s: source %s, occurred %v, received %v; want idc-snapshot at TakenAt − window, received at TakenAt",
				describe(e), e.Source, e.OccurredAt, e.ReceivedAt)
		}
		if e.Subject.IdCUserID == "" {
			t.Errorf("event %s carries no IdC user id", describe(e))
		}
	}
	f.fold(t, events1)

	// Identity Center changes: a joiner, a leaver, a mover, a profile change.
	f.addUser(t, simidentitystore.User{
		UserName: "gus.new@example.com", GivenName: "Gus", FamilyName: "New", Email: "gus.new@example.com",
		ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: "00u1gusnew00000008"}},
	}, "mail")
	f.leave(t, "bob.byte@example.com", "mail")
	f.leave(t, "eve.echo@example.com", "agents")
	dee := f.seeded["dee.delta@example.com"]
	dee.Title = "Team lead"
	if err := f.sim.ReplaceUser(f.storeID, f.users[dee.UserName], dee); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(15 * time.Minute)

	// Run 2: exactly those changes.
	sum2, err := snap.Run(ctx)
	if err != nil {
		t.Fatalf("run 2: %v", err)
	}
	events2 := f.drain(t)
	want2 := []string{
		"member-removed 00u1bobbyte0000002 " + oktaMail,
		"member-removed 00u1eveecho0000005 " + oktaAgents,
		"observed 00u1gusnew00000008 groups=" + oktaMail +
			" login=gus.new@example.com firstName=Gus lastName=New displayName=Gus New email=gus.new@example.com department= title=",
		"profile-changed 00u1deedelta000004 title=Team lead",
	}
	if d := cmp.Diff(want2, describeAll(events2)); d != "" {
		t.Errorf("run 2 events (-want +got):\n%s", d)
	}
	if sum2.Joiners != 1 || sum2.Leavers != 1 || sum2.Changes != 2 || sum2.Removals != 2 || sum2.Events != 4 || !sum2.Complete {
		t.Errorf("run 2 summary = %+v, want 1 joiner, 1 leaver, 2 changes, 2 removals, 4 events, complete", sum2)
	}
	if got := f.records(t); contains(got, "00u1bobbyte0000002") || !contains(got, "00u1gusnew00000008") || len(got) != 6 {
		t.Errorf("snapshot records after run 2 = %v, want 6 without bob and with gus", got)
	}
	f.fold(t, events2)
	f.clock.Advance(15 * time.Minute)

	// Run 3: nothing changed.
	sum3, err := snap.Run(ctx)
	if err != nil {
		t.Fatalf("run 3: %v", err)
	}
	if events3 := f.drain(t); len(events3) != 0 || sum3.Events != 0 || sum3.Joiners+sum3.Leavers+sum3.Changes != 0 {
		t.Errorf("steady-state run emitted %v (summary %+v)", describeAll(events3), sum3)
	}

	// The ledger has one summary row per run, with the counts.
	rows := f.runRows(t)
	if len(rows) != 3 {
		t.Fatalf("ledger has %d system rows, want 3: %+v", len(rows), rows)
	}
	row := rows[1]
	wantDetail := map[string]string{
		"runId": sum2.RunID, "takenAt": sum2.TakenAt.Format(time.RFC3339Nano), "complete": "true",
		"groups": "2", "members": "6", "users": "6", "profileRead": "describe-user",
		"joiners": "1", "leavers": "1", "changes": "2", "removals": "2", "suppressedRemovals": "false",
		"withheld": "0", "conflicts": "0", "reconciled": "0", "reconcileWithheld": "0", "reconcileErrors": "0", "inFlight": "0",
		"events": "4", "apiCalls": fmt.Sprint(sum2.APICalls), "throttled": "0",
		"durationMs": fmt.Sprint(sum2.Duration.Milliseconds()), "readErrors": "0",
	}
	if row.ID != sum2.RunID || row.Outcome != domain.OutcomeSnapshot || row.Source != domain.SourceIdCSnapshot {
		t.Errorf("run 2 row = %+v, want id %s, outcome snapshot-run, source idc-snapshot", row, sum2.RunID)
	}
	if d := cmp.Diff(wantDetail, row.Detail); d != "" {
		t.Errorf("run 2 row detail (-want +got):\n%s", d)
	}

	// One EMF record per run.
	lines := f.metricLines(t)
	if len(lines) != 3 {
		t.Fatalf("%d EMF lines, want 3", len(lines))
	}
	for name, want := range map[string]float64{"Joiners": 1, "Leavers": 1, "Changes": 2, "Incomplete": 0, "APICalls": float64(sum2.APICalls)} {
		if got := lines[1][name]; got != want {
			t.Errorf("run 2 metric %s = %v, want %v", name, got, want)
		}
	}
}

var ignoreDuration = cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Duration" }, cmp.Ignore())

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestFailedPageWithholdsThatGroupsRemovalsOnly: a 5xx on the second
// membership page of the mail group (through every SDK attempt) leaves
// that group unread: its real leaver is not removed, and the summary row,
// a log line and the UnreadGroups metric name the group. The agents group
// was read: its joiner is queued and its leaver removed. The next complete
// run catches up.
func TestFailedPageWithholdsThatGroupsRemovalsOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 2, NoQuota: true})
	for i := range 150 {
		f.addUser(t, genUser(i), "mail")
	}
	f.addUser(t, genUser(500), "agents")
	f.baseline(t)
	recordsBefore := len(f.records(t))

	mailGroup := f.groups["mail"]
	f.rec.setFail(func(op string, body []byte) bool {
		return op == "ListGroupMemberships" && bytes.Contains(body, []byte(mailGroup)) && bytes.Contains(body, []byte(`"NextToken"`))
	})
	f.addUser(t, simidentitystore.User{
		UserName: "new.joiner@example.com", GivenName: "New", FamilyName: "Joiner",
		ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: "00u1newjoiner00009"}},
	}, "agents")
	f.leave(t, genUser(3).UserName, "mail")     // a real leaver of the unread group, on its first page
	f.leave(t, genUser(500).UserName, "agents") // a real leaver of the read group

	// The page keeps failing through all three SDK attempts. (More than one
	// attempt: the SDK also retries a connection the transport closed under
	// a response, which a single attempt would turn into a second failure.)
	sum, err := f.snapshotter(t, setup{attempts: 3}).Run(testenv.Context(t))
	if err != nil {
		t.Fatalf("incomplete run returned %v, want nil", err)
	}
	if f.rec.failures() != 3 {
		t.Fatalf("injected %d failures, want 3 (one per attempt)", f.rec.failures())
	}
	queued := f.drain(t)
	want := []string{
		"member-removed 00u1gen00000000500 " + oktaAgents,
		"observed 00u1newjoiner00009 groups=" + oktaAgents +
			" login=new.joiner@example.com firstName=New lastName=Joiner displayName=New Joiner email= department= title=",
	}
	if d := cmp.Diff(want, describeAll(queued)); d != "" {
		t.Errorf("incomplete run events (-want +got):\n%s", d)
	}
	if sum.Complete || sum.RemovalsSuppressed || sum.ReadErrors != 1 || sum.Removals != 1 || sum.Withheld != 150 ||
		len(sum.UnreadGroups) != 1 || !strings.HasPrefix(sum.UnreadGroups[0], mailGroup+": page 2:") || sum.Outcome != domain.OutcomeSnapshot {
		t.Errorf("summary = %+v, want incomplete, the mail group unread, its 150 members withheld, 1 removal (agents), outcome snapshot-run", sum)
	}
	rows := f.runRows(t)
	row := rows[len(rows)-1]
	if row.Detail["complete"] != "false" || row.Detail["withheld"] != "150" || !strings.HasPrefix(row.Detail["unreadGroups"], mailGroup+": page 2") ||
		!strings.Contains(row.Detail["error"], "page 2") || !strings.Contains(row.Reason, "incomplete") {
		t.Errorf("summary row = %+v, want complete=false, the unread mail group, withheld=150, the page-2 error and an incomplete reason", row)
	}
	if got := len(f.records(t)); got != recordsBefore {
		t.Errorf("incomplete run changed the snapshot records: %d, want %d", got, recordsBefore)
	}
	if m := f.metricLines(t); m[len(m)-1]["Incomplete"] != 1.0 || m[len(m)-1]["UnreadGroups"] != 1.0 {
		t.Errorf("metrics Incomplete %v, UnreadGroups %v; want 1 and 1", m[len(m)-1]["Incomplete"], m[len(m)-1]["UnreadGroups"])
	}

	// The fault clears: the next run is complete and removes the real leaver.
	f.fold(t, queued)
	f.rec.setFail(nil)
	f.clock.Advance(15 * time.Minute)
	sum, err = f.snapshotter(t, setup{attempts: 3}).Run(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"member-removed 00u1gen00000000003 " + oktaMail}
	if d := cmp.Diff(want, describeAll(f.drain(t))); d != "" || !sum.Complete {
		t.Errorf("recovery run (complete %v) events (-want +got):\n%s", sum.Complete, d)
	}
}

// TestRemovalCapRefusesRun: a run that would remove more people than the cap
// allows queues nothing at all (not even its joiner), records why, and
// emits RemovalCapTripped.
func TestRemovalCapRefusesRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 3})
	f.cfg.Snapshot.RemovalCap = domain.RemovalCap{Max: 1, MaxPercent: 100}
	f.seedTestdata(t)
	f.baseline(t)
	recordsBefore := f.records(t)

	f.leave(t, "bob.byte@example.com", "mail")
	f.leave(t, "cy.cipher@example.com", "agents")
	f.addUser(t, simidentitystore.User{
		UserName: "hal.late@example.com", GivenName: "Hal", FamilyName: "Late",
		ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: "00u1hallate0000010"}},
	}, "mail")

	sum, err := f.snapshotter(t, setup{}).Run(testenv.Context(t))
	var capErr *domain.RemovalCapError
	if !errors.Is(err, domain.ErrRemovalCapExceeded) || !errors.As(err, &capErr) {
		t.Fatalf("run error = %v, want a *domain.RemovalCapError", err)
	}
	if capErr.Removals != 2 || capErr.Members != 6 {
		t.Errorf("cap error = %+v, want 2 removals of 6 members", capErr)
	}
	if queued := f.drain(t); len(queued) != 0 {
		t.Errorf("refused run queued %v", describeAll(queued))
	}
	if sum.Outcome != domain.OutcomeFailed || sum.Events != 0 {
		t.Errorf("summary = %+v, want outcome failed and no events", sum)
	}
	rows := f.runRows(t)
	row := rows[len(rows)-1]
	if row.Outcome != domain.OutcomeFailed || row.Reason != capErr.Error() || row.Detail["error"] != capErr.Error() {
		t.Errorf("summary row = %+v, want outcome failed with reason %q", row, capErr.Error())
	}
	if d := cmp.Diff(recordsBefore, f.records(t)); d != "" {
		t.Errorf("refused run changed the snapshot records (-before +after):\n%s", d)
	}
	m := f.metricLines(t)
	if last := m[len(m)-1]; last["RemovalCapTripped"] != 1.0 || last["RunFailed"] != 1.0 {
		t.Errorf("metrics = %v, want RemovalCapTripped 1 and RunFailed 1", last)
	}
}

// TestSettleWindowSparesRecentHookFacts: a hook removal folded 10 s before
// a run, which Identity Center (behind by the SCIM push) does not show yet,
// is not undone by that run under the configured snapshot.settleWindow;
// with no window the stale read re-adds the person.
func TestSettleWindowSparesRecentHookFacts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 4})
	f.seedTestdata(t)
	f.baseline(t)
	if w := time.Duration(f.cfg.Snapshot.SettleWindow); w != domain.DefaultSettleWindow {
		t.Fatalf("config settle window %v, want the default %v", w, domain.DefaultSettleWindow)
	}

	agents, ok := f.cfg.ResolveGroup(domain.GroupRef{OktaID: strings.TrimPrefix(oktaAgents, "okta:")})
	if !ok {
		t.Fatal("agents group not configured")
	}
	ada := domain.Subject{OktaID: "00u1adalovelace001", Login: "ada.lovelace@example.com"}
	at := f.clock.Now().Add(-10 * time.Second)
	f.fold(t, []domain.Event{{
		ID:     domain.NewEventID(domain.SourceOktaHook, "hook-ada-leaves-agents", ada.Key(), at),
		Source: domain.SourceOktaHook, SourceEventID: "hook-ada-leaves-agents", Kind: domain.KindMemberRemoved,
		Subject: ada, Group: &agents, OccurredAt: at, ReceivedAt: at.Add(time.Second),
	}})

	sum, err := f.snapshotter(t, setup{}).Run(testenv.Context(t))
	if err != nil {
		t.Fatalf("run within the window: %v", err)
	}
	if got := f.drain(t); len(got) != 0 || sum.Events != 0 {
		t.Errorf("run within the settle window queued %v, want nothing", describeAll(got))
	}

	f.clock.Advance(time.Second)
	noWindow := f.cfg
	noWindow.Snapshot.SettleWindow = 0
	if _, err := f.snapshotter(t, setup{cfg: &noWindow}).Run(testenv.Context(t)); err != nil {
		t.Fatalf("run without a window: %v", err)
	}
	if d := cmp.Diff([]string{"member-added 00u1adalovelace001 " + oktaAgents}, describeAll(f.drain(t))); d != "" {
		t.Errorf("run without a settle window (-want +got):\n%s", d)
	}
}

// TestHeldLeaseRefusesRun: while another run holds the lease a run reads
// nothing and queues nothing; once the lease expires, or is released, runs
// proceed.
func TestHeldLeaseRefusesRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 4})
	f.seedTestdata(t)
	ctx := testenv.Context(t)
	snap := f.snapshotter(t, setup{})

	other, err := f.st.AcquireLease(ctx, idcsnapshot.DefaultLeaseName, "other-run", idcsnapshot.DefaultLeaseDuration)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := snap.Run(ctx)
	var held *store.LeaseHeldError
	if !errors.Is(err, store.ErrLeaseHeld) || !errors.As(err, &held) {
		t.Fatalf("run under a held lease: %v, want ErrLeaseHeld", err)
	}
	if held.Owner != "other-run" || !held.ExpiresAt.Equal(other.ExpiresAt) {
		t.Errorf("held by %q until %v, want other-run until %v", held.Owner, held.ExpiresAt, other.ExpiresAt)
	}
	if n, _, _ := simCalls(f.sim); n != 0 {
		t.Errorf("a refused run sent %d Identity Store requests", n)
	}
	if queued := f.drain(t); len(queued) != 0 {
		t.Errorf("a refused run queued %d events", len(queued))
	}
	// The Lambda handler treats a held lease as success: the holder does
	// the work.
	if err := snap.Handle(ctx, events.CloudWatchEvent{}); err != nil {
		t.Errorf("handler under a held lease: %v, want nil", err)
	}
	rows := f.runRows(t)
	if len(rows) != 2 || rows[0].Outcome != domain.OutcomeSkipped || rows[0].ID != sum.RunID || !strings.Contains(rows[0].Reason, "other-run") {
		t.Errorf("ledger rows = %+v, want two skipped rows, the first naming the holder", rows)
	}

	// The holder's lease runs out: the next run takes it over.
	f.clock.Advance(idcsnapshot.DefaultLeaseDuration + time.Second)
	if _, err := snap.Run(ctx); err != nil {
		t.Fatalf("run after the lease expired: %v", err)
	}
	if len(f.drain(t)) == 0 {
		t.Error("run after the lease expired queued nothing")
	}
	// The run released it: another run at the same instant proceeds, and
	// the stale holder cannot release what is no longer theirs.
	if _, err := snap.Run(ctx); err != nil {
		t.Fatalf("run after a released lease: %v", err)
	}
	if err := f.st.ReleaseLease(ctx, idcsnapshot.DefaultLeaseName, "other-run", 0); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("release by a former holder = %v, want ErrLeaseLost", err)
	}
}

// TestConcurrentRunsDoNotOverlap: of two runs started together exactly one
// proceeds (requests are slowed so that the first is still running when
// the second asks for the lease).
func TestConcurrentRunsDoNotOverlap(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 5})
	f.seedTestdata(t)
	f.sim.Control().SetFaults(simkit.EachOp, simkit.Faults{Latency: 100 * time.Millisecond})
	ctx := testenv.Context(t)
	a, b := f.snapshotter(t, setup{}), f.snapshotter(t, setup{})
	errs := make(chan error, 2)
	start := make(chan struct{})
	for _, s := range []*idcsnapshot.Snapshotter{a, b} {
		go func() {
			<-start
			_, err := s.Run(ctx)
			errs <- err
		}()
	}
	close(start)
	var ok, refused int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrLeaseHeld):
			refused++
		default:
			t.Errorf("run: %v", err)
		}
	}
	if ok != 1 || refused != 1 {
		t.Errorf("%d runs proceeded and %d were refused, want 1 and 1", ok, refused)
	}
	if got := len(f.drain(t)); got != 6 {
		t.Errorf("queued %d events, want the one run's 6", got)
	}
}
