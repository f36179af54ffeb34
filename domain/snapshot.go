package domain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SnapshotUser is one IdentityStore user as a snapshot run read them.
type SnapshotUser struct {
	UserID string `json:"userId"`           // IdentityStore UserId
	OktaID string `json:"oktaId,omitempty"` // the Okta user id among the ExternalIds (the SCIM push's)
	// AmbiguousOktaIDs are the Okta user ids found when the ExternalIds
	// hold several different ones (OktaID is then empty): the user cannot
	// be attributed and is reported as an identity conflict.
	AmbiguousOktaIDs []string `json:"ambiguousOktaIds,omitempty"`
	Login            string   `json:"login"` // UserName
	FirstName        string   `json:"firstName,omitempty"`
	LastName         string   `json:"lastName,omitempty"`
	DisplayName      string   `json:"displayName,omitempty"`
	Email            string   `json:"email,omitempty"`
	Department       string   `json:"department,omitempty"`
	Title            string   `json:"title,omitempty"`
	// Groups are the configured groups the user is a member of. Groups not
	// listed in Snapshot.Groups are disregarded.
	Groups []GroupRef `json:"groups,omitempty"`
}

// Snapshot is the result of one snapshot run: every member of the
// configured groups it read, with their profiles, and what it could not
// read.
type Snapshot struct {
	// RunID names the run (for the caller's records; event ids derive from
	// the facts and the time, not from the run).
	RunID   string    `json:"runId"`
	TakenAt time.Time `json:"takenAt"`
	// Lag is how far the source may trail the facts idsync already holds
	// (IdC trails Okta by the SCIM push delay). What the snapshot read is
	// therefore only known to hold as of TakenAt − Lag, and its facts
	// occur then: a hook fact from within the window wins over them
	// whatever order the two are folded in. A last-known fact stamped after
	// TakenAt − Lag is not contradicted at all: IdC may simply not show it
	// yet. A later run, taken once the fact is older than Lag, re-examines
	// it, so a fact the source really disagrees with is still corrected, at
	// most Lag later. Zero or negative: no window (facts occur at TakenAt;
	// only facts stamped after it are spared). Set from
	// SnapshotConfig.SettleWindow.
	Lag time.Duration `json:"lag,omitempty"`
	// LinkByLogin links a user without an Okta id whose IdC user id idsync
	// does not know yet to the one last-known person whose login equals
	// the user's login (case-insensitively) and who has an Okta id and no
	// IdC user id (SnapshotConfig.LoginLink). Several such people are an
	// identity conflict.
	LinkByLogin bool `json:"linkByLogin,omitempty"`
	// Complete says the read as a whole worked: every group in Groups but
	// not in UnreadGroups was read to the end, and every member's profile
	// not in UnreadUsers was read. A snapshot that is not Complete removes
	// no one (a failure that cannot be pinned on a group or a user).
	Complete bool           `json:"complete"`
	Users    []SnapshotUser `json:"users"`
	// Groups are the configured groups the snapshot read. Only membership
	// of these groups, less UnreadGroups, is compared.
	Groups []GroupRef `json:"groups"`
	// UnreadGroups are configured groups that could not be read (a read
	// error, or the group no longer exists). Nobody is added to or removed
	// from them, and a person last known as a member of one is never
	// counted as a leaver; the rest of the groups are diffed as usual.
	UnreadGroups []GroupRef `json:"unreadGroups,omitempty"`
	// UnreadUsers are the IdC user ids of members whose profile could not
	// be read. The people they are get no events at all (no removals, and
	// no removal of anyone who might be one of them: while any profile is
	// unread, people without a known IdC user id are not removed either).
	UnreadUsers []string `json:"unreadUsers,omitempty"`
	// Status is what the run read of Okta's user statuses (nil: the run
	// has no Okta API access, and the diff says nothing about status). See
	// OktaStatus and DiffSnapshot.
	Status *OktaStatus `json:"status,omitempty"`
}

