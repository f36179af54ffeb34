package connect_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simconnect"
)

// agentWant is what the stand-in should hold for the person's agent;
// profile fields name placeholders of env.ids.
type agentWant struct {
	username, first, last, email string
	sps                          []string
	rp, hg                       string
}

func (e *env) checkAgent(t *testing.T, key string, st domain.TargetState, want *agentWant) simconnect.User {
	t.Helper()
	u, ok := e.user(t, key)
	if want == nil {
		if ok {
			t.Fatalf("user %s (%s) still exists, want none", u.ID, u.Username)
		}
		return u
	}
	if !ok {
		t.Fatalf("no user tagged for %s", key)
	}
	var sps []string
	for _, n := range want.sps {
		sps = append(sps, e.ids[n])
	}
	got := agentWant{u.Username, u.FirstName, u.LastName, u.Email, u.SecurityProfileIDs, u.RoutingProfileID, u.HierarchyGroupID}
	exp := agentWant{want.username, want.first, want.last, want.email, sps, e.ids[want.rp], e.ids[want.hg]}
	slices.Sort(got.sps)
	slices.Sort(exp.sps)
	if diff := cmp.Diff(exp, got, cmp.AllowUnexported(agentWant{})); diff != "" {
		t.Fatalf("agent (-want +got):\n%s", diff)
	}
	if u.PhoneType != "SOFT_PHONE" || u.AutoAccept || u.AfterContactWorkTimeLimit != 0 {
		t.Errorf("phone config = %s autoAccept=%v acw=%d, want SOFT_PHONE false 0", u.PhoneType, u.AutoAccept, u.AfterContactWorkTimeLimit)
	}
	if st.RemoteID != u.ID {
		t.Errorf("state RemoteID = %q, want the user's id %q", st.RemoteID, u.ID)
	}
	if !st.Managed {
		t.Error("state not Managed")
	}
	return u
}

// step is one fact about jane and what it must lead to.
type step struct {
	name    string
	change  func(p domain.Person) domain.Person
	ops     []domain.OpKind
	status  domain.RemoteStatus
	want    *agentWant
	sameID  bool // the agent keeps the id it had before this step
	results func(t *testing.T, st domain.TargetState)
}

// runSteps drives jane through steps with a, asserting after each one the
// plan's ops, the stand-in's agent, the state, and that a re-plan is empty
// and writes nothing.
func runSteps(t *testing.T, e *env, a *connect.Applier, steps []step) {
	ctx := context.Background()
	p := jane(t)
	var st domain.TargetState
	var prevID string
	for _, s := range steps {
		p = s.change(p)
		plan, err := a.Plan(ctx, p, st, e.now)
		if err != nil {
			t.Fatalf("%s: Plan: %v", s.name, err)
		}
		if diff := cmp.Diff(s.ops, kinds(plan)); diff != "" {
			t.Fatalf("%s: plan ops (-want +got):\n%s", s.name, diff)
		}
		next, rs, err := consumers.Execute(ctx, a, p, st, plan, nil)
		if err != nil {
			t.Fatalf("%s: Apply: %v", s.name, err)
		}
		if len(rs) != len(plan.Ops) {
			t.Fatalf("%s: %d results for %d ops", s.name, len(rs), len(plan.Ops))
		}
		for _, r := range rs {
			if r.Outcome != domain.OutcomeApplied {
				t.Errorf("%s: %s outcome %s (%s), want applied", s.name, r.Op.Kind, r.Outcome, r.Reason)
			}
		}
		st = next
		if st.Status != s.status {
			t.Errorf("%s: state status %q, want %q", s.name, st.Status, s.status)
		}
		u := e.checkAgent(t, p.Key, st, s.want)
		if s.want != nil && s.sameID && u.ID != prevID {
			t.Errorf("%s: agent id %s, want the earlier %s", s.name, u.ID, prevID)
		}
		if s.want != nil && !s.sameID && u.ID == prevID {
			t.Errorf("%s: agent id %s was reused, want a new agent", s.name, u.ID)
		}
		if s.want != nil {
			prevID = u.ID
		}
		if s.results != nil {
			s.results(t, st)
		}

		// Idempotence: re-plan from the state reached → nothing to do, and
		// applying that plan calls nothing.
		before := e.sim.Control().Counters()
		again, err := a.Plan(ctx, p, st, e.now)
		if err != nil {
			t.Fatalf("%s: re-Plan: %v", s.name, err)
		}
		if len(again.Ops) != 0 {
			t.Fatalf("%s: re-plan has ops %v, want none", s.name, kinds(again))
		}
		if _, rs, err := consumers.Execute(ctx, a, p, st, again, nil); err != nil || len(rs) != 0 {
			t.Fatalf("%s: Apply(empty plan) = %v, %v", s.name, rs, err)
		}
		if diff := cmp.Diff(before, e.sim.Control().Counters()); diff != "" {
			t.Fatalf("%s: requests after an empty plan (-before +after):\n%s", s.name, diff)
		}
	}
}

