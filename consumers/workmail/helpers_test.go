package workmail_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// t0 is the planning clock's start (the day after the fixture events).
var t0 = time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)

const (
	janeIdC = "9067c53e4f-3a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
	johnIdC = "9067c53e4f-0a0b0c0d-1e1f-4a4b-8c8d-9e9f0a0b0c0d"
	// otherIdC is an IdC user id that belongs to nobody in the fixtures.
	otherIdC = "9067c53e4f-99998888-7777-6666-5555-444433332222"
)

// writeOps are the WorkMail operations that change something.
var writeOps = []string{"CreateUser", "RegisterToWorkMail", "UpdateUser", "UpdatePrimaryEmailAddress",
	"DeregisterFromWorkMail", "DeleteUser", "PutIdentityProviderConfiguration"}

type fixture struct {
	sim    *simworkmail.Server
	client *sdk.Client
	url    string
	org    string // alias "example", default domain example.com, also example.org
	cfg    domain.WorkMailConfig
}

// counterUUIDs returns predictable UUIDs: 00000000-0000-4000-8000-<n>.
func counterUUIDs() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
	}
}

// setup starts a WorkMail stand-in (no quotas unless o sets one) behind
// httptest with one organisation, a real SDK client (10 attempts, a 2 ms
// backoff cap, no retry token bucket) and the testdata configuration
// pointed at the organisation.
func setup(t *testing.T, o simworkmail.Options) *fixture {
	t.Helper()
	if o.Quota.Rate == 0 {
		o.NoQuota = true
	}
	if o.NewUUID == nil {
		o.NewUUID = counterUUIDs()
	}
	sim := simworkmail.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	f := &fixture{sim: sim, url: srv.URL, client: newClient(t, srv.URL, 10)}
	f.org = sim.AddOrganization("example", "example.com", "example.org")
	f.cfg = loadConfig(t)
	f.cfg.OrganizationID = f.org
	return f
}

func newClient(t *testing.T, url string, attempts int) *sdk.Client {
	t.Helper()
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{
		Local: true, MaxAttempts: attempts, MaxBackoff: 2 * time.Millisecond, NoRetryRateLimit: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return awsclient.WorkMail(cfg, url)
}

// applier builds an Applier on f's client for cfg's organisation, with o's
// other options.
func (f *fixture) applier(t *testing.T, cfg domain.WorkMailConfig, o workmail.Options) *workmail.Applier {
	t.Helper()
	o.API, o.Config = f.client, cfg
	a, err := workmail.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func loadConfig(t *testing.T) domain.WorkMailConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := domain.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	return *cfg.WorkMail
}

// event decodes testdata/events/<name>.json.
func event(t *testing.T, name string) domain.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := domain.DecodeEvent(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return e
}

// person folds the named testdata events into an empty person.
func person(t *testing.T, names ...string) domain.Person {
	t.Helper()
	var p domain.Person
	for _, n := range names {
		p, _ = domain.Fold(p, event(t, n))
	}
	return p
}

// observed returns a person seen by the snapshot in the Mail Users group
// with the given ids and login and no other profile facts.
func observed(t *testing.T, oktaID, idcID, login string) domain.Person {
	t.Helper()
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	e := domain.Event{
		Source: domain.SourceIdCSnapshot, SourceEventID: "run-test/" + oktaID + idcID, Kind: domain.KindObserved,
		Subject:    domain.Subject{OktaID: oktaID, IdCUserID: idcID, Login: login},
		Groups:     []domain.GroupRef{{OktaID: "00g4wdylwlJQZ63kM5y8", IdCID: "9067c53e4f-11112222-3333-4444-5555-666677778888"}},
		OccurredAt: at, ReceivedAt: at.Add(time.Second),
	}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), e.OccurredAt)
	p, ok := domain.Fold(domain.Person{}, e)
	if !ok {
		t.Fatalf("observed %s: the event did not fold", login)
	}
	return p
}

// step plans and executes once and fails the test on an error.
func step(t *testing.T, a *workmail.Applier, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, domain.TargetState, []consumers.OpResult) {
	t.Helper()
	plan, err := a.Plan(context.Background(), p, last, now)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	next, res, err := consumers.Execute(context.Background(), a, p, last, plan, nil)
	if err != nil {
		t.Fatalf("Apply: %v (results %+v)", err, res)
	}
	return plan, next, res
}

// kinds lists the ops' kinds.
func kinds(ops []domain.Op) []domain.OpKind {
	out := []domain.OpKind{}
	for _, op := range ops {
		out = append(out, op.Kind)
	}
	return out
}

// writes counts the write requests the stand-in has seen.
func (f *fixture) writes() int64 {
	c := f.sim.Control().Counters()
	var n int64
	for _, op := range writeOps {
		n += c[op].Requests
	}
	return n
}

func (f *fixture) describe(t *testing.T, id string) *sdk.DescribeUserOutput {
	t.Helper()
	out, err := f.client.DescribeUser(context.Background(), &sdk.DescribeUserInput{
		OrganizationId: aws.String(f.org), UserId: aws.String(id),
	})
	if err != nil {
		t.Fatalf("DescribeUser %s: %v", id, err)
	}
	return out
}

// live returns the stand-in's users that are not DELETED.
func (f *fixture) live() []simworkmail.User {
	var out []simworkmail.User
	for _, u := range f.sim.Users(f.org) {
		if u.State != simworkmail.StateDeleted {
			out = append(out, u)
		}
	}
	return out
}

// user returns the stand-in's user with id, failing the test when absent.
func (f *fixture) user(t *testing.T, id string) simworkmail.User {
	t.Helper()
	for _, u := range f.sim.Users(f.org) {
		if u.UserID == id {
			return u
		}
	}
	t.Fatalf("no user %s in the stand-in", id)
	return simworkmail.User{}
}
