package domain

import "time"

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
//   - Ids: OktaID and IdCUserID are filled in when unknown and never changed;
//     Key is the OktaID when known, else the IdCUserID (so it can change from
//     an IdC id to the Okta id when the Okta id first becomes known). An event
//     whose subject names a different Okta or IdC id than p already has is
//     about someone else: Fold ignores it and returns (p, false).
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
	if e.Validate() != nil {
		return p, false
	}
	s := e.Subject
	if (s.OktaID != "" && p.OktaID != "" && s.OktaID != p.OktaID) ||
		(s.IdCUserID != "" && p.IdCUserID != "" && s.IdCUserID != p.IdCUserID) {
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
