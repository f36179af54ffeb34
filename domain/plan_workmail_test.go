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

const fxMailboxID = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"

func fxWorkMail() domain.WorkMailConfig {
	return domain.WorkMailConfig{OrganizationID: fxOrg, Groups: []domain.GroupRef{fxMail, fxMailEU}}
}

func fxWorkMailDeleting(days int) domain.WorkMailConfig {
	c := fxWorkMail()
	c.OnLeave = domain.WorkMailLeave{Action: domain.LeaveDelete, DeleteAfterDays: days}
	return c
}

// fxMailbox is the fixture person's enabled mailbox as idsync created it.
func fxMailbox() domain.TargetState {
	return domain.TargetState{
		Target: domain.TargetWorkMail, Managed: true, RemoteID: fxMailboxID, Status: domain.RemoteEnabled,
		Name: "jane.doe", Email: "jane.doe@example.com", DisplayName: "Jane Doe", FirstName: "Jane", LastName: "Doe",
		IdentityProviderUserID: fxIdC, Version: 3,
	}
}

func fxMailboxDisabled(at time.Time) domain.TargetState {
	s := fxMailbox()
	s.Status, s.DisabledAt = domain.RemoteDisabled, at
	return s
}

func wmOp(kind domain.OpKind, op domain.Op) domain.Op {
	op.Target, op.Kind = domain.TargetWorkMail, kind
	return op
}

