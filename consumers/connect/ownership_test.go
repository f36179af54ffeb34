package connect_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simconnect"
)

// tagSearchLags makes the stand-in's SearchUsers answer no users to every
// search with a SearchFilter (the ownership-tag search), however long
// after a write, so that a test reaches the adoption by username after a
// duplicate create. Username searches are served (with the stand-in's own
// search lag).
func tagSearchLags(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/search-users" {
			next.ServeHTTP(w, r)
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !bytes.Contains(b, []byte(`"SearchFilter"`)) {
			r.Body = io.NopCloser(bytes.NewReader(b))
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"Users":[],"ApproximateTotalCount":0}`)
	})
}

// createTagged makes a user named username with tags directly through the
// client (as another idsync deployment or an administrator would) and
// returns its id.
func (e *env) createTagged(t *testing.T, username string, tags map[string]string) string {
	t.Helper()
	out, err := e.client.CreateUser(context.Background(), &awsconnect.CreateUserInput{
		InstanceId: aws.String(e.instance), Username: aws.String(username),
		IdentityInfo:       &types.UserIdentityInfo{FirstName: aws.String("Other"), LastName: aws.String("Person")},
		PhoneConfig:        &types.UserPhoneConfig{PhoneType: types.PhoneTypeSoftPhone},
		SecurityProfileIds: []string{e.ids["SP_SUPERVISOR"]}, RoutingProfileId: aws.String(e.ids["RP_PRIORITY"]),
		Tags: tags,
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UserId)
}

// userByID returns the stand-in's user of id.
func (e *env) userByID(t *testing.T, id string) simconnect.User {
	t.Helper()
	for _, u := range e.sim.Users(e.instance) {
		if u.ID == id {
			return u
		}
	}
	t.Fatalf("no user %s", id)
	return simconnect.User{}
}

// renamed is p after its login (and so the username the plan renders) and
// email changed.
func renamed(p domain.Person) domain.Person {
	p.Login.Value = "jane.roe@example.com"
	p.Email.Value = "jane.roe@example.com"
	p.LastName.Value = "Roe"
	return p
}

// TestCrashAfterCreateThenLoginRename: the create succeeds, the commit is
// lost, and the person's login is renamed before the retry. The store
// still holds the create intent, so the retry plans its create under the
// username the first attempt used, not the one the new login renders.
// Within Connect's search lag neither search finds the agent, and the
// pinned name makes CreateUser answer DuplicateResource: the failure is
// retryable and nothing is created. (Under the new username CreateUser
// would have succeeded: a second agent.) After the lag the tag search
// finds the agent, which is adopted, keeping its username (Connect cannot
// rename), and nothing is created. (A rename alone is a case of the
// shared suite.)
func TestCrashAfterCreateThenLoginRename(t *testing.T) {
	tests := []struct {
		name        string
		withinLag   bool
		beforeRetry func(p domain.Person) domain.Person
		want        agentWant
		updated     string
		writes      int64 // write calls of the adopting retry
	}{
		{
			name:        "renamed and moved, retried within the search lag and after it",
			withinLag:   true,
			beforeRetry: func(p domain.Person) domain.Person { return member(renamed(p), supervisors, true, 2) },
			want: agentWant{"jane.doe@example.com", "Jane", "Roe", "jane.roe@example.com",
				[]string{"SP_AGENT", "SP_SUPERVISOR"}, "RP_PRIORITY", "HG_EMEA"},
			updated: "updated identity info, security profiles, routing profile",
			writes:  3,
		},
		{
			name:        "renamed, retried after the search lag",
			beforeRetry: renamed,
			want: agentWant{"jane.doe@example.com", "Jane", "Roe", "jane.roe@example.com",
				[]string{"SP_AGENT"}, "RP_SUPPORT", "HG_EMEA"},
			updated: "updated identity info",
			writes:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
			p := member(jane(t), agents, true, 1)
			held, lost := e.crashAfterCreate(t, a, p)
			if held.PendingName != "jane.doe@example.com" {
				t.Fatalf("held state %+v, want the intent for jane.doe@example.com", held)
			}

			p = tt.beforeRetry(p)
			plan, err := a.Plan(ctx, p, held, e.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Ops) != 1 || plan.Ops[0].Kind != domain.OpCreate || plan.Ops[0].Name != "jane.doe@example.com" {
				t.Fatalf("retry plan %+v, want one create under the pinned username", plan.Ops)
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
			if !strings.HasPrefix(rs[0].Reason, "adopted user "+lost.RemoteID) || !strings.Contains(rs[0].Reason, tt.updated) {
				t.Errorf("reason %q, want adoption of %s and %q", rs[0].Reason, lost.RemoteID, tt.updated)
			}
			if n := e.requests("CreateUser"); n != 0 {
				t.Errorf("%d CreateUser calls in the retry, want 0", n)
			}
			if n := e.requests("SearchUsers"); n != 1 {
				t.Errorf("%d SearchUsers calls in the retry, want 1 (the ownership-tag search)", n)
			}
			if got := e.writes(); got != tt.writes {
				t.Errorf("retry made %d write calls, want %d", got, tt.writes)
			}
			if n := len(e.sim.Users(e.instance)); n != 1 {
				t.Fatalf("%d users, want exactly 1", n)
			}
			e.checkAgent(t, p.Key, st, &tt.want)
			if st.Name != "jane.doe@example.com" || st.PendingName != "" {
				t.Errorf("state %+v, want the adopted agent's username and no intent", st)
			}
			if again, _ := a.Plan(ctx, p, st, e.now); len(again.Ops) != 0 {
				t.Errorf("plan after adoption has ops %v", kinds(again))
			}
		})
	}
}

// TestAdoptAfterRekey: an agent made while the person was known only by
// IdC user id carries that id in its tag; once the person is linked to
// Okta the key is the Okta id. A retry of the lost create must still
// recognise the agent as the person's, whether the tag search finds it
// first or the create's duplicate leads to it by username.
func TestAdoptAfterRekey(t *testing.T) {
	tests := []struct {
		name        string
		lag         bool // the tag search finds nothing, however long one waits
		beforeRetry func(p domain.Person) domain.Person
		creates     int64 // CreateUser calls of the retry
		writes      int64
	}{
		{name: "found by tag", beforeRetry: func(p domain.Person) domain.Person { return p }},
		{name: "found by tag, login renamed", beforeRetry: renamed, writes: 1},
		{name: "tag search never finds it: adopted after the duplicate", lag: true,
			beforeRetry: func(p domain.Person) domain.Person { return p }, creates: 1, writes: 1},
		{name: "tag search never finds it, login renamed: the pinned username leads to it", lag: true,
			beforeRetry: renamed, creates: 1, writes: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var opts []envOption
			if tt.lag {
				opts = append(opts, withHandler(tagSearchLags))
			}
			e := newEnv(t, opts...)
			a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})

			linked := member(jane(t), agents, true, 1)
			idcOnly := linked
			idcOnly.Key, idcOnly.OktaID = linked.IdCUserID, ""
			if linked.OktaID == "" || linked.Key != linked.OktaID || linked.IdCUserID == "" {
				t.Fatalf("jane.json must hold an Okta id (the key) and an IdC user id: %+v", linked)
			}
			held, lost := e.crashAfterCreate(t, a, idcOnly)
			if u := e.userByID(t, lost.RemoteID); u.Tags[connect.DefaultTagKey] != linked.IdCUserID {
				t.Fatalf("agent tags %v, want the IdC user id", u.Tags)
			}

			p := tt.beforeRetry(linked)
			plan, err := a.Plan(ctx, p, held, e.now)
			if err != nil {
				t.Fatal(err)
			}
			e.catchUp()
			e.sim.Control().ResetCounters()
			st, rs, err := consumers.Execute(ctx, a, p, held, plan, nil)
			if err != nil {
				t.Fatalf("retry Apply: %v (ErrNotOwned: %v), want the agent adopted", err, errors.Is(err, connect.ErrNotOwned))
			}
			if len(rs) != 1 || !rs[0].Adopted || rs[0].RemoteID != lost.RemoteID || st.RemoteID != lost.RemoteID {
				t.Fatalf("retry result = %+v, state id %s, want adoption of %s", rs, st.RemoteID, lost.RemoteID)
			}
			if want := "carrying " + connect.DefaultTagKey + "=" + linked.IdCUserID; !strings.Contains(rs[0].Reason, want) {
				t.Errorf("reason %q, want %q", rs[0].Reason, want)
			}
			if n := e.requests("CreateUser"); n != tt.creates {
				t.Errorf("%d CreateUser calls in the retry, want %d", n, tt.creates)
			}
			if got := e.writes(); got != tt.writes {
				t.Errorf("retry made %d write calls, want %d", got, tt.writes)
			}
			us := e.sim.Users(e.instance)
			if len(us) != 1 {
				t.Fatalf("%d users, want exactly 1", len(us))
			}
			if diff := cmp.Diff(map[string]string{connect.DefaultTagKey: linked.IdCUserID}, us[0].Tags); diff != "" {
				t.Errorf("tags changed (-want +got):\n%s", diff)
			}
			if again, _ := a.Plan(ctx, p, st, e.now); len(again.Ops) != 0 {
				t.Errorf("plan after adoption has ops %v", kinds(again))
			}
		})
	}
}

// TestForeignTagNeverAdopted: an agent of another name whose ownership tag
// is not this person's (another person's Okta or IdC id, a mere prefix of
// this person's key, or this person's key under another tag key) is never
// taken over by the pre-create search: the create makes the person's own
// agent and leaves the other untouched.
func TestForeignTagNeverAdopted(t *testing.T) {
	j := jane(t)
	tests := []struct {
		name string
		tags map[string]string
	}{
		{"another person's Okta id", map[string]string{connect.DefaultTagKey: "00uSOMEONEELSE000001"}},
		{"another person's IdC user id", map[string]string{connect.DefaultTagKey: "9067a1b2c3-ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee"}},
		{"a prefix of this person's key", map[string]string{connect.DefaultTagKey: j.Key[:10]}},
		{"this person's key under another tag key", map[string]string{"acme:person": j.Key}},
		{"this person's IdC user id under another tag key", map[string]string{"acme:person": j.IdCUserID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
			other := e.createTagged(t, "other.person@example.com", tt.tags)
			before := e.userByID(t, other)

			p := member(jane(t), agents, true, 1)
			plan, err := a.Plan(ctx, p, domain.TargetState{}, e.now)
			if err != nil {
				t.Fatal(err)
			}
			st, rs, err := consumers.Execute(ctx, a, p, domain.TargetState{}, plan, nil)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if len(rs) != 1 || rs[0].Adopted || rs[0].RemoteID == other || st.RemoteID == other {
				t.Fatalf("results %+v, state id %s: the foreign agent %s was adopted", rs, st.RemoteID, other)
			}
			if n := len(e.sim.Users(e.instance)); n != 2 {
				t.Errorf("%d users, want 2", n)
			}
			if diff := cmp.Diff(before, e.userByID(t, other)); diff != "" {
				t.Errorf("the foreign agent was touched (-before +after):\n%s", diff)
			}
			e.checkAgent(t, p.Key, st, &agentWant{"jane.doe@example.com", "Jane", "Doe", "jane.doe@example.com",
				[]string{"SP_AGENT"}, "RP_SUPPORT", "HG_EMEA"})
		})
	}
}
