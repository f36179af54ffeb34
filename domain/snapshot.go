package domain

import (
	"errors"
	"fmt"
	"time"
)

// SnapshotUser is one IdentityStore user as a snapshot run read them.
type SnapshotUser struct {
	UserID      string `json:"userId"`           // IdentityStore UserId
	OktaID      string `json:"oktaId,omitempty"` // ExternalIds entry whose issuer is Okta
	Login       string `json:"login"`            // UserName
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Email       string `json:"email,omitempty"`
	Department  string `json:"department,omitempty"`
	Title       string `json:"title,omitempty"`
	// Groups are the configured groups the user is a member of. Groups not
	// listed in Snapshot.Groups are disregarded.
	Groups []GroupRef `json:"groups,omitempty"`
}

// Snapshot is the result of one snapshot run: every member of the
// configured groups it read, with their profiles.
type Snapshot struct {
	// RunID names the run; it is part of every event id the diff makes, so
	// diffing the same run again gives the same ids.
	RunID   string    `json:"runId"`
	TakenAt time.Time `json:"takenAt"`
	// Lag is how far the source may trail the facts idsync already holds
	// (IdC trails Okta by the SCIM push delay). A last-known fact stamped
	// after TakenAt − Lag is never contradicted by this snapshot: IdC may
	// simply not show it yet. A later run, taken once the fact is older
	// than Lag, re-examines it, so a fact the source really disagrees with
	// is still corrected, at most Lag later. Zero or negative: no window,
	// only facts stamped after TakenAt are spared. Set from
	// SnapshotConfig.SettleWindow.
	Lag time.Duration `json:"lag,omitempty"`
	// Complete says every configured group was read to the end. An
	// incomplete snapshot never removes anyone.
	Complete bool           `json:"complete"`
	Users    []SnapshotUser `json:"users"`
	// Groups are the configured groups that were read. Only membership of
	// these groups is compared.
	Groups []GroupRef `json:"groups"`
}

// Diff is what a snapshot says changed since the last-known state.
type Diff struct {
	// Events, per person: a profile-changed first (if any), then
	// member-added, then member-removed, in Snapshot.Groups order. People
	// come in Snapshot.Users order, then people absent from the snapshot in
	// prev order.
	Events []Event
	// Joiners had no membership and gain one; Leavers lose memberships and
	// end with none; Changes are the other people with events (movers,
	// profile changes, newly linked ids).
	Joiners, Leavers, Changes int
	// Removals counts the people who lose at least one membership; it is
	// what the removal cap limits.
	Removals int
	// RemovalsSuppressed is set when the snapshot was incomplete, so no
	// member-removed events were made.
	RemovalsSuppressed bool
}

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

