package workmail_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// crash runs a first Apply for p (optionally with RegisterToWorkMail
// failing every attempt, i.e. a crash between create and register) and
// throws its returned state away, as a consumer that crashed before its
// commit would.
func crash(t *testing.T, f *fixture, a *workmail.Applier, p domain.Person, beforeRegister bool) {
	t.Helper()
	ctx := context.Background()
	if beforeRegister {
		f.sim.Control().SetFaults("RegisterToWorkMail", simkit.Faults{ServerErrorRate: 1})
		defer f.sim.Control().SetFaults("RegisterToWorkMail", simkit.Faults{})
	}
	plan, err := a.Plan(ctx, p, domain.TargetState{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = consumers.Execute(ctx, a, p, domain.TargetState{}, plan, nil)
	if beforeRegister && domain.KindOf(err) != domain.ErrorRetryable {
		t.Fatalf("first Apply: err = %v, want retryable", err)
	}
	if !beforeRegister && err != nil {
		t.Fatalf("first Apply: %v", err)
	}
}

// TestCrashAfterCreateAdopts: the retry after a crash re-plans a create
// from the old state and adopts the user the first attempt made by the
// WorkMail adoption rules; there is exactly one account afterwards. (A
// commit lost after the whole plan is a case of the shared suite.)
func TestCrashAfterCreateAdopts(t *testing.T) {
	john := func(t *testing.T) domain.Person { return person(t, "john_01_member_added") }
	tests := []struct {
		name           string
		first, second  func(t *testing.T) domain.Person
		beforeRegister bool
		wantRule       string
		wantEmail      string
		wantDisplay    string
		wantIdP        string
		wantUpdateUser int64
	}{
		{"IdC id known, crash before register", func(t *testing.T) domain.Person { return person(t, "jane_01_observed") }, nil,
			true, "IdC user id", "jane.doe@example.com", "Jane Doe", janeIdC, 0},
		{"IdC id known, profile changed in between: attributes aligned",
			func(t *testing.T) domain.Person { return person(t, "jane_01_observed") },
			func(t *testing.T) domain.Person { return person(t, "jane_01_observed", "jane_02_profile_changed") },
			true, "IdC user id", "jane.doe@example.com", "Jane Q. Doe", janeIdC, 1},
		{"login renamed between the attempts: the same user, keeping its name",
			func(t *testing.T) domain.Person { return person(t, "jane_01_observed") },
			func(t *testing.T) domain.Person { return person(t, "jane_01_observed", "jane_03_renamed") },
			true, "IdC user id", "jane.smith@example.com", "Jane Smith", janeIdC, 1},
		{"IdC id unknown (hook only), crash before register", john, nil,
			true, "exact state a create leaves", "john.roe@example.com", "john.roe", "", 0},
		{"IdC id learnt between the attempts", john,
			func(t *testing.T) domain.Person {
				p := observed(t, "00u7johnRoe0000hook8", johnIdC, "john.roe@example.com")
				p, _ = domain.Fold(p, event(t, "john_01_member_added"))
				return p
			},
			true, "exact state a create leaves", "john.roe@example.com", "john.roe", johnIdC, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, simworkmail.Options{})
			a := f.applier(t, f.cfg, workmail.Options{})
			first := tt.first(t)
			crash(t, f, a, first, tt.beforeRegister)
			if n := len(f.live()); n != 1 {
				t.Fatalf("%d users after the first attempt, want 1", n)
			}
			made := f.live()[0].UserID

			second := first
			if tt.second != nil {
				second = tt.second(t)
			}
			updates := f.sim.Control().Counters()["UpdateUser"].Requests
			plan, state, res := step(t, a, second, domain.TargetState{}, t0)
			if got := kinds(plan.Ops); !cmp.Equal(got, []domain.OpKind{domain.OpCreate, domain.OpRegister}) {
				t.Fatalf("ops = %v", got)
			}
			if !res[0].Adopted || res[0].RemoteID != made || !strings.Contains(res[0].Reason, tt.wantRule) ||
				res[0].Outcome != domain.OutcomeApplied {
				t.Errorf("create result = %+v", res[0])
			}
			if res[1].RemoteID != made || res[1].Outcome != domain.OutcomeApplied {
				t.Errorf("register result = %+v", res[1])
			}
			if state.RemoteID != made || state.Status != domain.RemoteEnabled || !state.Managed {
				t.Errorf("state = %+v", state)
			}
			live := f.live()
			if len(live) != 1 || len(f.sim.Users(f.org)) != 1 {
				t.Fatalf("users = %+v, want exactly one", f.sim.Users(f.org))
			}
			u := live[0]
			if u.UserID != made || u.State != simworkmail.StateEnabled || u.Email != tt.wantEmail ||
				u.DisplayName != tt.wantDisplay || u.IdentityProviderUserID != tt.wantIdP {
				t.Errorf("user = %+v", u)
			}
			if state.Name != u.Name || state.Email != u.Email {
				t.Errorf("state %+v does not describe user %+v", state, u)
			}
			if n := f.sim.Control().Counters()["UpdateUser"].Requests - updates; n != tt.wantUpdateUser {
				t.Errorf("%d UpdateUser calls, want %d", n, tt.wantUpdateUser)
			}
			again, err := a.Plan(context.Background(), second, state, t0)
			if err != nil || len(again.Ops) != 0 {
				t.Errorf("re-plan = %v, %v; want nothing", kinds(again.Ops), err)
			}
		})
	}
}

