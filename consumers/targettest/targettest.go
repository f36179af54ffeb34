// Package targettest is the behaviour every consumers.Target must show,
// written once: a target's tests implement Harness over the target's
// stand-in, reached through the real SDK client, and call Run.
//
// The cases: a joiner gets exactly one enabled account with the planned
// attributes; the same fact again (re-planned from the committed state)
// plans nothing and writes nothing; a profile change updates the account in
// place; a leaver meets the configured leave policy; a rejoiner gets the
// same account back, or a new one when leaving deleted it, never two live
// ones; a lost commit (Execute succeeded, the state was never committed)
// is retried from the state the store still holds, the create intent the
// runner records first (consumers.Intent), and adopts the account; a login
// renamed between such a crash (after the create, or after the whole plan)
// and its retry still ends in that one account, adopted and keeping its
// name; an account idsync does not manage holding the planned name fails
// the create permanently and is left untouched. A retry may fail
// retryably while the target's reads lag its writes (an eventually
// consistent search), but never makes a second account; after
// Harness.CatchUp it must adopt.
package targettest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
)

// Harness is one target under test over a stand-in of its own. Run asks
// for a new one for every case, so each case starts from an empty
// stand-in.
type Harness interface {
	// Target is the target under test.
	Target() consumers.Target
	// Entitle returns p with its membership of a group that entitles it to
	// an account under the harness's configuration set to in, as a fact of
	// time at.
	Entitle(p domain.Person, in bool, at time.Time) domain.Person
	// Accounts returns the stand-in's live accounts (those not deleted),
	// idsync's and others', keyed by remote id and read back as target
	// states: RemoteID, Status (enabled or disabled, as idsync means it),
	// Name and the attributes the target manages. Target, Managed, Version
	// and DisabledAt are not compared.
	Accounts(t *testing.T) map[string]domain.TargetState
	// Writes is the number of write requests the stand-in has served.
	Writes() int64
	// SeedUnmanaged makes an account idsync does not manage (no mark of
	// idsync's, enabled, with other attributes) holding name, and returns
	// its id.
	SeedUnmanaged(t *testing.T, name string) string
	// LeftStatus is the status the configured leave policy leaves an
	// account in right after the leave: domain.RemoteDisabled (kept, and
	// enabled again on rejoin) or domain.RemoteDeleted (removed; a rejoin
	// gets a new account).
	LeftStatus() domain.RemoteStatus
	// CatchUp lets time pass until the stand-in's eventually consistent
	// reads (a search index that lags writes) show every write made so far,
	// as a redelivery some time later would find them. A stand-in whose
	// reads see writes at once does nothing.
	CatchUp(t *testing.T)
}

// Membership returns p with its membership of the group whose key
// (domain.GroupRef.Key) is key set to in, as a fact of time at; p's group
// map is copied, not changed. It is the body of a usual Entitle.
func Membership(p domain.Person, key string, in bool, at time.Time) domain.Person {
	p.Groups = maps.Clone(p.Groups)
	if p.Groups == nil {
		p.Groups = map[string]domain.Membership{}
	}
	p.Groups[key] = domain.Membership{Member: in, At: at, By: "targettest-" + at.Format(time.RFC3339)}
	return p
}

// Run runs every case against harnesses from newHarness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"lifecycle", lifecycle},
		{"lost commit", lostCommit},
		{"login renamed between a crash after the create and the retry", func(t *testing.T, h Harness) { renamedBeforeRetry(t, h, false) }},
		{"login renamed between a crash after the whole plan and the retry", func(t *testing.T, h Harness) { renamedBeforeRetry(t, h, true) }},
		{"unmanaged account holding the name", unmanagedClash},
		{"leaver whose create's commit was lost", leftAfterLostCommit},
		{"leaver whose create intent made nothing", leftBeforeCreate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newHarness(t)) })
	}
}

// t0 is when the cases' first fact happened; fact n happens n minutes
// later.
var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// person is an active person with immutable ids and a login, entitled to
// nothing yet.
func person() domain.Person {
	stamp := func(v string) domain.Stamped { return domain.Stamped{Value: v, At: t0, By: "targettest-0"} }
	return domain.Person{
		Key: "00utargettest0000001", OktaID: "00utargettest0000001",
		IdCUserID: "9067c53e4f-7e570001-0000-4000-8000-000000000001",
		Login:     stamp("pat.lee@example.com"), Email: stamp("pat.lee@example.com"),
		FirstName: stamp("Pat"), LastName: stamp("Lee"), DisplayName: stamp("Pat Lee"),
		Status: stamp(string(domain.StatusActive)),
		Groups: map[string]domain.Membership{},
	}
}

