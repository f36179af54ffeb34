package domain

import (
	"errors"
	"fmt"
	"time"
)

// groupKeys returns every membership key g can be known by: "okta:<id>" and
// "idc:<id>" for each id that is set. Fold writes a membership fact under
// all of them and MemberOf reads all of them, so a fact about a group named
// by one id is seen by a configured group that lists the other id too.
func groupKeys(g GroupRef) []string {
	var keys []string
	if g.OktaID != "" {
		keys = append(keys, "okta:"+g.OktaID)
	}
	if g.IdCID != "" {
		keys = append(keys, "idc:"+g.IdCID)
	}
	return keys
}

// newer reports whether a fact stamped (at, by) wins over one stamped
// (curAt, curBy): a later occurred-at wins; at equal times the greater event
// id wins. The same fact never wins over itself, which makes folding
// idempotent.
func newer(at time.Time, by string, curAt time.Time, curBy string) bool {
	if !at.Equal(curAt) {
		return at.After(curAt)
	}
	return by > curBy
}

// Fold merges the facts of e into p and reports whether p changed (a value
// or a stamp; the store persists the result whenever it did). It never
// modifies p or p.Groups: the result has its own map when groups change.
//
// Every field is last-writer-wins by e.OccurredAt with ties broken by the
// greater event id, so folding any permutation of a set of events, with any
// duplicates, gives the same person.
//
//   - Ids: OktaID and IdCUserID are filled in when unknown; Key is the OktaID when known, else the
//     IdCUserID (so it can change from an IdC id to the Okta id when the
//     Okta id first becomes known). The OktaID never changes. The IdCUserID
//     changes only through a relink, which sets the subject's IdC user id
//     and records the old one in Relinked: an explicit relink
//     (an event with ReplacesIdCUserID equal to p's IdC user id and p's Okta
//     id in its subject), or an implicit one (an event whose subject has
//     p's Okta id and another IdC user id, newer than p's link fact
//     (Linked) and not naming the IdC user p was re-linked away from: the
//     Okta id is authoritative and the newest observation of which IdC user
//     carries it wins). Any other event whose subject names a different
//     Okta or IdC id than p already has changes nothing: Fold returns
//     (p, false), and CheckSubject says why (the store reports it as an
//     error). Since an event older than the link is refused as a whole,
//     the order in which a relink and the facts of the IdC user it
//     replaced are folded can decide whether those facts are kept (and
//     whether Relinked is set).
//   - Link: Linked is the newest fact (same ordering) whose subject names
//     the person's current IdC user id, a relink included.
//   - A reconcile event carries no facts and changes nothing.
//   - Profile: each non-nil field of e.Profile is a fact; the subject's Login
//     is a login fact when e.Profile.Login is nil.
//   - Status: suspended → suspended, deactivated → deactivated, deleted →
//     deleted, unsuspended and reactivated → active. Other kinds leave it.
//   - Membership: member-added/-removed set member true/false for e.Group;
//     observed sets true for each of e.Groups and false for each of
//     e.NotGroups. A group with both ids is recorded under both keys.
//
// An event Validate rejects changes nothing.
func Fold(p Person, e Event) (Person, bool) {
	if e.Kind == KindReconcile || e.Validate() != nil {
		return p, false
	}
	s := e.Subject
	relink := isRelink(p, e) || isImplicitRelink(p, e)
	if (s.OktaID != "" && p.OktaID != "" && s.OktaID != p.OktaID) ||
		(!relink && s.IdCUserID != "" && p.IdCUserID != "" && s.IdCUserID != p.IdCUserID) {
		return p, false
	}

	out := p
	changed := false
	if out.OktaID == "" && s.OktaID != "" {
		out.OktaID = s.OktaID
		changed = true
	}
	if out.IdCUserID == "" && s.IdCUserID != "" {
		out.IdCUserID = s.IdCUserID
		changed = true
	}
	if relink {
		out.Relinked = Stamped{Value: out.IdCUserID, At: e.OccurredAt.UTC(), By: e.ID}
		out.IdCUserID = s.IdCUserID
		out.Linked = Stamped{Value: s.IdCUserID, At: e.OccurredAt.UTC(), By: e.ID}
		changed = true
	}
	if l := linkStamp(out); s.IdCUserID != "" && s.IdCUserID == out.IdCUserID && newer(e.OccurredAt.UTC(), e.ID, l.At, l.By) {
		out.Linked = Stamped{Value: out.IdCUserID, At: e.OccurredAt.UTC(), By: e.ID}
		changed = true
	}
	if key := (Subject{OktaID: out.OktaID, IdCUserID: out.IdCUserID}).Key(); out.Key != key {
		out.Key = key
		changed = true
	}

	at := e.OccurredAt.UTC()
	set := func(f *Stamped, v *string) {
		if v != nil && newer(at, e.ID, f.At, f.By) {
			*f = Stamped{Value: *v, At: at, By: e.ID}
			changed = true
		}
	}
	var login *string
	if s.Login != "" {
		login = &s.Login
	}
	if pr := e.Profile; pr != nil {
		if pr.Login != nil {
			login = pr.Login
		}
		set(&out.FirstName, pr.FirstName)
		set(&out.LastName, pr.LastName)
		set(&out.DisplayName, pr.DisplayName)
		set(&out.Email, pr.Email)
		set(&out.Department, pr.Department)
		set(&out.Title, pr.Title)
	}
	set(&out.Login, login)

	var status Status
	switch e.Kind {
	case KindSuspended:
		status = StatusSuspended
	case KindDeactivated:
		status = StatusDeactivated
	case KindDeleted:
		status = StatusDeleted
	case KindUnsuspended, KindReactivated:
		status = StatusActive
	}
	if status != "" {
		v := string(status)
		set(&out.Status, &v)
	}

	cloned := false
	member := func(g GroupRef, is bool) {
		for _, k := range groupKeys(g) {
			cur := out.Groups[k]
			if !newer(at, e.ID, cur.At, cur.By) {
				continue
			}
			if !cloned {
				m := make(map[string]Membership, len(out.Groups)+1)
				for gk, gv := range out.Groups {
					m[gk] = gv
				}
				out.Groups = m
				cloned = true
			}
			out.Groups[k] = Membership{Member: is, At: at, By: e.ID}
			changed = true
		}
	}
	switch e.Kind {
	case KindMemberAdded:
		member(*e.Group, true)
	case KindMemberRemoved:
		member(*e.Group, false)
	case KindObserved:
		for _, g := range e.Groups {
			member(g, true)
		}
		for _, g := range e.NotGroups {
			member(g, false)
		}
	}
	if !changed {
		return p, false
	}
	return out, true
}