// DiffSnapshot compares a snapshot with the last-known people and returns the
// events that bring the people up to date. It is pure: the same inputs always
// give the same Diff, and event ids are NewEventID(SourceIdCSnapshot,
// RunID+":"+kind[+":"+group key], person key, TakenAt), so re-running a diff
// of the same run yields the same ids and its events deduplicate. Every event
// has OccurredAt and ReceivedAt = snap.TakenAt.
//
// Snapshot users are matched to people by immutable id only: the Okta id
// first, then the IdC user id, never by login; a candidate whose other id
// contradicts the user's is not a match. A user matched by IdC id whose Okta
// id is new to idsync carries both ids, so that Fold links them (the person's
// key then becomes the Okta id); such a user gets a profile-changed event
// even if nothing else changed.
//
//   - Unmatched users in at least one read group are joiners: a
//     profile-changed stating every profile field, then member-added for
//     each group. Unmatched users in no read group are not reported.
//   - Matched users: a profile-changed holding only the fields that differ,
//     member-added for read groups they newly belong to, member-removed for
//     read groups they no longer belong to.
//   - People in prev absent from the snapshot: member-removed for every read
//     group they were a member of.
//
// A last-known fact stamped after snap.TakenAt − snap.Lag is never
// contradicted: after TakenAt it is a hook event that arrived after the
// snapshot was read (it would win the fold anyway); within Lag before it,
// IdC may not show it yet (SCIM push delay). Such a membership gets no
// member-added or member-removed event and such a profile field no
// change; the next run re-examines them.
//
// When snap.Complete is false no member-removed events are made and
// RemovalsSuppressed is set. Otherwise, if Removals exceeds limit.Max, or
// exceeds limit.MinForPercent and limit.MaxPercent percent of the people
// previously known as members of a read group, DiffSnapshot returns a zero
// Diff and a *RemovalCapError (matching ErrRemovalCapExceeded): the whole
// run is refused. A zero or negative cap field means its default
// (DefaultMaxRemovals, DefaultMaxRemovalPercent,
// DefaultMinRemovalsForPercent), never "unlimited".
// It returns ErrInvalidSnapshot when RunID or TakenAt is empty.
func DiffSnapshot(prev []Person, snap Snapshot, limit RemovalCap) (Diff, error) {
	if snap.RunID == "" {
		return Diff{}, fmt.Errorf("%w: no run id", ErrInvalidSnapshot)
	}
	if snap.TakenAt.IsZero() {
		return Diff{}, fmt.Errorf("%w: run %s has no taken-at time", ErrInvalidSnapshot, snap.RunID)
	}
	if limit.Max <= 0 {
		limit.Max = DefaultMaxRemovals
	}
	if limit.MaxPercent <= 0 {
		limit.MaxPercent = DefaultMaxRemovalPercent
	}
	if limit.MinForPercent <= 0 {
		limit.MinForPercent = DefaultMinRemovalsForPercent
	}

	d := differ{snap: snap, at: snap.TakenAt.UTC(), prev: prev}
	d.settled = d.at
	if snap.Lag > 0 {
		d.settled = d.at.Add(-snap.Lag)
	}
	d.indexGroups()
	d.indexPeople()
	users, in := d.mergeUsers()

	matched := make([]bool, len(prev))
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
		pi := d.match(u, matched)
		if pi >= 0 {
			matched[pi] = true
		}
		d.diffUser(u, in[ui], pi)
	}
	if snap.Complete {
		for pi := range prev {
			if !matched[pi] {
				d.diffUser(nil, nil, pi)
			}
		}
	}

	d.out.RemovalsSuppressed = !snap.Complete
	overPercent := d.out.Removals > limit.MinForPercent && float64(d.out.Removals)*100 > limit.MaxPercent*float64(members)
	if d.out.Removals > limit.Max || overPercent {
		return Diff{}, &RemovalCapError{Removals: d.out.Removals, Members: members, Cap: limit}
	}
	return d.out, nil
}

// differ holds one DiffSnapshot computation.
type differ struct {
	snap Snapshot
	at   time.Time
	// settled is TakenAt − Lag: last-known facts stamped after it are not
	// contradicted.
	settled time.Time
	prev    []Person

	groups      []GroupRef // read groups, deduplicated
	groupKey    []string   // GroupRef.Key() per read group
	memberKeys  [][]string // every membership key per read group
	groupByOkta map[string]int
	groupByIdC  map[string]int
	readKeys    map[string]bool // every membership key of a read group

	byOkta, byIdC, byKey map[string]int // prev index by id

	out Diff
}