func TestLifecycleDelete(t *testing.T) {
	e := newEnv(t)
	a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
	agent := &agentWant{"jane.doe@example.com", "Jane", "Doe", "jane.doe@example.com", []string{"SP_AGENT"}, "RP_SUPPORT", "HG_EMEA"}
	with := func(f func(w *agentWant)) *agentWant { w := *agent; f(&w); return &w }
	runSteps(t, e, a, []step{
		{name: "join as agent", change: func(p domain.Person) domain.Person { return member(p, agents, true, 1) },
			ops: []domain.OpKind{domain.OpCreate}, status: domain.RemoteEnabled, want: agent},
		{name: "email change", change: func(p domain.Person) domain.Person {
			p.Email.Value = "jane.d@example.com"
			return p
		}, ops: []domain.OpKind{domain.OpUpdateIdentity}, status: domain.RemoteEnabled, sameID: true,
			want: with(func(w *agentWant) { w.email = "jane.d@example.com" })},
		{name: "move to supervisors", change: func(p domain.Person) domain.Person { return member(p, supervisors, true, 2) },
			ops:    []domain.OpKind{domain.OpUpdateSecurityProfiles, domain.OpUpdateRoutingProfile},
			status: domain.RemoteEnabled, sameID: true,
			want: with(func(w *agentWant) {
				w.email, w.sps, w.rp = "jane.d@example.com", []string{"SP_AGENT", "SP_SUPERVISOR"}, "RP_PRIORITY"
			})},
		{name: "login rename keeps the username", change: func(p domain.Person) domain.Person {
			p.Login.Value, p.Email.Value = "jane.roe@example.com", "jane.roe@example.com"
			return p
		}, ops: []domain.OpKind{domain.OpUpdateIdentity}, status: domain.RemoteEnabled, sameID: true,
			want: with(func(w *agentWant) {
				w.email, w.sps, w.rp = "jane.roe@example.com", []string{"SP_AGENT", "SP_SUPERVISOR"}, "RP_PRIORITY"
			})},
		{name: "back to agents", change: func(p domain.Person) domain.Person { return member(p, supervisors, false, 3) },
			ops:    []domain.OpKind{domain.OpUpdateSecurityProfiles, domain.OpUpdateRoutingProfile},
			status: domain.RemoteEnabled, sameID: true,
			want: with(func(w *agentWant) { w.email = "jane.roe@example.com" })},
		{name: "leave deletes", change: func(p domain.Person) domain.Person { return member(p, agents, false, 4) },
			ops: []domain.OpKind{domain.OpDelete}, status: domain.RemoteDeleted,
			results: func(t *testing.T, st domain.TargetState) {
				if st.RemoteID != "" || !st.Managed {
					t.Errorf("state after delete = %+v, want managed without remote id", st)
				}
			}},
		{name: "rejoin creates a new agent with the current login", change: func(p domain.Person) domain.Person { return member(p, agents, true, 5) },
			ops: []domain.OpKind{domain.OpCreate}, status: domain.RemoteEnabled,
			want: with(func(w *agentWant) {
				w.username, w.email = "jane.roe@example.com", "jane.roe@example.com"
			})},
		{name: "suspension deletes", change: func(p domain.Person) domain.Person {
			p.Status = domain.Stamped{Value: string(domain.StatusSuspended), At: tick(6), By: "ev-6"}
			return p
		}, ops: []domain.OpKind{domain.OpDelete}, status: domain.RemoteDeleted},
	})
	if n := len(e.sim.Users(e.instance)); n != 0 {
		t.Errorf("%d users left, want 0", n)
	}
}

