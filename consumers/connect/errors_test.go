package connect_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simkit"
)

// joined makes jane an agent through a and returns her and the state.
func (e *env) joined(t *testing.T, a *connect.Applier) (domain.Person, domain.TargetState) {
	t.Helper()
	p := member(jane(t), agents, true, 1)
	st, _, err := e.sync(context.Background(), a, p, domain.TargetState{}, 2)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	return p, st
}

// deleteOutside deletes agent id as an administrator would, some time
// after idsync created it (past the Applier's visibility window, within
// which a missing agent may only not be visible yet).
func (e *env) deleteOutside(t *testing.T, id string) {
	t.Helper()
	e.clock.advance(connect.DefaultVisibilityWindow)
	if _, err := e.client.DeleteUser(context.Background(), &awsconnect.DeleteUserInput{
		InstanceId: aws.String(e.instance), UserId: aws.String(id),
	}); err != nil {
		t.Fatal(err)
	}
}

func TestErrorClassification(t *testing.T) {
	var (
		throttled *types.ThrottlingException
		internal  *types.InternalServiceException
		limit     *types.LimitExceededException
		invalid   *types.InvalidParameterException
		notFound  *types.ResourceNotFoundException
	)
	tests := []struct {
		name     string
		attempts int
		config   func(c *domain.ConnectConfig)
		// setup prepares the stand-in and returns jane, her last state and
		// the change to plan.
		setup    func(t *testing.T, e *env, a *connect.Applier) (domain.Person, domain.TargetState)
		kind     domain.ErrorKind
		as       any   // an SDK error type the chain must hold, or nil
		is       error // a sentinel the chain must hold, or nil
		reason   string
		requests map[string]int64 // exact request counts of some operations
	}{
		{
			name: "users-per-instance quota: LimitExceeded is permanent and not retried",
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				if _, err := e.sim.SeedUser(e.instance, "someone.else"); err != nil {
					t.Fatal(err)
				}
				if err := e.sim.SetUserLimit(e.instance, 1); err != nil {
					t.Fatal(err)
				}
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind: domain.ErrorPermanent, as: &limit, requests: map[string]int64{"CreateUser": 1},
		},
		{
			name: "sustained throttling is retryable", attempts: 3,
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				e.sim.Control().SetFaults("CreateUser", simkit.Faults{ThrottleRate: 1})
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind: domain.ErrorRetryable, as: &throttled, requests: map[string]int64{"CreateUser": 3},
		},
		{
			name: "5xx is retryable", attempts: 2,
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				e.sim.Control().SetFaults("CreateUser", simkit.Faults{ServerErrorRate: 1})
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind: domain.ErrorRetryable, as: &internal, requests: map[string]int64{"CreateUser": 2},
		},
		{
			name: "dropped connections are retryable", attempts: 2,
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				e.sim.Control().SetFaults("CreateUser", simkit.Faults{DropRate: 1})
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind: domain.ErrorRetryable,
		},
		{
			name:   "invalid parameter is permanent (desk phone without a number)",
			config: func(c *domain.ConnectConfig) { c.PhoneType = domain.PhoneTypeDesk },
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind: domain.ErrorPermanent, as: &invalid, requests: map[string]int64{"CreateUser": 1},
		},
		{
			name:   "a routing profile that does not exist is permanent, not a missing account",
			config: func(c *domain.ConnectConfig) { c.Groups[1].RoutingProfileID = "00000000-0000-4000-8000-00000000dead" },
			setup: func(t *testing.T, e *env, a *connect.Applier) (domain.Person, domain.TargetState) {
				p, st := e.joined(t, a)
				return member(p, supervisors, true, 2), st
			},
			kind: domain.ErrorPermanent, as: &notFound, reason: "RoutingProfile",
		},
		{
			name: "a move of an agent deleted outside idsync: account missing",
			setup: func(t *testing.T, e *env, a *connect.Applier) (domain.Person, domain.TargetState) {
				p, st := e.joined(t, a)
				e.deleteOutside(t, st.RemoteID)
				return member(p, supervisors, true, 2), st
			},
			kind: domain.ErrorPermanent, as: &notFound, is: connect.ErrAccountMissing, reason: "account missing",
		},
		{
			name: "an identity update of an agent deleted outside idsync: account missing",
			setup: func(t *testing.T, e *env, a *connect.Applier) (domain.Person, domain.TargetState) {
				p, st := e.joined(t, a)
				e.deleteOutside(t, st.RemoteID)
				p.LastName.Value = "Roe"
				return p, st
			},
			kind: domain.ErrorPermanent, as: &notFound, is: connect.ErrAccountMissing, reason: "account missing",
			requests: map[string]int64{"UpdateUserIdentityInfo": 0},
		},
		{
			name: "cancelled context is retryable",
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind: domain.ErrorRetryable, is: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attempts := tt.attempts
			if attempts == 0 {
				attempts = 10
			}
			e := newEnv(t, withAttempts(attempts))
			cfg := e.config(t, "config-delete.json")
			if tt.config != nil {
				tt.config(&cfg)
			}
			a := e.applier(t, cfg, connect.Options{})
			p, last := tt.setup(t, e, a)
			e.sim.Control().ResetCounters()

			ctx := context.Background()
			plan, err := a.Plan(ctx, p, last, e.now)
			if err != nil || len(plan.Ops) == 0 {
				t.Fatalf("Plan = %v, %v", kinds(plan), err)
			}
			if tt.is == context.Canceled {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				cancel()
			}
			st, rs, err := consumers.Execute(ctx, a, p, last, plan, nil)
			if err == nil {
				t.Fatal("Apply succeeded, want an error")
			}
			if got := domain.KindOf(err); got != tt.kind {
				t.Errorf("kind %s, want %s (%v)", got, tt.kind, err)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("error %v does not hold %T", err, tt.as)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if tt.is != connect.ErrAccountMissing && errors.Is(err, connect.ErrAccountMissing) {
				t.Errorf("error %v says account missing", err)
			}
			if len(rs) == 0 || rs[len(rs)-1].Outcome != domain.OutcomeFailed || !strings.HasPrefix(rs[len(rs)-1].Reason, tt.reason) &&
				!strings.Contains(rs[len(rs)-1].Reason, tt.reason) {
				t.Errorf("results %+v, want the last failed with reason %q", rs, tt.reason)
			}
			if tt.reason == "account missing" && !strings.HasPrefix(rs[len(rs)-1].Reason, "account missing") {
				t.Errorf("reason %q, want it to start with %q", rs[len(rs)-1].Reason, "account missing")
			}
			if len(rs) == 1 {
				if diff := cmp.Diff(last, st); diff != "" {
					t.Errorf("state moved on although the first op failed (-want +got):\n%s", diff)
				}
			}
			for op, n := range tt.requests {
				if got := e.requests(op); got != n {
					t.Errorf("%s requests = %d, want %d", op, got, n)
				}
			}
		})
	}
}