// TestClashLeftUntouched: a name or address held by an account idsync does
// not manage fails permanently, names the holder's id (never an email
// address) and changes nothing. (An enabled user holding the name of a
// person with an IdC user id is a case of the shared suite.)
func TestClashLeftUntouched(t *testing.T) {
	type seeded struct{ ids []string }
	tests := []struct {
		name    string
		seed    func(t *testing.T, f *fixture) seeded
		person  func(t *testing.T) domain.Person
		wantErr error
		// wantMade: the create succeeded (the clash is on the address), so
		// the state returned is idsync's own DISABLED user.
		wantMade bool
	}{
		{"enabled user with the name (SeedUser), IdC id unknown",
			func(t *testing.T, f *fixture) seeded {
				id, err := f.sim.SeedUser(f.org, "john.roe", "john.roe@example.com")
				if err != nil {
					t.Fatal(err)
				}
				return seeded{[]string{id}}
			},
			func(t *testing.T) domain.Person { return person(t, "john_01_member_added") }, workmail.ErrUnmanaged, false},
		{"disabled user with the name and other attributes (SeedUser)",
			func(t *testing.T, f *fixture) seeded {
				id, err := f.sim.SeedUser(f.org, "jane.doe", "")
				if err != nil {
					t.Fatal(err)
				}
				return seeded{[]string{id}}
			},
			func(t *testing.T) domain.Person { return person(t, "jane_01_observed") }, workmail.ErrUnmanaged, false},
		{"user with the name and another person's IdC id",
			func(t *testing.T, f *fixture) seeded {
				u, err := f.sim.AddUser(f.org, simworkmail.User{Name: "jane.doe", DisplayName: "Jane Doe", FirstName: "Jane", LastName: "Doe",
					IdentityProviderUserID: otherIdC})
				if err != nil {
					t.Fatal(err)
				}
				return seeded{[]string{u.UserID}}
			},
			func(t *testing.T) domain.Person { return person(t, "jane_01_observed") }, workmail.ErrUnmanaged, false},
		{"the person's IdC id on two enabled users under other names: neither chosen, no third mailbox",
			func(t *testing.T, f *fixture) seeded {
				var ids []string
				for _, name := range []string{"jdoe", "jane"} {
					u, err := f.sim.AddUser(f.org, simworkmail.User{Name: name, DisplayName: "Jane Doe", Email: name + "@example.com",
						IdentityProviderUserID: janeIdC})
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, u.UserID)
				}
				return seeded{ids}
			},
			func(t *testing.T) domain.Person { return person(t, "jane_01_observed") }, workmail.ErrUnmanaged, false},
		{"address held by another user (SeedUser)",
			func(t *testing.T, f *fixture) seeded {
				id, err := f.sim.SeedUser(f.org, "someone.else", "jane.doe@example.com")
				if err != nil {
					t.Fatal(err)
				}
				return seeded{[]string{id}}
			},
			func(t *testing.T) domain.Person { return person(t, "jane_01_observed") }, workmail.ErrAddressInUse, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, simworkmail.Options{})
			a := f.applier(t, f.cfg, workmail.Options{})
			s := tt.seed(t, f)
			before := f.sim.Users(f.org)
			p := tt.person(t)
			plan, err := a.Plan(context.Background(), p, domain.TargetState{}, t0)
			if err != nil {
				t.Fatal(err)
			}
			state, res, err := consumers.Execute(context.Background(), a, p, domain.TargetState{}, plan, nil)
			if !errors.Is(err, tt.wantErr) || domain.KindOf(err) != domain.ErrorPermanent {
				t.Fatalf("err = %v (%v), want permanent %v", err, domain.KindOf(err), tt.wantErr)
			}
			last := res[len(res)-1]
			if last.Outcome != domain.OutcomeFailed {
				t.Errorf("last result = %+v", last)
			}
			for _, id := range s.ids {
				if !strings.Contains(last.Reason, id) || !strings.Contains(err.Error(), id) {
					t.Errorf("reason %q / error %q does not name %s", last.Reason, err, id)
				}
			}
			if strings.Contains(last.Reason, "@") || strings.Contains(err.Error(), "@") {
				t.Errorf("reason %q / error %q shows an email address", last.Reason, err)
			}
			after := f.sim.Users(f.org)
			for i, u := range before {
				if !cmp.Equal(u, after[i]) {
					t.Errorf("unmanaged user changed: %s", cmp.Diff(u, after[i]))
				}
				d := f.describe(t, u.UserID)
				if string(d.State) != u.State {
					t.Errorf("DescribeUser(%s).State = %s, want %s", u.UserID, d.State, u.State)
				}
			}
			if tt.wantMade {
				if len(after) != len(before)+1 || state.RemoteID != after[len(after)-1].UserID ||
					state.Status != domain.RemoteDisabled || !state.Managed {
					t.Errorf("state = %+v, users %+v", state, after)
				}
			} else if len(after) != len(before) || !cmp.Equal(state, domain.TargetState{}) {
				t.Errorf("state = %+v, %d users (was %d)", state, len(after), len(before))
			}
		})
	}
}