// MemberOf reports whether p is a member of g: of the membership facts
// recorded under any of g's ids ("okta:<id>", "idc:<id>"), the newest one
// (same ordering as Fold) decides. No fact means not a member.
func (p Person) MemberOf(g GroupRef) bool {
	var best Membership
	found := false
	for _, k := range groupKeys(g) {
		m, ok := p.Groups[k]
		if ok && (!found || newer(m.At, m.By, best.At, best.By)) {
			best, found = m, true
		}
	}
	return found && best.Member
}

// Active reports whether p's status allows accounts: active, or no
// lifecycle fact yet (a person first seen by the snapshot, which has no
// status, counts as active).
func (p Person) Active() bool {
	return p.Status.Value == "" || Status(p.Status.Value) == StatusActive
}

// isRelink reports whether e re-links p to a new IdC user id: e replaces
// exactly the IdC user id p has, for p's Okta id.
func isRelink(p Person, e Event) bool {
	s := e.Subject
	return e.ReplacesIdCUserID != "" && s.OktaID != "" && s.OktaID == p.OktaID &&
		p.IdCUserID == e.ReplacesIdCUserID && s.IdCUserID != "" && s.IdCUserID != p.IdCUserID
}

// ownOktaOtherIdC reports whether e's subject carries p's Okta id (set) and
// an IdC user id other than p's (both set) that is not the one p was
// re-linked away from: an implicit relink when newer than p's link,
// stale when not.
func ownOktaOtherIdC(p Person, e Event) bool {
	s := e.Subject
	return s.OktaID != "" && s.OktaID == p.OktaID && s.IdCUserID != "" && p.IdCUserID != "" &&
		s.IdCUserID != p.IdCUserID && s.IdCUserID != p.Relinked.Value
}

// isImplicitRelink reports whether e re-links p to another IdC user without
// naming the one it replaces: e's subject carries p's Okta id and another
// IdC user id (see ownOktaOtherIdC), and e is newer than the fact that
// linked p to their current IdC user (linkStamp).
func isImplicitRelink(p Person, e Event) bool {
	if !ownOktaOtherIdC(p, e) {
		return false
	}
	l := linkStamp(p)
	return newer(e.OccurredAt.UTC(), e.ID, l.At, l.By)
}