// restamp sets one profile field as a fact of time n.
func restamp(f *domain.Stamped, v string, n int) {
	*f = domain.Stamped{Value: v, At: at(n), By: fmt.Sprintf("targettest-%d", n)}
}

// ticking is Execute's clock: one second per reading.
func ticking() func() time.Time {
	now := t0
	return func() time.Time {
		now = now.Add(time.Second)
		return now
	}
}

// sync plans p from last and executes the plan, as a consumer does between
// its fold and its commit.
func sync(t *testing.T, h Harness, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, domain.TargetState, []consumers.OpResult, error) {
	t.Helper()
	plan, err := h.Target().Plan(context.Background(), p, last, now)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	next, results, err := consumers.Execute(context.Background(), h.Target(), p, last, plan, ticking())
	if len(results) > len(plan.Ops) {
		t.Fatalf("%d results for %d ops", len(results), len(plan.Ops))
	}
	return plan, next, results, err
}

// commit runs sync and fails the test unless every op was applied.
func commit(t *testing.T, h Harness, p domain.Person, last domain.TargetState, now time.Time) domain.TargetState {
	t.Helper()
	plan, next, results, err := sync(t, h, p, last, now)
	if err != nil {
		t.Fatalf("Execute: %v (results %+v)", err, results)
	}
	if len(plan.Ops) == 0 || len(results) != len(plan.Ops) {
		t.Fatalf("%d results for ops %v, want one per op and at least one", len(results), kinds(plan.Ops))
	}
	for _, r := range results {
		if r.Outcome != domain.OutcomeApplied || r.Latency != time.Second {
			t.Errorf("result %+v, want applied in one clock tick", r)
		}
	}
	return next
}

func kinds(ops []domain.Op) []domain.OpKind {
	var out []domain.OpKind
	for _, op := range ops {
		out = append(out, op.Kind)
	}
	return out
}

// account is what a stand-in's account and idsync's committed state are
// compared on (TargetState's own Equal would also compare what a read-back
// cannot know: Target, Managed, DisabledAt).
type account struct {
	RemoteID, Name, Email, DisplayName, FirstName, LastName string
	Status                                                  domain.RemoteStatus
	SecurityProfileIDs                                      []string
	RoutingProfileID, HierarchyGroupID                      string
}

func view(s domain.TargetState) account {
	ids := slices.Clone(s.SecurityProfileIDs)
	slices.Sort(ids)
	return account{RemoteID: s.RemoteID, Name: s.Name, Email: s.Email, DisplayName: s.DisplayName,
		FirstName: s.FirstName, LastName: s.LastName, Status: s.Status, SecurityProfileIDs: ids,
		RoutingProfileID: s.RoutingProfileID, HierarchyGroupID: s.HierarchyGroupID}
}

