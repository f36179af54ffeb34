package workmail_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// fact returns a snapshot observation of person n: in or out of Mail
// Users, with display name display.
func fact(n int, at time.Time, member bool, display string) domain.Event {
	mail := []domain.GroupRef{{OktaID: "00g4wdylwlJQZ63kM5y8", IdCID: "9067c53e4f-11112222-3333-4444-5555-666677778888"}}
	login := fmt.Sprintf("person.%02d@example.com", n)
	e := domain.Event{
		Source: domain.SourceIdCSnapshot, Kind: domain.KindObserved,
		SourceEventID: fmt.Sprintf("run-%d/%d", at.Unix(), n),
		Subject: domain.Subject{OktaID: fmt.Sprintf("00u%017d", n),
			IdCUserID: fmt.Sprintf("9067c53e4f-%08x-0000-4000-8000-%012x", n, n), Login: login},
		Profile:    &domain.Profile{DisplayName: &display},
		OccurredAt: at, ReceivedAt: at.Add(time.Second),
	}
	if member {
		e.Groups = mail
	} else {
		e.NotGroups = mail
	}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), e.OccurredAt)
	return e
}

// converge plans and applies until the person's state settles, retrying
// retryable failures. Like a consumer that commits only on success, it
// keeps the state of the last successful Apply, so a failure after a
// create is retried from the old state and adopts.
func converge(t *testing.T, a *workmail.Applier, p domain.Person, state domain.TargetState, now time.Time) (domain.TargetState, int) {
	t.Helper()
	ctx := context.Background()
	for attempt := 1; ; attempt++ {
		plan, err := a.Plan(ctx, p, state, now)
		if err == nil {
			var next domain.TargetState
			next, _, err = consumers.Execute(ctx, a, p, state, plan, nil)
			if err == nil {
				return next, attempt
			}
		}
		if domain.KindOf(err) != domain.ErrorRetryable {
			t.Fatalf("attempt %d: %v (%v)", attempt, err, domain.KindOf(err))
		}
		if attempt == 30 {
			t.Fatalf("not converged after %d attempts: %v", attempt, err)
		}
	}
}

// TestFaultsConverge: with 20% of every operation's requests throttled and
// 5% answered 500, join, profile change, leave and rejoin of many people
// still converge to exactly one correct mailbox each. With the SDK's usual
// 10 attempts the retryer absorbs nearly everything; with 2 attempts calls
// fail through to the pipeline, which re-plans from the last committed
// state (adopting users whose create succeeded before a later failure).
func TestFaultsConverge(t *testing.T) {
	for _, attempts := range []int{10, 2} {
		t.Run(fmt.Sprintf("%d SDK attempts", attempts), func(t *testing.T) {
			const people = 20
			f := setup(t, simworkmail.Options{Seed: 7})
			f.client = newClient(t, f.url, attempts)
			f.sim.Control().SetFaults(simkit.EachOp, simkit.Faults{ThrottleRate: 0.2, ServerErrorRate: 0.05})
			a := f.applier(t, f.cfg, workmail.Options{})

			base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			persons := make([]domain.Person, people)
			states := make([]domain.TargetState, people)
			ids := make([]string, people)
			phases := []struct {
				name    string
				member  bool
				display string
			}{
				{"join", true, "Person"},
				{"profile change", true, "Person Renamed"},
				{"leave", false, "Person Renamed"},
				{"rejoin", true, "Person Renamed"},
			}
			retried := 0
			for i, ph := range phases {
				for n := range people {
					persons[n], _ = domain.Fold(persons[n], fact(n, base.Add(time.Duration(i)*time.Hour), ph.member, ph.display))
					var tries int
					states[n], tries = converge(t, a, persons[n], states[n], t0.Add(time.Duration(i)*time.Hour))
					retried += tries - 1
					if ph.name == "join" {
						ids[n] = states[n].RemoteID
					}
					if states[n].RemoteID != ids[n] {
						t.Errorf("%s person %d: RemoteID %s, want %s", ph.name, n, states[n].RemoteID, ids[n])
					}
				}
			}
			users := f.sim.Users(f.org)
			if len(users) != people {
				t.Fatalf("%d users, want %d", len(users), people)
			}
			for n, id := range ids {
				u := f.user(t, id)
				want := fmt.Sprintf("person.%02d@example.com", n)
				if u.State != simworkmail.StateEnabled || u.Email != want || u.DisplayName != "Person Renamed" {
					t.Errorf("person %d: %+v", n, u)
				}
			}
			var requests, throttled, failed int64
			for _, c := range f.sim.Control().Counters() {
				requests += c.Requests
				throttled += c.Throttled
				failed += c.ServerError
			}
			if throttled == 0 || failed == 0 {
				t.Errorf("faults were not exercised: %d throttled, %d 500s", throttled, failed)
			}
			if attempts == 2 && retried == 0 {
				t.Errorf("no failure reached the pipeline with %d SDK attempts", attempts)
			}
			t.Logf("%d requests: %d throttled, %d 500s; %d plan/apply retries", requests, throttled, failed, retried)
		})
	}
}

