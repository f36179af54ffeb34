package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
)

// TestDriftOf: each observed field is compared with its recorded value,
// emails and IdC user ids case-insensitively, security profiles as a set;
// fields not observed are never compared, and names and addresses are
// reported without their values.
func TestDriftOf(t *testing.T) {
	rec := domain.TargetState{
		Target: domain.TargetConnect, Managed: true, RemoteID: "u-1", Status: domain.RemoteEnabled,
		Email: "Ada@example.com", DisplayName: "Ada L", FirstName: "Ada", LastName: "Lovelace",
		IdentityProviderUserID: "idc-1", SecurityProfileIDs: []string{"sp-a", "sp-b"},
		RoutingProfileID: "rp-1", HierarchyGroupID: "hg-1",
	}
	for _, tc := range []struct {
		name string
		obs  domain.Observed
		want []domain.DriftField
	}{
		{"nothing observed", domain.Observed{State: domain.TargetState{Status: domain.RemoteDisabled}}, nil},
		{"same, profiles reordered, email case",
			domain.Observed{State: domain.TargetState{Status: domain.RemoteEnabled, Email: "ada@EXAMPLE.com", SecurityProfileIDs: []string{"sp-b", "sp-a"}, IdentityProviderUserID: "IDC-1"},
				Fields: []domain.AccountField{domain.FieldStatus, domain.FieldEmail, domain.FieldSecurityProfiles, domain.FieldIdentityProviderUserID}}, nil},
		{"disabled by hand",
			domain.Observed{State: domain.TargetState{Status: domain.RemoteDisabled}, Fields: []domain.AccountField{domain.FieldStatus}},
			[]domain.DriftField{{Field: domain.FieldStatus, Recorded: "enabled", Found: "disabled"}}},
		{"profiles edited in the console",
			domain.Observed{State: domain.TargetState{SecurityProfileIDs: []string{"sp-x"}, RoutingProfileID: "rp-2", HierarchyGroupID: "hg-1"},
				Fields: []domain.AccountField{domain.FieldSecurityProfiles, domain.FieldRoutingProfile, domain.FieldHierarchyGroup}},
			[]domain.DriftField{{Field: domain.FieldSecurityProfiles, Recorded: "sp-a,sp-b", Found: "sp-x"}, {Field: domain.FieldRoutingProfile, Recorded: "rp-1", Found: "rp-2"}}},
		{"names without values",
			domain.Observed{State: domain.TargetState{DisplayName: "X", FirstName: "Ada", LastName: "Byron", Email: "x@example.com"},
				Fields: []domain.AccountField{domain.FieldDisplayName, domain.FieldFirstName, domain.FieldLastName, domain.FieldEmail}},
			[]domain.DriftField{{Field: domain.FieldDisplayName}, {Field: domain.FieldLastName}, {Field: domain.FieldEmail}}},
		{"link removed",
			domain.Observed{Fields: []domain.AccountField{domain.FieldIdentityProviderUserID}},
			[]domain.DriftField{{Field: domain.FieldIdentityProviderUserID, Recorded: "idc-1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, domain.DriftOf(rec, tc.obs)); d != "" {
				t.Errorf("DriftOf (-want +got):\n%s", d)
			}
		})
	}
}

// TestDriftDescribeAndOver: the description names fields and ids only;
// Over replaces only the observed fields.
func TestDriftDescribeAndOver(t *testing.T) {
	fields := []domain.DriftField{{Field: domain.FieldStatus, Recorded: "enabled", Found: "disabled"}, {Field: domain.FieldEmail},
		{Field: domain.FieldIdentityProviderUserID, Recorded: "idc-1"}}
	if got, want := domain.DescribeDrift(fields), "status: recorded enabled, found disabled; email: changed; identityProviderUserId: recorded idc-1, found none"; got != want {
		t.Errorf("DescribeDrift = %q, want %q", got, want)
	}
	if got := domain.DriftFieldNames(fields); got != "status,email,identityProviderUserId" {
		t.Errorf("DriftFieldNames = %q", got)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: "u-1", Status: domain.RemoteEnabled,
		Email: "a@example.com", DisplayName: "A", DisabledAt: at, Version: 7}
	obs := domain.Observed{State: domain.TargetState{RemoteID: "u-1", Status: domain.RemoteDisabled, DisplayName: "B", Email: "ignored"},
		Fields: []domain.AccountField{domain.FieldStatus, domain.FieldDisplayName}}
	want := rec
	want.Status, want.DisplayName = domain.RemoteDisabled, "B"
	if got := obs.Over(rec); !got.Equal(want) || got.Version != 7 {
		t.Errorf("Over = %+v, want %+v", got, want)
	}
}

// TestDriftEventValidate: a drift rides on a reconcile event only and
// names its account and fields.
func TestDriftEventValidate(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	drift := &domain.Drift{RemoteID: "u-1", TargetVersion: 3,
		Observed: domain.Observed{State: domain.TargetState{RemoteID: "u-1", Status: domain.RemoteDisabled}, Fields: []domain.AccountField{domain.FieldStatus}},
		Fields:   []domain.DriftField{{Field: domain.FieldStatus, Recorded: "enabled", Found: "disabled"}}}
	base := domain.Event{Source: domain.SourceIdCSnapshot, SourceEventID: "drift:workmail:x", Kind: domain.KindReconcile,
		Subject: domain.Subject{OktaID: "00u1adalovelace001"}, Target: domain.TargetWorkMail, OccurredAt: at, Drift: drift}
	base.ID = domain.NewEventID(base.Source, base.SourceEventID, base.Subject.Key(), at)
	for _, tc := range []struct {
		name string
		mod  func(*domain.Event)
		ok   bool
	}{
		{"valid", func(*domain.Event) {}, true},
		{"on a profile change", func(e *domain.Event) { e.Kind = domain.KindProfileChanged; e.Target = "" }, false},
		{"no remote id", func(e *domain.Event) { d := *drift; d.RemoteID = ""; e.Drift = &d }, false},
		{"no fields", func(e *domain.Event) { d := *drift; d.Fields = nil; e.Drift = &d }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			tc.mod(&e)
			err := e.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, domain.ErrInvalidEvent)) {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			b, err := domain.EncodeEvent(e)
			if err != nil {
				t.Fatal(err)
			}
			back, err := domain.DecodeEvent(b)
			if err != nil || !cmp.Equal(back, e) {
				t.Errorf("round trip: %v\n%s", err, cmp.Diff(e, back))
			}
		})
	}
}
