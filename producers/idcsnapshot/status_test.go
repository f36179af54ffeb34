package idcsnapshot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simokta"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
)

// oktaOrg is the Okta stand-in, reached through internal/oktaapi, whose
// list-users answers can be made to fail.
type oktaOrg struct {
	srv     *simokta.Server
	client  *oktaapi.Client
	failing atomic.Bool // answer 500 to GET /api/v1/users (the list)
	lists   atomic.Int64
}

func newOktaOrg(t *testing.T, f *fixture) *oktaOrg {
	t.Helper()
	o := &oktaOrg{srv: simokta.New(simokta.Options{APIToken: "00status-token", Clock: f.clock.Now})}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/users" {
			o.lists.Add(1)
			if o.failing.Load() {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorCauses":[]}`))
				return
			}
		}
		o.srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ts.Close()
		o.srv.Close()
	})
	creds, err := oktaapi.ParseCredentials([]byte(`{"orgUrl":"` + ts.URL + `","ssws":"00status-token"}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.client, err = oktaapi.New(oktaapi.Options{Credentials: oktaapi.Static(creds), Rate: -1, MaxRetries: -1}); err != nil {
		t.Fatal(err)
	}
	return o
}

// person creates an active Okta user and the IdC user the SCIM push
// would make of them (the Okta id as external id), in both groups; it
// returns the Okta id.
func (o *oktaOrg) person(t *testing.T, f *fixture, name string) string {
	t.Helper()
	login := name + "@example.com"
	id, err := o.srv.CreateUser(simokta.Profile{Login: login, Email: login, FirstName: name, LastName: "Status"}, true)
	if err != nil {
		t.Fatal(err)
	}
	f.addUser(t, simidentitystore.User{UserName: login, GivenName: name, FamilyName: "Status", Email: login,
		ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: id}}}, "mail", "agents")
	return id
}

func (o *oktaOrg) lifecycle(t *testing.T, id, op string) {
	t.Helper()
	if err := o.srv.Lifecycle(id, op); err != nil {
		t.Fatal(err)
	}
}

// hookFact folds a hook lifecycle fact about person key, occurred at at.
func hookFact(t *testing.T, f *fixture, key string, kind domain.Kind, at time.Time) {
	t.Helper()
	e := domain.Event{ID: domain.NewEventID(domain.SourceOktaHook, "hook-"+string(kind)+key, key, at),
		Source: domain.SourceOktaHook, SourceEventID: "hook-" + string(kind) + key, Kind: kind,
		Subject: domain.Subject{OktaID: key}, OccurredAt: at, ReceivedAt: at}
	if _, err := f.st.Fold(testenv.Context(t), e); err != nil {
		t.Fatal(err)
	}
}

// statusEvents are the status events among events, by person key.
func statusEvents(events []domain.Event) map[string]domain.Kind {
	out := map[string]domain.Kind{}
	for _, e := range events {
		switch e.Kind {
		case domain.KindSuspended, domain.KindUnsuspended, domain.KindDeactivated, domain.KindReactivated, domain.KindDeleted:
			out[e.Subject.Key()] = e.Kind
		}
	}
	return out
}

func (f *fixture) status(t *testing.T, key string) string {
	t.Helper()
	recs, err := f.st.AllRecords(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Person.OktaID == key {
			return r.Person.Status.Value
		}
	}
	t.Fatalf("no record of %s", key)
	return ""
}

// IdC has no status: lifecycle changes whose hook deliveries were lost
// reach idsync through the snapshot's read of Okta's non-active users.
func TestStatusReconciliation(t *testing.T) {
	f := newFixture(t, simidentitystore.Options{})
	o := newOktaOrg(t, f)
	ann := o.person(t, f, "ann") // suspended in Okta, the hook lost
	ben := o.person(t, f, "ben") // unsuspended in Okta, the hook lost
	cat := o.person(t, f, "cat") // a hook fact within the settle window
	dan := o.person(t, f, "dan") // deactivated in Okta, the hook lost
	eve := o.person(t, f, "eve") // deleted in Okta while known deactivated
	fay := o.person(t, f, "fay") // nothing happens
	snap := func() *idcsnapshot.Snapshotter {
		return f.snapshotter(t, setup{opts: idcsnapshot.Options{Okta: o.client}})
	}
	ctx := testenv.Context(t)

	if _, err := snap().Run(ctx); err != nil {
		t.Fatal(err)
	}
	f.fold(t, f.drain(t))
	// ben and eve were suspended / deactivated, and the hook told idsync.
	hookFact(t, f, ben, domain.KindSuspended, f.clock.Now())
	o.lifecycle(t, ben, simokta.OpSuspend)
	o.lifecycle(t, eve, simokta.OpDeactivate)
	hookFact(t, f, eve, domain.KindDeactivated, f.clock.Now())
	f.clock.Advance(time.Hour)

	// Then, with every hook delivery lost: ann suspended, ben unsuspended,
	// dan deactivated, eve deleted.
	o.lifecycle(t, ann, simokta.OpSuspend)
	o.lifecycle(t, ben, simokta.OpUnsuspend)
	o.lifecycle(t, dan, simokta.OpDeactivate)
	if _, err := o.srv.DeleteUser(eve); err != nil {
		t.Fatal(err)
	}
	// cat: suspended in Okta, then unsuspended a minute ago; the
	// unsuspension's hook arrived (within the settle window) and the read
	// still sees the suspension (the race the window covers).
	o.lifecycle(t, cat, simokta.OpSuspend)
	hookFact(t, f, cat, domain.KindUnsuspended, f.clock.Now().Add(-time.Minute))

	t.Run("failed page: no status facts", func(t *testing.T) {
		o.failing.Store(true)
		defer o.failing.Store(false)
		sum, err := snap().Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !sum.StatusRead || !sum.StatusReadFailed || sum.StatusFacts != 0 {
			t.Errorf("summary: statusRead %v, failed %v, facts %d; want true, true, 0", sum.StatusRead, sum.StatusReadFailed, sum.StatusFacts)
		}
		if got := statusEvents(f.drain(t)); len(got) != 0 {
			t.Errorf("status events from a failed read: %v", got)
		}
		if !sum.Complete {
			t.Error("the IdC read is complete whatever Okta answers")
		}
	})

	f.clock.Advance(time.Minute)
	sum, err := snap().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events := f.drain(t)
	want := map[string]domain.Kind{
		ann: domain.KindSuspended, ben: domain.KindUnsuspended, dan: domain.KindDeactivated, eve: domain.KindDeleted,
	}
	got := statusEvents(events)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: status event %q, want %q", k, got[k], w)
		}
	}
	if k, ok := got[cat]; ok {
		t.Errorf("cat's hook fact within the settle window was contradicted by %s", k)
	}
	if k, ok := got[fay]; ok {
		t.Errorf("fay got %s", k)
	}
	// One list page, then ben and eve (held as suspended and deactivated,
	// not listed) read one by one.
	if sum.StatusFacts != 4 || sum.StatusReadFailed || sum.StatusPages != 3 {
		t.Errorf("summary: facts %d, pages %d, failed %v; want 4, 3, false", sum.StatusFacts, sum.StatusPages, sum.StatusReadFailed)
	}
	// ann, dan and eve lose their accounts: removals, under the cap.
	if sum.Removals != 3 {
		t.Errorf("removals = %d, want 3", sum.Removals)
	}
	for _, e := range events {
		if _, ok := want[e.Subject.Key()]; ok && e.Source == domain.SourceIdCSnapshot {
			if at := sum.TakenAt.Add(-10 * time.Minute); !e.OccurredAt.Equal(at) {
				t.Errorf("%s occurred at %s, want TakenAt − settle window %s", e.Kind, e.OccurredAt, at)
			}
		}
	}
	f.fold(t, events)
	for k, w := range map[string]domain.Status{ann: domain.StatusSuspended, ben: domain.StatusActive, cat: domain.StatusActive,
		dan: domain.StatusDeactivated, eve: domain.StatusDeleted} {
		if got := f.status(t, k); got != string(w) {
			t.Errorf("%s stored as %q, want %q", k, got, w)
		}
	}

	// A later run: nothing more to say (and the facts do not beat a newer
	// hook fact: ann unsuspended by a delivered hook stays active).
	o.lifecycle(t, ann, simokta.OpUnsuspend)
	hookFact(t, f, ann, domain.KindUnsuspended, f.clock.Now())
	o.lifecycle(t, cat, simokta.OpUnsuspend) // the race over
	f.clock.Advance(15 * time.Minute)
	sum, err = snap().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := statusEvents(f.drain(t)); len(got) != 0 || sum.StatusFacts != 0 {
		t.Errorf("second run: status events %v (facts %d), want none", got, sum.StatusFacts)
	}
	rows := f.runRows(t)
	last := rows[len(rows)-1]
	if last.Detail["statusRead"] != "true" || last.Detail["statusFacts"] != "0" {
		t.Errorf("run row detail %v", last.Detail)
	}
	if !strings.Contains(f.metrics.String(), `"StatusFacts"`) {
		t.Error("no StatusFacts metric")
	}
}

// Without Okta API access the snapshot says nothing about status.
func TestStatusWithoutOktaAccess(t *testing.T) {
	f := newFixture(t, simidentitystore.Options{})
	f.seedTestdata(t)
	sum, err := f.snapshotter(t, setup{}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.StatusRead || sum.StatusPages != 0 {
		t.Errorf("statusRead %v, pages %d without Okta access", sum.StatusRead, sum.StatusPages)
	}
	if got := statusEvents(f.drain(t)); len(got) != 0 {
		t.Errorf("status events %v", got)
	}
}