// Diff is what a snapshot says changed since the last-known state.
type Diff struct {
	// Events, per person: for a person idsync does not know, one observed
	// event (the whole profile and the read groups the person is in);
	// otherwise a profile-changed first (if any; it also carries a relink
	// or a newly known id), then one member-added or member-removed per
	// changed group, in Snapshot.Groups order. People come in
	// Snapshot.Users order, then people absent from the snapshot in prev
	// order.
	Events []Event
	// Joiners had no membership and gain one; Leavers lose memberships and
	// end with none; Changes are the other people with events (movers,
	// profile changes, newly linked ids, relinks).
	Joiners, Leavers, Changes int
	// Removals counts the people who lose at least one membership or get
	// a status fact that takes their accounts away (suspended,
	// deactivated, deleted); it is what the removal cap limits.
	Removals int
	// StatusFacts counts the status events made from Snapshot.Status.
	StatusFacts int
	// RemovalsSuppressed is set when the snapshot was not Complete, so no
	// member-removed events were made.
	RemovalsSuppressed bool
	// Withheld counts the people whose removals this run could not decide:
	// last-known members of an unread group, people whose profile could
	// not be read (and, while any profile is unread, people without a known
	// IdC user id), and people caught in an identity conflict.
	Withheld int
	// Conflicts are the snapshot users that could not be attributed to one
	// person (see IdentityConflict). They and the people involved get no
	// events; the snapshot reports them every run until the directory is
	// fixed.
	Conflicts []IdentityConflict
}

// IdentityConflict is an unresolvable identity: an IdC user carrying an
// Okta user id while its IdC user id is linked to a person with another
// Okta id, or two IdC users carrying the same Okta user id. It holds ids
// only. As an error it matches ErrIdentityConflict.
type IdentityConflict struct {
	// OktaID is the Okta user id the snapshot user carries.
	OktaID string `json:"oktaId,omitempty"`
	// IdCUserIDs are the IdC users involved.
	IdCUserIDs []string `json:"idcUserIds"`
	// PersonKeys are the last-known people involved, if any.
	PersonKeys []string `json:"personKeys,omitempty"`
	// Reason says what contradicts what.
	Reason string `json:"reason"`
}

// Error returns "identity conflict: <reason>".
func (c IdentityConflict) Error() string { return ErrIdentityConflict.Error() + ": " + c.Reason }

// Unwrap makes the conflict match ErrIdentityConflict.
func (c IdentityConflict) Unwrap() error { return ErrIdentityConflict }

// Errors returned by DiffSnapshot.
var (
	// ErrRemovalCapExceeded: the snapshot would remove more people than the
	// RemovalCap allows; returned as a *RemovalCapError.
	ErrRemovalCapExceeded = errors.New("removal cap exceeded")
	// ErrInvalidSnapshot: the snapshot has no RunID or no TakenAt, so its
	// events could not be given stable ids or times.
	ErrInvalidSnapshot = errors.New("invalid snapshot")
)

// RemovalCapError says by how much a snapshot run exceeded its removal cap.
// It matches ErrRemovalCapExceeded with errors.Is.
type RemovalCapError struct {
	Removals int        // people the run would remove from at least one group
	Members  int        // people previously known as members of a read group
	Cap      RemovalCap // the effective cap (defaults applied)
}

// Error describes the refused run: removals, members and the cap, e.g.
// "snapshot would remove 6 of 40 members (15.0%), cap is 50, or 10.0% when
// more than 5: no events emitted".
func (e *RemovalCapError) Error() string {
	return fmt.Sprintf("snapshot would remove %d of %d members (%.1f%%), cap is %d, or %.1f%% when more than %d: no events emitted",
		e.Removals, e.Members, percent(e.Removals, e.Members), e.Cap.Max, e.Cap.MaxPercent, e.Cap.MinForPercent)
}

// Unwrap makes the error match ErrRemovalCapExceeded.
func (e *RemovalCapError) Unwrap() error { return ErrRemovalCapExceeded }

