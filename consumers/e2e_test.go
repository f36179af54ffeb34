package consumers_test

// End-to-end tests of both consumers: events are queued on the real FIFO
// queues (fauxqs), consumed by the runner as Lambda's event source mapping
// would deliver them, folded and committed in DynamoDB Local, and applied
// to the WorkMail and Connect stand-ins through the real SDK clients.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/publish"
	"github.com/idsync/idsync/store"
)

type e2e struct {
	t     *testing.T
	s     *localrun.Stack
	pub   *publish.Publisher
	sqs   *sqs.Client
	org   string
	inst  string
	clock time.Time
	seq   int
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	env := testenv.Get(t)
	s, err := localrun.Start(testenv.Context(t), localrun.Options{
		DynamoDBEndpoint: env.DynamoDBEndpoint, SQSEndpoint: env.SQSEndpoint,
		Prefix: testenv.UniqueName(t, "e2e", 60), RetryDelay: time.Second,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	// Quotas off on the stand-ins: these tests are about convergence, and
	// the target clients' meters still pace them.
	s.WorkMail.Control().SetQuota(simkit.EachOp, simkit.Quota{})
	s.Connect.Control().SetQuota(simkit.EachOp, simkit.Quota{})
	cfg, err := awsclient.Config(testenv.Context(t), awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	client := awsclient.SQS(cfg, env.SQSEndpoint)
	a, err := app.New(testenv.Context(t), app.Options{Settings: s.Settings, Component: settings.Snapshot})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := a.Publisher()
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{
		t: t, s: s, sqs: client,
		pub:   pub,
		org:   s.Endpoint("WORKMAIL_ORGANIZATION_ID"),
		inst:  s.Endpoint("CONNECT_INSTANCE_ID"),
		clock: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
	}
}

type person struct{ okta, idc, login string }

func (p person) subject() domain.Subject {
	return domain.Subject{OktaID: p.okta, IdCUserID: p.idc, Login: p.login}
}

// fact builds the next event about p, one minute after the last.
func (e *e2e) fact(p person, kind domain.Kind, mod func(*domain.Event)) domain.Event {
	e.clock = e.clock.Add(time.Minute)
	e.seq++
	ev := domain.Event{
		Source: domain.SourceOktaHook, SourceEventID: "e2e-" + strconv.Itoa(e.seq), Kind: kind,
		Subject: p.subject(), OccurredAt: e.clock, ReceivedAt: e.clock,
	}
	if mod != nil {
		mod(&ev)
	}
	ev.ID = domain.NewEventID(ev.Source, ev.SourceEventID, ev.Subject.Key(), ev.OccurredAt)
	return ev
}

func (e *e2e) group(name string) *domain.GroupRef {
	for _, g := range e.s.Config.MappedGroups() {
		if g.Name == name {
			return &g
		}
	}
	e.t.Fatalf("no mapped group %q", name)
	return nil
}

func (e *e2e) added(p person, group string) domain.Event {
	return e.fact(p, domain.KindMemberAdded, func(ev *domain.Event) { ev.Group = e.group(group) })
}

func (e *e2e) removed(p person, group string) domain.Event {
	return e.fact(p, domain.KindMemberRemoved, func(ev *domain.Event) { ev.Group = e.group(group) })
}

func (e *e2e) profile(p person, first, last string) domain.Event {
	display := first + " " + last
	return e.fact(p, domain.KindProfileChanged, func(ev *domain.Event) {
		ev.Source = domain.SourceIdCSnapshot
		ev.Profile = &domain.Profile{Login: &p.login, FirstName: &first, LastName: &last, DisplayName: &display, Email: &p.login}
	})
}

// known makes p a person idsync knows, with a profile and no membership:
// once a member of a mapped group (the store keeps only people who have
// been), then not; the profile folded after.
func (e *e2e) known(p person, first, last string) error {
	for _, ev := range []domain.Event{e.added(p, localrun.SupervisorGroupName), e.removed(p, localrun.SupervisorGroupName), e.profile(p, first, last)} {
		if _, err := e.s.Store.Fold(testenv.Context(e.t), ev); err != nil {
			return err
		}
	}
	return nil
}

func (e *e2e) publish(evs ...domain.Event) {
	e.t.Helper()
	if err := e.pub.Publish(testenv.Context(e.t), evs); err != nil {
		e.t.Fatalf("publish: %v", err)
	}
}

// settle waits until both queues hold nothing, visible or in flight.
func (e *e2e) settle() {
	e.t.Helper()
	testenv.Eventually(e.t, "queues drained", func() string {
		for _, key := range []string{"WORKMAIL_QUEUE_URL", "CONNECT_QUEUE_URL"} {
			if n := e.depth(e.s.Endpoint(key)); n != 0 {
				return fmt.Sprintf("%s holds %d", key, n)
			}
		}
		return ""
	})
}

func (e *e2e) depth(url string) int {
	e.t.Helper()
	out, err := e.sqs.GetQueueAttributes(testenv.Context(e.t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		e.t.Fatal(err)
	}
	a, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	b, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return a + b
}

func (e *e2e) mailbox(p person) *simworkmail.User {
	for _, u := range e.s.WorkMail.Users(e.org) {
		if u.IdentityProviderUserID == p.idc && u.State != simworkmail.StateDeleted {
			return &u
		}
	}
	return nil
}

func (e *e2e) agent(p person) *simconnect.User {
	for _, u := range e.s.Connect.Users(e.inst) {
		if u.Tags["idsync:person"] == p.okta {
			return &u
		}
	}
	return nil
}

// writes counts the write calls the stand-ins served.
func (e *e2e) writes() map[string]int64 {
	out := map[string]int64{}
	for op, c := range e.s.WorkMail.Control().Counters() {
		if !slices.Contains([]string{"DescribeUser", "ListUsers", "DescribeOrganization", "ListOrganizations", "DescribeIdentityProviderConfiguration"}, op) {
			out["workmail:"+op] = c.Requests
		}
	}
	for op, c := range e.s.Connect.Control().Counters() {
		if !slices.Contains([]string{"DescribeUser", "ListUsers", "SearchUsers", "ListSecurityProfiles", "ListRoutingProfiles", "ListInstances"}, op) {
			out["connect:"+op] = c.Requests
		}
	}
	return out
}

func (e *e2e) dlqsEmpty() {
	e.t.Helper()
	for _, key := range []string{"WORKMAIL_DLQ_URL", "CONNECT_DLQ_URL"} {
		if n := e.depth(e.s.Endpoint(key)); n != 0 {
			e.t.Errorf("%s holds %d messages", key, n)
		}
	}
}

// expect waits until the stand-ins show p's mailbox and agent as wanted.
func (e *e2e) expect(step string, p person, wantMailbox, wantAgent func(*simworkmail.User, *simconnect.User) string) {
	e.t.Helper()
	testenv.Eventually(e.t, step, func() string {
		m, a := e.mailbox(p), e.agent(p)
		if why := wantMailbox(m, a); why != "" {
			return "mailbox: " + why
		}
		return wantAgent(m, a)
	})
}

func enabled(email, first string) func(*simworkmail.User, *simconnect.User) string {
	return func(m *simworkmail.User, _ *simconnect.User) string {
		switch {
		case m == nil:
			return "none"
		case m.State != simworkmail.StateEnabled || m.Email != email || m.FirstName != first:
			return fmt.Sprintf("%s %s %s", m.State, m.Email, m.FirstName)
		}
		return ""
	}
}

func disabled(m *simworkmail.User, _ *simconnect.User) string {
	if m == nil || m.State != simworkmail.StateDisabled {
		return fmt.Sprintf("%+v, want disabled", m)
	}
	return ""
}

func noAgent(_ *simworkmail.User, a *simconnect.User) string {
	if a != nil {
		return "agent " + a.ID + " still there"
	}
	return ""
}

func agentWith(first, email string, profiles []string, routing string) func(*simworkmail.User, *simconnect.User) string {
	return func(_ *simworkmail.User, a *simconnect.User) string {
		switch {
		case a == nil:
			return "no agent"
		case a.FirstName != first || a.Email != email || !slices.Equal(sorted(a.SecurityProfileIDs), sorted(profiles)) || a.RoutingProfileID != routing:
			return fmt.Sprintf("agent %s %s %v %s", a.FirstName, a.Email, a.SecurityProfileIDs, a.RoutingProfileID)
		}
		return ""
	}
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestJoinerMoverLeaverMatrixEndToEnd(t *testing.T) {
	e := newE2E(t)
	agents, supervisors := e.s.Config.Connect.Groups[0], e.s.Config.Connect.Groups[1]
	p := person{okta: "00ue2epat000000001", idc: "90e2e000-0000-4000-8000-000000000001", login: "pat.doe@example.com"}

	e.publish(e.added(p, localrun.WorkMailGroupName), e.added(p, localrun.ConnectGroupName), e.profile(p, "Pat", "Doe"))
	e.expect("join", p, enabled("pat.doe@example.com", "Pat"), agentWith("Pat", "pat.doe@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))
	mailboxID, agentID := e.mailbox(p).UserID, e.agent(p).ID

	e.publish(e.profile(p, "Patricia", "Doe"))
	e.expect("profile change", p, enabled("pat.doe@example.com", "Patricia"), agentWith("Patricia", "pat.doe@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))

	e.publish(e.added(p, localrun.SupervisorGroupName))
	e.expect("move to supervisors (priority)", p, enabled("pat.doe@example.com", "Patricia"), agentWith("Patricia", "pat.doe@example.com", supervisors.SecurityProfileIDs, supervisors.RoutingProfileID))
	e.publish(e.removed(p, localrun.SupervisorGroupName))
	e.expect("move back to agents", p, enabled("pat.doe@example.com", "Patricia"), agentWith("Patricia", "pat.doe@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))

	renamed := p
	renamed.login = "patricia.doe@example.com"
	e.publish(e.profile(renamed, "Patricia", "Doe"))
	e.expect("login and email rename", p, enabled("patricia.doe@example.com", "Patricia"), agentWith("Patricia", "patricia.doe@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))
	if e.mailbox(p).UserID != mailboxID || e.agent(p).ID != agentID {
		t.Fatal("a rename made a new mailbox or agent")
	}
	p = renamed // later facts carry the new login

	e.publish(e.fact(p, domain.KindSuspended, nil))
	e.expect("suspend", p, disabled, noAgent)
	e.publish(e.fact(p, domain.KindUnsuspended, nil))
	e.expect("unsuspend", p, enabled("patricia.doe@example.com", "Patricia"), agentWith("Patricia", "patricia.doe@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))
	if e.mailbox(p).UserID != mailboxID {
		t.Fatal("unsuspend re-created the mailbox instead of re-enabling it")
	}

	e.publish(e.removed(p, localrun.WorkMailGroupName))
	e.expect("leave the mail group", p, disabled, agentWith("Patricia", "patricia.doe@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))
	e.publish(e.added(p, localrun.WorkMailGroupName))
	e.expect("rejoin", p, enabled("patricia.doe@example.com", "Patricia"), agentWith("Patricia", "patricia.doe@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))
	if e.mailbox(p).UserID != mailboxID {
		t.Fatal("rejoin re-created the mailbox instead of re-enabling it")
	}

	e.publish(e.fact(p, domain.KindDeactivated, nil))
	e.expect("deactivate", p, disabled, noAgent)
	e.publish(e.fact(p, domain.KindDeleted, nil))
	e.settle()
	e.expect("delete: the disabled mailbox stays disabled", p, disabled, noAgent)
	if n := len(e.s.WorkMail.Users(e.org)); n != 1 {
		t.Fatalf("%d WorkMail users, want the one mailbox", n)
	}
	e.dlqsEmpty()
}

func TestDuplicatedAndReorderedEventsConvergeWithoutExtraWrites(t *testing.T) {
	e := newE2E(t)
	agents := e.s.Config.Connect.Groups[0]
	p := person{okta: "00ue2eq00000000002", idc: "90e2e000-0000-4000-8000-000000000002", login: "quinn.lee@example.com"}
	join := []domain.Event{e.added(p, localrun.WorkMailGroupName), e.added(p, localrun.ConnectGroupName), e.profile(p, "Quinn", "Lee")}
	e.publish(join...)
	e.expect("join", p, enabled("quinn.lee@example.com", "Quinn"), agentWith("Quinn", "quinn.lee@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))
	e.settle()
	before := e.writes()

	// The same facts again: redelivered (same ids, after SQS's dedup window
	// as far as the ledger is concerned: new dedup ids) and re-sent by Okta
	// under new uuids, plus an older profile fact arriving late.
	var again []domain.Event
	for _, ev := range join {
		dup := ev
		dup.SourceEventID += "-resent"
		dup.ID = domain.NewEventID(dup.Source, dup.SourceEventID, dup.Subject.Key(), dup.OccurredAt)
		again = append(again, dup)
	}
	stale := e.profile(p, "Old", "Name")
	stale.OccurredAt = join[0].OccurredAt.Add(-time.Hour)
	stale.ID = domain.NewEventID(stale.Source, stale.SourceEventID, stale.Subject.Key(), stale.OccurredAt)
	e.publish(append(again, stale)...)
	e.settle()
	if after := e.writes(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("duplicates and stale facts made writes:\nbefore %v\nafter  %v", before, after)
	}
	e.expect("unchanged", p, enabled("quinn.lee@example.com", "Quinn"), agentWith("Quinn", "quinn.lee@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))

	// Reordered: the newer removal arrives before an older re-add.
	readd := e.added(p, localrun.WorkMailGroupName)
	remove := e.removed(p, localrun.WorkMailGroupName)
	e.publish(remove, readd, remove)
	e.settle()
	e.expect("newest fact wins", p, disabled, agentWith("Quinn", "quinn.lee@example.com", agents.SecurityProfileIDs, agents.RoutingProfileID))
	after := e.writes()
	if got := after["workmail:DeregisterFromWorkMail"] - before["workmail:DeregisterFromWorkMail"]; got != 1 {
		t.Errorf("%d deregistrations, want 1", got)
	}
	for op, n := range after {
		if op != "workmail:DeregisterFromWorkMail" && n != before[op] {
			t.Errorf("%s: %d writes, want %d", op, n, before[op])
		}
	}
	e.dlqsEmpty()
}

func TestConvergesUnderThrottlingAndServerErrors(t *testing.T) {
	e := newE2E(t)
	agents := e.s.Config.Connect.Groups[0]
	faults := simkit.Faults{ThrottleRate: 0.2, ServerErrorRate: 0.05}
	e.s.WorkMail.Control().SetFaults(simkit.EachOp, faults)
	e.s.Connect.Control().SetFaults(simkit.EachOp, faults)
	var people []person
	for i := range 6 {
		p := person{okta: fmt.Sprintf("00ue2ef%011d", i), idc: fmt.Sprintf("90e2e000-0000-4000-8000-%012d", 100+i),
			login: fmt.Sprintf("fault.user%d@example.com", i)}
		people = append(people, p)
		e.publish(e.added(p, localrun.WorkMailGroupName), e.added(p, localrun.ConnectGroupName), e.profile(p, "Fault", fmt.Sprint("User", i)))
	}
	for _, p := range people {
		e.expect("join under faults", p, enabled(p.login, "Fault"), agentWith("Fault", p.login, agents.SecurityProfileIDs, agents.RoutingProfileID))
	}
	e.settle()
	injected := int64(0)
	for _, c := range e.s.WorkMail.Control().Counters() {
		injected += c.Throttled + c.ServerError
	}
	for _, c := range e.s.Connect.Control().Counters() {
		injected += c.Throttled + c.ServerError
	}
	if injected == 0 {
		t.Fatal("no fault was injected; the test proves nothing")
	}
	if n := len(e.s.WorkMail.Users(e.org)); n != len(people) {
		t.Errorf("%d mailboxes, want %d (no duplicates)", n, len(people))
	}
	if n := len(e.s.Connect.Users(e.inst)); n != len(people) {
		t.Errorf("%d agents, want %d (no duplicates)", n, len(people))
	}
	e.dlqsEmpty()
}

// runner builds target t's runner as the Lambda main does (internal/app,
// from the stack's settings), working through st, which wraps the store.
func (e *e2e) runner(t domain.Target, st *crashingStore) *consumers.Runner {
	e.t.Helper()
	a, err := app.New(testenv.Context(e.t), app.Options{Settings: e.s.Settings, Component: settings.Consumer,
		WrapConsumerStore: func(_ domain.Target, s consumers.Store) consumers.Store { st.Store = s; return st }})
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := a.Runner(t)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// crashingStore loses the first commit after the target call succeeded.
// With kill set it is a crash: the process is gone, so nothing else is
// written either (the runner's best-effort save of the reached state fails
// too); without it the commit merely failed.
type crashingStore struct {
	consumers.Store
	kill    bool
	crashed bool
	dead    bool
}

func (c *crashingStore) Commit(ctx context.Context, cm store.Commit) (domain.TargetState, []domain.LedgerEntry, error) {
	if !c.crashed {
		c.crashed, c.dead = true, c.kill
		return domain.TargetState{}, nil, errors.New("commit lost")
	}
	return c.Store.Commit(ctx, cm)
}

func (c *crashingStore) PutTarget(ctx context.Context, key string, next domain.TargetState, expected int64) (domain.TargetState, error) {
	if c.dead {
		c.dead = false
		return domain.TargetState{}, errors.New("process killed")
	}
	return c.Store.PutTarget(ctx, key, next, expected)
}

func TestCrashBetweenCallAndCommitAdoptsInsteadOfCreatingTwice(t *testing.T) {
	e := newE2E(t)
	p := person{okta: "00ue2ecrash0000003", idc: "90e2e000-0000-4000-8000-000000000003", login: "cris.ash@example.com"}
	// Fold the profile first, so the join plans creates on both targets.
	if err := e.known(p, "Cris", "Ash"); err != nil {
		t.Fatal(err)
	}
	joinWM, joinCN := e.added(p, localrun.WorkMailGroupName), e.added(p, localrun.ConnectGroupName)
	for _, c := range []struct {
		target domain.Target
		ev     domain.Event
	}{{domain.TargetWorkMail, joinWM}, {domain.TargetConnect, joinCN}} {
		st := &crashingStore{kill: true}
		r := e.runner(c.target, st)
		batch := events.SQSEvent{Records: []events.SQSMessage{record(t, "m-"+string(c.target), c.ev)}}
		resp, err := r.Handle(testenv.Context(t), batch)
		if err != nil || len(resp.BatchItemFailures) != 1 {
			t.Fatalf("%s: the lost commit must be retried: %v %v", c.target, err, failures(resp))
		}
		// The redeliveries. Connect's search index lags writes (the
		// stand-in's default, one second), so a redelivery within the lag
		// finds neither the ownership tag nor the username, CreateUser of
		// the pinned name answers DuplicateResource and the record is
		// retried; one after the lag adopts the agent. None creates one.
		for attempt := 1; ; attempt++ {
			resp, err = r.Handle(testenv.Context(t), batch)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) == 0 {
				break
			}
			if c.target != domain.TargetConnect || attempt == 10 {
				t.Fatalf("%s: redelivery %d: %v", c.target, attempt, failures(resp))
			}
			if n := len(e.s.Connect.Users(e.inst)); n != 1 {
				t.Fatalf("%d Connect users after redelivery %d, want 1", n, attempt)
			}
			time.Sleep(e.s.Connect.SearchLag() / 4)
		}
	}
	if n := len(e.s.WorkMail.Users(e.org)); n != 1 || e.mailbox(p) == nil || e.mailbox(p).State != simworkmail.StateEnabled {
		t.Fatalf("%d WorkMail users, want one enabled mailbox: %+v", n, e.s.WorkMail.Users(e.org))
	}
	if n := len(e.s.Connect.Users(e.inst)); n != 1 || e.agent(p) == nil {
		t.Fatalf("%d Connect users, want one agent", n)
	}
	rec, err := e.s.Store.Person(testenv.Context(t), p.okta)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Target(domain.TargetWorkMail); got.RemoteID != e.mailbox(p).UserID || !got.Managed {
		t.Fatalf("WorkMail state %+v, want the adopted mailbox %s", got, e.mailbox(p).UserID)
	}
	if got := rec.Target(domain.TargetConnect); got.RemoteID != e.agent(p).ID || !got.Managed {
		t.Fatalf("Connect state %+v, want the adopted agent %s", got, e.agent(p).ID)
	}
}

// TestCrashThenLoginRenameMakesNoSecondAgent: the Connect create succeeds,
// the process dies before the commit, and the person's login is renamed
// before the redelivery (folded by the other target's consumer). The store
// holds the create intent the runner recorded before the call, so every
// retry creates under the first username: within Connect's search lag
// that is a retryable duplicate, after it the agent is found by its tag
// and adopted. Planned from the new login instead, the retry's CreateUser
// would have succeeded (the tag search still lagging): a second agent.
func TestCrashThenLoginRenameMakesNoSecondAgent(t *testing.T) {
	e := newE2E(t)
	p := person{okta: "00ue2erename000005", idc: "90e2e000-0000-4000-8000-000000000005", login: "rae.name@example.com"}
	if err := e.known(p, "Rae", "Name"); err != nil {
		t.Fatal(err)
	}
	st := &crashingStore{kill: true}
	r := e.runner(domain.TargetConnect, st)
	join := record(t, "m-join", e.added(p, localrun.ConnectGroupName))
	if resp, err := r.Handle(testenv.Context(t), events.SQSEvent{Records: []events.SQSMessage{join}}); err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("the lost commit must be retried: %v %v", err, failures(resp))
	}
	first := e.agent(p)
	if first == nil || first.Username != "rae.name@example.com" {
		t.Fatalf("agent after the crash = %+v", first)
	}
	// The rename reaches the shared person state first through the other
	// target's consumer (the fold is shared), so the join's redelivery
	// already plans for the new login.
	renamed := p
	renamed.login = "rae.other@example.com"
	rename := e.profile(renamed, "Rae", "Other")
	if _, err := e.s.Store.Fold(testenv.Context(t), rename); err != nil {
		t.Fatal(err)
	}
	batch := events.SQSEvent{Records: []events.SQSMessage{join, record(t, "m-rename", rename)}}
	for attempt := 1; ; attempt++ {
		resp, err := r.Handle(testenv.Context(t), batch)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(e.s.Connect.Users(e.inst)); n != 1 {
			t.Fatalf("%d Connect users after delivery %d, want 1", n, attempt)
		}
		if len(resp.BatchItemFailures) == 0 {
			break
		}
		if attempt == 10 {
			t.Fatalf("delivery %d: %v", attempt, failures(resp))
		}
		time.Sleep(e.s.Connect.SearchLag() / 4)
	}
	a := e.agent(p)
	if a == nil || a.ID != first.ID || a.Username != "rae.name@example.com" || a.Email != "rae.other@example.com" || a.LastName != "Other" {
		t.Fatalf("agent = %+v, want %s keeping its username with the new identity", a, first.ID)
	}
	rec, err := e.s.Store.Person(testenv.Context(t), p.okta)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Target(domain.TargetConnect); got.RemoteID != first.ID || got.Name != first.Username || got.PendingName != "" {
		t.Fatalf("Connect state %+v, want the adopted agent %s without an intent", got, first.ID)
	}
	e.dlqsEmpty()
}

func TestFailedCommitKeepsTheReachedStateSoTheRetryDoesNotCreateAgain(t *testing.T) {
	e := newE2E(t)
	// No IdC user id: WorkMail cannot find the mailbox by immutable id; the
	// kept state makes the retry plan from the enabled mailbox, so no second
	// CreateUser is even tried.
	p := person{okta: "00ue2ecommit000004", login: "cam.mit@example.com"}
	if err := e.known(p, "Cam", "Mit"); err != nil {
		t.Fatal(err)
	}
	st := &crashingStore{}
	r := e.runner(domain.TargetWorkMail, st)
	batch := events.SQSEvent{Records: []events.SQSMessage{record(t, "m1", e.added(p, localrun.WorkMailGroupName))}}
	if resp, err := r.Handle(testenv.Context(t), batch); err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("the failed commit must be retried: %v %v", err, failures(resp))
	}
	if resp, err := r.Handle(testenv.Context(t), batch); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %v", err, failures(resp))
	}
	if n := e.s.WorkMail.Control().Counters()["CreateUser"].Requests; n != 1 {
		t.Fatalf("%d CreateUser calls, want 1: the retry must plan from the reached state", n)
	}
	if m := e.mailbox(p); m == nil || m.State != simworkmail.StateEnabled {
		t.Fatalf("mailbox = %+v, want enabled", m)
	}
}
