package workmail_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

const (
	instanceARN    = "arn:aws:sso:::instance/ssoins-72230a1b2c3d4e5f"
	applicationARN = "arn:aws:sso::123456789012:application/ssoins-72230a1b2c3d4e5f/apl-0a1b2c3d4e5f6a7b"
	otherInstance  = "arn:aws:sso:::instance/ssoins-7223ffffffffffff"
	otherApp       = "arn:aws:sso::123456789012:application/ssoins-72230a1b2c3d4e5f/apl-ffffffffffffffff"
)

func TestNew(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	tests := []struct {
		name string
		o    workmail.Options
	}{
		{"no client", workmail.Options{Config: f.cfg}},
		{"bad organisation id", workmail.Options{API: f.client, Config: domain.WorkMailConfig{OrganizationID: "example"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := workmail.New(tt.o); !errors.Is(err, workmail.ErrConfig) {
				t.Errorf("err = %v, want ErrConfig", err)
			}
		})
	}
	a, err := workmail.New(workmail.Options{API: f.client, Config: f.cfg})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != domain.TargetWorkMail {
		t.Errorf("Name = %s", a.Name())
	}
	_, s, _ := step(t, a, person(t, "jane_01_observed"), domain.TargetState{}, t0)
	if s.Status != domain.RemoteEnabled {
		t.Errorf("state = %+v", s)
	}
}

// TestPreflight: Plan checks the organisation (and, when asked, its IAM
// Identity Center configuration) before planning.
func TestPreflight(t *testing.T) {
	putIdC := func(instance, app string) func(t *testing.T, f *fixture) {
		return func(t *testing.T, f *fixture) {
			_, err := f.client.PutIdentityProviderConfiguration(context.Background(), &sdk.PutIdentityProviderConfigurationInput{
				OrganizationId:     aws.String(f.org),
				AuthenticationMode: types.IdentityProviderAuthenticationModeIdentityProviderOnly,
				IdentityCenterConfiguration: &types.IdentityCenterConfiguration{
					InstanceArn: aws.String(instance), ApplicationArn: aws.String(app)},
				PersonalAccessTokenConfiguration: &types.PersonalAccessTokenConfiguration{
					Status: types.PersonalAccessTokenConfigurationStatusInactive},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	expect := &workmail.IdentityCenter{InstanceARN: instanceARN, ApplicationARN: applicationARN}
	tests := []struct {
		name     string
		setup    func(t *testing.T, f *fixture)
		orgID    string // overrides the fixture's organisation
		idc      *workmail.IdentityCenter
		wantKind domain.ErrorKind
		wantIs   error
		wantAs   bool // a *types.OrganizationNotFoundException inside
	}{
		{"organisation exists", nil, "", nil, domain.ErrorNone, nil, false},
		{"organisation not found", nil, "m-ffffffffffffffffffffffffffffffff", nil, domain.ErrorPermanent, nil, true},
		{"organisation being deleted", func(t *testing.T, f *fixture) {
			if err := f.sim.SetOrganizationState(f.org, "Deleting"); err != nil {
				t.Fatal(err)
			}
		}, "", nil, domain.ErrorPermanent, workmail.ErrOrganization, false},
		{"organisation still being created", func(t *testing.T, f *fixture) {
			if err := f.sim.SetOrganizationState(f.org, "Creating"); err != nil {
				t.Fatal(err)
			}
		}, "", nil, domain.ErrorRetryable, workmail.ErrOrganization, false},
		{"identity center expected and matching", putIdC(instanceARN, applicationARN), "", expect, domain.ErrorNone, nil, false},
		{"identity center only the instance checked", putIdC(instanceARN, otherApp), "",
			&workmail.IdentityCenter{InstanceARN: instanceARN}, domain.ErrorNone, nil, false},
		{"identity center not configured", nil, "", expect, domain.ErrorPermanent, workmail.ErrIdentityCenter, false},
		{"identity center other instance", putIdC(otherInstance, applicationARN), "", expect, domain.ErrorPermanent, workmail.ErrIdentityCenter, false},
		{"identity center other application", putIdC(instanceARN, otherApp), "", expect, domain.ErrorPermanent, workmail.ErrIdentityCenter, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, simworkmail.Options{})
			if tt.setup != nil {
				tt.setup(t, f)
			}
			cfg := f.cfg
			if tt.orgID != "" {
				cfg.OrganizationID = tt.orgID
			}
			a := f.applier(t, cfg, workmail.Options{IdentityCenter: tt.idc})
			plan, err := a.Plan(context.Background(), person(t, "jane_01_observed"), domain.TargetState{}, t0)
			if domain.KindOf(err) != tt.wantKind {
				t.Fatalf("err = %v (%v), want %v", err, domain.KindOf(err), tt.wantKind)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want %v", err, tt.wantIs)
			}
			var nf *types.OrganizationNotFoundException
			if tt.wantAs != errors.As(err, &nf) {
				t.Errorf("err = %v; want an OrganizationNotFoundException inside: %v", err, tt.wantAs)
			}
			if err == nil && len(plan.Ops) != 2 {
				t.Errorf("plan = %v", kinds(plan.Ops))
			}
			if err != nil && len(plan.Ops) != 0 {
				t.Errorf("a plan came with the error: %v", kinds(plan.Ops))
			}
		})
	}
}

// TestPreflightNotCachedUntilPassed: a transient pre-flight failure is
// retryable and the next Plan checks again; once passed, it is not
// repeated.
func TestPreflightNotCachedUntilPassed(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	f.sim.Control().SetFaults("DescribeOrganization", simkit.Faults{ServerErrorRate: 1})
	a := f.applier(t, f.cfg, workmail.Options{})
	p := person(t, "jane_01_observed")
	if _, err := a.Plan(context.Background(), p, domain.TargetState{}, t0); domain.KindOf(err) != domain.ErrorRetryable {
		t.Fatalf("err = %v, want retryable", err)
	}
	f.sim.Control().SetFaults("DescribeOrganization", simkit.Faults{})
	f.sim.Control().ResetCounters()
	for range 3 {
		if _, err := a.Plan(context.Background(), p, domain.TargetState{}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.sim.Control().Counters()["DescribeOrganization"].Requests; n != 1 {
		t.Errorf("DescribeOrganization called %d times after recovery, want 1", n)
	}
}
