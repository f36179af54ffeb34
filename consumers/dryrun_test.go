package consumers_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	cnapplier "github.com/idsync/idsync/consumers/connect"
	wmapplier "github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/internal/testenv"
)

// Group ids of the dry-run configurations.
const (
	dryMailGroup   = "00gdrymail0000000001"
	dryAgents      = "00gdryagents00000001"
	drySupervisors = "00gdrysupervisors001"
)

// standIn is one target over its stand-in, reached through the real SDK
// client, with the stand-in's write counter and state for comparison.
type standIn struct {
	target consumers.Target
	writes func() int64
	state  func() any // the stand-in's accounts
}

// countWrites sums the requests of ops on a stand-in's control.
func countWrites(c *simkit.Control, ops ...string) func() int64 {
	return func() int64 {
		var n int64
		for _, op := range ops {
			n += c.Counters()[op].Requests
		}
		return n
	}
}

func newWorkMail(t *testing.T) standIn {
	t.Helper()
	sim := simworkmail.New(simworkmail.Options{NoQuota: true})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	org := sim.AddOrganization("example", "example.com")
	cfg, err := domain.ParseConfig([]byte(`{"snapshot": {"identityStoreId": "d-9067c53e4f"}, "workmail": {"organizationId": "` + org + `",
		"groups": [{"oktaId": "` + dryMailGroup + `", "name": "Mail"}],
		"nameTemplate": "{{.LoginLocal | lower}}", "emailTemplate": "{{.LoginLocal | lower}}@{{.Domain}}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	target, err := wmapplier.New(wmapplier.Options{API: awsclient.WorkMail(testenv.Get(t).AWSConfig(t, 3), srv.URL), Config: *cfg.WorkMail})
	if err != nil {
		t.Fatal(err)
	}
	return standIn{
		target: target,
		writes: countWrites(sim.Control(), "CreateUser", "RegisterToWorkMail", "UpdateUser", "UpdatePrimaryEmailAddress",
			"DeregisterFromWorkMail", "DeleteUser"),
		state: func() any { return sim.Users(org) },
	}
}

func newConnect(t *testing.T) standIn {
	t.Helper()
	sim := simconnect.New(simconnect.Options{NoQuota: true})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	inst := sim.AddInstance("dry", simconnect.IdentitySAML)
	agent, supervisor := sim.AddSecurityProfile(inst, "Agent"), sim.AddSecurityProfile(inst, "Supervisor")
	support, priority := sim.AddRoutingProfile(inst, "Support"), sim.AddRoutingProfile(inst, "Priority")
	cfg, err := domain.ParseConfig([]byte(`{"snapshot": {"identityStoreId": "d-9067c53e4f"}, "connect": {"instanceId": "` + inst + `", "groups": [
		{"oktaId": "` + dryAgents + `", "securityProfileIds": ["` + agent + `"], "routingProfileId": "` + support + `", "priority": 20},
		{"oktaId": "` + drySupervisors + `", "securityProfileIds": ["` + agent + `", "` + supervisor + `"], "routingProfileId": "` + priority + `", "priority": 10}
	], "onLeave": {"action": "delete"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	target, err := cnapplier.New(cnapplier.Options{API: awsclient.Connect(testenv.Get(t).AWSConfig(t, 3), srv.URL), Config: *cfg.Connect})
	if err != nil {
		t.Fatal(err)
	}
	return standIn{
		target: target,
		writes: countWrites(sim.Control(), "CreateUser", "UpdateUserIdentityInfo", "UpdateUserSecurityProfiles",
			"UpdateUserRoutingProfile", "UpdateUserHierarchy", "DeleteUser"),
		state: func() any { return sim.Users(inst) },
	}
}

// observed is a snapshot fact about Pat: in groups, not in notGroups, with
// a full profile; n orders the facts.
func observed(n int, groups, notGroups []string) domain.Event {
	ref := func(ids []string) []domain.GroupRef {
		var out []domain.GroupRef
		for _, id := range ids {
			out = append(out, domain.GroupRef{OktaID: id})
		}
		return out
	}
	str := func(s string) *string { return &s }
	at := base.Add(time.Duration(n) * time.Minute)
	e := domain.Event{
		Source: domain.SourceIdCSnapshot, SourceEventID: "dry-" + time.Duration(n).String(), Kind: domain.KindObserved,
		Subject:    domain.Subject{OktaID: "00udrypat00000000001", IdCUserID: "9067c53e4f-d0000001-0000-4000-8000-000000000001", Login: "pat.lee@example.com"},
		Profile:    &domain.Profile{FirstName: str("Pat"), LastName: str("Lee"), DisplayName: str("Pat Lee"), Email: str("pat.lee@example.com")},
		Groups:     ref(groups),
		NotGroups:  ref(notGroups),
		OccurredAt: at, ReceivedAt: at,
	}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), at)
	return e
}

// TestDryRunCallsNoTargetWrite: a dry-run runner in front of the real
// targets and their stand-ins plans each event, records one "would" row
// per planned op, and changes nothing: no write request reaches the
// stand-in, its accounts stay as they were, and neither the person nor the
// target state is stored.
func TestDryRunCallsNoTargetWrite(t *testing.T) {
	tests := []struct {
		name    string
		target  func(t *testing.T) standIn
		before  []domain.Event // applied for real first
		dry     domain.Event
		outcome string // the dry run's ledger rows
	}{
		{"workmail joiner", newWorkMail, nil, observed(1, []string{dryMailGroup}, nil), "would:create would:register"},
		{"workmail leaver", newWorkMail, []domain.Event{observed(1, []string{dryMailGroup}, nil)},
			observed(2, nil, []string{dryMailGroup}), "would:disable"},
		{"connect joiner", newConnect, nil, observed(1, []string{dryAgents}, nil), "would:create"},
		{"connect mover", newConnect, []domain.Event{observed(1, []string{dryAgents}, nil)},
			observed(2, []string{dryAgents, drySupervisors}, nil), "would:update-security-profiles would:update-routing-profile"},
		{"connect leaver", newConnect, []domain.Event{observed(1, []string{dryAgents}, nil)},
			observed(2, nil, []string{dryAgents, drySupervisors}), "would:delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testenv.Context(t)
			b := newBackend(t)
			s := tt.target(t)
			key := tt.dry.Subject.Key()
			for i, e := range tt.before {
				handle(ctx, t, b.runner(t, s.target, consumers.RunnerOptions{}), "real-"+time.Duration(i).String(), e)
			}
			var last domain.TargetState
			if len(tt.before) > 0 {
				rec, err := b.st.Person(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				last = rec.Target(s.target.Name())
			}
			rowsBefore := len(ledgerRows(t, b.st, key))
			writes, accounts := s.writes(), s.state()

			handle(ctx, t, b.runner(t, s.target, consumers.RunnerOptions{DryRun: true}), "dry", tt.dry)

			if n := s.writes() - writes; n != 0 {
				t.Errorf("%d write requests reached the stand-in in a dry run", n)
			}
			if diff := cmp.Diff(accounts, s.state()); diff != "" {
				t.Errorf("the stand-in's accounts changed (-before +after):\n%s", diff)
			}
			rows := ledgerRows(t, b.st, key)[rowsBefore:]
			if got := outcomes(rows); got != tt.outcome {
				t.Errorf("dry-run rows %q, want %q", got, tt.outcome)
			}
			for _, r := range rows {
				if r.EventID != tt.dry.ID || r.Target != s.target.Name() || (last.RemoteID != "" && r.RemoteID != last.RemoteID) {
					t.Errorf("row %+v, want event %s, target %s, account %q", r, tt.dry.ID, s.target.Name(), last.RemoteID)
				}
			}
			rec, err := b.st.Person(ctx, key)
			switch {
			case len(tt.before) == 0 && err == nil:
				t.Errorf("a dry run stored the person: %+v", rec)
			case len(tt.before) > 0 && err != nil:
				t.Fatal(err)
			case len(tt.before) > 0:
				if diff := cmp.Diff(last, rec.Target(s.target.Name())); diff != "" {
					t.Errorf("a dry run changed the target state (-before +after):\n%s", diff)
				}
				if applied, err := b.st.Applied(ctx, key, s.target.Name(), tt.dry.ID); err != nil || applied {
					t.Errorf("the dry-run event is marked applied: %v %v", applied, err)
				}
			}
		})
	}
}

// handle delivers e to r as record id and fails the test unless it was
// acknowledged.
func handle(ctx context.Context, t *testing.T, r *consumers.Runner, id string, e domain.Event) {
	t.Helper()
	resp, err := r.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(t, id, e)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%s: %v %v", id, err, failures(resp))
	}
}