func percent(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// CheckRemovalCap reports whether removing removals of members people
// stays within limit: nil, or a *RemovalCapError (matching
// ErrRemovalCapExceeded) when removals exceeds limit.Max, or exceeds
// limit.MinForPercent and limit.MaxPercent percent of members. A zero or
// negative cap field means its default (DefaultMaxRemovals,
// DefaultMaxRemovalPercent, DefaultMinRemovalsForPercent), never
// "unlimited"; the error carries the effective cap. Pure.
func CheckRemovalCap(limit RemovalCap, removals, members int) error {
	if limit.Max <= 0 {
		limit.Max = DefaultMaxRemovals
	}
	if limit.MaxPercent <= 0 {
		limit.MaxPercent = DefaultMaxRemovalPercent
	}
	if limit.MinForPercent <= 0 {
		limit.MinForPercent = DefaultMinRemovalsForPercent
	}
	overPercent := removals > limit.MinForPercent && float64(removals)*100 > limit.MaxPercent*float64(members)
	if removals > limit.Max || overPercent {
		return &RemovalCapError{Removals: removals, Members: members, Cap: limit}
	}
	return nil
}

// DiffSnapshot compares a snapshot with the last-known people and returns the
// events that bring the people up to date. It is pure: the same inputs always
// give the same Diff.
//
// Every event occurs at snap.TakenAt − snap.Lag (TakenAt without a
// window) and is received at TakenAt. Its id is NewEventID(SourceIdCSnapshot,
// source event id, person key, occurred-at), where the source event id is
// "<kind>[:<group key>]:<digest of the fact>" (subject, group, profile,
// relink): the same difference found at the same time gets the same id
// whatever the run, and Event.Restamped at the time it was first found
// gives back the first event exactly (which is how a producer re-sends it).
//
// Snapshot users are matched to people by immutable id only: the Okta id
// first, then the IdC user id, never by login. A user matched by IdC id
// whose Okta id is new to idsync carries both ids, so that Fold links them
// (the person's key then becomes the Okta id); such a user gets a
// profile-changed event even if nothing else changed. A user matched by
// Okta id whose IdC user id differs from the person's (the IdC user was
// re-created) gets a relink: a profile-changed event naming both ids with
// ReplacesIdCUserID set to the old one, before any other event, since the
// Okta id is authoritative. An IdC user carrying an Okta id while its IdC
// user id is linked to a person with another Okta id, or two IdC users
// carrying one Okta id, is an IdentityConflict: no events for the users or
// the people involved, listed in Diff.Conflicts.
//
//   - Unmatched users in at least one read group are joiners: one observed
//     event stating every profile field and the read groups they are in.
//     Unmatched users in no read group are not reported.
//   - Matched users: a profile-changed holding only the fields that differ,
//     member-added for read groups they newly belong to, member-removed for
//     read groups they no longer belong to.
//   - People in prev absent from the snapshot: member-removed for every read
//     group they were a member of.
//
// A last-known fact stamped after snap.TakenAt − snap.Lag is never
// contradicted: IdC may not show it yet (SCIM push delay), or it arrived
// after the read. Such a membership gets no member-added or member-removed
// event and such a profile field no change; the next run re-examines them.
//
// Status: with snap.Status Complete, every person (joiners included) for
// whom StatusFact gives a kind, from their last-known status and the
// status snap.Status.Users gives their Okta id, gets that lifecycle event
// (suspended, unsuspended, deactivated, reactivated, deleted), after
// their other events, stamped like them; a person absent from the
// snapshot gets it even when the snapshot is not Complete. A last-known
// status stamped after TakenAt − Lag is never contradicted. People held
// (conflicts, unread profiles) get none. A status fact that takes
// accounts away counts in Removals. Without snap.Status, or with it incomplete, there are no status
// events.
//
// Groups in snap.UnreadGroups and users in snap.UnreadUsers are handled as
// documented on Snapshot and counted in Withheld. When snap.Complete is
// false no member-removed events are made at all and RemovalsSuppressed
// is set. Otherwise, if Removals exceeds the cap (CheckRemovalCap over the
// people previously known as members of a read group), DiffSnapshot
// returns a zero Diff and the *RemovalCapError: the whole run is refused.
// It returns ErrInvalidSnapshot when RunID or TakenAt is empty.
func DiffSnapshot(prev []Person, snap Snapshot, limit RemovalCap) (Diff, error) {
	if snap.RunID == "" {
		return Diff{}, fmt.Errorf("%w: no run id", ErrInvalidSnapshot)
	}
	if snap.TakenAt.IsZero() {
		return Diff{}, fmt.Errorf("%w: run %s has no taken-at time", ErrInvalidSnapshot, snap.RunID)
	}

	d := differ{snap: snap, received: snap.TakenAt.UTC(), prev: prev}
	d.at = d.received
	if snap.Lag > 0 {
		d.at = d.received.Add(-snap.Lag)
	}
	d.settled = d.at
	d.indexGroups()
	d.indexPeople()
	users, in, conflicted := d.mergeUsers()

	matched := make([]bool, len(prev))
	d.hold(matched)
	members := 0
	for i := range prev {
		for g := range d.groups {
			if m, _ := d.prevMember(&prev[i], g); m {
				members++
				break
			}
		}
	}

	for ui := range users {
		u := &users[ui]
		if conflicted[ui] {
			continue
		}
		pi, relink := d.match(u, matched)
		if pi == -2 {
			continue // a conflict: recorded, and the people involved held
		}
		if pi >= 0 {
			matched[pi] = true
		}
		d.diffUser(u, in[ui], pi, relink)
	}
	// Absent people: removals only from a complete snapshot (diffUser
	// checks), status facts whenever Okta's statuses were read.
	if snap.Complete || (snap.Status != nil && snap.Status.Complete) {
		for pi := range prev {
			if !matched[pi] {
				d.diffUser(nil, nil, pi, "")
			}
		}
	}

	d.out.RemovalsSuppressed = !snap.Complete
	if err := CheckRemovalCap(limit, d.out.Removals, members); err != nil {
		return Diff{}, err
	}
	return d.out, nil
}

// differ holds one DiffSnapshot computation.
type differ struct {
	snap Snapshot
	// at is when the events occur (TakenAt − Lag); received is TakenAt.
	at, received time.Time
	// settled is TakenAt − Lag: last-known facts stamped after it are not
	// contradicted.
	settled time.Time
	prev    []Person
	unread  map[string]bool // membership keys of unread groups

	groups      []GroupRef // read groups, deduplicated
	groupKey    []string   // GroupRef.Key() per read group
	memberKeys  [][]string // every membership key per read group
	groupByOkta map[string]int
	groupByIdC  map[string]int
	readKeys    map[string]bool // every membership key of a read group

	byOkta, byIdC, byKey map[string]int   // prev index by id
	byLogin              map[string][]int // prev people with an Okta id and no IdC user id, by lower-case login

	out Diff
}

func (d *differ) indexGroups() {
	d.groupByOkta = make(map[string]int, len(d.snap.Groups))
	d.groupByIdC = make(map[string]int, len(d.snap.Groups))
	d.readKeys = make(map[string]bool, 2*len(d.snap.Groups))
	d.unread = make(map[string]bool, 2*len(d.snap.UnreadGroups))
	for _, g := range d.snap.UnreadGroups {
		for _, k := range groupKeys(g) {
			d.unread[k] = true
		}
	}
	for _, g := range d.snap.Groups {
		if g.Key() == "" || d.unreadGroup(g) {
			continue
		}
		if _, ok := d.groupIndex(g); ok {
			continue
		}
		i := len(d.groups)
		d.groups = append(d.groups, g)
		d.groupKey = append(d.groupKey, g.Key())
		d.memberKeys = append(d.memberKeys, groupKeys(g))
		if g.OktaID != "" {
			d.groupByOkta[g.OktaID] = i
		}
		if g.IdCID != "" {
			d.groupByIdC[g.IdCID] = i
		}
		for _, k := range groupKeys(g) {
			d.readKeys[k] = true
		}
	}
}

// unreadGroup reports whether g is one of the snapshot's unread groups.
func (d *differ) unreadGroup(g GroupRef) bool {
	for _, k := range groupKeys(g) {
		if d.unread[k] {
			return true
		}
	}
	return false
}

// groupIndex resolves a group reference to a read group, by either id.
func (d *differ) groupIndex(g GroupRef) (int, bool) {
	if g.OktaID != "" {
		if i, ok := d.groupByOkta[g.OktaID]; ok {
			return i, true
		}
	}
	if g.IdCID != "" {
		if i, ok := d.groupByIdC[g.IdCID]; ok {
			return i, true
		}
	}
	return 0, false
}

func (d *differ) indexPeople() {
	d.byOkta = make(map[string]int, len(d.prev))
	d.byIdC = make(map[string]int, len(d.prev))
	d.byKey = make(map[string]int, len(d.prev))
	for i := range d.prev {
		p := &d.prev[i]
		if p.OktaID != "" {
			d.byOkta[p.OktaID] = i
		}
		if p.IdCUserID != "" {
			d.byIdC[p.IdCUserID] = i
		}
		if p.Key != "" {
			d.byKey[p.Key] = i
		}
		if d.snap.LinkByLogin && p.OktaID != "" && p.IdCUserID == "" && p.Login.Value != "" {
			if d.byLogin == nil {
				d.byLogin = map[string][]int{}
			}
			l := strings.ToLower(p.Login.Value)
			d.byLogin[l] = append(d.byLogin[l], i)
		}
	}
}

// mergeUsers drops users without any id and merges users listed more than
// once (the same IdC user id, or the same Okta id without a differing IdC
// user id), uniting their groups. Two users with one Okta id and different
// IdC user ids are an identity conflict: both are kept, marked conflicted,
// and the conflict recorded. It returns the users, per user which read
// groups they are in, and which users are conflicted.
func (d *differ) mergeUsers() ([]SnapshotUser, [][]bool, []bool) {
	n := len(d.groups)
	users := make([]SnapshotUser, 0, len(d.snap.Users))
	backing := make([]bool, n*len(d.snap.Users))
	in := make([][]bool, 0, len(d.snap.Users))
	var conflicted []bool
	byOkta := make(map[string]int, len(d.snap.Users))
	byIdC := make(map[string]int, len(d.snap.Users))
	var clash map[string][]int // Okta id → users carrying it
	for _, u := range d.snap.Users {
		if u.OktaID == "" && u.UserID == "" {
			continue
		}
		i, seen := -1, false
		if u.UserID != "" {
			i, seen = byIdC[u.UserID]
		}
		if !seen && u.OktaID != "" {
			if j, ok := byOkta[u.OktaID]; ok {
				if other := users[j].UserID; other != "" && u.UserID != "" && other != u.UserID {
					if clash == nil {
						clash = map[string][]int{}
					}
					if len(clash[u.OktaID]) == 0 {
						clash[u.OktaID] = []int{j}
					}
					clash[u.OktaID] = append(clash[u.OktaID], len(users))
				} else {
					i, seen = j, true
				}
			}
		}
		if !seen {
			i = len(users)
			users = append(users, u)
			in = append(in, backing[i*n:(i+1)*n:(i+1)*n])
		}
		if u.OktaID != "" {
			if _, ok := byOkta[u.OktaID]; !ok {
				byOkta[u.OktaID] = i
			}
		}
		if u.UserID != "" {
			if _, ok := byIdC[u.UserID]; !ok {
				byIdC[u.UserID] = i
			}
		}
		for _, g := range u.Groups {
			if gi, ok := d.groupIndex(g); ok {
				in[i][gi] = true
			}
		}
	}
	conflicted = make([]bool, len(users))
	for _, okta := range sortedKeys(clash) {
		c := IdentityConflict{OktaID: okta}
		for _, ui := range clash[okta] {
			conflicted[ui] = true
			c.IdCUserIDs = append(c.IdCUserIDs, users[ui].UserID)
		}
		c.Reason = fmt.Sprintf("IdC users %s all carry Okta user id %s", strings.Join(c.IdCUserIDs, ", "), okta)
		d.out.Conflicts = append(d.out.Conflicts, c)
	}
	return users, in, conflicted
}

// hold marks as matched (so never taken as absent, and given no events)
// the people this run cannot decide about: those involved in a conflict
// mergeUsers found, those whose profile was unread, and, while any
// profile is unread, those without a known IdC user id. It counts them and
// the last-known members of unread groups in Withheld.
func (d *differ) hold(matched []bool) {
	held := make([]bool, len(d.prev))
	for ci := range d.out.Conflicts {
		c := &d.out.Conflicts[ci]
		ids := append([]string{c.OktaID}, c.IdCUserIDs...)
		for _, id := range ids {
			for _, m := range []map[string]int{d.byOkta, d.byIdC, d.byKey} {
				if i, ok := m[id]; ok && !held[i] {
					held[i] = true
					c.PersonKeys = append(c.PersonKeys, d.prev[i].Key)
				}
			}
		}
	}
	unreadUsers := make(map[string]bool, len(d.snap.UnreadUsers))
	for _, id := range d.snap.UnreadUsers {
		unreadUsers[id] = true
	}
	for i := range d.prev {
		p := &d.prev[i]
		switch {
		case held[i]:
		case p.IdCUserID != "" && unreadUsers[p.IdCUserID]:
			held[i] = true
		case p.IdCUserID == "" && len(unreadUsers) > 0 && anyMember(p.Groups):
			held[i] = true
		}
		if held[i] {
			matched[i] = true
			d.out.Withheld++
			continue
		}
		for k, m := range p.Groups {
			if m.Member && d.unread[k] {
				d.out.Withheld++
				break
			}
		}
	}
}

// match finds the previously known person a snapshot user is: by Okta id
// first, then by IdC user id. It returns -1 when there is none, and -2
// when the user is an identity conflict (recorded in d.out.Conflicts, the
// people involved marked matched and counted in Withheld). relink is the
// person's IdC user id when the user, matched by Okta id, carries another
// one (the IdC user was re-created). A person already matched does not
// match again.
func (d *differ) match(u *SnapshotUser, matched []bool) (pi int, relink string) {
	lookup := func(m map[string]int, id string) (int, bool) {
		if id == "" {
			return 0, false
		}
		i, ok := m[id]
		return i, ok
	}
	conflict := func(reason string, people ...int) (int, string) {
		c := IdentityConflict{OktaID: u.OktaID, IdCUserIDs: []string{u.UserID}, Reason: reason}
		for _, i := range people {
			c.PersonKeys = append(c.PersonKeys, d.prev[i].Key)
			if !matched[i] {
				matched[i] = true
				d.out.Withheld++
			}
		}
		d.out.Conflicts = append(d.out.Conflicts, c)
		return -2, ""
	}
	if len(u.AmbiguousOktaIDs) > 0 {
		var people []int // withheld: nobody named by the user is removed for it
		for _, id := range u.AmbiguousOktaIDs {
			if i, ok := d.byOkta[id]; ok {
				people = append(people, i)
			}
		}
		return conflict(fmt.Sprintf("IdC user %s carries %d different Okta user ids %v under the SCIM issuer", u.UserID,
			len(u.AmbiguousOktaIDs), u.AmbiguousOktaIDs), people...)
	}
	// By Okta id: authoritative.
	i, ok := lookup(d.byOkta, u.OktaID)
	if !ok {
		i, ok = lookup(d.byKey, u.OktaID)
	}
	if ok && !matched[i] {
		p := &d.prev[i]
		if u.UserID == "" || p.IdCUserID == "" || u.UserID == p.IdCUserID {
			return i, ""
		}
		if j, linked := d.byIdC[u.UserID]; linked && j != i {
			return conflict(fmt.Sprintf("IdC user %s carries Okta user id %s, but is linked to person %s (Okta user %s)",
				u.UserID, u.OktaID, d.prev[j].Key, d.prev[j].OktaID), i, j)
		}
		return i, p.IdCUserID
	}
	if ok {
		return -1, "" // matched already (a repeated user)
	}
	// By IdC user id.
	i, ok = lookup(d.byIdC, u.UserID)
	if !ok {
		i, ok = lookup(d.byKey, u.UserID)
	}
	if !ok && u.OktaID == "" {
		return d.matchLogin(u, matched, conflict)
	}
	if !ok || matched[i] {
		return -1, ""
	}
	p := &d.prev[i]
	if u.OktaID != "" && p.OktaID != "" && u.OktaID != p.OktaID {
		return conflict(fmt.Sprintf("IdC user %s carries Okta user id %s, but is linked to person %s (Okta user %s)",
			u.UserID, u.OktaID, p.Key, p.OktaID), i)
	}
	return i, ""
}

// matchLogin is the guarded login fallback (Snapshot.LinkByLogin) for a
// user with no Okta id and an IdC user id idsync does not know: the one
// unmatched person with that login, an Okta id and no IdC user id is the
// user, who then carries that Okta id, so the events link the two;
// several are a conflict. Without the fallback, or with nobody, the user
// is new (-1).
func (d *differ) matchLogin(u *SnapshotUser, matched []bool, conflict func(string, ...int) (int, string)) (int, string) {
	if !d.snap.LinkByLogin || u.Login == "" {
		return -1, ""
	}
	var cands []int
	for _, i := range d.byLogin[strings.ToLower(u.Login)] {
		if !matched[i] {
			cands = append(cands, i)
		}
	}
	switch len(cands) {
	case 0:
		return -1, ""
	case 1:
		u.OktaID = d.prev[cands[0]].OktaID
		return cands[0], ""
	}
	return conflict(fmt.Sprintf("IdC user %s has no Okta user id and its userName is the login of %d people; not linked",
		u.UserID, len(cands)), cands...)
}

// prevMember returns p's last-known membership of read group g and the time
// of the fact deciding it: the newest fact under any of g's keys, as in
// Person.MemberOf.
func (d *differ) prevMember(p *Person, g int) (bool, time.Time) {
	var best Membership
	found := false
	for _, k := range d.memberKeys[g] {
		m, ok := p.Groups[k]
		if ok && (!found || newer(m.At, m.By, best.At, best.By)) {
			best, found = m, true
		}
	}
	return found && best.Member, best.At
}

// diffUser appends the events for one person: a snapshot user u (nil when
// the person is absent from the snapshot) with read-group membership in,
// matched to prev[pi] (pi < 0 when new); relink is the person's IdC user
// id that u's replaces ("" for none).
func (d *differ) diffUser(u *SnapshotUser, in []bool, pi int, relink string) {
	var p *Person
	if pi >= 0 {
		p = &d.prev[pi]
	}
	subject := Subject{}
	if u != nil {
		subject = Subject{OktaID: u.OktaID, IdCUserID: u.UserID, Login: u.Login}
	}
	if p != nil {
		if subject.OktaID == "" {
			subject.OktaID = p.OktaID
		}
		if subject.IdCUserID == "" {
			subject.IdCUserID = p.IdCUserID
		}
	}
	if subject.Key() == "" {
		return
	}
	key := subject.Key()

	// A joiner: one observed event.
	if u != nil && p == nil {
		var groups []GroupRef
		for g := range d.groups {
			if in[g] {
				groups = append(groups, d.groups[g])
			}
		}
		if len(groups) == 0 {
			return
		}
		d.emit(Event{Kind: KindObserved, Subject: subject, Groups: groups, Profile: fullProfile(u)}, key)
		if k := d.statusFact(nil, subject.OktaID); k != "" {
			d.emit(Event{Kind: k, Subject: subject}, key)
			d.out.StatusFacts++
		}
		d.out.Joiners++
		return
	}
	start := len(d.out.Events)

	// Profile (and ids).
	if u != nil {
		prof := d.profileDiff(p, u)
		linked := (p.OktaID == "" && u.OktaID != "") || (p.IdCUserID == "" && u.UserID != "")
		if prof != nil || linked || relink != "" {
			d.emit(Event{Kind: KindProfileChanged, Subject: subject, Profile: prof, ReplacesIdCUserID: relink}, key)
		}
	}

	// Membership.
	had := anyMember(p.Groups)
	added, removed := 0, 0
	stillIn := false
	for g := range d.groups {
		isMember := u != nil && in[g]
		was, at := d.prevMember(p, g)
		newerFact := at.After(d.settled)
		switch {
		case isMember && !was && !newerFact:
			d.emit(Event{Kind: KindMemberAdded, Subject: subject, Group: &d.groups[g]}, key)
			added++
			stillIn = true
		case !isMember && was && !newerFact && d.snap.Complete:
			d.emit(Event{Kind: KindMemberRemoved, Subject: subject, Group: &d.groups[g]}, key)
			removed++
		case isMember || was:
			stillIn = true
		}
	}
	if !stillIn {
		stillIn = d.memberOfUnreadGroup(p)
	}

	// Status, from Okta.
	disabled := false
	if k := d.statusFact(p, subject.OktaID); k != "" {
		d.emit(Event{Kind: k, Subject: subject}, key)
		d.out.StatusFacts++
		disabled = k.Disables()
	}

	switch {
	case len(d.out.Events) == start:
	case added > 0 && !had:
		d.out.Joiners++
	case removed > 0 && !stillIn:
		d.out.Leavers++
	default:
		d.out.Changes++
	}
	if removed > 0 || disabled {
		d.out.Removals++
	}
}

// memberOfUnreadGroup reports whether p holds a membership in a group this
// snapshot did not read (not in Snapshot.Groups, or unread).
func (d *differ) memberOfUnreadGroup(p *Person) bool {
	for k, m := range p.Groups {
		if m.Member && !d.readKeys[k] {
			return true
		}
	}
	return false
}

// emit completes e (source, a copy of its group, times, source event id
// and id) and appends it.
func (d *differ) emit(e Event, key string) {
	if e.Group != nil {
		g := *e.Group
		e.Group = &g
	}
	e.Source = SourceIdCSnapshot
	e.OccurredAt, e.ReceivedAt = d.at, d.received
	e.SourceEventID = snapshotSourceEventID(e)
	e.ID = NewEventID(SourceIdCSnapshot, e.SourceEventID, key, d.at)
	d.out.Events = append(d.out.Events, e)
}

// snapshotSourceEventID is "<kind>[:<group key>]:<digest>" where the
// digest (16 hex digits of a SHA-256) covers every fact e states: its
// subject, group, groups, profile and relink marker. Times are left out,
// so that one difference found twice has one source event id.
func snapshotSourceEventID(e Event) string {
	h := sha256.New()
	var n [8]byte
	put := func(parts ...string) {
		for _, p := range parts {
			binary.BigEndian.PutUint64(n[:], uint64(len(p)))
			h.Write(n[:])
			h.Write([]byte(p))
		}
	}
	opt := func(v *string) {
		if v == nil {
			put("\x00nil")
			return
		}
		put(*v)
	}
	groups := func(gs []GroupRef) {
		put(fmt.Sprint(len(gs)))
		for _, g := range gs {
			put(g.OktaID, g.IdCID)
		}
	}
	put(string(e.Kind), e.Subject.OktaID, e.Subject.IdCUserID, e.Subject.Login, e.ReplacesIdCUserID)
	if e.Group != nil {
		groups([]GroupRef{*e.Group})
	} else {
		groups(nil)
	}
	groups(e.Groups)
	groups(e.NotGroups)
	if pr := e.Profile; pr != nil {
		for _, f := range []*string{pr.Login, pr.FirstName, pr.LastName, pr.DisplayName, pr.Email, pr.Department, pr.Title} {
			opt(f)
		}
	} else {
		put("\x00noprofile")
	}
	id := string(e.Kind)
	if e.Group != nil {
		id += ":" + e.Group.Key()
	}
	return id + ":" + hex.EncodeToString(h.Sum(nil)[:8])
}

// profileDiff returns the fields where u differs from p's last-known
// profile, skipping fields p learned after TakenAt − Lag; nil when none
// differ.
func (d *differ) profileDiff(p *Person, u *SnapshotUser) *Profile {
	var prof Profile
	changed := false
	field := func(dst **string, cur Stamped, v string) {
		if cur.Value != v && !cur.At.After(d.settled) {
			s := v
			*dst = &s
			changed = true
		}
	}
	field(&prof.Login, p.Login, u.Login)
	field(&prof.FirstName, p.FirstName, u.FirstName)
	field(&prof.LastName, p.LastName, u.LastName)
	field(&prof.DisplayName, p.DisplayName, u.DisplayName)
	field(&prof.Email, p.Email, u.Email)
	field(&prof.Department, p.Department, u.Department)
	field(&prof.Title, p.Title, u.Title)
	if !changed {
		return nil
	}
	return &prof
}

// fullProfile states every profile field of u, empty ones included.
func fullProfile(u *SnapshotUser) *Profile {
	s := func(v string) *string { return &v }
	return &Profile{
		Login:       s(u.Login),
		FirstName:   s(u.FirstName),
		LastName:    s(u.LastName),
		DisplayName: s(u.DisplayName),
		Email:       s(u.Email),
		Department:  s(u.Department),
		Title:       s(u.Title),
	}
}

func anyMember(groups map[string]Membership) bool {
	for _, m := range groups {
		if m.Member {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
