package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/domain"
)

const (
	fxAgentID      = "c0ffee00-1111-4222-8333-444455556666"
	fxSPAgent      = "7b1e2d3c-0000-4000-8000-00000000a9e1"
	fxSPSupervisor = "7b1e2d3c-0000-4000-8000-0000005a9e52"
	fxSPLeaver     = "7b1e2d3c-0000-4000-8000-0000000e4a57"
	fxRPSupport    = "3c2b1a09-0000-4000-8000-0000000b0a51"
	fxRPPriority   = "3c2b1a09-0000-4000-8000-00000000f1a5"
	fxRPLeaver     = "3c2b1a09-0000-4000-8000-0000000e4a57"
	fxHGSupervisor = "5e4d3c2b-0000-4000-8000-000000005a9e"
)

func fxConnect() domain.ConnectConfig {
	return domain.ConnectConfig{
		InstanceID: "4f1c2e3d-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
		Groups: []domain.ConnectGroup{
			{GroupRef: fxAgents, SecurityProfileIDs: []string{fxSPAgent}, RoutingProfileID: fxRPSupport, Priority: 20},
			{GroupRef: fxSupervisors, SecurityProfileIDs: []string{fxSPAgent, fxSPSupervisor}, RoutingProfileID: fxRPPriority,
				HierarchyGroupID: fxHGSupervisor, Priority: 10},
		},
	}
}

func fxConnectStrip() domain.ConnectConfig {
	c := fxConnect()
	c.OnLeave = domain.ConnectLeave{Action: domain.LeaveStrip, SecurityProfileIDs: []string{fxSPLeaver}, RoutingProfileID: fxRPLeaver}
	return c
}

// fxAgent is the fixture person's enabled agent, as an agent (not supervisor).
func fxAgent() domain.TargetState {
	return domain.TargetState{
		Target: domain.TargetConnect, Managed: true, RemoteID: fxAgentID, Status: domain.RemoteEnabled,
		Name: "jane.doe@example.com", Email: "jane.doe@example.com", FirstName: "Jane", LastName: "Doe",
		SecurityProfileIDs: []string{fxSPAgent}, RoutingProfileID: fxRPSupport, Version: 2,
	}
}

func fxSupervisorAgent() domain.TargetState {
	s := fxAgent()
	s.SecurityProfileIDs, s.RoutingProfileID, s.HierarchyGroupID = []string{fxSPAgent, fxSPSupervisor}, fxRPPriority, fxHGSupervisor
	return s
}

func fxAgentStripped(at time.Time) domain.TargetState {
	s := fxAgent()
	s.Status, s.SecurityProfileIDs, s.RoutingProfileID, s.DisabledAt = domain.RemoteDisabled, []string{fxSPLeaver}, fxRPLeaver, at
	return s
}

func ccOp(kind domain.OpKind, op domain.Op) domain.Op {
	op.Target, op.Kind = domain.TargetConnect, kind
	return op
}

