package workmail_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simssoadmin"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// idcFixture is a WorkMail organisation linked to an IAM Identity Center
// instance's WorkMail application, with the IdentityStore and SSO Admin
// stand-ins wired as a local run wires them (simssoadmin's
// AssignmentChecker over simidentitystore), and one IdC user, jane, who is
// assigned to nothing yet.
type idcFixture struct {
	*fixture
	admin   *ssoadmin.Client
	app     string
	janeIdC string
}

func setupIdC(t *testing.T) *idcFixture {
	t.Helper()
	ctx := context.Background()
	ids := simidentitystore.New(simidentitystore.Options{NoQuota: true})
	store := ids.AddIdentityStore()
	sso := simssoadmin.New(simssoadmin.Options{NoQuota: true, Principals: ids})
	instance := sso.AddInstance(store)
	app := sso.AddApplication(instance, "WorkMail", "arn:aws:sso::aws:applicationProvider/custom")
	srv := httptest.NewServer(sso)
	t.Cleanup(srv.Close)
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, simworkmail.Options{IdentityCenter: sso.AssignmentChecker(ids)})
	if _, err := f.client.PutIdentityProviderConfiguration(ctx, &sdk.PutIdentityProviderConfigurationInput{
		OrganizationId:              aws.String(f.org),
		AuthenticationMode:          types.IdentityProviderAuthenticationModeIdentityProviderAndDirectory,
		IdentityCenterConfiguration: &types.IdentityCenterConfiguration{InstanceArn: aws.String(instance), ApplicationArn: aws.String(app)},
		PersonalAccessTokenConfiguration: &types.PersonalAccessTokenConfiguration{
			Status: types.PersonalAccessTokenConfigurationStatusInactive},
	}); err != nil {
		t.Fatal(err)
	}
	jane, err := ids.SeedUser(store, simidentitystore.User{UserName: "jane.doe@example.com", GivenName: "Jane", FamilyName: "Doe",
		Email: "jane.doe@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return &idcFixture{fixture: f, admin: awsclient.SSOAdmin(cfg, srv.URL), app: app, janeIdC: jane}
}

// assign assigns the IdC user to the WorkMail application.
func (f *idcFixture) assign(t *testing.T, userID string) {
	t.Helper()
	if _, err := f.admin.CreateApplicationAssignment(context.Background(), &ssoadmin.CreateApplicationAssignmentInput{
		ApplicationArn: aws.String(f.app), PrincipalType: ssotypes.PrincipalTypeUser, PrincipalId: aws.String(userID)}); err != nil {
		t.Fatal(err)
	}
}

// TestIdCUserNotAssignedYet: an organisation linked to IAM Identity
// Center refuses to link a mailbox to an IdC user not assigned to its
// application (InvalidParameterException "… is not authorized …"). Okta's
// push to IdC and the assignment lag the hook, so within the assignment
// grace after the person's latest fact the create is retryable; once the
// user is assigned it succeeds; past the grace the refusal is permanent.
// Neither error repeats the service's message, and nothing is created.
func TestIdCUserNotAssignedYet(t *testing.T) {
	tests := []struct {
		name     string
		grace    time.Duration // configured; 0 for the default (1h)
		after    time.Duration // the clock, after the person's latest fact
		wantKind domain.ErrorKind
		wantSay  string
	}{
		{"within the default grace", 0, 10 * time.Minute, domain.ErrorRetryable, "retried until 2026-03-02T10:30:00Z (1h0m0s after the person's latest fact)"},
		{"past the default grace", 0, 61 * time.Minute, domain.ErrorPermanent, "still refused 1h1m0s after the person's latest fact (grace 1h0m0s)"},
		{"past a configured grace", 5 * time.Minute, 10 * time.Minute, domain.ErrorPermanent, "still refused 10m0s after the person's latest fact (grace 5m0s)"},
		{"within a configured grace", 2 * time.Hour, 90 * time.Minute, domain.ErrorRetryable, "retried until 2026-03-02T11:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := setupIdC(t)
			p := observed(t, "00u1ab2cd3EF4gh5IJ6k7", f.janeIdC, "jane.doe@example.com")
			latest := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC) // observed()'s facts
			now := latest.Add(tt.after)
			cfg := f.cfg
			cfg.IdentityCenter.AssignmentGrace = domain.Duration(tt.grace)
			a := f.applier(t, cfg, workmail.Options{Clock: func() time.Time { return now }})

			plan, err := a.Plan(ctx, p, domain.TargetState{}, now)
			if err != nil {
				t.Fatal(err)
			}
			state, res, err := consumers.Execute(ctx, a, p, domain.TargetState{}, plan, nil)
			if !errors.Is(err, workmail.ErrNotAssigned) || domain.KindOf(err) != tt.wantKind {
				t.Fatalf("err = %v (%s), want %s ErrNotAssigned", err, domain.KindOf(err), tt.wantKind)
			}
			if !strings.Contains(err.Error(), tt.wantSay) || !strings.Contains(err.Error(), f.janeIdC) ||
				!strings.Contains(err.Error(), "workmail CreateUser: InvalidParameterException (HTTP 400)") {
				t.Errorf("error %q, want it to name the IdC user, the call and %q", err, tt.wantSay)
			}
			if strings.Contains(err.Error(), "is not authorized") || strings.Contains(err.Error(), f.app) || strings.Contains(err.Error(), "@") {
				t.Errorf("error %q repeats the service's message or an address", err)
			}
			if len(res) != 1 || res[0].Outcome != domain.OutcomeFailed || res[0].Reason != err.Error() {
				t.Errorf("results %+v", res)
			}
			if !cmp.Equal(state, domain.TargetState{}) || len(f.sim.Users(f.org)) != 0 {
				t.Errorf("state %+v, users %+v; want nothing made", state, f.sim.Users(f.org))
			}
			if tt.wantKind != domain.ErrorRetryable {
				return
			}
			// The assignment arrives; the retry links the mailbox.
			f.assign(t, f.janeIdC)
			_, state, _ = step(t, a, p, domain.TargetState{}, now)
			if u := f.user(t, state.RemoteID); u.IdentityProviderUserID != f.janeIdC || u.State != simworkmail.StateEnabled {
				t.Errorf("user %+v, want jane's enabled mailbox linked to her IdC user", u)
			}
		})
	}
}