// TestAdoptsIdenticalShell documents the residual risk of the rule for
// people without a known IdC user id: a never-enabled user with exactly
// the attributes idsync's own create would have set is adopted.
func TestAdoptsIdenticalShell(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	a := f.applier(t, f.cfg, workmail.Options{})
	id, err := f.sim.SeedUser(f.org, "john.roe", "") // DisplayName = Name, like a create from the login
	if err != nil {
		t.Fatal(err)
	}
	_, state, res := step(t, a, person(t, "john_01_member_added"), domain.TargetState{}, t0)
	if !res[0].Adopted || state.RemoteID != id {
		t.Errorf("result %+v, state %+v; want %s adopted", res[0], state, id)
	}
	if live := f.live(); len(live) != 1 || live[0].State != simworkmail.StateEnabled {
		t.Errorf("users = %+v", live)
	}
}

// TestEmailChangeToAddressInUse: changing the primary address to one
// another user holds fails permanently after the attribute update, which
// the returned state keeps.
func TestEmailChangeToAddressInUse(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	a := f.applier(t, f.cfg, workmail.Options{})
	_, joined, _ := step(t, a, person(t, "jane_01_observed"), domain.TargetState{}, t0)
	other, err := f.sim.SeedUser(f.org, "someone.else", "jane.smith@example.com")
	if err != nil {
		t.Fatal(err)
	}
	p := person(t, "jane_01_observed", "jane_03_renamed")
	plan, err := a.Plan(context.Background(), p, joined, t0)
	if err != nil {
		t.Fatal(err)
	}
	state, res, err := consumers.Execute(context.Background(), a, p, joined, plan, nil)
	if !errors.Is(err, workmail.ErrAddressInUse) || domain.KindOf(err) != domain.ErrorPermanent || !strings.Contains(err.Error(), other) {
		t.Fatalf("err = %v", err)
	}
	if len(res) != 2 || res[0].Outcome != domain.OutcomeApplied || res[1].Outcome != domain.OutcomeFailed {
		t.Errorf("results = %+v", res)
	}
	if state.Email != "jane.doe@example.com" || state.LastName != "Smith" {
		t.Errorf("state = %+v", state)
	}
	if u := f.user(t, joined.RemoteID); u.Email != "jane.doe@example.com" {
		t.Errorf("email = %s", u.Email)
	}
	if u := f.user(t, other); u.Email != "jane.smith@example.com" || u.State != simworkmail.StateEnabled {
		t.Errorf("other user = %+v", u)
	}
}