func TestPlanConnect(t *testing.T) {
	now := fxAt(24 * 60)
	agent := fxJane([]domain.GroupRef{fxAgents})
	both := fxJane([]domain.GroupRef{fxAgents, fxSupervisors})
	leaver := fxJane(nil, fxAgents, fxSupervisors)
	suspended := fxFold(agent, fxFact(domain.KindSuspended, 10, "sus"))
	unsuspended := fxFold(suspended, fxFact(domain.KindUnsuspended, 20, "uns"))
	deleted := domain.TargetState{Target: domain.TargetConnect, Managed: true, Status: domain.RemoteDeleted, Version: 2}
	createAgent := domain.Plan{
		Ops: []domain.Op{ccOp(domain.OpCreate, domain.Op{
			Name: "jane.doe@example.com", FirstName: "Jane", LastName: "Doe", Email: "jane.doe@example.com",
			PhoneType: "SOFT_PHONE", SecurityProfileIDs: []string{fxSPAgent}, RoutingProfileID: fxRPSupport,
		})},
		Next: func() domain.TargetState { s := fxAgent(); s.RemoteID, s.Version = "", 0; return s }(),
	}
	deleteOps := []domain.Op{ccOp(domain.OpDelete, domain.Op{RemoteID: fxAgentID})}
	stripOps := []domain.Op{ccOp(domain.OpStrip, domain.Op{RemoteID: fxAgentID, SecurityProfileIDs: []string{fxSPLeaver}, RoutingProfileID: fxRPLeaver})}
	restoreOps := []domain.Op{
		ccOp(domain.OpUpdateSecurityProfiles, domain.Op{RemoteID: fxAgentID, SecurityProfileIDs: []string{fxSPAgent}}),
		ccOp(domain.OpUpdateRoutingProfile, domain.Op{RemoteID: fxAgentID, RoutingProfileID: fxRPSupport}),
	}
	unmanaged := domain.TargetState{Target: domain.TargetConnect, RemoteID: "someone-made-this", Status: domain.RemoteEnabled}

	tests := []struct {
		name   string
		cfg    domain.ConnectConfig
		person domain.Person
		last   domain.TargetState
		want   domain.Plan
	}{
		// Joiners.
		{"join", fxConnect(), agent, domain.TargetState{}, createAgent},
		{"join two mapped groups: lower priority number wins", fxConnect(), both, domain.TargetState{},
			domain.Plan{
				Ops: []domain.Op{ccOp(domain.OpCreate, domain.Op{
					Name: "jane.doe@example.com", FirstName: "Jane", LastName: "Doe", Email: "jane.doe@example.com",
					PhoneType: "SOFT_PHONE", SecurityProfileIDs: []string{fxSPAgent, fxSPSupervisor}, RoutingProfileID: fxRPPriority,
					HierarchyGroupID: fxHGSupervisor,
				})},
				Next: func() domain.TargetState { s := fxSupervisorAgent(); s.RemoteID, s.Version = "", 0; return s }(),
			}},
		{"join with desk phone and a username template", func() domain.ConnectConfig {
			c := fxConnect()
			c.PhoneType, c.UsernameTemplate = domain.PhoneTypeDesk, "{{.LoginLocal | lower}}"
			return c
		}(), agent, domain.TargetState{},
			domain.Plan{
				Ops: []domain.Op{ccOp(domain.OpCreate, domain.Op{
					Name: "jane.doe", FirstName: "Jane", LastName: "Doe", Email: "jane.doe@example.com",
					PhoneType: "DESK_PHONE", SecurityProfileIDs: []string{fxSPAgent}, RoutingProfileID: fxRPSupport,
				})},
				Next: func() domain.TargetState { s := fxAgent(); s.Name, s.RemoteID, s.Version = "jane.doe", "", 0; return s }(),
			}},
		{"joined and up to date", fxConnect(), agent, fxAgent(), domain.Plan{Next: fxAgent(), Reason: domain.ReasonUpToDate}},
		{"security profiles in another order are up to date", fxConnect(), both,
			func() domain.TargetState {
				s := fxSupervisorAgent()
				s.SecurityProfileIDs = []string{fxSPSupervisor, fxSPAgent}
				return s
			}(),
			domain.Plan{Next: func() domain.TargetState {
				s := fxSupervisorAgent()
				s.SecurityProfileIDs = []string{fxSPSupervisor, fxSPAgent}
				return s
			}(), Reason: domain.ReasonUpToDate}},

		// Movers.
		{"move agents → supervisors", fxConnect(), fxJane([]domain.GroupRef{fxSupervisors}, fxAgents), fxAgent(),
			domain.Plan{
				Ops: []domain.Op{
					ccOp(domain.OpUpdateSecurityProfiles, domain.Op{RemoteID: fxAgentID, SecurityProfileIDs: []string{fxSPAgent, fxSPSupervisor}}),
					ccOp(domain.OpUpdateRoutingProfile, domain.Op{RemoteID: fxAgentID, RoutingProfileID: fxRPPriority}),
					ccOp(domain.OpUpdateHierarchyGroup, domain.Op{RemoteID: fxAgentID, HierarchyGroupID: fxHGSupervisor}),
				},
				Next: fxSupervisorAgent(),
			}},
		{"move supervisors → agents clears the hierarchy group", fxConnect(), fxJane([]domain.GroupRef{fxAgents}, fxSupervisors), fxSupervisorAgent(),
			domain.Plan{
				Ops: []domain.Op{
					ccOp(domain.OpUpdateSecurityProfiles, domain.Op{RemoteID: fxAgentID, SecurityProfileIDs: []string{fxSPAgent}}),
					ccOp(domain.OpUpdateRoutingProfile, domain.Op{RemoteID: fxAgentID, RoutingProfileID: fxRPSupport}),
					ccOp(domain.OpUpdateHierarchyGroup, domain.Op{RemoteID: fxAgentID}),
				},
				Next: fxAgent(),
			}},
		{"profile change", fxConnect(),
			fxFold(agent, fxFact(domain.KindProfileChanged, 10, "p", withProfile(domain.Profile{FirstName: ptr("Janet")}))), fxAgent(),
			domain.Plan{
				Ops:  []domain.Op{ccOp(domain.OpUpdateIdentity, domain.Op{RemoteID: fxAgentID, FirstName: "Janet", LastName: "Doe", Email: "jane.doe@example.com"})},
				Next: func() domain.TargetState { s := fxAgent(); s.FirstName = "Janet"; return s }(),
			}},
		{"email change", fxConnect(),
			fxFold(agent, fxFact(domain.KindProfileChanged, 10, "e", withProfile(domain.Profile{Email: ptr("jane@support.example.com")}))), fxAgent(),
			domain.Plan{
				Ops:  []domain.Op{ccOp(domain.OpUpdateIdentity, domain.Op{RemoteID: fxAgentID, FirstName: "Jane", LastName: "Doe", Email: "jane@support.example.com"})},
				Next: func() domain.TargetState { s := fxAgent(); s.Email = "jane@support.example.com"; return s }(),
			}},
		{"login rename: identity updated, same agent, username kept", fxConnect(),
			fxFold(agent, fxFact(domain.KindProfileChanged, 10, "ren",
				withProfile(domain.Profile{Login: ptr("jane.smith@example.com"), LastName: ptr("Smith"), Email: ptr("jane.smith@example.com")}))),
			fxAgent(),
			domain.Plan{
				Ops: []domain.Op{ccOp(domain.OpUpdateIdentity, domain.Op{RemoteID: fxAgentID, FirstName: "Jane", LastName: "Smith", Email: "jane.smith@example.com"})},
				Next: func() domain.TargetState {
					s := fxAgent()
					s.LastName, s.Email = "Smith", "jane.smith@example.com"
					return s
				}(),
			}},

		// Leavers, delete policy.
		{"suspend", fxConnect(), suspended, fxAgent(), domain.Plan{Ops: deleteOps, Next: deleted}},
		{"unsuspend after deletion creates anew", fxConnect(), unsuspended, deleted,
			domain.Plan{Ops: createAgent.Ops, Next: func() domain.TargetState { s := createAgent.Next; s.Version = 2; return s }()}},
		{"deactivate", fxConnect(), fxFold(agent, fxFact(domain.KindDeactivated, 10, "dea")), fxAgent(), domain.Plan{Ops: deleteOps, Next: deleted}},
		{"delete (Okta user deleted)", fxConnect(), fxFold(agent, fxFact(domain.KindDeleted, 10, "del")), fxAgent(), domain.Plan{Ops: deleteOps, Next: deleted}},
		{"leave", fxConnect(), leaver, fxAgent(), domain.Plan{Ops: deleteOps, Next: deleted}},
		{"leave a stripped agent under the delete policy", fxConnect(), leaver, fxAgentStripped(fxAt(1)), domain.Plan{Ops: deleteOps, Next: deleted}},
		{"removed user already deleted stays deleted", fxConnect(), leaver, deleted, domain.Plan{Next: deleted, Reason: domain.ReasonNoAccount}},

		// Leavers, strip policy.
		{"suspend, strip policy", fxConnectStrip(), suspended, fxAgent(), domain.Plan{Ops: stripOps, Next: fxAgentStripped(now)}},
		{"unsuspend restores the stripped agent", fxConnectStrip(), unsuspended, fxAgentStripped(fxAt(10)),
			domain.Plan{Ops: restoreOps, Next: fxAgent()}},
		{"leave then rejoin restores, not re-creates", fxConnectStrip(),
			fxFold(leaver, fxFact(domain.KindMemberAdded, 30, "add", withGroup(fxAgents))), fxAgentStripped(fxAt(1)),
			domain.Plan{Ops: restoreOps, Next: fxAgent()}},
		{"removed user already stripped stays stripped", fxConnectStrip(), leaver, fxAgentStripped(fxAt(1)),
			domain.Plan{Next: fxAgentStripped(fxAt(1)), Reason: domain.ReasonAlreadyLeft}},
		{"strip profiles reconfigured: strip again, keep the strip time", func() domain.ConnectConfig {
			c := fxConnectStrip()
			c.OnLeave.RoutingProfileID = fxRPSupport
			return c
		}(), leaver, fxAgentStripped(fxAt(1)),
			domain.Plan{
				Ops:  []domain.Op{ccOp(domain.OpStrip, domain.Op{RemoteID: fxAgentID, SecurityProfileIDs: []string{fxSPLeaver}, RoutingProfileID: fxRPSupport})},
				Next: func() domain.TargetState { s := fxAgentStripped(fxAt(1)); s.RoutingProfileID = fxRPSupport; return s }(),
			}},
		{"rejoin a stripped agent whose profiles already match", func() domain.ConnectConfig {
			c := fxConnectStrip()
			c.OnLeave.SecurityProfileIDs, c.OnLeave.RoutingProfileID = []string{fxSPAgent}, fxRPSupport
			return c
		}(), agent, func() domain.TargetState {
			s := fxAgent()
			s.Status, s.DisabledAt = domain.RemoteDisabled, fxAt(1)
			return s
		}(), domain.Plan{Next: fxAgent(), Reason: domain.ReasonUpToDate}},

		// Never touch what idsync does not manage; wait for missing facts.
		{"not in a mapped group, no account", fxConnect(), fxJane([]domain.GroupRef{fxMail}), domain.TargetState{},
			domain.Plan{Reason: domain.ReasonNotManaged}},
		{"leaver with an agent idsync does not manage", fxConnect(), leaver, unmanaged, domain.Plan{Next: unmanaged, Reason: domain.ReasonNotManaged}},
		{"joiner with an agent idsync does not manage", fxConnect(), agent, unmanaged, domain.Plan{Next: unmanaged, Reason: domain.ReasonNotManaged}},
		{"names unknown", fxConnect(),
			fxFold(domain.Person{}, fxFact(domain.KindMemberAdded, 0, "hook", withGroup(fxAgents))),
			domain.TargetState{}, domain.Plan{Reason: domain.ReasonIncomplete + ": first name, last name unknown"}},
		{"nothing known but the id", fxConnect(),
			fxFold(domain.Person{}, fxFact(domain.KindMemberAdded, 0, "hook", withGroup(fxAgents), withSubject(domain.Subject{OktaID: fxOkta}))),
			domain.TargetState{}, domain.Plan{Reason: domain.ReasonIncomplete + ": login, first name, last name unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.PlanConnect(tt.cfg, domain.ConnectIdentitySAML, tt.person, tt.last, now)
			if err != nil {
				t.Fatalf("PlanConnect: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if len(got.Ops) > 0 {
				again, err := domain.PlanConnect(tt.cfg, domain.ConnectIdentitySAML, tt.person, got.Next, now)
				if err != nil || len(again.Ops) > 0 {
					t.Errorf("re-plan from Next: %v, %+v; want nothing to do", err, again.Ops)
				}
			}
		})
	}
}

func TestPlanConnectErrors(t *testing.T) {
	withProfile := func(pr domain.Profile) domain.Person {
		return fxFold(fxJane([]domain.GroupRef{fxAgents}), fxFact(domain.KindProfileChanged, 5, "x", withProfile(pr)))
	}
	tests := []struct {
		name     string
		cfg      domain.ConnectConfig
		identity domain.ConnectIdentity // default SAML
		person   domain.Person
		last     domain.TargetState
		say      []string // nil: no error
		// hide are the person's values the error must not contain: it is
		// logged, written to the ledger and sent as DLQ attributes.
		hide []string
	}{
		{"username over 64 characters at create", fxConnect(), "", withProfile(domain.Profile{Login: ptr(strings.Repeat("j", 53) + "@example.com")}),
			domain.TargetState{}, []string{"connect username", "has 65 characters, want 1–64 with SAML identity management"},
			[]string{strings.Repeat("j", 53) + "@example.com", strings.Repeat("j", 20)}},
		{"username over 20 characters without SAML", fxConnect(), domain.ConnectIdentityConnectManaged,
			withProfile(domain.Profile{Login: ptr("jane.doe@example.co.uk")}), domain.TargetState{},
			[]string{"connect username", "has 22 characters, want 1–20 with CONNECT_MANAGED identity management"},
			[]string{"jane.doe@example.co.uk", "jane.doe"}},
		{"username over 20 characters with an existing directory", fxConnect(), domain.ConnectIdentityExistingDirectory,
			withProfile(domain.Profile{Login: ptr("jane.doe@example.co.uk")}), domain.TargetState{},
			[]string{"has 22 characters, want 1–20 with EXISTING_DIRECTORY identity management"}, []string{"jane.doe"}},
		{"username over 20 characters, identity management unknown: the stricter limit", fxConnect(), "unknown-type",
			withProfile(domain.Profile{Login: ptr("jane.doe@example.co.uk")}), domain.TargetState{},
			[]string{"has 22 characters, want 1–20 with unknown-type identity management"}, []string{"jane.doe"}},
		{"20 characters fit without SAML", fxConnect(), domain.ConnectIdentityConnectManaged,
			withProfile(domain.Profile{Login: ptr("jane.doe@example.com")}), domain.TargetState{}, nil, nil},
		{"a pinned username is checked too", fxConnect(), domain.ConnectIdentityConnectManaged, fxJane([]domain.GroupRef{fxAgents}),
			domain.TargetState{Target: domain.TargetConnect, PendingName: "jane.doe@example.co.uk", PendingAt: fxAt(1)},
			[]string{"has 22 characters, want 1–20"}, []string{"jane.doe"}},
		{"an '@' only in an email-formed username", fxConnect(), "", withProfile(domain.Profile{Login: ptr("jane@doe")}),
			domain.TargetState{}, []string{"connect username (8 characters) holds an '@' but is not email-formed"}, []string{"jane@doe"}},
		{"username Connect's pattern refuses at create", fxConnect(), "", withProfile(domain.Profile{Login: ptr("o'brien+ops@example.com")}),
			domain.TargetState{}, []string{"connect username (23 characters) does not match ^[a-zA-Z0-9_.@-]+$"},
			[]string{"o'brien", "brien+ops", "o'brien+ops@example.com"}},
		{"username not re-checked for an existing agent", fxConnect(), domain.ConnectIdentityConnectManaged,
			withProfile(domain.Profile{Login: ptr("jane+ops@example.co.uk")}), fxAgent(), nil, nil},
		{"first name over 255 characters", fxConnect(), "", withProfile(domain.Profile{FirstName: ptr(strings.Repeat("J", 256))}), fxAgent(),
			[]string{"connect firstName", "has 256 characters, want 1–255"}, []string{strings.Repeat("J", 20)}},
		{"last name over 300 characters", fxConnect(), "", withProfile(domain.Profile{LastName: ptr(strings.Repeat("D", 301))}), fxAgent(),
			[]string{"connect lastName", "has 301 characters, want 1–300"}, []string{strings.Repeat("D", 20)}},
		{"template failing on the person's data", func() domain.ConnectConfig {
			c := fxConnect()
			c.UsernameTemplate = "{{slice .Login 0 30}}"
			return c
		}(), "", fxJane([]domain.GroupRef{fxAgents}), domain.TargetState{}, []string{"connect username template failed"},
			[]string{"jane.doe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			identity := tt.identity
			if identity == "" {
				identity = domain.ConnectIdentitySAML
			}
			plan, err := domain.PlanConnect(tt.cfg, identity, tt.person, tt.last, fxAt(60))
			if tt.say == nil {
				if err != nil {
					t.Fatalf("PlanConnect: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("planned %+v, want an error", plan)
			}
			if !errors.Is(err, domain.ErrInvalidAttribute) || domain.KindOf(err) != domain.ErrorPermanent {
				t.Errorf("error %v: want permanent ErrInvalidAttribute", err)
			}
			for _, s := range tt.say {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			for _, s := range tt.hide {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds the person's value %q", err, s)
				}
			}
		})
	}
}

// TestPlanConnectCreateIntent: a recorded create intent pins the create's
// username, whatever the login says now, and no plan's Next keeps it.
func TestPlanConnectCreateIntent(t *testing.T) {
	renamed := fxFold(fxJane([]domain.GroupRef{fxAgents}), fxFact(domain.KindProfileChanged, 10, "ren",
		withProfile(domain.Profile{Login: ptr("jane.smith@example.com"), LastName: ptr("Smith"), Email: ptr("jane.smith@example.com")})))
	intent := domain.TargetState{Target: domain.TargetConnect, PendingName: "jane.doe@example.com", PendingAt: fxAt(5), Version: 3}
	withIntent := func(s domain.TargetState) domain.TargetState {
		s.PendingName, s.PendingAt = intent.PendingName, intent.PendingAt
		return s
	}
	tests := []struct {
		name     string
		person   domain.Person
		last     domain.TargetState
		wantOps  []domain.OpKind
		wantName string // the create's Name
		wantNext domain.TargetState
	}{
		{"login renamed after the intent: the create keeps the pinned name", renamed, intent,
			[]domain.OpKind{domain.OpCreate}, "jane.doe@example.com",
			func() domain.TargetState {
				s := fxAgent()
				s.RemoteID, s.Version, s.LastName, s.Email = "", 3, "Smith", "jane.smith@example.com"
				return s
			}()},
		{"no intent: the rendered name", renamed, domain.TargetState{}, []domain.OpKind{domain.OpCreate}, "jane.smith@example.com",
			func() domain.TargetState {
				s := fxAgent()
				s.RemoteID, s.Version, s.Name, s.LastName, s.Email = "", 0, "jane.smith@example.com", "Smith", "jane.smith@example.com"
				return s
			}()},
		{"an intent on an existing agent is dropped", renamed, withIntent(fxAgent()), []domain.OpKind{domain.OpUpdateIdentity}, "",
			func() domain.TargetState {
				s := fxAgent()
				s.LastName, s.Email = "Smith", "jane.smith@example.com"
				return s
			}()},
		// A create whose commit was lost may have made an agent: it is
		// looked for (and then deleted), never left unrecorded.
		{"no longer qualifying: the intent is settled by an adopt under the pinned name", fxJane(nil, fxAgents), intent,
			[]domain.OpKind{domain.OpAdopt}, "jane.doe@example.com", domain.TargetState{Target: domain.TargetConnect, Version: 3}},
		{"no longer qualifying, no intent: nothing", fxJane(nil, fxAgents), domain.TargetState{Target: domain.TargetConnect, Version: 3}, nil, "",
			domain.TargetState{Target: domain.TargetConnect, Version: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := domain.PlanConnect(fxConnect(), domain.ConnectIdentitySAML, tt.person, tt.last, fxAt(60))
			if err != nil {
				t.Fatal(err)
			}
			var kinds []domain.OpKind
			for _, op := range plan.Ops {
				kinds = append(kinds, op.Kind)
			}
			if diff := cmp.Diff(tt.wantOps, kinds); diff != "" {
				t.Fatalf("ops (-want +got):\n%s", diff)
			}
			if tt.wantName != "" && plan.Ops[0].Name != tt.wantName {
				t.Errorf("create Name %q, want %q", plan.Ops[0].Name, tt.wantName)
			}
			if diff := cmp.Diff(tt.wantNext, plan.Next, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Next (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnectUsernameLimit(t *testing.T) {
	for identity, want := range map[domain.ConnectIdentity]int{
		domain.ConnectIdentitySAML: 64, domain.ConnectIdentityConnectManaged: 20, domain.ConnectIdentityExistingDirectory: 20, "": 20,
	} {
		if got := identity.UsernameLimit(); got != want {
			t.Errorf("%q.UsernameLimit() = %d, want %d", identity, got, want)
		}
	}
}

func TestConnectWinner(t *testing.T) {
	cfg := fxConnect()
	tests := []struct {
		name   string
		person domain.Person
		want   string // winning group name, "" for none
		qual   bool
	}{
		{"agents only", fxJane([]domain.GroupRef{fxAgents}), "Support Agents", true},
		{"both: priority 10 beats 20", fxJane([]domain.GroupRef{fxAgents, fxSupervisors}), "Support Supervisors", true},
		{"none", fxJane([]domain.GroupRef{fxMail}), "", false},
		{"suspended member has a winner but does not qualify",
			fxFold(fxJane([]domain.GroupRef{fxAgents}), fxFact(domain.KindSuspended, 1, "s")), "Support Agents", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := cfg.Winner(tt.person)
			if ok != (tt.want != "") || g.Name != tt.want {
				t.Errorf("Winner = %q, %v; want %q", g.Name, ok, tt.want)
			}
			if q := cfg.Qualifies(tt.person); q != tt.qual {
				t.Errorf("Qualifies = %v, want %v", q, tt.qual)
			}
		})
	}
}
