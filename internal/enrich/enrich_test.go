package enrich_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/enrich"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
)

// planConnect plans p's agent from nothing.
func planConnect(t *testing.T, p domain.Person) domain.Plan {
	t.Helper()
	plan, err := domain.PlanConnect(*config().Connect, domain.ConnectIdentitySAML, p, domain.TargetState{}, hookTime())
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func wantNames(t *testing.T, p domain.Person, first, last string) {
	t.Helper()
	if p.FirstName.Value != first || p.LastName.Value != last {
		t.Errorf("names %q %q, want %q %q", p.FirstName.Value, p.LastName.Value, first, last)
	}
}

// A person known from the hook only gets the Okta profile's names, and the
// agent can be created at once.
func TestConnectNamesFromOkta(t *testing.T) {
	s := newStack(t)
	id := s.user(t, ana())
	p := hookPerson(t, withOkta(id, ana().Login))
	if plan := planConnect(t, p); len(plan.Ops) != 0 || !strings.Contains(plan.Reason, "first name") {
		t.Fatalf("before: plan %+v, want incomplete", plan)
	}
	e, log := enricher(t, enrich.Options{Okta: s.okta})
	facts, err := e.Enrich(context.Background(), p, domain.TargetConnect, hookTime().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(facts) != 1 {
		t.Fatalf("%d facts, want 1", len(facts))
	}
	f := facts[0]
	u, err := s.okta.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if f.Source != enrich.SourceOktaAPI || !strings.HasPrefix(f.SourceEventID, enrich.PrefixOktaAPI+id+"@") ||
		f.Kind != domain.KindProfileChanged || f.Subject != (domain.Subject{OktaID: id}) || !f.OccurredAt.Equal(u.LastUpdated) {
		t.Errorf("fact %+v", f)
	}
	q := enrich.Apply(p, facts)
	wantNames(t, q, "Ana", "Silva Santos")
	if q.Department.Value != "Support" || q.Title.Value != "Agent" || q.DisplayName.Value != "Ana S." || q.Email.Value != ana().Email {
		t.Errorf("profile not folded: %+v", q)
	}
	plan := planConnect(t, q)
	if len(plan.Ops) != 1 || plan.Ops[0].Kind != domain.OpCreate || plan.Ops[0].FirstName != "Ana" || plan.Ops[0].LastName != "Silva Santos" {
		t.Errorf("after: plan %+v, want a create with the Okta names", plan)
	}
	if strings.Contains(log.String(), "Silva") || !strings.Contains(log.String(), "okta-api") {
		t.Errorf("log:\n%s", log)
	}

	t.Run("deterministic", func(t *testing.T) {
		again, err := e.Enrich(context.Background(), p, domain.TargetConnect, hookTime().Add(time.Hour))
		if err != nil || len(again) != 1 || again[0].ID != f.ID || again[0].SourceEventID != f.SourceEventID {
			t.Errorf("again: %v, %v; want the same fact id %s", again, err, f.ID)
		}
		calls := s.getUserCalls()
		none, err := e.Enrich(context.Background(), q, domain.TargetConnect, hookTime().Add(time.Hour))
		if err != nil || len(none) != 0 || s.getUserCalls() != calls {
			t.Errorf("once folded: %v, %v, %d more calls; want nothing", none, err, s.getUserCalls()-calls)
		}
	})
	t.Run("workmail does not need names", func(t *testing.T) {
		calls := s.getUserCalls()
		facts, err := e.Enrich(context.Background(), p, domain.TargetWorkMail, hookTime())
		if err != nil || len(facts) != 0 || s.getUserCalls() != calls {
			t.Errorf("workmail: %v, %v", facts, err)
		}
	})
}

// Without Okta API access, the hook's display name (else the login) gives
// provisional names.
func TestConnectNamesProvisional(t *testing.T) {
	for _, tc := range []struct {
		name        string
		opts        []option
		first, last string
		none        bool
	}{
		{"display name", []option{withDisplayName("Ana Silva")}, "Ana", "Silva", false},
		{"login", nil, "Ana", "Silva", false},
		{"login with one word", []option{withOkta("00uana00000000000000", "ana@example.com")}, "", "", true},
		{"blank display name, login", []option{withDisplayName("   ")}, "Ana", "Silva", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := hookPerson(t, tc.opts...)
			facts := enrichNoAPI(t, p)
			if tc.none {
				if len(facts) != 0 {
					t.Errorf("facts %+v, want none", facts)
				}
				return
			}
			if len(facts) != 1 {
				t.Fatalf("%d facts, want 1", len(facts))
			}
			f := facts[0]
			if f.Source != enrich.SourceProvisional || !strings.HasPrefix(f.SourceEventID, enrich.PrefixProvisional+p.Key+":") ||
				!f.OccurredAt.Before(enrich.ProvisionalCeiling()) || f.Subject.Login != "" {
				t.Errorf("fact %+v", f)
			}
			q := enrich.Apply(p, facts)
			wantNames(t, q, tc.first, tc.last)
			if !enrich.IsProvisional(q.FirstName) || q.Login != p.Login {
				t.Errorf("folded %+v", q)
			}
			if plan := planConnect(t, q); len(plan.Ops) != 1 || plan.Ops[0].LastName != tc.last {
				t.Errorf("plan %+v, want a create with the provisional names", plan)
			}
			if again := enrichNoAPI(t, q); len(again) != 0 {
				t.Errorf("enriched again: %+v, want nothing new", again)
			}
		})
	}
}

// Okta not knowing the user is no error: the names are provisional.
func TestOktaNotFoundFallsBack(t *testing.T) {
	s := newStack(t)
	p := hookPerson(t, withOkta("00unknown00000000000", "ana.silva@example.com"))
	e, _ := enricher(t, enrich.Options{Okta: s.okta})
	facts, err := e.Enrich(context.Background(), p, domain.TargetConnect, hookTime())
	if err != nil || len(facts) != 1 || facts[0].Source != enrich.SourceProvisional {
		t.Fatalf("Enrich = %+v, %v; want one provisional fact", facts, err)
	}
	wantNames(t, enrich.Apply(p, facts), "Ana", "Silva")
}

// Provisional names are replaced from Okta once API access exists.
func TestProvisionalNamesReplacedFromOkta(t *testing.T) {
	s := newStack(t)
	id := s.user(t, ana())
	p := hookPerson(t, withOkta(id, ana().Login))
	p = enrich.Apply(p, enrichNoAPI(t, p))
	wantNames(t, p, "Ana", "Silva")
	e, _ := enricher(t, enrich.Options{Okta: s.okta})
	facts, err := e.Enrich(context.Background(), p, domain.TargetConnect, hookTime())
	if err != nil || len(facts) != 1 || facts[0].Source != enrich.SourceOktaAPI {
		t.Fatalf("Enrich = %+v, %v", facts, err)
	}
	q := enrich.Apply(p, facts)
	wantNames(t, q, "Ana", "Silva Santos")
	if enrich.IsProvisional(q.FirstName) || enrich.IsProvisional(q.LastName) {
		t.Error("names still provisional")
	}
}

func TestOktaFailures(t *testing.T) {
	s := newStack(t)
	id := s.user(t, ana())
	p := hookPerson(t, withOkta(id, ana().Login))

	t.Run("forbidden is permanent", func(t *testing.T) {
		creds, err := oktaapi.ParseCredentials([]byte(`{"orgUrl":"` + s.oktaURL + `","ssws":"00revoked"}`))
		if err != nil {
			t.Fatal(err)
		}
		c, err := oktaapi.New(oktaapi.Options{Credentials: oktaapi.Static(creds)})
		if err != nil {
			t.Fatal(err)
		}
		e, log := enricher(t, enrich.Options{Okta: c})
		facts, err := e.Enrich(context.Background(), p, domain.TargetConnect, hookTime())
		if !errors.Is(err, oktaapi.ErrUnauthorized) || domain.KindOf(err) != domain.ErrorPermanent || facts != nil {
			t.Errorf("Enrich = %v, %v; want a permanent ErrUnauthorized", facts, err)
		}
		if !strings.Contains(err.Error(), p.Key) || !strings.Contains(log.String(), "enrichment failed") {
			t.Errorf("error %q / log %s: want the person key", err, log)
		}
	})
	t.Run("rate limit is retryable", func(t *testing.T) {
		s.org.Control().SetFaults("GetUser", simkit.Faults{ThrottleRate: 1})
		defer s.org.Control().SetFaults("GetUser", simkit.Faults{})
		e, _ := enricher(t, enrich.Options{Okta: s.okta})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := e.Enrich(ctx, p, domain.TargetConnect, hookTime())
		if !errors.Is(err, oktaapi.ErrRateLimited) || domain.KindOf(err) != domain.ErrorRetryable {
			t.Errorf("err = %v (%v), want a retryable ErrRateLimited", err, domain.KindOf(err))
		}
	})
}

// A person known from the hook only is linked to the IdC user the SCIM
// push made, so the mailbox is created linked.
func TestWorkMailLink(t *testing.T) {
	s := newStack(t)
	id := s.user(t, ana())
	p := hookPerson(t, withOkta(id, ana().Login))
	e, log := enricher(t, enrich.Options{IdC: s.resolve})

	facts, err := e.Enrich(context.Background(), p, domain.TargetWorkMail, hookTime())
	if err != nil || len(facts) != 0 {
		t.Fatalf("before the push: %+v, %v; want nothing", facts, err)
	}

	s.flush(t)
	idc := s.idcUser(t, ana().Login)
	facts, err = e.Enrich(context.Background(), p, domain.TargetWorkMail, hookTime().Add(time.Minute))
	if err != nil || len(facts) != 1 {
		t.Fatalf("after the push: %+v, %v; want one fact", facts, err)
	}
	f := facts[0]
	if f.Source != enrich.SourceIdCLookup || f.SourceEventID != enrich.PrefixIdCLink+"externalId:"+idc ||
		f.Subject != (domain.Subject{OktaID: id, IdCUserID: idc}) || f.Profile != nil {
		t.Errorf("fact %+v", f)
	}
	q := enrich.Apply(p, facts)
	if q.IdCUserID != idc || q.Key != id || q.Login != p.Login {
		t.Errorf("folded: key %s idc %s", q.Key, q.IdCUserID)
	}
	plan, err := domain.PlanWorkMail(*config().WorkMail, "example.com", q, domain.TargetState{}, hookTime())
	if err != nil || len(plan.Ops) == 0 || plan.Ops[0].Kind != domain.OpCreate || plan.Ops[0].IdentityProviderUserID != idc {
		t.Errorf("plan %+v, %v; want a create linked to %s", plan, err, idc)
	}
	again, err := e.Enrich(context.Background(), p, domain.TargetWorkMail, hookTime().Add(time.Hour))
	if err != nil || len(again) != 1 || again[0].ID != f.ID {
		t.Errorf("again: %+v, %v; want the same fact", again, err)
	}
	if none, err := e.Enrich(context.Background(), q, domain.TargetWorkMail, hookTime()); err != nil || len(none) != 0 {
		t.Errorf("linked: %+v, %v; want nothing", none, err)
	}
	if strings.Contains(log.String(), "ana.silva") {
		t.Errorf("log carries the login:\n%s", log)
	}

	t.Run("connect does not need the link", func(t *testing.T) {
		e, _ := enricher(t, enrich.Options{IdC: s.resolve, Okta: s.okta})
		facts, err := e.Enrich(context.Background(), q, domain.TargetConnect, hookTime())
		for _, f := range facts {
			if f.Subject.IdCUserID != "" {
				t.Errorf("connect got a link: %+v", f)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	})
}

// The login belongs to another Okta user's IdC user: not linked, no error.
func TestWorkMailLoginOfAnotherUser(t *testing.T) {
	s := newStack(t)
	if _, err := s.ids.SeedUser(s.storeID, simidentitystore.User{UserName: "ana.silva@example.com", GivenName: "A", FamilyName: "S",
		ExternalIDs: []simidentitystore.ExternalID{{Issuer: scimIssuer, ID: "00uformer00000000000"}}}); err != nil {
		t.Fatal(err)
	}
	e, log := enricher(t, enrich.Options{IdC: s.resolve})
	facts, err := e.Enrich(context.Background(), hookPerson(t), domain.TargetWorkMail, hookTime())
	if err != nil || len(facts) != 0 {
		t.Errorf("Enrich = %+v, %v; want nothing", facts, err)
	}
	if !strings.Contains(log.String(), "another Okta user") {
		t.Errorf("no warning:\n%s", log)
	}
}

func TestIdCFailureIsReturned(t *testing.T) {
	s := newStack(t)
	s.ids.Control().SetFaults("GetUserId", simkit.Faults{ThrottleRate: 1})
	e, _ := enricher(t, enrich.Options{IdC: s.resolve})
	_, err := e.Enrich(context.Background(), hookPerson(t), domain.TargetWorkMail, hookTime())
	if domain.KindOf(err) != domain.ErrorRetryable || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Errorf("err = %v (%v), want a retryable throttle", err, domain.KindOf(err))
	}
}

// Nobody is looked up who does not qualify for the target.
func TestOnlyForQualifyingPeople(t *testing.T) {
	s := newStack(t)
	id := s.user(t, ana())
	s.flush(t)
	e, _ := enricher(t, enrich.Options{Okta: s.okta, IdC: s.resolve})
	outsider := hookPerson(t, withOkta(id, ana().Login), inGroups("00gunmapped000000000"))
	left := hookPerson(t, withOkta(id, ana().Login))
	left, _ = domain.Fold(left, hookEvent(fixture{oktaID: id, login: ana().Login}, "uuid-deact", domain.KindDeactivated, hookTime().Add(time.Hour)))
	for name, p := range map[string]domain.Person{"in no mapped group": outsider, "deactivated": left} {
		for _, target := range []domain.Target{domain.TargetConnect, domain.TargetWorkMail} {
			facts, err := e.Enrich(context.Background(), p, target, hookTime())
			if err != nil || len(facts) != 0 {
				t.Errorf("%s, %s: %+v, %v; want nothing", name, target, facts, err)
			}
		}
	}
	if n := s.getUserCalls(); n != 0 {
		t.Errorf("%d Okta calls", n)
	}
	if n := s.ids.Control().Counters()["GetUserId"].Requests; n != 0 {
		t.Errorf("%d GetUserId calls", n)
	}
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := enrich.New(enrich.Options{}); !errors.Is(err, enrich.ErrInvalid) {
		t.Errorf("no targets: %v", err)
	}
	cfg := config()
	cfg.Connect.Groups = append(cfg.Connect.Groups, domain.ConnectGroup{GroupRef: domain.GroupRef{OktaID: "00gsupervisors000000", Name: "Supervisors"},
		SecurityProfileIDs: []string{"sp-sup"}, RoutingProfileID: "rp-basic", Priority: 5})
	_, err := enrich.New(enrich.Options{Config: cfg})
	if !errors.Is(err, enrich.ErrInvalid) || domain.KindOf(err) != domain.ErrorPermanent ||
		!strings.Contains(err.Error(), "connect.groups[1]") || strings.Contains(err.Error(), "groups[0]") {
		t.Errorf("Okta-only Connect group without Okta API: %v", err)
	}
	if _, err := enrich.New(enrich.Options{Config: cfg, Okta: fakeOkta{}}); err != nil {
		t.Errorf("with Okta API access: %v", err)
	}
	if err := enrich.CheckConfig(config(), false); err != nil {
		t.Errorf("groups with IdC ids: %v", err)
	}
}

type fakeOkta struct{}

func (fakeOkta) GetUser(context.Context, string) (oktaapi.User, error) {
	return oktaapi.User{}, errors.New("not used")
}

// Every fact validates and survives the event codec unchanged.
func TestFactsEncode(t *testing.T) {
	s := newStack(t)
	id := s.user(t, ana())
	s.flush(t)
	p := hookPerson(t, withOkta(id, ana().Login), withDisplayName("Ana Silva"))
	var all []domain.Event
	for _, o := range []enrich.Options{{Okta: s.okta}, {}, {IdC: s.resolve}} {
		e, _ := enricher(t, o)
		for _, target := range []domain.Target{domain.TargetConnect, domain.TargetWorkMail} {
			facts, err := e.Enrich(context.Background(), p, target, hookTime())
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, facts...)
		}
	}
	if len(all) != 4 {
		t.Fatalf("%d facts, want 4 (okta, provisional twice, link)", len(all))
	}
	for _, f := range all {
		raw, err := domain.EncodeEvent(f)
		if err != nil {
			t.Fatal(err)
		}
		back, err := domain.DecodeEvent(raw)
		if err != nil || back.ID != f.ID {
			t.Errorf("round trip of %s: %v", f.ID, err)
		}
	}
	var ids []string
	for _, f := range all {
		ids = append(ids, f.ID)
	}
	if ids = slices.Compact(slices.Sorted(slices.Values(ids))); len(ids) != 3 {
		t.Errorf("ids %v: want the two provisional facts to collide, the others not", ids)
	}
}
