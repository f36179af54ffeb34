package domain

import (
	"slices"
	"time"
)

// OktaStatus is what a snapshot run learned of Okta's user statuses: IAM
// Identity Center carries none, so a suspension, unsuspension,
// deactivation, reactivation or deletion reaches idsync only through the
// Okta event hook unless the snapshot also reads Okta. A run with Okta
// API access lists the users whose status is not active (Okta's list-users
// API filtered by status: SUSPENDED, DEPROVISIONED) and reads one by one
// the people idsync holds as suspended or deactivated whom that list
// leaves out (StatusToConfirm): Okta may have reactivated them, or
// deleted them.
type OktaStatus struct {
	// Complete says every read worked: every page of the list and every
	// user read one by one. A read that is not Complete gives no status
	// facts at all.
	Complete bool `json:"complete"`
	// Users maps Okta user ids to their status as idsync names it:
	// StatusSuspended (Okta's SUSPENDED) and StatusDeactivated
	// (DEPROVISIONED) for the users the list gave; for a user read one by
	// one, those or StatusActive (any other Okta status), or StatusDeleted
	// when Okta has no such user. A user absent from Users says nothing:
	// Okta did not list them, so they are not suspended or deactivated.
	Users map[string]Status `json:"users,omitempty"`
}

// StatusToConfirm returns, sorted, the Okta user ids of the people in
// prev whose last-known status is suspended or deactivated, stamped no
// later than settled (a status learned within the settle window is left
// alone), and whom nonActive (Okta's list of non-active users, by Okta id)
// does not name: Okta has reactivated or unsuspended them, or deleted them
// (Okta lists no deleted user), and only reading each user tells which.
// Pure.
func StatusToConfirm(prev []Person, nonActive map[string]Status, settled time.Time) []string {
	var out []string
	for i := range prev {
		p := &prev[i]
		if p.OktaID == "" || p.Status.At.After(settled) {
			continue
		}
		switch Status(p.Status.Value) {
		case StatusSuspended, StatusDeactivated:
			if _, listed := nonActive[p.OktaID]; !listed {
				out = append(out, p.OktaID)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// StatusFact returns the lifecycle event kind that brings a person whose
// last-known status is cur (stamped at curAt; "" for a person idsync
// does not know yet, or who has no lifecycle fact: both count as active)
// to okta, the status Okta gave for them (known false: Okta said nothing
// about them), or "" when there is nothing to say:
//
//   - nothing when Okta said nothing, when the statuses agree, when cur is
//     deleted (final: a deleted person is never revived), and when curAt
//     is after settled (the hook told idsync within the settle window;
//     Okta's answer may predate it);
//   - suspended, deactivated or deleted when Okta says so;
//   - unsuspended when Okta says active and cur is suspended, reactivated
//     when cur is deactivated.
//
// Pure.
func StatusFact(cur Status, curAt time.Time, okta Status, known bool, settled time.Time) Kind {
	if cur == "" {
		cur = StatusActive
	}
	if !known || okta == cur || cur == StatusDeleted || curAt.After(settled) {
		return ""
	}
	switch okta {
	case StatusSuspended:
		return KindSuspended
	case StatusDeactivated:
		return KindDeactivated
	case StatusDeleted:
		return KindDeleted
	case StatusActive:
		if cur == StatusSuspended {
			return KindUnsuspended
		}
		return KindReactivated
	}
	return ""
}

// Disables reports whether a lifecycle event of kind k takes accounts
// away (suspended, deactivated, deleted): what the removal cap counts.
func (k Kind) Disables() bool {
	return k == KindSuspended || k == KindDeactivated || k == KindDeleted
}

// statusFact is the status fact of the person with Okta id oktaID, last
// known as p (nil for a joiner), under this snapshot's Okta statuses.
func (d *differ) statusFact(p *Person, oktaID string) Kind {
	st := d.snap.Status
	if st == nil || !st.Complete || oktaID == "" {
		return ""
	}
	var cur Status
	var curAt time.Time
	if p != nil {
		cur, curAt = Status(p.Status.Value), p.Status.At
	}
	okta, known := st.Users[oktaID]
	return StatusFact(cur, curAt, okta, known, d.settled)
}