func TestLifecycleStrip(t *testing.T) {
	e := newEnv(t)
	a := e.applier(t, e.config(t, "config-strip.json"), connect.Options{})
	agent := &agentWant{"jane.doe@example.com", "Jane", "Doe", "jane.doe@example.com", []string{"SP_AGENT"}, "RP_SUPPORT", "HG_EMEA"}
	stripped := &agentWant{"jane.doe@example.com", "Jane", "Doe", "jane.doe@example.com", []string{"SP_LEAVER"}, "RP_LEAVER", "HG_EMEA"}
	supervisor := &agentWant{"jane.doe@example.com", "Jane", "Doe", "jane.doe@example.com", []string{"SP_AGENT", "SP_SUPERVISOR"}, "RP_PRIORITY", "HG_EMEA"}
	strippedAt := func(t *testing.T, st domain.TargetState) {
		if !st.DisabledAt.Equal(e.now) {
			t.Errorf("DisabledAt = %v, want %v", st.DisabledAt, e.now)
		}
	}
	runSteps(t, e, a, []step{
		{name: "join as agent", change: func(p domain.Person) domain.Person { return member(p, agents, true, 1) },
			ops: []domain.OpKind{domain.OpCreate}, status: domain.RemoteEnabled, want: agent},
		{name: "leave strips", change: func(p domain.Person) domain.Person { return member(p, agents, false, 2) },
			ops: []domain.OpKind{domain.OpStrip}, status: domain.RemoteDisabled, want: stripped, sameID: true, results: strippedAt},
		{name: "rejoin as supervisor restores the same agent", change: func(p domain.Person) domain.Person { return member(p, supervisors, true, 3) },
			ops:    []domain.OpKind{domain.OpUpdateSecurityProfiles, domain.OpUpdateRoutingProfile},
			status: domain.RemoteEnabled, want: supervisor, sameID: true,
			results: func(t *testing.T, st domain.TargetState) {
				if !st.DisabledAt.IsZero() {
					t.Errorf("DisabledAt = %v after restore, want zero", st.DisabledAt)
				}
			}},
		{name: "deactivation strips", change: func(p domain.Person) domain.Person {
			p.Status = domain.Stamped{Value: string(domain.StatusDeactivated), At: tick(4), By: "ev-4"}
			return p
		}, ops: []domain.OpKind{domain.OpStrip}, status: domain.RemoteDisabled, want: stripped, sameID: true, results: strippedAt},
	})
}

func TestCreateTagsOwnership(t *testing.T) {
	e := newEnv(t)
	a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{TagKey: "acme:idsync-person"})
	p := member(jane(t), agents, true, 1)
	st, _, err := e.sync(context.Background(), a, p, domain.TargetState{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	us := e.sim.Users(e.instance)
	if len(us) != 1 {
		t.Fatalf("%d users, want 1", len(us))
	}
	if diff := cmp.Diff(map[string]string{"acme:idsync-person": p.Key}, us[0].Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if st.RemoteID != us[0].ID {
		t.Errorf("RemoteID %q, want %q", st.RemoteID, us[0].ID)
	}
}