func (d *differ) indexGroups() {
	d.groupByOkta = make(map[string]int, len(d.snap.Groups))
	d.groupByIdC = make(map[string]int, len(d.snap.Groups))
	d.readKeys = make(map[string]bool, 2*len(d.snap.Groups))
	for _, g := range d.snap.Groups {
		if g.Key() == "" {
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
	}
}

// mergeUsers drops users without any id and merges users listed more than
// once (by either id), uniting their groups. It returns the users and, per
// user, which read groups they are in.
func (d *differ) mergeUsers() ([]SnapshotUser, [][]bool) {
	n := len(d.groups)
	users := make([]SnapshotUser, 0, len(d.snap.Users))
	backing := make([]bool, n*len(d.snap.Users))
	in := make([][]bool, 0, len(d.snap.Users))
	byOkta := make(map[string]int, len(d.snap.Users))
	byIdC := make(map[string]int, len(d.snap.Users))
	for _, u := range d.snap.Users {
		if u.OktaID == "" && u.UserID == "" {
			continue
		}
		i, seen := -1, false
		if u.OktaID != "" {
			i, seen = byOkta[u.OktaID]
		}
		if !seen && u.UserID != "" {
			i, seen = byIdC[u.UserID]
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
	return users, in
}

// match finds the previously known person a snapshot user is, by Okta id
// first and then IdC user id; -1 when none. A person already matched, or
// whose other id contradicts the user's, does not match.
func (d *differ) match(u *SnapshotUser, matched []bool) int {
	try := func(m map[string]int, id string) int {
		if id == "" {
			return -1
		}
		i, ok := m[id]
		if !ok || matched[i] {
			return -1
		}
		p := &d.prev[i]
		if (u.OktaID != "" && p.OktaID != "" && u.OktaID != p.OktaID) ||
			(u.UserID != "" && p.IdCUserID != "" && u.UserID != p.IdCUserID) {
			return -1
		}
		return i
	}
	for _, c := range []struct {
		m  map[string]int
		id string
	}{{d.byOkta, u.OktaID}, {d.byKey, u.OktaID}, {d.byIdC, u.UserID}, {d.byKey, u.UserID}} {
		if i := try(c.m, c.id); i >= 0 {
			return i
		}
	}
	return -1
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
// matched to prev[pi] (pi < 0 when new).
func (d *differ) diffUser(u *SnapshotUser, in []bool, pi int) {
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
	start := len(d.out.Events)

	// Profile.
	if u != nil {
		var prof *Profile
		linked := false
		if p == nil {
			if !anyTrue(in) {
				return
			}
			prof = fullProfile(u)
		} else {
			prof = d.profileDiff(p, u)
			linked = (p.OktaID == "" && u.OktaID != "") || (p.IdCUserID == "" && u.UserID != "")
		}
		if prof != nil || linked {
			d.emit(KindProfileChanged, d.snap.RunID+":"+string(KindProfileChanged), subject, key, nil, prof)
		}
	}

	// Membership.
	had := p != nil && anyMember(p.Groups)
	added, removed := 0, 0
	stillIn := false
	for g := range d.groups {
		isMember := u != nil && in[g]
		was, at := false, time.Time{}
		if p != nil {
			was, at = d.prevMember(p, g)
		}
		newerFact := at.After(d.settled)
		switch {
		case isMember && !was && !newerFact:
			d.emit(KindMemberAdded, d.snap.RunID+":"+string(KindMemberAdded)+":"+d.groupKey[g], subject, key, &d.groups[g], nil)
			added++
			stillIn = true
		case !isMember && was && !newerFact && d.snap.Complete:
			d.emit(KindMemberRemoved, d.snap.RunID+":"+string(KindMemberRemoved)+":"+d.groupKey[g], subject, key, &d.groups[g], nil)
			removed++
		case isMember || was:
			stillIn = true
		}
	}
	if !stillIn && p != nil {
		stillIn = d.memberOfUnreadGroup(p)
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
	if removed > 0 {
		d.out.Removals++
	}
}

// memberOfUnreadGroup reports whether p holds a membership in a group this
// snapshot did not read.
func (d *differ) memberOfUnreadGroup(p *Person) bool {
	for k, m := range p.Groups {
		if m.Member && !d.readKeys[k] {
			return true
		}
	}
	return false
}

func (d *differ) emit(kind Kind, sourceEventID string, subject Subject, key string, group *GroupRef, prof *Profile) {
	var g *GroupRef
	if group != nil {
		gc := *group
		g = &gc
	}
	d.out.Events = append(d.out.Events, Event{
		ID:            NewEventID(SourceIdCSnapshot, sourceEventID, key, d.at),
		Source:        SourceIdCSnapshot,
		SourceEventID: sourceEventID,
		Kind:          kind,
		Subject:       subject,
		Group:         g,
		Profile:       prof,
		OccurredAt:    d.at,
		ReceivedAt:    d.at,
	})
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

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

func anyMember(groups map[string]Membership) bool {
	for _, m := range groups {
		if m.Member {
			return true
		}
	}
	return false
}
