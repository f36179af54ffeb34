package domain

import (
	"slices"
	"strings"
)

// OutcomeDrift is a ledger row saying that a managed account was found
// different from its recorded state (an account changed by hand in the
// target): its Reason says what drifted (DriftField.String, no names or
// addresses), its Detail the fields and what was done about it.
const OutcomeDrift Outcome = "drift"

// AccountField names one field of an account a target's inventory
// observes, as TargetState holds it.
type AccountField string

// Observable account fields.
const (
	FieldStatus                 AccountField = "status"
	FieldEmail                  AccountField = "email"
	FieldDisplayName            AccountField = "displayName"
	FieldFirstName              AccountField = "firstName"
	FieldLastName               AccountField = "lastName"
	FieldIdentityProviderUserID AccountField = "identityProviderUserId"
	FieldSecurityProfiles       AccountField = "securityProfileIds"
	FieldRoutingProfile         AccountField = "routingProfileId"
	FieldHierarchyGroup         AccountField = "hierarchyGroupId"
)

// Observed is one account as a target's inventory found it: State holds
// the observed values of Fields (its other fields mean nothing), and
// State.RemoteID the account's id. Status is RemoteEnabled or
// RemoteDisabled when observed; an account the inventory did not find is
// not an Observed at all.
type Observed struct {
	State  TargetState    `json:"state"`
	Fields []AccountField `json:"fields"`
}

// Over returns recorded with o's observed fields as found: the state to
// plan from when the account is what o says. Version, Managed, RemoteID,
// DisabledAt and the rest stay recorded's.
func (o Observed) Over(recorded TargetState) TargetState {
	s := recorded
	for _, f := range o.Fields {
		switch f {
		case FieldStatus:
			s.Status = o.State.Status
		case FieldEmail:
			s.Email = o.State.Email
		case FieldDisplayName:
			s.DisplayName = o.State.DisplayName
		case FieldFirstName:
			s.FirstName = o.State.FirstName
		case FieldLastName:
			s.LastName = o.State.LastName
		case FieldIdentityProviderUserID:
			s.IdentityProviderUserID = o.State.IdentityProviderUserID
		case FieldSecurityProfiles:
			s.SecurityProfileIDs = slices.Clone(o.State.SecurityProfileIDs)
		case FieldRoutingProfile:
			s.RoutingProfileID = o.State.RoutingProfileID
		case FieldHierarchyGroup:
			s.HierarchyGroupID = o.State.HierarchyGroupID
		}
	}
	return s
}

// DriftField is one field found different from its recorded value.
// Recorded and Found are the values for ids and statuses; for a name or
// an address they are empty (never logged or written to the ledger).
type DriftField struct {
	Field    AccountField `json:"field"`
	Recorded string       `json:"recorded,omitempty"`
	Found    string       `json:"found,omitempty"`
}

// String says what drifted without personal data, e.g. "status: recorded
// enabled, found disabled" or "email: changed".
func (d DriftField) String() string {
	if d.Recorded == "" && d.Found == "" {
		return string(d.Field) + ": changed"
	}
	return string(d.Field) + ": recorded " + orNone(d.Recorded) + ", found " + orNone(d.Found)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// DescribeDrift joins the fields' String with "; ".
func DescribeDrift(fields []DriftField) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}

// DriftFieldNames joins the fields' names with ",".
func DriftFieldNames(fields []DriftField) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = string(f.Field)
	}
	return strings.Join(parts, ",")
}

// DriftOf returns the observed fields of o that differ from recorded, in
// o.Fields' order: an email or an IdC user id compared
// case-insensitively, security profiles as a set, the rest exactly. An
// IdC user id recorded empty (a mailbox linked before idsync recorded
// links) is not compared. It is pure.
func DriftOf(recorded TargetState, o Observed) []DriftField {
	var out []DriftField
	ids := func(f AccountField, rec, found string) {
		if rec != found {
			out = append(out, DriftField{Field: f, Recorded: rec, Found: found})
		}
	}
	for _, f := range o.Fields {
		switch f {
		case FieldStatus:
			ids(f, string(recorded.Status), string(o.State.Status))
		case FieldEmail:
			if !strings.EqualFold(recorded.Email, o.State.Email) {
				out = append(out, DriftField{Field: f})
			}
		case FieldDisplayName:
			if recorded.DisplayName != o.State.DisplayName {
				out = append(out, DriftField{Field: f})
			}
		case FieldFirstName:
			if recorded.FirstName != o.State.FirstName {
				out = append(out, DriftField{Field: f})
			}
		case FieldLastName:
			if recorded.LastName != o.State.LastName {
				out = append(out, DriftField{Field: f})
			}
		case FieldIdentityProviderUserID:
			if recorded.IdentityProviderUserID != "" && !strings.EqualFold(recorded.IdentityProviderUserID, o.State.IdentityProviderUserID) {
				ids(f, recorded.IdentityProviderUserID, o.State.IdentityProviderUserID)
			}
		case FieldSecurityProfiles:
			if !sameSet(recorded.SecurityProfileIDs, o.State.SecurityProfileIDs) {
				rec, found := slices.Clone(recorded.SecurityProfileIDs), slices.Clone(o.State.SecurityProfileIDs)
				slices.Sort(rec)
				slices.Sort(found)
				out = append(out, DriftField{Field: f, Recorded: strings.Join(rec, ","), Found: strings.Join(found, ",")})
			}
		case FieldRoutingProfile:
			ids(f, recorded.RoutingProfileID, o.State.RoutingProfileID)
		case FieldHierarchyGroup:
			ids(f, recorded.HierarchyGroupID, o.State.HierarchyGroupID)
		}
	}
	return out
}

// Drift is what a snapshot's drift check found on one managed account,
// carried by the reconcile event that asks its target's consumer to
// repair it: the consumer plans from Observed over the recorded state
// (Observed.Over) instead of the recorded state alone, provided the
// recorded state is still the one compared (TargetVersion, RemoteID).
type Drift struct {
	RemoteID      string       `json:"remoteId"`
	TargetVersion int64        `json:"targetVersion"`
	Observed      Observed     `json:"observed"`
	Fields        []DriftField `json:"fields"`
}