// holds checks that state describes the stand-in's only live account (none
// when state says deleted).
func holds(t *testing.T, h Harness, state domain.TargetState) {
	t.Helper()
	live := h.Accounts(t)
	if state.Status == domain.RemoteDeleted {
		if len(live) != 0 {
			t.Fatalf("state %+v says deleted, but the stand-in holds %+v", state, live)
		}
		return
	}
	if len(live) != 1 {
		t.Fatalf("%d live accounts, want exactly 1: %+v", len(live), live)
	}
	got, ok := live[state.RemoteID]
	if !ok || state.RemoteID == "" {
		t.Fatalf("state's account %q is not the live one: %+v", state.RemoteID, live)
	}
	if diff := cmp.Diff(view(state), view(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("the account differs from the committed state (-state +account):\n%s", diff)
	}
}

// settled checks that the same facts again plan nothing and that running
// that plan writes nothing.
func settled(t *testing.T, h Harness, p domain.Person, state domain.TargetState, now time.Time) {
	t.Helper()
	before := h.Writes()
	plan, next, results, err := sync(t, h, p, state, now)
	if err != nil || len(plan.Ops) != 0 || len(results) != 0 {
		t.Fatalf("re-plan: ops %v, results %+v, err %v; want nothing to do", kinds(plan.Ops), results, err)
	}
	if diff := cmp.Diff(state, next); diff != "" {
		t.Errorf("an empty plan moved the state (-committed +next):\n%s", diff)
	}
	if n := h.Writes() - before; n != 0 {
		t.Errorf("%d write requests for an empty plan", n)
	}
}

// lifecycle: join, the same fact again, profile change, leave, rejoin.
func lifecycle(t *testing.T, h Harness) {
	p := person()
	var state domain.TargetState
	var joinedID string
	steps := []struct {
		name   string
		change func(p domain.Person) domain.Person
		check  func(t *testing.T, before, after domain.TargetState)
	}{
		{"joiner: one enabled account with the planned attributes", func(p domain.Person) domain.Person {
			return h.Entitle(p, true, at(1))
		}, func(t *testing.T, _, after domain.TargetState) {
			if after.Status != domain.RemoteEnabled || !after.Managed {
				t.Errorf("state %+v, want managed and enabled", after)
			}
			joinedID = after.RemoteID
		}},
		{"profile change: updated in place", func(p domain.Person) domain.Person {
			restamp(&p.LastName, "Lee-Smith", 2)
			restamp(&p.DisplayName, "Pat Lee-Smith", 2)
			return p
		}, func(t *testing.T, before, after domain.TargetState) {
			if after.RemoteID != before.RemoteID || after.LastName != "Lee-Smith" {
				t.Errorf("state %+v, want %s with the new last name", after, before.RemoteID)
			}
		}},
		{"leaver: the leave policy", func(p domain.Person) domain.Person {
			return h.Entitle(p, false, at(3))
		}, func(t *testing.T, before, after domain.TargetState) {
			if after.Status != h.LeftStatus() {
				t.Errorf("status %q, want %q", after.Status, h.LeftStatus())
			}
			if after.Status == domain.RemoteDisabled && after.RemoteID != before.RemoteID {
				t.Errorf("RemoteID %q, want the same account %q kept", after.RemoteID, before.RemoteID)
			}
		}},
		{"rejoin: the same account unless it was deleted", func(p domain.Person) domain.Person {
			return h.Entitle(p, true, at(4))
		}, func(t *testing.T, _, after domain.TargetState) {
			if after.Status != domain.RemoteEnabled {
				t.Errorf("status %q, want enabled", after.Status)
			}
			if same := after.RemoteID == joinedID; same != (h.LeftStatus() == domain.RemoteDisabled) {
				t.Errorf("RemoteID %q after leaving %s (joined as %q)", after.RemoteID, h.LeftStatus(), joinedID)
			}
		}},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			p = s.change(p)
			before := state
			state = commit(t, h, p, state, at(i+1))
			s.check(t, before, state)
			holds(t, h, state)
			settled(t, h, p, state, at(i+1))
		})
	}
}

// joiner is a person who has just joined a group entitling them to an
// account (a fact at at(1)), and their plan from no state, which must
// start with a create.
func joiner(t *testing.T, h Harness) (domain.Person, domain.Plan) {
	t.Helper()
	p := h.Entitle(person(), true, at(1))
	plan, err := h.Target().Plan(context.Background(), p, domain.TargetState{}, at(1))
	if err != nil || len(plan.Ops) == 0 || plan.Ops[0].Kind != domain.OpCreate {
		t.Fatalf("plan %v, %v; want a create", kinds(plan.Ops), err)
	}
	return p, plan
}

// crashed runs plan from no state as the runner does, the create intent
// stored first (consumers.Intent), and fails the test unless it succeeds;
// the returned held is what the store still holds when the commit is then
// lost, made the state the lost commit would have written.
func crashed(t *testing.T, h Harness, p domain.Person, plan domain.Plan, now time.Time) (held, made domain.TargetState) {
	t.Helper()
	held, ok := consumers.Intent(h.Target().Name(), domain.TargetState{}, plan, now)
	if !ok || held.PendingName == "" {
		t.Fatalf("plan %v records no create intent", kinds(plan.Ops))
	}
	made, results, err := consumers.Execute(context.Background(), h.Target(), p, held, plan, ticking())
	if err != nil || made.RemoteID == "" {
		t.Fatalf("first attempt: %+v, %v (results %+v)", made, err, results)
	}
	return held, made
}