// hidingAPI answers the first hide ListUsers calls with no users, as a
// listing made just before a concurrent create would.
type hidingAPI struct {
	workmail.API
	hide int
}

func (h *hidingAPI) ListUsers(ctx context.Context, in *sdk.ListUsersInput, optFns ...func(*sdk.Options)) (*sdk.ListUsersOutput, error) {
	if h.hide > 0 {
		h.hide--
		return &sdk.ListUsersOutput{}, nil
	}
	return h.API.ListUsers(ctx, in, optFns...)
}

// TestAdoptAfterNameClash: when the look-up before the create misses the
// user (made concurrently), NameAvailabilityException leads to the same
// look-up by IdC user id, and the user is adopted.
func TestAdoptAfterNameClash(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	p := person(t, "jane_01_observed")
	crash(t, f, f.applier(t, f.cfg, workmail.Options{}), p, true)
	made := f.live()[0].UserID
	a, err := workmail.New(workmail.Options{API: &hidingAPI{API: f.client, hide: 1}, Config: f.cfg})
	if err != nil {
		t.Fatal(err)
	}
	creates := f.sim.Control().Counters()["CreateUser"].Requests
	_, state, res := step(t, a, p, domain.TargetState{}, t0)
	if !res[0].Adopted || res[0].RemoteID != made || state.RemoteID != made || len(f.sim.Users(f.org)) != 1 {
		t.Errorf("result %+v, state %+v, users %+v", res[0], state, f.sim.Users(f.org))
	}
	if n := f.sim.Control().Counters()["CreateUser"].Requests - creates; n != 1 {
		t.Errorf("%d CreateUser calls, want 1 (answered NameAvailabilityException)", n)
	}
}

// withLogin returns p after a profile fact renaming its login (and so its
// rendered name and address).
func withLogin(t *testing.T, p domain.Person, login string) domain.Person {
	t.Helper()
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	e := domain.Event{Source: domain.SourceOktaHook, SourceEventID: "rename-" + login, Kind: domain.KindProfileChanged,
		Subject: domain.Subject{OktaID: p.OktaID, IdCUserID: p.IdCUserID}, Profile: &domain.Profile{Login: &login},
		OccurredAt: at, ReceivedAt: at}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), e.OccurredAt)
	p, ok := domain.Fold(p, e)
	if !ok {
		t.Fatal("the rename did not fold")
	}
	return p
}