func TestPlanWorkMail(t *testing.T) {
	now := fxAt(24 * 60)
	member := fxJane([]domain.GroupRef{fxMail})
	leaver := fxJane(nil, fxMail)
	suspended := fxFold(member, fxFact(domain.KindSuspended, 10, "sus"))
	renamed := fxFold(member, fxFact(domain.KindProfileChanged, 10, "ren",
		withProfile(domain.Profile{Login: ptr("jane.smith@example.com"), LastName: ptr("Smith"), DisplayName: ptr("Jane Smith")})))
	created := domain.TargetState{
		Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteEnabled,
		Name: "jane.doe", Email: "jane.doe@example.com", DisplayName: "Jane Doe", FirstName: "Jane", LastName: "Doe",
		IdentityProviderUserID: fxIdC,
	}
	createOps := []domain.Op{
		wmOp(domain.OpCreate, domain.Op{Name: "jane.doe", DisplayName: "Jane Doe", FirstName: "Jane", LastName: "Doe", IdentityProviderUserID: fxIdC, Email: "jane.doe@example.com"}),
		wmOp(domain.OpRegister, domain.Op{Name: "jane.doe", Email: "jane.doe@example.com"}),
	}
	disabledNow := fxMailboxDisabled(now)
	disableOps := []domain.Op{wmOp(domain.OpDisable, domain.Op{RemoteID: fxMailboxID})}
	unmanaged := domain.TargetState{Target: domain.TargetWorkMail, RemoteID: "pre-existing", Status: domain.RemoteEnabled}
	deleted := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteDeleted, Version: 3}

	tests := []struct {
		name   string
		cfg    domain.WorkMailConfig
		person domain.Person
		last   domain.TargetState
		want   domain.Plan
	}{
		// Joiners.
		{"join", fxWorkMail(), member, domain.TargetState{}, domain.Plan{Ops: createOps, Next: created}},
		{"join two mapped groups: one mailbox", fxWorkMail(), fxJane([]domain.GroupRef{fxMail, fxMailEU}), domain.TargetState{},
			domain.Plan{Ops: createOps, Next: created}},
		{"join known by hook only: no IdC id, names from the login", fxWorkMail(),
			fxFold(domain.Person{}, fxFact(domain.KindMemberAdded, 0, "hook", withGroup(domain.GroupRef{OktaID: fxMail.OktaID}),
				withSubject(domain.Subject{OktaID: fxOkta, Login: "jane.doe@example.com"}))),
			domain.TargetState{},
			domain.Plan{
				Ops: []domain.Op{
					wmOp(domain.OpCreate, domain.Op{Name: "jane.doe", DisplayName: "jane.doe", Email: "jane.doe@example.com"}),
					wmOp(domain.OpRegister, domain.Op{Name: "jane.doe", Email: "jane.doe@example.com"}),
				},
				Next: domain.TargetState{Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteEnabled,
					Name: "jane.doe", Email: "jane.doe@example.com", DisplayName: "jane.doe"},
			}},
		{"rejoin after deletion creates anew", fxWorkMail(), member, deleted,
			domain.Plan{Ops: createOps, Next: func() domain.TargetState { s := created; s.Version = 3; return s }()}},
		{"joined and up to date", fxWorkMail(), member, fxMailbox(), domain.Plan{Next: fxMailbox(), Reason: domain.ReasonUpToDate}},

		// Movers.
		{"move between mapped groups", fxWorkMail(), fxJane([]domain.GroupRef{fxMailEU}, fxMail), fxMailbox(),
			domain.Plan{Next: fxMailbox(), Reason: domain.ReasonUpToDate}},
		{"profile change", fxWorkMail(),
			fxFold(member, fxFact(domain.KindProfileChanged, 10, "p", withProfile(domain.Profile{LastName: ptr("Doe-Smith"), DisplayName: ptr("Jane Doe-Smith")}))),
			fxMailbox(),
			domain.Plan{
				Ops: []domain.Op{wmOp(domain.OpUpdateAttributes, domain.Op{RemoteID: fxMailboxID, DisplayName: "Jane Doe-Smith", FirstName: "Jane", LastName: "Doe-Smith"})},
				Next: func() domain.TargetState {
					s := fxMailbox()
					s.DisplayName, s.LastName = "Jane Doe-Smith", "Doe-Smith"
					return s
				}(),
			}},
		{"profile email change: mailbox address follows the login, not the profile email", fxWorkMail(),
			fxFold(member, fxFact(domain.KindProfileChanged, 10, "e", withProfile(domain.Profile{Email: ptr("jane@elsewhere.example")}))),
			fxMailbox(), domain.Plan{Next: fxMailbox(), Reason: domain.ReasonUpToDate}},
		{"email change with an email-based template", func() domain.WorkMailConfig {
			c := fxWorkMail()
			c.EmailTemplate = "{{.EmailLocal}}@{{.Domain}}"
			return c
		}(),
			fxFold(member, fxFact(domain.KindProfileChanged, 10, "e", withProfile(domain.Profile{Email: ptr("j.doe@corp.example")}))),
			fxMailbox(),
			domain.Plan{
				Ops:  []domain.Op{wmOp(domain.OpUpdateEmail, domain.Op{RemoteID: fxMailboxID, Email: "j.doe@example.com"})},
				Next: func() domain.TargetState { s := fxMailbox(); s.Email = "j.doe@example.com"; return s }(),
			}},
		{"email differing only in case is up to date", fxWorkMail(), member,
			func() domain.TargetState { s := fxMailbox(); s.Email = "Jane.Doe@Example.com"; return s }(),
			domain.Plan{Next: func() domain.TargetState { s := fxMailbox(); s.Email = "Jane.Doe@Example.com"; return s }(), Reason: domain.ReasonUpToDate}},
		{"login rename: updates, same mailbox, Name kept", fxWorkMail(), renamed, fxMailbox(),
			domain.Plan{
				Ops: []domain.Op{
					wmOp(domain.OpUpdateAttributes, domain.Op{RemoteID: fxMailboxID, DisplayName: "Jane Smith", FirstName: "Jane", LastName: "Smith"}),
					wmOp(domain.OpUpdateEmail, domain.Op{RemoteID: fxMailboxID, Email: "jane.smith@example.com"}),
				},
				Next: func() domain.TargetState {
					s := fxMailbox()
					s.DisplayName, s.LastName, s.Email = "Jane Smith", "Smith", "jane.smith@example.com"
					return s
				}(),
			}},

		// Leavers.
		{"suspend", fxWorkMail(), suspended, fxMailbox(), domain.Plan{Ops: disableOps, Next: disabledNow}},
		{"unsuspend re-enables the same mailbox", fxWorkMail(), fxFold(suspended, fxFact(domain.KindUnsuspended, 20, "uns")),
			fxMailboxDisabled(fxAt(10)),
			domain.Plan{Ops: []domain.Op{wmOp(domain.OpEnable, domain.Op{RemoteID: fxMailboxID, Email: "jane.doe@example.com"})}, Next: fxMailbox()}},
		{"deactivate", fxWorkMail(), fxFold(member, fxFact(domain.KindDeactivated, 10, "dea")), fxMailbox(),
			domain.Plan{Ops: disableOps, Next: disabledNow}},
		{"delete (Okta user deleted)", fxWorkMail(), fxFold(member, fxFact(domain.KindDeleted, 10, "del")), fxMailbox(),
			domain.Plan{Ops: disableOps, Next: disabledNow}},
		{"leave", fxWorkMail(), leaver, fxMailbox(), domain.Plan{Ops: disableOps, Next: disabledNow}},
		{"leave then rejoin: re-enable, not re-create, with what changed meanwhile", fxWorkMail(),
			fxFold(renamed,
				fxFact(domain.KindMemberRemoved, 11, "rm", withGroup(fxMail), withSubject(domain.Subject{OktaID: fxOkta, Login: "jane.smith@example.com"})),
				fxFact(domain.KindMemberAdded, 30, "add", withGroup(fxMail), withSubject(domain.Subject{OktaID: fxOkta, Login: "jane.smith@example.com"}))),
			fxMailboxDisabled(fxAt(11)),
			domain.Plan{
				Ops: []domain.Op{
					wmOp(domain.OpEnable, domain.Op{RemoteID: fxMailboxID, Email: "jane.smith@example.com"}),
					wmOp(domain.OpUpdateAttributes, domain.Op{RemoteID: fxMailboxID, DisplayName: "Jane Smith", FirstName: "Jane", LastName: "Smith"}),
				},
				Next: func() domain.TargetState {
					s := fxMailbox()
					s.DisplayName, s.LastName, s.Email = "Jane Smith", "Smith", "jane.smith@example.com"
					return s
				}(),
			}},
		{"removed user already disabled stays disabled", fxWorkMail(), leaver, fxMailboxDisabled(fxAt(1)),
			domain.Plan{Next: fxMailboxDisabled(fxAt(1)), Reason: domain.ReasonAlreadyLeft}},
		{"suspended user already disabled stays disabled", fxWorkMail(), suspended, fxMailboxDisabled(fxAt(1)),
			domain.Plan{Next: fxMailboxDisabled(fxAt(1)), Reason: domain.ReasonAlreadyLeft}},
		{"leaver without an account", fxWorkMail(), leaver, deleted, domain.Plan{Next: deleted, Reason: domain.ReasonNoAccount}},

		// Delete after grace.
		{"delete policy disables first", fxWorkMailDeleting(30), leaver, fxMailbox(), domain.Plan{Ops: disableOps, Next: disabledNow}},
		{"delete policy within grace", fxWorkMailDeleting(30), leaver, fxMailboxDisabled(now.Add(-29 * 24 * time.Hour)),
			domain.Plan{Next: fxMailboxDisabled(now.Add(-29 * 24 * time.Hour)),
				Reason: domain.ReasonGracePeriod + ": delete due " + now.Add(24*time.Hour).Format(time.RFC3339)}},
		{"delete policy after grace", fxWorkMailDeleting(30), leaver, fxMailboxDisabled(now.Add(-30 * 24 * time.Hour)),
			domain.Plan{Ops: []domain.Op{wmOp(domain.OpDelete, domain.Op{RemoteID: fxMailboxID})}, Next: deleted}},
		{"delete policy, disable time unknown: grace starts now", fxWorkMailDeleting(30), leaver, fxMailboxDisabled(time.Time{}),
			domain.Plan{Next: disabledNow, Reason: domain.ReasonGracePeriod + ": starts now"}},
		{"delete policy with 0 days: disable and delete together", fxWorkMailDeleting(0), leaver, fxMailbox(),
			domain.Plan{Ops: append(disableOps, wmOp(domain.OpDelete, domain.Op{RemoteID: fxMailboxID})), Next: deleted}},
		{"delete policy with 0 days, already disabled", fxWorkMailDeleting(0), leaver, fxMailboxDisabled(time.Time{}),
			domain.Plan{Ops: []domain.Op{wmOp(domain.OpDelete, domain.Op{RemoteID: fxMailboxID})}, Next: deleted}},

		// Never touch what idsync does not manage; wait for missing facts.
		{"not in a mapped group, no account", fxWorkMail(), fxJane([]domain.GroupRef{fxUnmapped}), domain.TargetState{},
			domain.Plan{Reason: domain.ReasonNotManaged}},
		{"leaver with an account idsync does not manage", fxWorkMail(), leaver, unmanaged,
			domain.Plan{Next: unmanaged, Reason: domain.ReasonNotManaged}},
		{"joiner with an account idsync does not manage", fxWorkMail(), member, unmanaged,
			domain.Plan{Next: unmanaged, Reason: domain.ReasonNotManaged}},
		{"login unknown", fxWorkMail(),
			fxFold(domain.Person{}, fxFact(domain.KindMemberAdded, 0, "hook", withGroup(fxMail), withSubject(domain.Subject{OktaID: fxOkta}))),
			domain.TargetState{}, domain.Plan{Reason: domain.ReasonIncomplete + ": login unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.PlanWorkMail(tt.cfg, "example.com", tt.person, tt.last, now)
			if err != nil {
				t.Fatalf("PlanWorkMail: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			// Planning from the state the plan leads to is idempotent.
			if len(got.Ops) > 0 {
				again, err := domain.PlanWorkMail(tt.cfg, "example.com", tt.person, got.Next, now)
				if err != nil || len(again.Ops) > 0 {
					t.Errorf("re-plan from Next: %v, %+v; want nothing to do", err, again.Ops)
				}
			}
		})
	}
}

func TestPlanWorkMailErrors(t *testing.T) {
	withLogin := func(login string) domain.Person {
		return fxFold(fxJane([]domain.GroupRef{fxMail}), fxFact(domain.KindProfileChanged, 5, "l", withProfile(domain.Profile{Login: &login})))
	}
	long := strings.Repeat("j", 65)
	tests := []struct {
		name   string
		cfg    domain.WorkMailConfig
		domain string
		person domain.Person
		last   domain.TargetState
		say    []string // nil: no error
		// hide are the person's values the error must not contain: it is
		// logged, written to the ledger and sent as DLQ attributes.
		hide []string
	}{
		{"name over 64 characters at create", fxWorkMail(), "example.com", withLogin(long + "@example.com"), domain.TargetState{},
			[]string{"workmail name has 65 characters, want 1–64", "workmail email"}, []string{long[:20]}},
		{"name WorkMail's pattern refuses at create", fxWorkMail(), "example.com", withLogin("jane+ops@example.com"), domain.TargetState{},
			[]string{`workmail name (8 characters) does not match ^[\w\-.]+`}, []string{"jane+ops", "jane"}},
		{"email WorkMail's pattern refuses at create", fxWorkMail(), "corp.example", withLogin("o'brien@corp.example"),
			fxMailbox(), []string{"workmail email (20 characters) does not match ^[a-zA-Z0-9._%+-]{1,64}@"},
			[]string{"o'brien", "o'brien@corp.example"}},
		{"name is not re-checked for an existing mailbox", fxWorkMail(), "example.com", withLogin("jane+ops@example.com"), fxMailbox(), nil, nil},
		{"no mail domain", fxWorkMail(), "", fxJane([]domain.GroupRef{fxMail}), domain.TargetState{},
			[]string{"workmail email (9 characters) does not match", "no mail domain was given"}, []string{"jane.doe"}},
		{"display name over 256 characters", fxWorkMail(), "example.com",
			fxFold(fxJane([]domain.GroupRef{fxMail}), fxFact(domain.KindProfileChanged, 5, "d", withProfile(domain.Profile{DisplayName: ptr(strings.Repeat("J", 257))}))),
			fxMailbox(), []string{"workmail displayName has 257 characters, want 1–256"}, []string{strings.Repeat("J", 20)}},
		{"template failing on the person's data", func() domain.WorkMailConfig {
			c := fxWorkMail()
			c.NameTemplate = "{{slice .Login 0 12}}"
			return c
		}(), "example.com", withLogin("jd@ex.io"), domain.TargetState{},
			[]string{"workmail name template failed", "out of range"}, []string{"jd@ex.io"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := domain.PlanWorkMail(tt.cfg, tt.domain, tt.person, tt.last, fxAt(60))
			if tt.say == nil {
				if err != nil {
					t.Fatalf("PlanWorkMail: %v", err)
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

// TestPlanWorkMailCreateIntent: a recorded create intent pins the create's
// Name, whatever the login says now (the address follows the login), and
// no plan's Next keeps it.
func TestPlanWorkMailCreateIntent(t *testing.T) {
	renamed := fxFold(fxJane([]domain.GroupRef{fxMail}), fxFact(domain.KindProfileChanged, 10, "ren",
		withProfile(domain.Profile{Login: ptr("jane.smith@example.com"), LastName: ptr("Smith"), DisplayName: ptr("Jane Smith")})))
	intent := domain.TargetState{Target: domain.TargetWorkMail, PendingName: "jane.doe", PendingAt: fxAt(5), Version: 2}
	tests := []struct {
		name      string
		person    domain.Person
		last      domain.TargetState
		wantOps   []domain.OpKind
		wantName  string // the create's and the register's Name
		wantEmail string // the create's and the register's Email
		wantNext  domain.TargetState
	}{
		{"login renamed after the intent: the create keeps the pinned name", renamed, intent,
			[]domain.OpKind{domain.OpCreate, domain.OpRegister}, "jane.doe", "jane.smith@example.com",
			domain.TargetState{Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteEnabled, Name: "jane.doe",
				Email: "jane.smith@example.com", DisplayName: "Jane Smith", FirstName: "Jane", LastName: "Smith",
				IdentityProviderUserID: fxIdC, Version: 2}},
		{"an intent on an existing mailbox is dropped", renamed,
			func() domain.TargetState {
				s := fxMailbox()
				s.PendingName, s.PendingAt = "jane.doe", fxAt(5)
				return s
			}(),
			[]domain.OpKind{domain.OpUpdateAttributes, domain.OpUpdateEmail}, "", "",
			func() domain.TargetState {
				s := fxMailbox()
				s.Email, s.DisplayName, s.LastName = "jane.smith@example.com", "Jane Smith", "Smith"
				return s
			}()},
		// A create whose commit was lost may have made a mailbox: it is
		// looked for (and then left), never left unrecorded.
		{"no longer qualifying: the intent is settled by an adopt under the pinned name", fxJane(nil, fxMail), intent,
			[]domain.OpKind{domain.OpAdopt}, "jane.doe", "jane.doe@example.com",
			domain.TargetState{Target: domain.TargetWorkMail, Version: 2}},
		{"suspended: the same", fxFold(fxJane([]domain.GroupRef{fxMail}), fxFact(domain.KindSuspended, 10, "sus")), intent,
			[]domain.OpKind{domain.OpAdopt}, "jane.doe", "jane.doe@example.com",
			domain.TargetState{Target: domain.TargetWorkMail, Version: 2}},
		{"no longer qualifying, no intent: nothing", fxJane(nil, fxMail), domain.TargetState{Target: domain.TargetWorkMail, Version: 2}, nil, "", "",
			domain.TargetState{Target: domain.TargetWorkMail, Version: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := domain.PlanWorkMail(fxWorkMail(), "example.com", tt.person, tt.last, fxAt(60))
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
			if tt.wantName != "" {
				for _, op := range plan.Ops {
					if op.Name != tt.wantName || op.Email != tt.wantEmail {
						t.Errorf("%s op Name %q, Email %q; want %q, %q", op.Kind, op.Name, op.Email, tt.wantName, tt.wantEmail)
					}
				}
			}
			if diff := cmp.Diff(tt.wantNext, plan.Next, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Next (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanWorkMailIdCLink: the mailbox is linked to the person's IdC user
// at create; an IdC user id learned later (the SCIM push lags the hook),
// or one that replaced the recorded link (a re-created IdC user, re-linked
// by the snapshot), is set with update-attributes; an unknown id never
// clears a link.
func TestPlanWorkMailIdCLink(t *testing.T) {
	member := fxJane([]domain.GroupRef{fxMail})
	unlinked := func() domain.TargetState { s := fxMailbox(); s.IdentityProviderUserID = ""; return s }()
	linkedTo := func(id string) domain.TargetState { s := fxMailbox(); s.IdentityProviderUserID = id; return s }
	hookOnly := fxFold(domain.Person{}, fxFact(domain.KindMemberAdded, 0, "hook", withGroup(domain.GroupRef{OktaID: fxMail.OktaID}),
		withSubject(domain.Subject{OktaID: fxOkta, Login: "jane.doe@example.com"}), withProfile(fxJaneProfile())))
	link := func(id string) []domain.Op {
		return []domain.Op{wmOp(domain.OpUpdateAttributes, domain.Op{RemoteID: fxMailboxID,
			DisplayName: "Jane Doe", FirstName: "Jane", LastName: "Doe", IdentityProviderUserID: id})}
	}
	tests := []struct {
		name   string
		person domain.Person
		last   domain.TargetState
		want   domain.Plan
	}{
		{"IdC user known after the create: linked by update-attributes", member, unlinked,
			domain.Plan{Ops: link(fxIdC), Next: fxMailbox()}},
		{"linked to another IdC user (re-created and re-linked): repaired", member, linkedTo("1111111111-aaaa"),
			domain.Plan{Ops: link(fxIdC), Next: fxMailbox()}},
		{"same IdC user id in another case: up to date", member, linkedTo(strings.ToUpper(fxIdC)),
			domain.Plan{Next: linkedTo(strings.ToUpper(fxIdC)), Reason: domain.ReasonUpToDate}},
		{"IdC user id unknown: the recorded link is kept", hookOnly, fxMailbox(),
			domain.Plan{Next: fxMailbox(), Reason: domain.ReasonUpToDate}},
		{"IdC user id unknown, never linked: nothing to do", hookOnly, unlinked,
			domain.Plan{Next: unlinked, Reason: domain.ReasonUpToDate}},
		{"rejoin: enabled again and linked", member, func() domain.TargetState {
			s := fxMailboxDisabled(fxAt(5))
			s.IdentityProviderUserID = ""
			return s
		}(), domain.Plan{
			Ops:  append([]domain.Op{wmOp(domain.OpEnable, domain.Op{RemoteID: fxMailboxID, Email: "jane.doe@example.com"})}, link(fxIdC)...),
			Next: fxMailbox(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := domain.PlanWorkMail(fxWorkMail(), "example.com", tt.person, tt.last, fxAt(60))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, plan, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
		})
	}
}