// TestAdoptionLinkNotAssignedYet: a user adopted by rule 2 (made before
// the person's IdC user id was known) is linked to it once known; an
// organisation that refuses the link because the IdC user is not assigned
// yet gets the same treatment as a create: retryable within the grace.
func TestAdoptionLinkNotAssignedYet(t *testing.T) {
	ctx := context.Background()
	f := setupIdC(t)
	// The shell a create without the IdC user id leaves.
	if _, err := f.sim.AddUser(f.org, simworkmail.User{Name: "jane.doe", DisplayName: "Jane Doe", FirstName: "Jane", LastName: "Doe"}); err != nil {
		t.Fatal(err)
	}
	p := person(t, "jane_01_observed")
	p.IdCUserID = f.janeIdC
	now := latestFactOf(p).Add(time.Minute)
	a := f.applier(t, f.cfg, workmail.Options{Clock: func() time.Time { return now }})
	plan, err := a.Plan(ctx, p, domain.TargetState{}, now)
	if err != nil {
		t.Fatal(err)
	}
	_, res, err := consumers.Execute(ctx, a, p, domain.TargetState{}, plan, nil)
	if !errors.Is(err, workmail.ErrNotAssigned) || domain.KindOf(err) != domain.ErrorRetryable ||
		!strings.Contains(err.Error(), "workmail UpdateUser: InvalidParameterException (HTTP 400)") {
		t.Fatalf("err = %v (%s), want retryable ErrNotAssigned from UpdateUser", err, domain.KindOf(err))
	}
	if len(res) != 1 || !res[0].Adopted {
		t.Errorf("results %+v, want the adoption that failed to link", res)
	}
	f.assign(t, f.janeIdC)
	_, state, _ := step(t, a, p, domain.TargetState{}, now)
	if u := f.user(t, state.RemoteID); u.IdentityProviderUserID != f.janeIdC || u.State != simworkmail.StateEnabled || len(f.live()) != 1 {
		t.Errorf("user %+v, want the adopted user linked and enabled", u)
	}
}

