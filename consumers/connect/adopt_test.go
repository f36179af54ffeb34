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
)

// crashAfterCreate runs p's first plan from no state as the runner does
// (the create intent stored first) and loses the commit: it returns the
// state the store still holds (the intent) and the state the lost commit
// would have written.
func (e *env) crashAfterCreate(t *testing.T, a *connect.Applier, p domain.Person) (held, lost domain.TargetState) {
	t.Helper()
	ctx := context.Background()
	plan, err := a.Plan(ctx, p, domain.TargetState{}, e.now)
	if err != nil {
		t.Fatal(err)
	}
	held, _ = consumers.Intent(domain.TargetConnect, domain.TargetState{}, plan, e.clock.Now())
	lost, _, err = consumers.Execute(ctx, a, p, held, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	return held, lost
}

// retryWithinLag runs plan from held while the stand-in's search index
// does not show the agent the lost commit made yet: neither the
// ownership-tag search nor the username search finds it, CreateUser
// answers DuplicateResourceException, and the create must fail retryably
// (ErrDuplicateNotFound) without making or touching anything.
func (e *env) retryWithinLag(t *testing.T, a *connect.Applier, p domain.Person, held domain.TargetState, plan domain.Plan) {
	t.Helper()
	before := e.sim.Users(e.instance)
	writes := e.writes()
	st, rs, err := consumers.Execute(context.Background(), a, p, held, plan, nil)
	if !errors.Is(err, connect.ErrDuplicateNotFound) || domain.KindOf(err) != domain.ErrorRetryable {
		t.Fatalf("retry within the search lag: %v (%s), want retryable ErrDuplicateNotFound", err, domain.KindOf(err))
	}
	if len(rs) != 1 || rs[0].Outcome != domain.OutcomeFailed || rs[0].Adopted {
		t.Errorf("results %+v, want one failed create", rs)
	}
	if !st.Equal(held) {
		t.Errorf("state %+v, want the held one %+v", st, held)
	}
	if got := e.writes() - writes; got != 1 || e.requests("CreateUser") == 0 {
		t.Errorf("%d write calls, want the one refused CreateUser", got)
	}
	if diff := cmp.Diff(before, e.sim.Users(e.instance)); diff != "" {
		t.Errorf("users changed (-before +after):\n%s", diff)
	}
}

// TestCrashAfterCreateAdopts: the create succeeds, the commit is lost, the
// person moves, and the retry re-plans from the state the store still
// holds (the create intent). Connect's search index lags writes: a retry
// within the lag finds nothing, CreateUser answers DuplicateResource and
// the failure is retryable; a retry after it finds idsync's own agent by
// its tag before calling CreateUser and adopts it, bringing it to what the
// new plan says. Nothing is created twice either way. (The retry of the
// same plan is a case of the shared suite.)
func TestCrashAfterCreateAdopts(t *testing.T) {
	tests := []struct {
		name        string
		withinLag   bool // a first retry comes before the index shows the agent
		beforeRetry func(p domain.Person) domain.Person
		want        agentWant
		updated     string // what the adoption reason must say it updated; "" for nothing
		writes      int64  // write calls of the adopting retry
		creates     int64  // CreateUser calls of the adopting retry
	}{
		{
			name:      "moved and renamed meanwhile, retried within the search lag and after it",
			withinLag: true,
			beforeRetry: func(p domain.Person) domain.Person {
				p = member(p, supervisors, true, 2)
				p.LastName.Value = "Roe"
				return p
			},
			want: agentWant{"jane.doe@example.com", "Jane", "Roe", "jane.doe@example.com",
				[]string{"SP_AGENT", "SP_SUPERVISOR"}, "RP_PRIORITY", "HG_EMEA"},
			updated: "updated identity info, security profiles, routing profile",
			writes:  3,
		},
		{
			name: "moved meanwhile, retried after the search lag",
			beforeRetry: func(p domain.Person) domain.Person {
				return member(p, supervisors, true, 2)
			},
			want: agentWant{"jane.doe@example.com", "Jane", "Doe", "jane.doe@example.com",
				[]string{"SP_AGENT", "SP_SUPERVISOR"}, "RP_PRIORITY", "HG_EMEA"},
			updated: "updated security profiles, routing profile",
			writes:  2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
			p := member(jane(t), agents, true, 1)
			held, lost := e.crashAfterCreate(t, a, p)

			p = tt.beforeRetry(p)
			plan, err := a.Plan(ctx, p, held, e.now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]domain.OpKind{domain.OpCreate}, kinds(plan)); diff != "" {
				t.Fatalf("retry plan (-want +got):\n%s", diff)
			}
			if tt.withinLag {
				e.retryWithinLag(t, a, p, held, plan)
			}
			e.catchUp()
			e.sim.Control().ResetCounters()
			st, rs, err := consumers.Execute(ctx, a, p, held, plan, nil)
			if err != nil {
				t.Fatalf("retry Apply: %v", err)
			}
			if len(rs) != 1 || !rs[0].Adopted || rs[0].Outcome != domain.OutcomeApplied || rs[0].RemoteID != lost.RemoteID {
				t.Fatalf("retry result = %+v, want applied adoption of %s", rs, lost.RemoteID)
			}
			if !strings.HasPrefix(rs[0].Reason, "adopted user "+lost.RemoteID) ||
				(tt.updated != "") != strings.Contains(rs[0].Reason, "updated") || !strings.Contains(rs[0].Reason, tt.updated) {
				t.Errorf("reason %q, want adoption of %s and %q", rs[0].Reason, lost.RemoteID, tt.updated)
			}
			if got := e.writes(); got != tt.writes {
				t.Errorf("retry made %d write calls, want %d", got, tt.writes)
			}
			if got := e.requests("CreateUser"); got != tt.creates {
				t.Errorf("retry made %d CreateUser calls, want %d", got, tt.creates)
			}
			if n := len(e.sim.Users(e.instance)); n != 1 {
				t.Fatalf("%d users, want exactly 1", n)
			}
			e.checkAgent(t, p.Key, st, &tt.want)
			if diff := cmp.Diff(plan.Next.SecurityProfileIDs, st.SecurityProfileIDs); diff != "" || st.Status != domain.RemoteEnabled {
				t.Errorf("state %+v does not match the plan's next state", st)
			}
			if st.PendingName != "" || !st.PendingAt.IsZero() {
				t.Errorf("state %+v keeps the create intent", st)
			}
			if again, _ := a.Plan(ctx, p, st, e.now); len(again.Ops) != 0 {
				t.Errorf("plan after adoption has ops %v", kinds(again))
			}
		})
	}
}

