package workmail_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// TestLifecycle drives one person through join, login change, move,
// deactivation, grace period, delete and rejoin against the stand-in,
// checking each step's ops, the stand-in's state (through the SDK and
// Users) and that re-planning afterwards is empty and makes no write call.
// (Profile change, leave and rejoin of a disabled mailbox are cases of the
// shared suite.)
func TestLifecycle(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	a := f.applier(t, f.cfg, workmail.Options{})
	ctx := context.Background()

	var firstID string
	steps := []struct {
		name   string
		events []string
		now    time.Time
		want   []domain.OpKind
		check  func(t *testing.T, s domain.TargetState)
	}{
		{"join", []string{"jane_01_observed"}, t0, []domain.OpKind{domain.OpCreate, domain.OpRegister},
			func(t *testing.T, s domain.TargetState) {
				firstID = s.RemoteID
				d := f.describe(t, s.RemoteID)
				if d.State != "ENABLED" || aws.ToString(d.Email) != "jane.doe@example.com" || aws.ToString(d.Name) != "jane.doe" ||
					aws.ToString(d.DisplayName) != "Jane Doe" || aws.ToString(d.FirstName) != "Jane" || aws.ToString(d.LastName) != "Doe" ||
					aws.ToString(d.IdentityProviderUserId) != janeIdC {
					t.Errorf("DescribeUser = %s %s %s %q %q %q idp %s", d.State, aws.ToString(d.Name), aws.ToString(d.Email),
						aws.ToString(d.DisplayName), aws.ToString(d.FirstName), aws.ToString(d.LastName), aws.ToString(d.IdentityProviderUserId))
				}
				want := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: s.RemoteID, Status: domain.RemoteEnabled,
					Name: "jane.doe", Email: "jane.doe@example.com", DisplayName: "Jane Doe", FirstName: "Jane", LastName: "Doe",
					IdentityProviderUserID: janeIdC}
				if s.RemoteID == "" || !cmp.Equal(s, want) {
					t.Errorf("state: %s", cmp.Diff(want, s))
				}
			}},
		{"login change", []string{"jane_03_renamed"}, t0.Add(2 * time.Hour),
			[]domain.OpKind{domain.OpUpdateAttributes, domain.OpUpdateEmail},
			func(t *testing.T, s domain.TargetState) {
				u := f.user(t, s.RemoteID)
				if u.Email != "jane.smith@example.com" || u.Name != "jane.doe" || u.LastName != "Smith" ||
					u.DisplayName != "Jane Smith" || !slices.Contains(u.Aliases, "jane.doe@example.com") {
					t.Errorf("user = %+v", u)
				}
				if s.Email != "jane.smith@example.com" || s.Name != "jane.doe" {
					t.Errorf("state = %+v", s)
				}
			}},
		{"move to the other mail group", []string{"jane_04_moved"}, t0.Add(3 * time.Hour), []domain.OpKind{}, nil},
		{"deactivated", []string{"jane_07_deactivated"}, t0.Add(6 * time.Hour), []domain.OpKind{domain.OpDisable}, nil},
		{"within the grace period", nil, t0.Add(6*time.Hour + 29*24*time.Hour), []domain.OpKind{},
			func(t *testing.T, s domain.TargetState) {
				if d := f.describe(t, s.RemoteID); d.State != "DISABLED" {
					t.Errorf("State = %s", d.State)
				}
			}},
		{"grace period over: delete", nil, t0.Add(6*time.Hour + 30*24*time.Hour), []domain.OpKind{domain.OpDelete},
			func(t *testing.T, s domain.TargetState) {
				if d := f.describe(t, firstID); d.State != "DELETED" {
					t.Errorf("State = %s", d.State)
				}
				if s.Status != domain.RemoteDeleted || s.RemoteID != "" || !s.Managed {
					t.Errorf("state = %+v", s)
				}
			}},
		{"rejoin after delete: a new user", []string{"jane_08_reactivated"}, t0.Add(40 * 24 * time.Hour),
			[]domain.OpKind{domain.OpCreate, domain.OpRegister},
			func(t *testing.T, s domain.TargetState) {
				if s.RemoteID == firstID || s.RemoteID == "" {
					t.Errorf("RemoteID = %q, want a new id", s.RemoteID)
				}
				live := f.live()
				if len(live) != 1 || live[0].UserID != s.RemoteID || live[0].Email != "jane.smith@example.com" ||
					live[0].Name != "jane.smith" || live[0].IdentityProviderUserID != janeIdC {
					t.Errorf("live users = %+v", live)
				}
				if n := len(f.sim.Users(f.org)); n != 2 {
					t.Errorf("%d users (deleted included), want 2", n)
				}
			}},
	}

	var p domain.Person
	var state domain.TargetState
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for _, e := range s.events {
				p, _ = domain.Fold(p, event(t, e))
			}
			before := f.writes()
			plan, next, res := step(t, a, p, state, s.now)
			if got := kinds(plan.Ops); !cmp.Equal(got, s.want) {
				t.Fatalf("ops = %v, want %v (reason %q)", got, s.want, plan.Reason)
			}
			if len(res) != len(plan.Ops) {
				t.Fatalf("%d results for %d ops", len(res), len(plan.Ops))
			}
			for i, r := range res {
				if r.Outcome != domain.OutcomeApplied || r.Op.Kind != plan.Ops[i].Kind || r.Adopted {
					t.Errorf("result %d = %+v", i, r)
				}
			}
			if got := f.writes() - before; got < int64(len(plan.Ops)) {
				t.Errorf("%d write calls for %d ops", got, len(plan.Ops))
			}
			state = next
			if s.check != nil {
				s.check(t, state)
			}

			// Idempotence: the same facts plan nothing and call nothing.
			before = f.writes()
			again, err := a.Plan(ctx, p, state, s.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Ops) != 0 {
				t.Fatalf("re-plan = %v, want none", kinds(again.Ops))
			}
			st, res, err := consumers.Execute(ctx, a, p, state, again, nil)
			if err != nil || len(res) != 0 || !cmp.Equal(st, again.Next) {
				t.Fatalf("Apply(empty) = %+v, %v, %v", st, res, err)
			}
			if n := f.writes() - before; n != 0 {
				t.Errorf("%d write calls for an empty plan", n)
			}
		})
	}
	if c := f.sim.Control().Counters()["DescribeOrganization"]; c.Requests != 1 {
		t.Errorf("DescribeOrganization called %d times, want once (cached)", c.Requests)
	}
}