// TestCrashAfterRegisterAdoptsByIntent: without an IdC user id, a crash
// after the register leaves an ENABLED user that only the create intent
// can prove idsync's: the user holding the intent's name, enabled at or
// after the intent, with the planned address. Such a user is adopted
// (before the intent existed it was refused, ErrUnmanaged); a user enabled
// before the intent, with another address, or with another person's IdC
// user id is refused and left untouched.
func TestCrashAfterRegisterAdoptsByIntent(t *testing.T) {
	ctx := context.Background()
	// crashed runs the whole first plan from the intent: the user idsync
	// made, enabled after the intent.
	crashed := func(t *testing.T, f *fixture, a *workmail.Applier, p domain.Person, plan domain.Plan) (domain.TargetState, string) {
		held, _ := consumers.Intent(domain.TargetWorkMail, domain.TargetState{}, plan, time.Now())
		if _, _, err := consumers.Execute(ctx, a, p, held, plan, nil); err != nil {
			t.Fatalf("first attempt: %v", err)
		}
		return held, f.live()[0].UserID
	}
	tests := []struct {
		name string
		// first makes the user holding the name and returns the state the
		// store holds (the intent) and the user's id.
		first   func(t *testing.T, f *fixture, a *workmail.Applier, p domain.Person, plan domain.Plan) (domain.TargetState, string)
		retry   func(t *testing.T, p domain.Person) domain.Person // the person at the retry; nil: unchanged
		adopted bool
	}{
		{name: "crash after register: adopted", first: crashed, adopted: true},
		{name: "crash after register, display name changed meanwhile: adopted and aligned", first: crashed, adopted: true,
			retry: func(t *testing.T, p domain.Person) domain.Person {
				p.DisplayName = domain.Stamped{Value: "John Roe", At: p.Login.At.Add(time.Hour), By: "display"}
				return p
			}},
		{name: "crash after register, login renamed meanwhile: another planned address, refused", first: crashed,
			retry: func(t *testing.T, p domain.Person) domain.Person { return withLogin(t, p, "jroe@example.com") }},
		{name: "enabled before the intent: refused",
			first: func(t *testing.T, f *fixture, _ *workmail.Applier, _ domain.Person, plan domain.Plan) (domain.TargetState, string) {
				id, err := f.sim.SeedUser(f.org, "john.roe", "john.roe@example.com")
				if err != nil {
					t.Fatal(err)
				}
				held, _ := consumers.Intent(domain.TargetWorkMail, domain.TargetState{}, plan, time.Now().Add(2*time.Second))
				return held, id
			}},
		{name: "enabled after the intent, another person's IdC user id: refused",
			first: func(t *testing.T, f *fixture, _ *workmail.Applier, _ domain.Person, plan domain.Plan) (domain.TargetState, string) {
				u, err := f.sim.AddUser(f.org, simworkmail.User{Name: "john.roe", DisplayName: "john.roe", IdentityProviderUserID: otherIdC})
				if err != nil {
					t.Fatal(err)
				}
				held, _ := consumers.Intent(domain.TargetWorkMail, domain.TargetState{}, plan, time.Now())
				if _, err := f.client.RegisterToWorkMail(ctx, &sdk.RegisterToWorkMailInput{OrganizationId: aws.String(f.org),
					EntityId: aws.String(u.UserID), Email: aws.String("john.roe@example.com")}); err != nil {
					t.Fatal(err)
				}
				return held, u.UserID
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, simworkmail.Options{})
			a := f.applier(t, f.cfg, workmail.Options{})
			p := person(t, "john_01_member_added")
			plan, err := a.Plan(ctx, p, domain.TargetState{}, t0)
			if err != nil {
				t.Fatal(err)
			}
			held, made := tt.first(t, f, a, p, plan)
			if u := f.user(t, made); u.State != simworkmail.StateEnabled || held.PendingName != "john.roe" {
				t.Fatalf("before the retry: user %+v, held %+v; want an enabled user and the intent", u, held)
			}
			before := f.sim.Users(f.org)

			if tt.retry != nil {
				p = tt.retry(t, p)
			}
			plan, err = a.Plan(ctx, p, held, t0)
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(plan.Ops); !cmp.Equal(got, []domain.OpKind{domain.OpCreate, domain.OpRegister}) || plan.Ops[0].Name != "john.roe" {
				t.Fatalf("retry plan %+v, want create and register under the pinned name", plan.Ops)
			}
			state, res, err := consumers.Execute(ctx, a, p, held, plan, nil)
			if n := len(f.sim.Users(f.org)); n != 1 {
				t.Fatalf("%d users, want exactly one", n)
			}
			if !tt.adopted {
				if !errors.Is(err, workmail.ErrUnmanaged) || domain.KindOf(err) != domain.ErrorPermanent || !strings.Contains(err.Error(), made) {
					t.Fatalf("err = %v (%v), want permanent ErrUnmanaged naming %s", err, domain.KindOf(err), made)
				}
				if strings.Contains(err.Error(), "@") {
					t.Errorf("error %q shows an address", err)
				}
				if diff := cmp.Diff(before, f.sim.Users(f.org)); diff != "" {
					t.Errorf("the user was touched (-before +after):\n%s", diff)
				}
				if !state.Equal(held) {
					t.Errorf("state %+v, want the held %+v", state, held)
				}
				return
			}
			if err != nil {
				t.Fatalf("retry: %v (results %+v)", err, res)
			}
			if !res[0].Adopted || res[0].RemoteID != made || !strings.Contains(res[0].Reason, "create intent") {
				t.Errorf("create result %+v, want %s adopted by the intent rule", res[0], made)
			}
			u := f.user(t, made)
			if state.RemoteID != made || state.Status != domain.RemoteEnabled || state.PendingName != "" ||
				u.State != simworkmail.StateEnabled || u.Email != "john.roe@example.com" || u.DisplayName != plan.Ops[0].DisplayName {
				t.Errorf("state %+v, user %+v", state, u)
			}
			if again, err := a.Plan(ctx, p, state, t0); err != nil || len(again.Ops) != 0 {
				t.Errorf("re-plan = %v, %v; want nothing", kinds(again.Ops), err)
			}
		})
	}
}