// TestUnmanagedClash: a user of the same name that is not provably
// idsync's is never touched and the create fails permanently. (An untagged
// user of exactly the planned name is a case of the shared suite.)
func TestUnmanagedClash(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) string // makes the clashing user, returns its id
		why   string
	}{
		{"untagged, other case", func(t *testing.T, e *env) string {
			id, err := e.sim.SeedUser(e.instance, "Jane.Doe@Example.com")
			if err != nil {
				t.Fatal(err)
			}
			return id
		}, "has no idsync:person tag"},
		{"tagged for someone else", func(t *testing.T, e *env) string {
			out, err := e.client.CreateUser(context.Background(), &awsconnect.CreateUserInput{
				InstanceId: aws.String(e.instance), Username: aws.String("jane.doe@example.com"),
				IdentityInfo:       &types.UserIdentityInfo{FirstName: aws.String("Janet"), LastName: aws.String("Doe")},
				PhoneConfig:        &types.UserPhoneConfig{PhoneType: types.PhoneTypeDeskPhone, DeskPhoneNumber: aws.String("+442071234567")},
				SecurityProfileIds: []string{e.ids["SP_SUPERVISOR"]}, RoutingProfileId: aws.String(e.ids["RP_PRIORITY"]),
				Tags: map[string]string{connect.DefaultTagKey: "00uSOMEONEELSE000001"},
			})
			if err != nil {
				t.Fatal(err)
			}
			return aws.ToString(out.UserId)
		}, "is tagged idsync:person=00uSOMEONEELSE000001"},
		{"tagged with another person's IdC user id", func(t *testing.T, e *env) string {
			return e.createTagged(t, "jane.doe@example.com",
				map[string]string{connect.DefaultTagKey: "9067a1b2c3-ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee"})
		}, "is tagged idsync:person=9067a1b2c3-ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
			id := tt.setup(t, e)
			e.catchUp() // the clashing user was made long before
			before := e.sim.Users(e.instance)
			e.sim.Control().ResetCounters()

			p := member(jane(t), agents, true, 1)
			last := domain.TargetState{}
			plan, err := a.Plan(ctx, p, last, e.now)
			if err != nil {
				t.Fatal(err)
			}
			st, rs, err := consumers.Execute(ctx, a, p, last, plan, nil)
			if !errors.Is(err, connect.ErrNotOwned) || domain.KindOf(err) != domain.ErrorPermanent {
				t.Fatalf("Apply error = %v (%s), want permanent ErrNotOwned", err, domain.KindOf(err))
			}
			if len(rs) != 1 || rs[0].Outcome != domain.OutcomeFailed || rs[0].Adopted ||
				!strings.Contains(rs[0].Reason, id) || !strings.Contains(rs[0].Reason, tt.why) {
				t.Errorf("results = %+v, want one failure naming user %s and %q", rs, id, tt.why)
			}
			if diff := cmp.Diff(last, st); diff != "" {
				t.Errorf("state changed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, e.sim.Users(e.instance)); diff != "" {
				t.Errorf("the clashing user was touched (-before +after):\n%s", diff)
			}
			if got := e.writes() - e.requests("CreateUser"); got != 0 {
				t.Errorf("%d write calls besides CreateUser, want 0", got)
			}
		})
	}
}

