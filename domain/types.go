// Package domain holds idsync's pure model: identity events and their
// versioned envelope, Okta event-hook normalisation, the IdC snapshot diff,
// the last-writer-wins fold of facts into a person, the group→entitlement
// configuration, the per-target planners and the error taxonomy.
//
// Nothing here performs I/O: the package imports only the standard library
// and github.com/oklog/ulid/v2, and its types carry json tags only (no
// storage tags: the store maps them to its items), which tests enforce.
package domain

import (
	"slices"
	"time"
)

// Source says where an event came from.
type Source string

// Event sources.
const (
	SourceOktaHook    Source = "okta-hook"
	SourceIdCSnapshot Source = "idc-snapshot"
	SourceReplay      Source = "replay"
	// SourceOktaAPI is a profile a consumer read from Okta's Users API
	// (GET /api/v1/users/{id}) before planning, occurred at the user's
	// lastUpdated.
	SourceOktaAPI Source = "okta-api"
	// SourceIdCLookup is a link to an IAM Identity Center user a consumer
	// looked up in IdentityStore (GetUserId) before planning.
	SourceIdCLookup Source = "idc-lookup"
)

// Kind is what an event says happened to a person.
type Kind string

// Event kinds.
const (
	KindMemberAdded    Kind = "member-added"
	KindMemberRemoved  Kind = "member-removed"
	KindProfileChanged Kind = "profile-changed"
	KindSuspended      Kind = "suspended"
	KindUnsuspended    Kind = "unsuspended"
	KindDeactivated    Kind = "deactivated"
	KindReactivated    Kind = "reactivated"
	KindDeleted        Kind = "deleted"
	// KindObserved is a snapshot fact: the person as the IdC snapshot saw
	// them (profile and, for every configured group, membership).
	KindObserved Kind = "observed"
	// KindReconcile carries no facts: it asks the consumer of Event.Target
	// to plan the person again from what is stored (consumers are
	// level-triggered), so that a target that missed an event, dead-lettered
	// one or has a due grace-period delete converges. Folding it changes
	// nothing. Added within envelope version 1: a consumer older than this
	// kind rejects it as ErrUnknownKind (permanent), so consumers are
	// deployed before the producers that emit it.
	KindReconcile Kind = "reconcile"
)

// Subject identifies the person an event is about. Immutable ids come first;
// Login is a fallback for linking only, never a key.
type Subject struct {
	OktaID    string `json:"oktaId,omitempty"`    // immutable Okta user id (00u…)
	IdCUserID string `json:"idcUserId,omitempty"` // immutable IdentityStore UserId
	Login     string `json:"login,omitempty"`     // Okta login / IdC UserName; may change
}

// Key returns the person key: the Okta user id when known, else the IdC user
// id, else "" (an event without an immutable id cannot be keyed).
func (s Subject) Key() string {
	if s.OktaID != "" {
		return s.OktaID
	}
	return s.IdCUserID
}