// TestUserLimitIsPermanent: LimitExceededException (the organisation's
// user quota) is permanent and not retried, although the SDK lists it as a
// throttle.
func TestUserLimitIsPermanent(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	if _, err := f.sim.SeedUser(f.org, "someone", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SetUserLimit(f.org, 1); err != nil {
		t.Fatal(err)
	}
	a := f.applier(t, f.cfg, workmail.Options{})
	p := person(t, "jane_01_observed")
	plan, err := a.Plan(context.Background(), p, domain.TargetState{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	state, res, err := consumers.Execute(context.Background(), a, p, domain.TargetState{}, plan, nil)
	var ae smithy.APIError
	if domain.KindOf(err) != domain.ErrorPermanent || !errors.As(err, &ae) || ae.ErrorCode() != "LimitExceededException" {
		t.Fatalf("err = %v (%v)", err, domain.KindOf(err))
	}
	if len(res) != 1 || res[0].Outcome != domain.OutcomeFailed || res[0].Reason != "workmail CreateUser: LimitExceededException (HTTP 400)" {
		t.Errorf("results = %+v", res)
	}
	if !cmp.Equal(state, domain.TargetState{}) || len(f.sim.Users(f.org)) != 1 {
		t.Errorf("state %+v, users %+v", state, f.sim.Users(f.org))
	}
	if n := f.sim.Control().Counters()["CreateUser"].Requests; n != 1 {
		t.Errorf("CreateUser sent %d times, want once (a quota is not retried)", n)
	}
}

// TestClassification: each failure is classified once, by the client's
// middleware, from the SDK's error, and reaches the op's result as it is;
// messages carry the code, not the service's text.
func TestClassification(t *testing.T) {
	const unknownID = "00000000-0000-4000-8000-0000000000ff"
	long := strings.Repeat("x", 300)
	tests := []struct {
		name     string
		setup    func(t *testing.T, f *fixture)
		op       func(id string) domain.Op
		cancel   bool
		wantKind domain.ErrorKind
		wantCode string // the SDK error's code, "" for none
		wantIs   error
		wantMsg  string // when set, the exact error message
	}{
		{"throttled on every attempt",
			func(t *testing.T, f *fixture) {
				f.sim.Control().SetFaults("UpdateUser", simkit.Faults{ThrottleRate: 1})
			},
			func(id string) domain.Op {
				return domain.Op{Kind: domain.OpUpdateAttributes, RemoteID: id, DisplayName: "J"}
			},
			false, domain.ErrorRetryable, "ThrottlingException", nil, "workmail UpdateUser: ThrottlingException (HTTP 400)"},
		{"500 on every attempt",
			func(t *testing.T, f *fixture) {
				f.sim.Control().SetFaults("UpdateUser", simkit.Faults{ServerErrorRate: 1})
			},
			func(id string) domain.Op {
				return domain.Op{Kind: domain.OpUpdateAttributes, RemoteID: id, DisplayName: "J"}
			},
			false, domain.ErrorRetryable, "InternalServerException", nil, ""},
		{"connection dropped on every attempt",
			func(t *testing.T, f *fixture) {
				f.sim.Control().SetFaults("DeregisterFromWorkMail", simkit.Faults{DropRate: 1})
			},
			func(id string) domain.Op { return domain.Op{Kind: domain.OpDisable, RemoteID: id} },
			false, domain.ErrorRetryable, "", nil, ""},
		{"context cancelled", nil,
			func(id string) domain.Op { return domain.Op{Kind: domain.OpDisable, RemoteID: id} },
			true, domain.ErrorRetryable, "", context.Canceled, "workmail DeregisterFromWorkMail: context canceled"},
		{"unknown user", nil,
			func(string) domain.Op {
				return domain.Op{Kind: domain.OpUpdateAttributes, RemoteID: unknownID, DisplayName: "J"}
			},
			false, domain.ErrorPermanent, "EntityNotFoundException", nil, "workmail UpdateUser: EntityNotFoundException (HTTP 400)"},
		{"invalid parameter: the service's message is not repeated", nil,
			func(id string) domain.Op {
				return domain.Op{Kind: domain.OpUpdateAttributes, RemoteID: id, DisplayName: long}
			},
			false, domain.ErrorPermanent, "InvalidParameterException", nil, "workmail UpdateUser: InvalidParameterException (HTTP 400)"},
		{"mail domain not the organisation's", nil,
			func(id string) domain.Op {
				return domain.Op{Kind: domain.OpUpdateEmail, RemoteID: id, Email: "jane@example.net"}
			},
			false, domain.ErrorPermanent, "MailDomainNotFoundException", nil, ""},
		{"mailbox deregistered outside idsync: the address change waits for the drift check",
			func(t *testing.T, f *fixture) {
				for _, u := range f.sim.Users(f.org) {
					if _, err := f.client.DeregisterFromWorkMail(context.Background(), &sdk.DeregisterFromWorkMailInput{
						OrganizationId: aws.String(f.org), EntityId: aws.String(u.UserID)}); err != nil {
						t.Fatal(err)
					}
				}
			},
			func(id string) domain.Op {
				return domain.Op{Kind: domain.OpUpdateEmail, RemoteID: id, Email: "jane.new@example.com"}
			},
			false, domain.ErrorRetryable, "EntityStateException", nil, ""},
		{"organisation no longer active",
			func(t *testing.T, f *fixture) {
				if err := f.sim.SetOrganizationState(f.org, "Deleting"); err != nil {
					t.Fatal(err)
				}
			},
			func(id string) domain.Op { return domain.Op{Kind: domain.OpDisable, RemoteID: id} },
			false, domain.ErrorPermanent, "OrganizationStateException", nil, ""},
		{"op without a user id", nil,
			func(string) domain.Op { return domain.Op{Kind: domain.OpUpdateEmail, Email: "jane@example.com"} },
			false, domain.ErrorPermanent, "", workmail.ErrNoRemoteID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, simworkmail.Options{})
			a := f.applier(t, f.cfg, workmail.Options{})
			_, joined, _ := step(t, a, person(t, "jane_01_observed"), domain.TargetState{}, t0)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			op := tt.op(joined.RemoteID)
			op.Target = domain.TargetWorkMail
			plan := domain.Plan{Ops: []domain.Op{op}, Next: joined}
			state, res, err := consumers.Execute(ctx, a, domain.Person{}, joined, plan, nil)
			if err == nil || domain.KindOf(err) != tt.wantKind {
				t.Fatalf("err = %v (%v), want %v", err, domain.KindOf(err), tt.wantKind)
			}
			var ae smithy.APIError
			if tt.wantCode != "" && (!errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode) {
				t.Errorf("err = %v, want code %s", err, tt.wantCode)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want %v", err, tt.wantIs)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("message %q, want %q", err.Error(), tt.wantMsg)
			}
			if len(res) != 1 || res[0].Outcome != domain.OutcomeFailed || res[0].Reason != err.Error() {
				t.Errorf("results = %+v", res)
			}
			if !cmp.Equal(state, joined) {
				t.Errorf("state changed: %s", cmp.Diff(joined, state))
			}
		})
	}
}

// TestModelledExceptionTypes: errors.As reaches the SDK's own exception
// types through the classification.
func TestModelledExceptionTypes(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	a := f.applier(t, f.cfg, workmail.Options{})
	_, joined, _ := step(t, a, person(t, "jane_01_observed"), domain.TargetState{}, t0)
	plan := domain.Plan{Ops: []domain.Op{{Target: domain.TargetWorkMail, Kind: domain.OpUpdateEmail, RemoteID: joined.RemoteID,
		Email: "jane@example.net"}}, Next: joined}
	_, _, err := consumers.Execute(context.Background(), a, domain.Person{}, joined, plan, nil)
	var nf *types.MailDomainNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("err = %v (%T), want a *types.MailDomainNotFoundException inside", err, err)
	}
}