// linkStamp is the fact that linked p to their current IdC user: Linked
// when it names that user, else (a person stored before Linked was
// recorded) their last relink, else the zero time.
func linkStamp(p Person) Stamped {
	if p.Linked.Value != "" && p.Linked.Value == p.IdCUserID {
		return p.Linked
	}
	if !p.Relinked.At.IsZero() {
		return Stamped{Value: p.IdCUserID, At: p.Relinked.At, By: p.Relinked.By}
	}
	return Stamped{Value: p.IdCUserID}
}

// Identity errors, returned by CheckSubject and, wrapped, by the store's
// Fold.
var (
	// ErrIdentityConflict: an event's subject contradicts the immutable ids
	// of the person it resolves to in a way no fact resolves: another Okta
	// user id; an IdC user id other than the person's in a subject without
	// the person's Okta id (an IdC-only subject); for the store, an
	// implicit relink to an IdC user id another person is linked to. An
	// IdC user id other than the person's with the person's own Okta id is
	// not a conflict: a relink, or stale (ErrSupersededLink). Marked
	// Permanent: the directory must be fixed.
	ErrIdentityConflict = errors.New("identity conflict")
	// ErrSupersededLink: the event names the IdC user id the person was
	// re-linked away from (Person.Relinked), or, with the person's Okta
	// id, another IdC user id and is not newer than the fact that linked
	// the person to their current IdC user (Person.Linked): it was made
	// before the link and is out of date. Marked Stale.
	ErrSupersededLink = errors.New("superseded IdC user id")
)

// CheckSubject reports whether e's subject may be folded into p, whose
// ids are p.OktaID and p.IdCUserID. It returns nil when every id the
// subject names agrees with p's (or p lacks it), and for a relink of p,
// explicit or implicit (see Fold): a subject with p's Okta id naming
// another IdC user id, newer than p's link, is the newest observation of
// which IdC user carries the Okta id. Otherwise, with the ids in the message
// (no login or other profile data):
//
//   - a Permanent error wrapping ErrIdentityConflict when the subject names
//     another Okta user id;
//   - a Stale error wrapping ErrSupersededLink when the subject names the
//     IdC user id p was re-linked away from, or has p's Okta id and another
//     IdC user id and is not newer than p's link (Person.Linked), or has no
//     Okta id and predates p's last relink;
//   - a Permanent error wrapping ErrIdentityConflict for any other
//     contradiction (a subject without an Okta id naming another IdC user).
//
// A reconcile event names the person it was planned for, so it is checked
// the same way. Pure.
func CheckSubject(p Person, e Event) error {
	s := e.Subject
	if s.OktaID != "" && p.OktaID != "" && s.OktaID != p.OktaID {
		return Permanent(fmt.Errorf("%w: event %s names Okta user %s, person %s is Okta user %s",
			ErrIdentityConflict, e.ID, s.OktaID, p.Key, p.OktaID))
	}
	if s.IdCUserID == "" || p.IdCUserID == "" || s.IdCUserID == p.IdCUserID || isRelink(p, e) || isImplicitRelink(p, e) {
		return nil
	}
	if s.IdCUserID == p.Relinked.Value {
		return Stale(fmt.Errorf("%w: event %s names IdC user %s, which person %s was re-linked away from (now %s)",
			ErrSupersededLink, e.ID, s.IdCUserID, p.Key, p.IdCUserID))
	}
	if ownOktaOtherIdC(p, e) {
		// Not newer than the link: it names a link that was current when
		// it was made (an IdC user re-created, or one target's queue behind
		// the other's, which folded the newer link first).
		l := linkStamp(p)
		return Stale(fmt.Errorf("%w: event %s names IdC user %s and predates person %s's link to %s at %s",
			ErrSupersededLink, e.ID, s.IdCUserID, p.Key, p.IdCUserID, l.At.Format(time.RFC3339Nano)))
	}
	if !p.Relinked.At.IsZero() && !newer(e.OccurredAt.UTC(), e.ID, p.Relinked.At, p.Relinked.By) {
		// Made before the person's last relink: it names a link that was
		// current then, not a contradiction.
		return Stale(fmt.Errorf("%w: event %s names IdC user %s and predates person %s's relink to %s at %s",
			ErrSupersededLink, e.ID, s.IdCUserID, p.Key, p.IdCUserID, p.Relinked.At.Format(time.RFC3339Nano)))
	}
	return Permanent(fmt.Errorf("%w: event %s names IdC user %s, person %s is linked to IdC user %s",
		ErrIdentityConflict, e.ID, s.IdCUserID, p.Key, p.IdCUserID))
}