// TestSampleCreatedMailboxAdopted: a mailbox another tool made for the
// person (AWS's IdC → WorkMail sample creates every user with its
// IdentityProviderUserId and a Name of its own, and enables it) is adopted
// by the IdC user id whatever its Name: no second mailbox, the Name kept,
// the address and names brought in line with the plan, and nothing left
// to do afterwards.
func TestSampleCreatedMailboxAdopted(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	a := f.applier(t, f.cfg, workmail.Options{})
	sample, err := f.sim.AddUser(f.org, simworkmail.User{Name: "Jane_Doe_7f3a", DisplayName: "Jane", Email: "jdoe@example.com",
		IdentityProviderUserID: janeIdC})
	if err != nil {
		t.Fatal(err)
	}
	if sample.State != simworkmail.StateEnabled {
		t.Fatalf("seeded user %+v is not enabled", sample)
	}
	p := person(t, "jane_01_observed")
	plan, state, res := step(t, a, p, domain.TargetState{}, t0)
	if got := kinds(plan.Ops); !cmp.Equal(got, []domain.OpKind{domain.OpCreate, domain.OpRegister}) {
		t.Fatalf("ops = %v", got)
	}
	if !res[0].Adopted || res[0].RemoteID != sample.UserID || !strings.Contains(res[0].Reason, "IdC user id") {
		t.Errorf("create result = %+v, want an adoption by IdC user id", res[0])
	}
	live := f.live()
	if len(live) != 1 {
		t.Fatalf("users = %+v, want the sample's only", live)
	}
	u := live[0]
	if u.UserID != sample.UserID || u.Name != "Jane_Doe_7f3a" || u.State != simworkmail.StateEnabled ||
		u.Email != "jane.doe@example.com" || u.DisplayName != "Jane Doe" || u.IdentityProviderUserID != janeIdC {
		t.Errorf("user = %+v", u)
	}
	want := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: sample.UserID, Status: domain.RemoteEnabled,
		Name: "Jane_Doe_7f3a", Email: "jane.doe@example.com", DisplayName: "Jane Doe", FirstName: "Jane", LastName: "Doe",
		IdentityProviderUserID: janeIdC}
	if d := cmp.Diff(want, state); d != "" {
		t.Errorf("state (-want +got):\n%s", d)
	}
	again, err := a.Plan(context.Background(), p, state, t0)
	if err != nil || len(again.Ops) != 0 {
		t.Errorf("re-plan = %v, %v; want nothing", kinds(again.Ops), err)
	}
}