// retried plans p from held and executes the plan, as the redelivery after
// a lost commit does. A retryable failure (the target's reads may not show
// the account yet) must leave the accounts as they were; the retry then
// comes again after h.CatchUp, and must succeed. It returns the retry's
// plan, the state reached and its results.
func retried(t *testing.T, h Harness, p domain.Person, held domain.TargetState, now time.Time) (domain.Plan, domain.TargetState, []consumers.OpResult) {
	t.Helper()
	before := h.Accounts(t)
	plan, state, results, err := sync(t, h, p, held, now)
	if err != nil && domain.KindOf(err) == domain.ErrorRetryable {
		if diff := cmp.Diff(before, h.Accounts(t)); diff != "" {
			t.Fatalf("a retry that failed (%v) changed accounts (-before +after):\n%s", err, diff)
		}
		h.CatchUp(t)
		plan, state, results, err = sync(t, h, p, held, now)
	}
	if err != nil {
		t.Fatalf("retry: %v (%s), results %+v; want the account adopted", err, domain.KindOf(err), results)
	}
	if len(plan.Ops) == 0 || plan.Ops[0].Kind != domain.OpCreate {
		t.Fatalf("retry plan %v, want a create first", kinds(plan.Ops))
	}
	return plan, state, results
}

// lostCommit: Execute succeeded but its state was never committed; the
// retry plans from the held state (the create intent) again and adopts the
// account.
func lostCommit(t *testing.T, h Harness) {
	p, plan := joiner(t, h)
	held, lost := crashed(t, h, p, plan, at(1))
	_, state, results := retried(t, h, p, held, at(1))
	if !results[0].Adopted || results[0].RemoteID != lost.RemoteID || state.RemoteID != lost.RemoteID {
		t.Errorf("retry create %+v, state %s; want %s adopted", results[0], state.RemoteID, lost.RemoteID)
	}
	if state.PendingName != "" || !state.PendingAt.IsZero() {
		t.Errorf("state %+v keeps the create intent", state)
	}
	holds(t, h, state)
	settled(t, h, p, state, at(1))
}

// renamedBeforeRetry: the person's login (and so the name a plan would
// render) changes between a crash and the retry. The crash came after the
// plan's create (whole: after the whole plan). The retry plans its create
// under the name of the intent the store holds, not the new one, and the
// account made before the crash stays the only one: adopted, keeping its
// name, and brought to the new facts.
func renamedBeforeRetry(t *testing.T, h Harness, whole bool) {
	p, plan := joiner(t, h)
	if !whole {
		plan.Ops = plan.Ops[:1]
	}
	held, made := crashed(t, h, p, plan, at(1))

	restamp(&p.Login, "pat.smith@example.com", 2)
	restamp(&p.Email, "pat.smith@example.com", 2)
	restamp(&p.LastName, "Smith", 2)
	restamp(&p.DisplayName, "Pat Smith", 2)
	if fresh, err := h.Target().Plan(context.Background(), p, domain.TargetState{}, at(2)); err != nil ||
		len(fresh.Ops) == 0 || strings.EqualFold(fresh.Ops[0].Name, made.Name) {
		t.Fatalf("without an intent the renamed person plans %+v, %v; want a create under a new name (was %q)", fresh.Ops, err, made.Name)
	}
	retry, state, results := retried(t, h, p, held, at(2))
	if !strings.EqualFold(retry.Ops[0].Name, made.Name) {
		t.Errorf("retry create under %q, want the pinned name %q", retry.Ops[0].Name, made.Name)
	}
	if !results[0].Adopted || state.RemoteID != made.RemoteID || state.Name != made.Name {
		t.Fatalf("retry create %+v, state %+v; want %s adopted, keeping its name %q", results[0], state, made.RemoteID, made.Name)
	}
	if state.LastName != "Smith" {
		t.Errorf("state %+v, want the new last name", state)
	}
	holds(t, h, state)
	settled(t, h, p, state, at(2))
}

// unmanagedClash: an account idsync does not manage already holds the
// planned name. The create fails permanently, names the holder by id only,
// and changes nothing.
func unmanagedClash(t *testing.T, h Harness) {
	p, plan := joiner(t, h)
	holder := h.SeedUnmanaged(t, plan.Ops[0].Name)
	before := h.Accounts(t)
	state, results, err := consumers.Execute(context.Background(), h.Target(), p, domain.TargetState{}, plan, ticking())
	if domain.KindOf(err) != domain.ErrorPermanent {
		t.Fatalf("err = %v (%s), want permanent", err, domain.KindOf(err))
	}
	last := results[len(results)-1]
	if last.Outcome != domain.OutcomeFailed || last.Adopted || !strings.Contains(last.Reason, holder) || strings.Contains(last.Reason, "@") {
		t.Errorf("result %+v, want a failure naming %s and no address", last, holder)
	}
	if !cmp.Equal(state, domain.TargetState{}) {
		t.Errorf("state %+v, want none", state)
	}
	if diff := cmp.Diff(before, h.Accounts(t)); diff != "" {
		t.Errorf("accounts changed (-before +after):\n%s", diff)
	}
}