// TestPartialFailureState: when a later op fails, the state returned holds
// what the earlier ops did, so the re-plan asks only for the rest.
func TestPartialFailureState(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withAttempts(2))
	a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
	p, st := e.joined(t, a)
	p = member(p, supervisors, true, 2)

	e.sim.Control().SetFaults("UpdateUserRoutingProfile", simkit.Faults{ThrottleRate: 1})
	plan, err := a.Plan(ctx, p, st, e.now)
	if err != nil {
		t.Fatal(err)
	}
	mid, rs, err := consumers.Execute(ctx, a, p, st, plan, nil)
	if domain.KindOf(err) != domain.ErrorRetryable {
		t.Fatalf("Apply error %v (%s), want retryable", err, domain.KindOf(err))
	}
	if diff := cmp.Diff([]string{"update-security-profiles:applied", "update-routing-profile:failed"}, outcomes(rs)); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
	want := st
	want.SecurityProfileIDs = []string{e.ids["SP_AGENT"], e.ids["SP_SUPERVISOR"]}
	if diff := cmp.Diff(want, mid); diff != "" {
		t.Fatalf("state reached (-want +got):\n%s", diff)
	}

	e.sim.Control().SetFaults("UpdateUserRoutingProfile", simkit.Faults{})
	plan, err = a.Plan(ctx, p, mid, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]domain.OpKind{domain.OpUpdateRoutingProfile}, kinds(plan)); diff != "" {
		t.Fatalf("re-plan (-want +got):\n%s", diff)
	}
	end, _, err := consumers.Execute(ctx, a, p, mid, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.checkAgent(t, p.Key, end, &agentWant{"jane.doe@example.com", "Jane", "Doe", "jane.doe@example.com",
		[]string{"SP_AGENT", "SP_SUPERVISOR"}, "RP_PRIORITY", "HG_EMEA"})
}

// TestLeaveOfMissingAgent: delete treats an agent that is already gone as
// deleted; strip cannot strip it and reports the account missing.
func TestLeaveOfMissingAgent(t *testing.T) {
	tests := []struct {
		config string
		want   []string
		kind   domain.ErrorKind
		status domain.RemoteStatus
		reason string
	}{
		{"config-delete.json", []string{"delete:applied"}, domain.ErrorNone, domain.RemoteDeleted, "already gone"},
		{"config-strip.json", []string{"strip:failed"}, domain.ErrorPermanent, domain.RemoteEnabled, "account missing"},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			a := e.applier(t, e.config(t, tt.config), connect.Options{})
			p, st := e.joined(t, a)
			e.deleteOutside(t, st.RemoteID)
			p = member(p, agents, false, 2)
			plan, err := a.Plan(ctx, p, st, e.now)
			if err != nil {
				t.Fatal(err)
			}
			next, rs, err := consumers.Execute(ctx, a, p, st, plan, nil)
			if got := domain.KindOf(err); got != tt.kind {
				t.Fatalf("error %v (%s), want %s", err, got, tt.kind)
			}
			if diff := cmp.Diff(tt.want, outcomes(rs)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(rs[0].Reason, tt.reason) {
				t.Errorf("reason %q, want %q…", rs[0].Reason, tt.reason)
			}
			if next.Status != tt.status {
				t.Errorf("status %q, want %q", next.Status, tt.status)
			}
		})
	}
}
