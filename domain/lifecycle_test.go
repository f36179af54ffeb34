package domain_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/domain"
)

// TestLifecycle runs one person's life through the pipeline's pure core, as
// a consumer does: decode the envelope, fold, plan both targets with the
// configuration in testdata/config/full.json (WorkMail: delete 30 days after
// disabling; Connect: strip), then "apply" by taking Plan.Next (filling in
// the remote id after a create).
func TestLifecycle(t *testing.T) {
	cfg, err := domain.ParseConfig(readConfigFile(t, "full.json"))
	if err != nil {
		t.Fatal(err)
	}
	renamedProfile := domain.Profile{
		Login: ptr("jane.smith@example.com"), FirstName: ptr("Jane"), LastName: ptr("Smith"),
		DisplayName: ptr("Jane Smith"), Email: ptr("jane.smith@example.com"),
	}
	smith := withSubject(domain.Subject{OktaID: fxOkta, Login: "jane.smith@example.com"})
	snapshot := func(e *domain.Event) { e.Source = domain.SourceIdCSnapshot }
	all := []domain.GroupRef{fxMail, fxAgents, fxSupervisors}
	supervisorAdded := fxFact(domain.KindMemberAdded, 1, "snap-1/sup", snapshot, withGroup(domain.GroupRef{IdCID: fxSupervisors.IdCID}))
	const month = 30 * 24 * 60

	steps := []struct {
		name      string
		events    []domain.Event
		after     time.Duration // planning time after the last event
		changed   bool
		workmail  []domain.OpKind
		connect   []domain.OpKind
		mailState domain.RemoteStatus
	}{
		{"joins mail and agents (snapshot)",
			[]domain.Event{fxFact(domain.KindObserved, 0, "snap-0", withGroups([]domain.GroupRef{fxMail, fxAgents}, []domain.GroupRef{fxSupervisors}), withProfile(fxJaneProfile()))},
			time.Minute, true, []domain.OpKind{domain.OpCreate, domain.OpRegister}, []domain.OpKind{domain.OpCreate}, domain.RemoteEnabled},
		{"also joins supervisors: Connect moves to the higher-priority group",
			[]domain.Event{supervisorAdded},
			time.Minute, true, nil,
			[]domain.OpKind{domain.OpUpdateSecurityProfiles, domain.OpUpdateRoutingProfile, domain.OpUpdateHierarchyGroup}, domain.RemoteEnabled},
		{"duplicate delivery plans nothing",
			[]domain.Event{supervisorAdded},
			time.Minute, false, nil, nil, domain.RemoteEnabled},
		{"login rename: updates, never a second account",
			[]domain.Event{fxFact(domain.KindObserved, 2, "snap-2", withGroups(all, nil), withProfile(renamedProfile))},
			time.Minute, true, []domain.OpKind{domain.OpUpdateAttributes, domain.OpUpdateEmail}, []domain.OpKind{domain.OpUpdateIdentity}, domain.RemoteEnabled},
		{"suspended",
			[]domain.Event{fxFact(domain.KindSuspended, 3, "hook-3", smith)},
			time.Minute, true, []domain.OpKind{domain.OpDisable}, []domain.OpKind{domain.OpStrip}, domain.RemoteDisabled},
		{"a stale hook delivery arrives late: no flip-flop",
			[]domain.Event{fxFact(domain.KindMemberAdded, 0, "hook-late", withGroup(domain.GroupRef{OktaID: fxAgents.OktaID}))},
			time.Minute, false, nil, nil, domain.RemoteDisabled},
		{"unsuspended: same mailbox re-enabled, agent restored",
			[]domain.Event{fxFact(domain.KindUnsuspended, 4, "hook-4", smith)},
			time.Minute, true, []domain.OpKind{domain.OpEnable}, []domain.OpKind{domain.OpUpdateSecurityProfiles, domain.OpUpdateRoutingProfile}, domain.RemoteEnabled},
		{"leaves every group",
			[]domain.Event{fxFact(domain.KindObserved, 5, "snap-5", withGroups(nil, all), withProfile(renamedProfile))},
			time.Minute, true, []domain.OpKind{domain.OpDisable}, []domain.OpKind{domain.OpStrip}, domain.RemoteDisabled},
		{"rejoins through the other mail group: re-enabled, not re-created",
			[]domain.Event{fxFact(domain.KindMemberAdded, 6, "hook-6", smith, withGroup(domain.GroupRef{OktaID: fxMailEU.OktaID}))},
			time.Minute, true, []domain.OpKind{domain.OpEnable}, nil, domain.RemoteEnabled},
		{"deleted in Okta",
			[]domain.Event{fxFact(domain.KindDeleted, 7, "hook-7", smith)},
			time.Minute, true, []domain.OpKind{domain.OpDisable}, nil, domain.RemoteDisabled},
		{"still within the grace period",
			nil, 29 * 24 * time.Hour, false, nil, nil, domain.RemoteDisabled},
		{"grace period over: mailbox deleted",
			nil, 30*24*time.Hour + time.Minute, false, []domain.OpKind{domain.OpDelete}, nil, domain.RemoteDeleted},
		{"reactivated after deletion: a new mailbox",
			[]domain.Event{fxFact(domain.KindReactivated, month+60, "hook-8", smith)},
			time.Minute, true, []domain.OpKind{domain.OpCreate, domain.OpRegister}, nil, domain.RemoteEnabled},
	}

	var (
		person       domain.Person
		mail, agent  domain.TargetState
		lastEventAt  time.Time
		remoteSerial int
		mailboxIDs   []string
	)
	apply := func(p domain.Plan) domain.TargetState {
		next := p.Next
		if len(p.Ops) > 0 && p.Ops[0].Kind == domain.OpCreate {
			remoteSerial++
			next.RemoteID = fmt.Sprintf("remote-%d", remoteSerial)
		}
		next.Version++
		return next
	}
	for _, st := range steps {
		changed := false
		for _, e := range st.events {
			b, err := domain.EncodeEvent(e)
			if err != nil {
				t.Fatalf("%s: encode: %v", st.name, err)
			}
			decoded, err := domain.DecodeEvent(b)
			if err != nil {
				t.Fatalf("%s: decode: %v", st.name, err)
			}
			var c bool
			person, c = domain.Fold(person, decoded)
			changed = changed || c
			if decoded.OccurredAt.After(lastEventAt) {
				lastEventAt = decoded.OccurredAt
			}
		}
		if changed != st.changed {
			t.Errorf("%s: fold changed = %v, want %v", st.name, changed, st.changed)
		}
		now := lastEventAt.Add(st.after)

		mp, err := domain.PlanWorkMail(*cfg.WorkMail, cfg.WorkMail.MailDomain, person, mail, now)
		if err != nil {
			t.Fatalf("%s: PlanWorkMail: %v", st.name, err)
		}
		cp, err := domain.PlanConnect(*cfg.Connect, domain.ConnectIdentitySAML, person, agent, now)
		if err != nil {
			t.Fatalf("%s: PlanConnect: %v", st.name, err)
		}
		if diff := cmp.Diff(st.workmail, kinds(mp.Ops), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: WorkMail ops (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.connect, kinds(cp.Ops), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: Connect ops (-want +got):\n%s", st.name, diff)
		}
		for _, op := range mp.Ops {
			if op.Kind != domain.OpCreate && op.Kind != domain.OpRegister && op.RemoteID != mail.RemoteID {
				t.Errorf("%s: %s on %q, want the existing mailbox %q", st.name, op.Kind, op.RemoteID, mail.RemoteID)
			}
		}
		mail, agent = apply(mp), apply(cp)
		if mail.Status != st.mailState {
			t.Errorf("%s: mailbox %s, want %s", st.name, mail.Status, st.mailState)
		}
		if mail.RemoteID != "" && (len(mailboxIDs) == 0 || mailboxIDs[len(mailboxIDs)-1] != mail.RemoteID) {
			mailboxIDs = append(mailboxIDs, mail.RemoteID)
		}
	}
	// One mailbox for the whole life, and a new one only after deletion.
	if diff := cmp.Diff([]string{"remote-1", "remote-3"}, mailboxIDs); diff != "" {
		t.Errorf("mailboxes over the lifecycle (-want +got):\n%s", diff)
	}
	if agent.Name != "jane.doe@example.com" || agent.RemoteID != "remote-2" || agent.Status != domain.RemoteDisabled {
		t.Errorf("agent at the end: %+v; want the first agent, stripped, username unchanged", agent)
	}
}

func kinds(ops []domain.Op) []domain.OpKind {
	var out []domain.OpKind
	for _, op := range ops {
		out = append(out, op.Kind)
	}
	return out
}