// settle plans p, a leaver, from held (a create intent) and executes the
// plan: an adopt (domain.OpAdopt). A retryable failure (the target's reads
// may not show the account yet) must change no account; the adopt then
// comes again after h.CatchUp. It returns the state reached and the
// results, and the last error (nil, or the retryable one a target keeps
// giving while its intent may still be in flight).
func settle(t *testing.T, h Harness, p domain.Person, held domain.TargetState, now time.Time) (domain.TargetState, []consumers.OpResult, error) {
	t.Helper()
	before := h.Accounts(t)
	plan, state, results, err := sync(t, h, p, held, now)
	if len(plan.Ops) != 1 || plan.Ops[0].Kind != domain.OpAdopt || !strings.EqualFold(plan.Ops[0].Name, held.PendingName) {
		t.Fatalf("a leaver's create intent plans %+v, want one adopt under the pinned name %q", plan.Ops, held.PendingName)
	}
	if err != nil && domain.KindOf(err) == domain.ErrorRetryable {
		if diff := cmp.Diff(before, h.Accounts(t)); diff != "" {
			t.Fatalf("an adopt that failed (%v) changed accounts (-before +after):\n%s", err, diff)
		}
		h.CatchUp(t)
		_, state, results, err = sync(t, h, p, held, now)
	}
	if err != nil && domain.KindOf(err) != domain.ErrorRetryable {
		t.Fatalf("adopt: %v (%s), results %+v", err, domain.KindOf(err), results)
	}
	if diff := cmp.Diff(before, h.Accounts(t)); diff != "" {
		t.Errorf("the adopt changed accounts (-before +after):\n%s", diff)
	}
	return state, results, err
}

// leftAfterLostCommit: a joiner's create succeeded but its commit was
// lost, and the person left before the retry. The account is not left
// behind unrecorded: the adopt finds it, the state records it, and the
// next plan applies the leave policy to it.
func leftAfterLostCommit(t *testing.T, h Harness) {
	p, plan := joiner(t, h)
	held, made := crashed(t, h, p, plan, at(1))
	p = h.Entitle(p, false, at(2))
	state, results, err := settle(t, h, p, held, at(2))
	if err != nil {
		t.Fatalf("adopt of the account the lost create made: %v (results %+v)", err, results)
	}
	if !results[0].Adopted || state.RemoteID != made.RemoteID || !state.Managed || state.PendingName != "" {
		t.Fatalf("adopt %+v, state %+v; want %s adopted, managed, without the intent", results[0], state, made.RemoteID)
	}
	holds(t, h, state)
	left := commit(t, h, p, state, at(2))
	if left.Status != h.LeftStatus() {
		t.Errorf("after the adopt the leave policy left status %q, want %q", left.Status, h.LeftStatus())
	}
	if left.Status == domain.RemoteDeleted {
		if n := len(h.Accounts(t)); n != 0 {
			t.Errorf("%d accounts after the delete", n)
		}
	} else {
		holds(t, h, left)
	}
	settled(t, h, p, left, at(2))
}

// leftBeforeCreate: a joiner's create intent was recorded, but the
// consumer stopped before the create, and the person left. The adopt finds
// nothing and creates nothing; once the target's reads can be trusted the
// intent is cleared and the person, managed nowhere, plans nothing more.
func leftBeforeCreate(t *testing.T, h Harness) {
	p, plan := joiner(t, h)
	held, ok := consumers.Intent(h.Target().Name(), domain.TargetState{}, plan, at(1))
	if !ok {
		t.Fatalf("plan %v records no create intent", kinds(plan.Ops))
	}
	p = h.Entitle(p, false, at(2))
	writes := h.Writes()
	state, results, err := settle(t, h, p, held, at(2))
	if n := h.Writes() - writes; n != 0 {
		t.Errorf("%d write requests for an adopt that found nothing", n)
	}
	if n := len(h.Accounts(t)); n != 0 {
		t.Fatalf("%d accounts, want none", n)
	}
	if err != nil {
		return // the target keeps the intent while its reads may lag the create
	}
	if state.Managed || state.PendingName != "" || state.RemoteID != "" || len(results) != 1 || results[0].Adopted {
		t.Fatalf("state %+v, results %+v; want the intent cleared, nothing adopted", state, results)
	}
	settled(t, h, p, state, at(2))
}
