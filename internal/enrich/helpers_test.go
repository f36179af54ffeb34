package enrich_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/identitystore"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/enrich"
	"github.com/idsync/idsync/internal/idcresolve"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simokta"
)

// Groups of the test configuration.
const (
	agentsOkta = "00gagents00000000000"
	agentsIdC  = "90670000-agents"
	mailOkta   = "00gmail0000000000000"
	mailIdC    = "90670000-mail"
	scimIssuer = simokta.DefaultExternalIDIssuer
)

func config() domain.Config {
	return domain.Config{
		WorkMail: &domain.WorkMailConfig{
			OrganizationID: "m-0123456789abcdef0123456789abcdef", MailDomain: "example.com",
			Groups: []domain.GroupRef{{OktaID: mailOkta, IdCID: mailIdC, Name: "workmail_users"}},
		},
		Connect: &domain.ConnectConfig{
			InstanceID: "11111111-2222-3333-4444-555555555555",
			Groups: []domain.ConnectGroup{{GroupRef: domain.GroupRef{OktaID: agentsOkta, IdCID: agentsIdC, Name: "Amazon Connect Agents"},
				SecurityProfileIDs: []string{"sp-agent"}, RoutingProfileID: "rp-basic", Priority: 10}},
		},
		Snapshot: domain.SnapshotConfig{IdentityStoreID: "d-1234567890"},
	}
}

// hookTime is when the hook facts of a test person occurred.
func hookTime() time.Time { return time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) }

// fixture is what hook events told about a person.
type fixture struct {
	oktaID, login, displayName string
	groups                     []string // Okta group ids
}

type option func(*fixture)

func withOkta(id, login string) option { return func(f *fixture) { f.oktaID, f.login = id, login } }
func withDisplayName(s string) option  { return func(f *fixture) { f.displayName = s } }
func inGroups(ids ...string) option    { return func(f *fixture) { f.groups = ids } }

// hookEvent is a fact as producers/oktahook makes them.
func hookEvent(f fixture, uuid string, kind domain.Kind, at time.Time) domain.Event {
	return domain.Event{
		ID: domain.NewEventID(domain.SourceOktaHook, uuid, f.oktaID, at), Source: domain.SourceOktaHook,
		SourceEventID: uuid, Kind: kind, Subject: domain.Subject{OktaID: f.oktaID, Login: f.login},
		OccurredAt: at, ReceivedAt: at.Add(time.Second),
	}
}

// hookEvents are the facts of a person added to groups by Okta hooks.
func hookEvents(t *testing.T, opts ...option) []domain.Event {
	t.Helper()
	f := fixture{oktaID: "00uana00000000000000", login: "ana.silva@example.com", groups: []string{agentsOkta, mailOkta}}
	for _, o := range opts {
		o(&f)
	}
	var evs []domain.Event
	for i, g := range f.groups {
		e := hookEvent(f, "uuid-add-"+g, domain.KindMemberAdded, hookTime().Add(time.Duration(i)*time.Millisecond))
		e.Group = &domain.GroupRef{OktaID: g}
		evs = append(evs, e)
	}
	if f.displayName != "" {
		e := hookEvent(f, "uuid-profile", domain.KindProfileChanged, hookTime().Add(time.Second))
		e.Profile = &domain.Profile{DisplayName: &f.displayName}
		evs = append(evs, e)
	}
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	return evs
}

// hookPerson is the person those facts fold to.
func hookPerson(t *testing.T, opts ...option) domain.Person {
	t.Helper()
	return enrich.Apply(domain.Person{}, hookEvents(t, opts...))
}

// enricher builds an Enricher logging into a buffer.
func enricher(t *testing.T, o enrich.Options) (*enrich.Enricher, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	if o.Config.WorkMail == nil && o.Config.Connect == nil {
		o.Config = config()
	}
	o.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := enrich.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e, &buf
}

// enrichNoAPI enriches p for Connect without Okta API access.
func enrichNoAPI(t *testing.T, p domain.Person) []domain.Event {
	t.Helper()
	e, _ := enricher(t, enrich.Options{})
	facts, err := e.Enrich(context.Background(), p, domain.TargetConnect, hookTime().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return facts
}

// stack is an Okta org that pushes to an IdentityStore, both stand-ins
// served over HTTP, with an Okta API client and an IdC resolver.
type stack struct {
	org     *simokta.Server
	oktaURL string
	ids     *simidentitystore.Server
	idc     *identitystore.Client
	storeID string
	okta    *oktaapi.Client
	resolve *idcresolve.Resolver
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ids := simidentitystore.New(simidentitystore.Options{})
	idsHTTP := httptest.NewServer(ids)
	t.Cleanup(idsHTTP.Close)
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{ids: ids, idc: awsclient.IdentityStore(cfg, idsHTTP.URL), storeID: ids.AddIdentityStore()}
	// The SCIM push happens when flush is called (Flush lifts the lag).
	s.org = simokta.New(simokta.Options{Mirror: s.idc, IdentityStoreID: s.storeID, MirrorLag: time.Hour})
	oktaHTTP := httptest.NewServer(s.org)
	t.Cleanup(func() {
		oktaHTTP.Close()
		s.org.Close()
	})
	s.oktaURL = oktaHTTP.URL
	creds, err := oktaapi.ParseCredentials([]byte(`{"orgUrl":"` + oktaHTTP.URL + `","ssws":"` + s.org.APIToken() + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.okta, err = oktaapi.New(oktaapi.Options{Credentials: oktaapi.Static(creds)}); err != nil {
		t.Fatal(err)
	}
	if s.resolve, err = idcresolve.New(idcresolve.Options{IdentityStore: s.idc, IdentityStoreID: s.storeID, Issuer: scimIssuer}); err != nil {
		t.Fatal(err)
	}
	return s
}

// user creates and activates an Okta user (pushed to IdentityStore once
// flushed) and returns its id.
func (s *stack) user(t *testing.T, p simokta.Profile) string {
	t.Helper()
	id, err := s.org.CreateUser(p, true)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// flush waits for the SCIM push.
func (s *stack) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.org.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// idcUser is the IdC user id with that user name.
func (s *stack) idcUser(t *testing.T, login string) string {
	t.Helper()
	for _, st := range s.ids.State().IdentityStores {
		for _, u := range st.Users {
			if u.UserName == login {
				return u.UserID
			}
		}
	}
	t.Fatalf("no IdC user %s", login)
	return ""
}

// getUserCalls counts the Okta stand-in's GetUser requests.
func (s *stack) getUserCalls() int64 { return s.org.Control().Counters()["GetUser"].Requests }

func ana() simokta.Profile {
	return simokta.Profile{Login: "ana.silva@example.com", Email: "ana.silva@example.com", FirstName: "Ana",
		LastName: "Silva Santos", DisplayName: "Ana S.", Department: "Support", Title: "Agent"}
}