// TestClashWithinTheSearchLag: a user of the planned name made a moment
// ago by someone else is not found by Connect's lagging search yet, so
// the duplicate create fails retryably (it might be idsync's own); once
// the index shows it, it is recognised as someone else's and the create
// fails permanently. It is never touched.
func TestClashWithinTheSearchLag(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
	id := e.createTagged(t, "jane.doe@example.com", map[string]string{connect.DefaultTagKey: "00uSOMEONEELSE000001"})
	before := e.sim.Users(e.instance)

	p := member(jane(t), agents, true, 1)
	plan, err := a.Plan(ctx, p, domain.TargetState{}, e.now)
	if err != nil {
		t.Fatal(err)
	}
	held, _ := consumers.Intent(domain.TargetConnect, domain.TargetState{}, plan, e.clock.Now())
	_, _, err = consumers.Execute(ctx, a, p, held, plan, nil)
	if !errors.Is(err, connect.ErrDuplicateNotFound) || domain.KindOf(err) != domain.ErrorRetryable {
		t.Fatalf("within the lag: %v (%s), want retryable ErrDuplicateNotFound", err, domain.KindOf(err))
	}
	e.catchUp()
	_, rs, err := consumers.Execute(ctx, a, p, held, plan, nil)
	if !errors.Is(err, connect.ErrNotOwned) || domain.KindOf(err) != domain.ErrorPermanent {
		t.Fatalf("after the lag: %v (%s), want permanent ErrNotOwned", err, domain.KindOf(err))
	}
	if len(rs) != 1 || !strings.Contains(rs[0].Reason, id) {
		t.Errorf("results %+v, want a failure naming %s", rs, id)
	}
	if diff := cmp.Diff(before, e.sim.Users(e.instance)); diff != "" {
		t.Errorf("the clashing user was touched (-before +after):\n%s", diff)
	}
}