// IsOktaUserID reports whether id is shaped like an Okta user id: "00u"
// and ASCII letters or digits, 13 to 33 characters in all (Okta's ids are
// 20; the range tolerates other id formats of the same family).
func IsOktaUserID(id string) bool {
	if len(id) < 13 || len(id) > 33 || id[:3] != "00u" {
		return false
	}
	for i := 3; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// GroupRef names a group by its immutable ids. Okta hook payloads give the
// Okta group id; the snapshot gives the IdC group id; either or both may be set.
type GroupRef struct {
	OktaID string `json:"oktaId,omitempty"`
	IdCID  string `json:"idcId,omitempty"`
	Name   string `json:"name,omitempty"` // display only, never matched
}

// Key returns the group's membership key: "okta:<id>" when the Okta id is
// known, else "idc:<id>".
func (g GroupRef) Key() string {
	if g.OktaID != "" {
		return "okta:" + g.OktaID
	}
	if g.IdCID != "" {
		return "idc:" + g.IdCID
	}
	return ""
}

// Profile carries profile facts. A nil field says nothing about that field;
// a non-nil empty string states the field is empty.
type Profile struct {
	Login       *string `json:"login,omitempty"`
	FirstName   *string `json:"firstName,omitempty"`
	LastName    *string `json:"lastName,omitempty"`
	DisplayName *string `json:"displayName,omitempty"`
	Email       *string `json:"email,omitempty"`
	Department  *string `json:"department,omitempty"`
	Title       *string `json:"title,omitempty"`
}

// Event is one normalised identity fact. Its ID is deterministic (see
// NewEventID) so that duplicates of one fact always collide.
type Event struct {
	ID            string    `json:"id"` // ULID string
	Source        Source    `json:"source"`
	SourceEventID string    `json:"sourceEventId"` // Okta data.events[].uuid, snapshot run+subject, …
	Kind          Kind      `json:"kind"`
	Subject       Subject   `json:"subject"`
	Group         *GroupRef `json:"group,omitempty"`
	// Groups, on an observed event, lists the configured groups the
	// snapshot saw the person in, and NotGroups the configured groups it saw
	// the person not in. Both are explicit so that an observed fact folds the
	// same whatever order it arrives in relative to other facts: Fold sets
	// membership true for each of Groups and false for each of NotGroups, and
	// never infers a removal from a group being absent from both lists.
	Groups    []GroupRef `json:"groups,omitempty"`
	NotGroups []GroupRef `json:"notGroups,omitempty"`
	Profile   *Profile   `json:"profile,omitempty"`
	// Target is the one target the event is for: only that target's queue
	// gets it. Empty means every target. A reconcile event always names
	// one; a hook event whose removal is held by the removal brake for some
	// targets is sent, per remaining target, with Target set.
	Target Target `json:"target,omitempty"`
	// ReplacesIdCUserID marks a relink: the person with Subject.OktaID (the
	// authoritative id) is now IdC user Subject.IdCUserID, which replaces
	// this id (the IdC user was re-created). Fold accepts the new IdC user
	// id from such a fact while the person is still linked to the replaced
	// id, whatever its time; a fact without it that carries the person's
	// Okta id and another IdC user id re-links the person only when it is
	// newer than their link (Person.Linked). Only on profile-changed
	// events.
	ReplacesIdCUserID string `json:"replacesIdcUserId,omitempty"`
	// Drift, on a reconcile event only, is what the snapshot's drift check
	// found on the person's account in Target: the consumer then plans
	// from the account as found. Added within envelope version 1: an older
	// consumer ignores it and plans from the recorded state (a no-op).
	Drift      *Drift    `json:"drift,omitempty"`
	OccurredAt time.Time `json:"occurredAt"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// Status is a person's lifecycle status as last reported.
type Status string

// Person statuses.
const (
	StatusActive      Status = "active"
	StatusSuspended   Status = "suspended"
	StatusDeactivated Status = "deactivated"
	StatusDeleted     Status = "deleted"
)

// Stamped is one last-writer-wins field: its value, the occurred-at of the
// fact that set it, and that fact's event id (the tie-breaker).
type Stamped struct {
	Value string    `json:"v"`
	At    time.Time `json:"at"`
	By    string    `json:"by,omitempty"`
}

// Membership is a last-writer-wins group membership fact.
type Membership struct {
	Member bool      `json:"member"`
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
}

// Person is idsync's last-known view of one person, folded from events.
type Person struct {
	Key       string `json:"key"`
	OktaID    string `json:"oktaId,omitempty"`
	IdCUserID string `json:"idcUserId,omitempty"`

	Login       Stamped `json:"login"`
	FirstName   Stamped `json:"firstName"`
	LastName    Stamped `json:"lastName"`
	DisplayName Stamped `json:"displayName"`
	Email       Stamped `json:"email"`
	Department  Stamped `json:"department"`
	Title       Stamped `json:"title"`
	Status      Stamped `json:"status"` // Value is a Status

	// Groups maps GroupRef.Key() to the last membership fact for that group.
	Groups map[string]Membership `json:"groups,omitempty"`

	// Relinked records the person's last relink (see
	// Event.ReplacesIdCUserID): Value is the IdC user id they were linked
	// to before, At and By the relink fact's occurred-at and event id.
	// Zero when never relinked. Events still naming the replaced id are
	// stale (CheckSubject).
	Relinked Stamped `json:"relinked,omitzero"`

	// Linked is the person's link fact: the newest fact (by occurred-at,
	// then event id) whose subject names their current IdC user id, a
	// relink included. Value is that IdC user id (IdCUserID), At and By the
	// fact's occurred-at and event id. Zero for a person without an IdC
	// user id, and for one stored before idsync recorded it (such a link
	// counts as made at the person's last relink, else at the zero time).
	// An event naming another IdC user with the person's Okta id relinks
	// the person when it is newer than the link fact, and is stale when not
	// (CheckSubject).
	Linked Stamped `json:"linked,omitzero"`

	// Version is the optimistic-concurrency version kept by the store.
	Version int64 `json:"version"`
}

// Target names a system idsync provisions into.
type Target string

// Targets.
const (
	TargetWorkMail Target = "workmail"
	TargetConnect  Target = "connect"
)

// RemoteStatus is the last-known state of a person's account in a target.
type RemoteStatus string

// Remote statuses. The zero value means idsync has never created or adopted
// an account for the person in that target.
const (
	RemoteAbsent   RemoteStatus = ""
	RemoteEnabled  RemoteStatus = "enabled"
	RemoteDisabled RemoteStatus = "disabled"
	RemoteDeleted  RemoteStatus = "deleted"
)

// TargetState is idsync's last-known state of one person's account in one
// target: what it last applied there. Only accounts with Managed set were
// created or adopted by idsync; nothing else is ever touched.
type TargetState struct {
	Target   Target       `json:"target"`
	Managed  bool         `json:"managed"`
	RemoteID string       `json:"remoteId,omitempty"`
	Status   RemoteStatus `json:"status,omitempty"`

	Name        string `json:"name,omitempty"` // WorkMail Name / Connect Username
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`

	SecurityProfileIDs []string `json:"securityProfileIds,omitempty"`
	RoutingProfileID   string   `json:"routingProfileId,omitempty"`
	HierarchyGroupID   string   `json:"hierarchyGroupId,omitempty"`

	// IdentityProviderUserID is the IAM Identity Center user id the
	// WorkMail mailbox is linked to (WorkMail's IdentityProviderUserId), as
	// idsync last set or found it; empty when the mailbox is not linked
	// (or was created before idsync recorded links). WorkMail only.
	IdentityProviderUserID string `json:"identityProviderUserId,omitempty"`

	// DisabledAt is when idsync disabled the account (WorkMail grace period).
	DisabledAt time.Time `json:"disabledAt,omitzero"`

	// PendingName is a create intent: the name (WorkMail Name / Connect
	// Username) of an account idsync is about to create and has not
	// committed yet. The consumer records it before it runs a plan with a
	// create, so that the retry of a create whose commit was lost (a crash
	// between the call and the commit) asks for the same name, even when
	// the person's login, and so the rendered name, changed meanwhile: the
	// retry then meets the account it made instead of making a second one.
	// The planners render a create's name from it when it is set; the state
	// committed after the create (or an adoption) has it empty.
	PendingName string `json:"pendingName,omitempty"`
	// PendingAt is when PendingName was recorded: no account idsync made
	// for that intent can have been created or enabled before it.
	PendingAt time.Time `json:"pendingAt,omitzero"`

	// ExportJobID, ExportState, ExportStartedAt, ExportProgress,
	// ExportPath and ExportReason describe the latest mailbox export job
	// idsync started or followed for this WorkMail mailbox (a leaver's
	// export before the delete, or an operator's bulk export): its job id
	// (empty when WorkMail refused to start one), its state, when idsync
	// started it (idsync's clock, comparable with DisabledAt), the
	// EstimatedProgress last seen (0–100), the object's S3Path
	// (bucket/key) once COMPLETED, and why it FAILED (the job's ErrorInfo
	// without addresses, or the refusal) — a FAILED export is remembered
	// so that it is not retried on every run (an operator's export of the
	// mailbox, idsync workmail export, replaces it).
	ExportJobID     string         `json:"exportJobId,omitempty"`
	ExportState     ExportJobState `json:"exportState,omitempty"`
	ExportStartedAt time.Time      `json:"exportStartedAt,omitzero"`
	ExportProgress  int            `json:"exportProgress,omitempty"`
	ExportPath      string         `json:"exportPath,omitempty"`
	ExportReason    string         `json:"exportReason,omitempty"`

	// Version is the optimistic-concurrency version kept by the store.
	Version int64 `json:"version"`
}

// Equal reports whether s and o hold the same facts: every field but
// Version (which only the store's concurrency control uses). DisabledAt,
// PendingAt and ExportStartedAt are compared as instants (time.Time.Equal), and
// SecurityProfileIDs element by element in order, a nil list equal to an
// empty one. A field added to TargetState must be added here; a test fails
// until it is.
func (s TargetState) Equal(o TargetState) bool {
	return s.Target == o.Target && s.Managed == o.Managed && s.RemoteID == o.RemoteID && s.Status == o.Status &&
		s.Name == o.Name && s.Email == o.Email && s.DisplayName == o.DisplayName &&
		s.FirstName == o.FirstName && s.LastName == o.LastName &&
		slices.Equal(s.SecurityProfileIDs, o.SecurityProfileIDs) && s.RoutingProfileID == o.RoutingProfileID &&
		s.HierarchyGroupID == o.HierarchyGroupID && s.IdentityProviderUserID == o.IdentityProviderUserID &&
		s.DisabledAt.Equal(o.DisabledAt) &&
		s.PendingName == o.PendingName && s.PendingAt.Equal(o.PendingAt) &&
		s.ExportJobID == o.ExportJobID && s.ExportState == o.ExportState && s.ExportStartedAt.Equal(o.ExportStartedAt) &&
		s.ExportProgress == o.ExportProgress && s.ExportPath == o.ExportPath && s.ExportReason == o.ExportReason
}