// TestLeaveDisableOnly: with the default leave action the mailbox is
// disabled and stays so, however long ago.
func TestLeaveDisableOnly(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	cfg := f.cfg
	cfg.OnLeave = domain.WorkMailLeave{}
	a := f.applier(t, cfg, workmail.Options{})
	_, joined, _ := step(t, a, person(t, "jane_01_observed"), domain.TargetState{}, t0)
	leaver := person(t, "jane_01_observed", "jane_04_moved", "jane_05_left")
	plan, left, _ := step(t, a, leaver, joined, t0.Add(time.Hour))
	if got := kinds(plan.Ops); !cmp.Equal(got, []domain.OpKind{domain.OpDisable}) {
		t.Fatalf("ops = %v", got)
	}
	plan, _, _ = step(t, a, leaver, left, t0.Add(365*24*time.Hour))
	if len(plan.Ops) != 0 || plan.Reason != domain.ReasonAlreadyLeft {
		t.Errorf("a year later: ops %v reason %q", kinds(plan.Ops), plan.Reason)
	}
	if d := f.describe(t, joined.RemoteID); d.State != "DISABLED" {
		t.Errorf("State = %s", d.State)
	}
}

// TestMailDomain: the configured domain wins; without one the
// organisation's default is resolved with one DescribeOrganization per
// Applier.
func TestMailDomain(t *testing.T) {
	tests := []struct {
		name, configured, wantEmail string
	}{
		{"organisation default", "", "jane.doe@example.com"},
		{"configured", "example.org", "jane.doe@example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, simworkmail.Options{})
			cfg := f.cfg
			cfg.MailDomain = tt.configured
			a := f.applier(t, cfg, workmail.Options{})
			p := person(t, "jane_01_observed")
			for range 3 {
				if _, err := a.Plan(context.Background(), p, domain.TargetState{}, t0); err != nil {
					t.Fatal(err)
				}
			}
			_, s, _ := step(t, a, p, domain.TargetState{}, t0)
			if d := f.describe(t, s.RemoteID); aws.ToString(d.Email) != tt.wantEmail {
				t.Errorf("Email = %s, want %s", aws.ToString(d.Email), tt.wantEmail)
			}
			if n := f.sim.Control().Counters()["DescribeOrganization"].Requests; n != 1 {
				t.Errorf("DescribeOrganization called %d times, want 1", n)
			}
		})
	}
}

// TestDeleteRefusesEnabledUser: a delete planned from stale state (idsync
// thinks the user is disabled, someone re-enabled it) is refused after
// DescribeUser; DeleteUser is never called.
func TestDeleteRefusesEnabledUser(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	a := f.applier(t, f.cfg, workmail.Options{})
	_, joined, _ := step(t, a, person(t, "jane_01_observed"), domain.TargetState{}, t0)
	stale := joined
	stale.Status, stale.DisabledAt = domain.RemoteDisabled, t0
	leaver := person(t, "jane_01_observed", "jane_04_moved", "jane_05_left")
	plan, err := a.Plan(context.Background(), leaver, stale, t0.Add(31*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(plan.Ops); !cmp.Equal(got, []domain.OpKind{domain.OpDelete}) {
		t.Fatalf("ops = %v", got)
	}
	got, res, err := consumers.Execute(context.Background(), a, leaver, stale, plan, nil)
	if !errors.Is(err, workmail.ErrEnabledUser) || domain.KindOf(err) != domain.ErrorPermanent {
		t.Fatalf("err = %v (%v), want permanent ErrEnabledUser", err, domain.KindOf(err))
	}
	if len(res) != 1 || res[0].Outcome != domain.OutcomeFailed || !strings.Contains(res[0].Reason, joined.RemoteID) {
		t.Errorf("results = %+v", res)
	}
	if !cmp.Equal(got, stale) {
		t.Errorf("state changed: %s", cmp.Diff(stale, got))
	}
	if n := f.sim.Control().Counters()["DeleteUser"].Requests; n != 0 {
		t.Errorf("DeleteUser called %d times", n)
	}
	if d := f.describe(t, joined.RemoteID); d.State != "ENABLED" {
		t.Errorf("State = %s", d.State)
	}
}