// latestFactOf is the newest fact time of p's profile and memberships.
func latestFactOf(p domain.Person) time.Time {
	var latest time.Time
	for _, s := range []domain.Stamped{p.Login, p.FirstName, p.LastName, p.DisplayName, p.Email, p.Status} {
		if s.At.After(latest) {
			latest = s.At
		}
	}
	for _, m := range p.Groups {
		if m.At.After(latest) {
			latest = m.At
		}
	}
	return latest
}

// TestLinkSetLaterByUpdateUser: a mailbox created before the person's IdC
// user was known (the SCIM push lags the hook) is linked with UpdateUser
// once the IdC user id is folded in, and the link is recorded; while the
// organisation refuses the link (the IdC user not assigned to its
// application yet) it is retried within the assignment grace and the
// mailbox stays as it is.
func TestLinkSetLaterByUpdateUser(t *testing.T) {
	ctx := context.Background()
	f := setupIdC(t)
	const okta = "00u1ab2cd3EF4gh5IJ6k7"
	hookOnly := observed(t, okta, "", "jane.doe@example.com")
	linked := observed(t, okta, f.janeIdC, "jane.doe@example.com")
	now := latestFactOf(linked).Add(time.Minute)
	a := f.applier(t, f.cfg, workmail.Options{Clock: func() time.Time { return now }})

	_, state, _ := step(t, a, hookOnly, domain.TargetState{}, now)
	if u := f.user(t, state.RemoteID); state.IdentityProviderUserID != "" || u.IdentityProviderUserID != "" || u.State != simworkmail.StateEnabled {
		t.Fatalf("hook-only mailbox: state %+v, user %+v; want enabled and unlinked", state, u)
	}
	plan, err := a.Plan(ctx, linked, state, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Ops) != 1 || plan.Ops[0].Kind != domain.OpUpdateAttributes || plan.Ops[0].IdentityProviderUserID != f.janeIdC {
		t.Fatalf("plan = %+v, want update-attributes linking the IdC user", plan.Ops)
	}

	updates := f.sim.Control().Counters()["UpdateUser"].Requests
	_, _, err = consumers.Execute(ctx, a, linked, state, plan, nil)
	if !errors.Is(err, workmail.ErrNotAssigned) || domain.KindOf(err) != domain.ErrorRetryable ||
		!strings.Contains(err.Error(), "workmail UpdateUser: InvalidParameterException (HTTP 400)") || !strings.Contains(err.Error(), f.janeIdC) {
		t.Fatalf("err = %v (%s), want retryable ErrNotAssigned from UpdateUser naming the IdC user", err, domain.KindOf(err))
	}
	if u := f.user(t, state.RemoteID); u.IdentityProviderUserID != "" || u.State != simworkmail.StateEnabled {
		t.Errorf("user %+v changed by a refused link", u)
	}

	f.assign(t, f.janeIdC)
	next, res, err := consumers.Execute(ctx, a, linked, state, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Control().Counters()["UpdateUser"].Requests - updates; n != 2 {
		t.Errorf("%d UpdateUser calls, want 2 (refused, then linked)", n)
	}
	u := f.user(t, state.RemoteID)
	if u.IdentityProviderUserID != f.janeIdC || u.State != simworkmail.StateEnabled || len(f.live()) != 1 {
		t.Errorf("user %+v, want the one mailbox linked to the IdC user", u)
	}
	if next.IdentityProviderUserID != f.janeIdC || next.RemoteID != state.RemoteID || !strings.Contains(res[0].Reason, f.janeIdC) {
		t.Errorf("state %+v / result %+v do not record the link", next, res[0])
	}
	if again, err := a.Plan(ctx, linked, next, now); err != nil || len(again.Ops) != 0 {
		t.Errorf("re-plan = %v, %v; want nothing", kinds(again.Ops), err)
	}
}
