package domain

import "time"

// OpKind is one change a planner asks an applier to make in a target.
type OpKind string

// Operations. WorkMail: create, register, update-attributes, update-email,
// disable (deregister), enable (re-register), delete, export-start and
// export-check (a mailbox export job before the delete). Connect: create,
// update-identity, update-security-profiles, update-routing-profile,
// update-hierarchy-group, delete, strip (reduce to the configured leave
// profile).
const (
	OpCreate                 OpKind = "create"
	OpRegister               OpKind = "register"
	OpUpdateAttributes       OpKind = "update-attributes"
	OpUpdateEmail            OpKind = "update-email"
	OpDisable                OpKind = "disable"
	OpEnable                 OpKind = "enable"
	OpDelete                 OpKind = "delete"
	OpUpdateIdentity         OpKind = "update-identity"
	OpUpdateSecurityProfiles OpKind = "update-security-profiles"
	OpUpdateRoutingProfile   OpKind = "update-routing-profile"
	OpStrip                  OpKind = "strip"
	// OpUpdateHierarchyGroup moves a Connect user to the hierarchy group of
	// the group that now wins by priority; an empty HierarchyGroupID clears it.
	OpUpdateHierarchyGroup OpKind = "update-hierarchy-group"
	// OpExportStart starts a mailbox export job (StartMailboxExportJob with
	// the op's ClientToken) for the mailbox RemoteID; OpExportCheck follows
	// the job JobID (DescribeMailboxExportJob). Neither waits for the job:
	// the state reached records it, and the next plan looks again.
	OpExportStart OpKind = "export-start"
	OpExportCheck OpKind = "export-check"
	// OpAdopt settles a create intent (TargetState.PendingName) of a
	// person who no longer qualifies: a create whose commit was lost (a
	// crash between the call and the commit) may have made an account
	// that nothing records. The applier looks for it as a create's
	// adoption does, never creates: found and provably idsync's, it is
	// adopted as it is (the reached state records it, managed, and the
	// next plan applies the leave policy to it); not found, the intent is
	// cleared. The op carries the create's fields (Name is the pinned
	// name).
	OpAdopt OpKind = "adopt"
)

// Leave reports whether k takes an account away from a person: disable,
// delete or strip (the leave policies' ops). A run that could not read
// every group withholds reconciliation that would make one, and the
// removal cap counts them.
func (k OpKind) Leave() bool {
	return k == OpDisable || k == OpDelete || k == OpStrip
}

// Leaves reports whether any of the plan's ops is a leave op (OpKind.Leave).
func (p Plan) Leaves() bool {
	for _, op := range p.Ops {
		if op.Kind.Leave() {
			return true
		}
	}
	return false
}

// Op is one planned change with everything the applier needs to make it.
// Fields not used by an op's kind are empty.
type Op struct {
	Target Target `json:"target"`
	Kind   OpKind `json:"kind"`

	RemoteID               string `json:"remoteId,omitempty"` // empty for create
	Name                   string `json:"name,omitempty"`
	Email                  string `json:"email,omitempty"`
	DisplayName            string `json:"displayName,omitempty"`
	FirstName              string `json:"firstName,omitempty"`
	LastName               string `json:"lastName,omitempty"`
	IdentityProviderUserID string `json:"identityProviderUserId,omitempty"` // WorkMail create, update-attributes: the IdC user id to link (update: "" keeps the link)

	SecurityProfileIDs []string `json:"securityProfileIds,omitempty"`
	RoutingProfileID   string   `json:"routingProfileId,omitempty"`
	HierarchyGroupID   string   `json:"hierarchyGroupId,omitempty"`
	PhoneType          string   `json:"phoneType,omitempty"`

	ClientToken string `json:"clientToken,omitempty"` // export-start: the idempotency token
	JobID       string `json:"jobId,omitempty"`       // export-check: the job followed
}

// Plan is a planner's answer: the ordered ops to run and the target state
// that holds once all of them have succeeded (the applier fills in RemoteID
// after a create). An empty Ops means nothing to do.
type Plan struct {
	Ops  []Op        `json:"ops,omitempty"`
	Next TargetState `json:"next"`
	// Reason says, for an empty plan, why nothing is done (e.g. "not managed",
	// "up to date"); for display and the ledger only.
	Reason string `json:"reason,omitempty"`
}

// Outcome is what happened to an event or an op, as recorded in the ledger.
type Outcome string

// Ledger outcomes.
const (
	OutcomeReceived Outcome = "received"
	OutcomePlanned  Outcome = "planned"
	OutcomeApplied  Outcome = "applied"
	OutcomeSkipped  Outcome = "skipped"
	OutcomeFailed   Outcome = "failed"
	OutcomeWould    Outcome = "would" // dry run: planned and not called
	OutcomeSnapshot Outcome = "snapshot-run"
	// OutcomeExportRun marks the start and end of an operator's bulk
	// mailbox export (idsync workmail export --all), a row about no one
	// person; its Detail holds the run's since, which a resumed run reuses.
	OutcomeExportRun Outcome = "export-run"
)

// LedgerEntry is one append-only audit row. ID is a ULID, so entries sort by
// time. PersonKey is empty for rows about no one person (snapshot runs).
type LedgerEntry struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	PersonKey string    `json:"personKey,omitempty"`
	EventID   string    `json:"eventId,omitempty"`
	Source    Source    `json:"source,omitempty"`
	Kind      Kind      `json:"kind,omitempty"`
	Target    Target    `json:"target,omitempty"`
	Op        OpKind    `json:"op,omitempty"`
	Outcome   Outcome   `json:"outcome"`
	RemoteID  string    `json:"remoteId,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	// Detail holds outcome-specific facts (e.g. a snapshot run's counts).
	Detail map[string]string `json:"detail,omitempty"`
}
