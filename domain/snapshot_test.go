package domain_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
)

var (
	snapTakenAt = time.Date(2024, 5, 15, 6, 0, 0, 0, time.UTC)
	prevRunAt   = time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC)
	grpSupport  = domain.GroupRef{OktaID: "00g3vcxkvkIPY52jL4x7", IdCID: "9067c2a4d1-5b1e4a7f-0c3d-4e8a-b2f1-6d7e8f9a0b1c", Name: "Support Agents"}
	grpMail     = domain.GroupRef{OktaID: "00g4wdylwlJQZ63kM5y8", IdCID: "9067c2a4d1-8c2d5b6e-1f4a-4b9c-a3e2-7f8a9b0c1d2e", Name: "Mail Users"}
	wideCap     = domain.RemovalCap{Max: 1000, MaxPercent: 100}
)

func snapStr(s string) *string { return &s }

// snapEvent builds the event DiffSnapshot must produce, but for ID and
// SourceEventID, which snapCmp leaves out (TestDiffSnapshotIDs checks
// them). The run argument only documents which run made it.
func snapEvent(_ string, kind domain.Kind, subj domain.Subject, group *domain.GroupRef, prof *domain.Profile) domain.Event {
	if group != nil {
		g := *group
		group = &g
	}
	return domain.Event{
		Source:     domain.SourceIdCSnapshot,
		Kind:       kind,
		Subject:    subj,
		Group:      group,
		Profile:    prof,
		OccurredAt: snapTakenAt,
		ReceivedAt: snapTakenAt,
	}
}

// snapJoiner is the observed event of a person new to idsync.
func snapJoiner(subj domain.Subject, prof *domain.Profile, groups ...domain.GroupRef) domain.Event {
	e := snapEvent("", domain.KindObserved, subj, nil, prof)
	e.Groups = groups
	return e
}

// snapCmp compares diffs without event ids and source event ids.
var snapCmp = cmp.FilterPath(func(p cmp.Path) bool {
	s := p.String()
	return s == "Events.ID" || s == "Events.SourceEventID"
}, cmp.Ignore())

// lagged moves the expected events of a snapshot with a settle window to
// the time its facts occur: TakenAt − lag.
func lagged(d domain.Diff, lag time.Duration) domain.Diff {
	if lag <= 0 {
		return d
	}
	evs := make([]domain.Event, len(d.Events))
	for i, e := range d.Events {
		e.OccurredAt = e.OccurredAt.Add(-lag)
		evs[i] = e
	}
	if d.Events != nil {
		d.Events = evs
	}
	return d
}

func readSnapshotJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "snapshot", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// A realistic run over a small org: one unchanged person, a login rename, a
// leaver, a person gaining an Okta id, a mover, a person known only from
// hooks, a joiner listed once per group, a user in no configured group and a
// hook fact newer than the snapshot.
func TestDiffSnapshotFixture(t *testing.T) {
	var prev []domain.Person
	var snap domain.Snapshot
	readSnapshotJSON(t, "prev_people.json", &prev)
	readSnapshotJSON(t, "run_2024-05-15.json", &snap)

	got, err := domain.DiffSnapshot(prev, snap, domain.RemovalCap{Max: 10, MaxPercent: 50})
	if err != nil {
		t.Fatalf("DiffSnapshot: %v", err)
	}
	run := snap.RunID
	ben := domain.Subject{OktaID: "00uBEN1a2b3c4d5e6f7g8", IdCUserID: "9067c2a4d1-b2b2b2b2-0000-4000-8000-000000000002", Login: "ben.obrien@example.com"}
	dev := domain.Subject{OktaID: "00uDEV1a2b3c4d5e6f7g8", IdCUserID: "9067c2a4d1-d4d4d4d4-0000-4000-8000-000000000004", Login: "dev.patel@example.com"}
	eve := domain.Subject{OktaID: "00uEVE1a2b3c4d5e6f7g8", IdCUserID: "9067c2a4d1-e5e5e5e5-0000-4000-8000-000000000005", Login: "eve.byrne@example.com"}
	finn := domain.Subject{OktaID: "00uFINN1a2b3c4d5e6f7g", IdCUserID: "9067c2a4d1-f0f0f0f0-0000-4000-8000-000000000006", Login: "finn.kelly@example.com"}
	gus := domain.Subject{OktaID: "00uGUS1a2b3c4d5e6f7g8", IdCUserID: "9067c2a4d1-a7a7a7a7-0000-4000-8000-000000000008", Login: "gus.murphy@example.com"}
	cara := domain.Subject{OktaID: "00uCARA1b2c3d4e5f6g7h", IdCUserID: "9067c2a4d1-c3c3c3c3-0000-4000-8000-000000000003"}
	want := domain.Diff{
		Events: []domain.Event{
			snapEvent(run, domain.KindProfileChanged, ben, nil, &domain.Profile{
				Login: snapStr("ben.obrien@example.com"), LastName: snapStr("O'Brien"), DisplayName: snapStr("Ben O'Brien")}),
			snapEvent(run, domain.KindProfileChanged, dev, nil, nil),
			snapEvent(run, domain.KindMemberAdded, eve, &grpSupport, nil),
			snapEvent(run, domain.KindMemberRemoved, eve, &grpMail, nil),
			snapEvent(run, domain.KindProfileChanged, finn, nil, &domain.Profile{
				FirstName: snapStr("Finn"), LastName: snapStr("Kelly"), DisplayName: snapStr("Finn Kelly"),
				Email: snapStr("finn.kelly@example.com"), Department: snapStr("Support"), Title: snapStr("Agent")}),
			snapJoiner(gus, &domain.Profile{
				Login: snapStr("gus.murphy@example.com"), FirstName: snapStr("Gus"), LastName: snapStr("Murphy"), DisplayName: snapStr("Gus Murphy"),
				Email: snapStr("gus.murphy@example.com"), Department: snapStr("Support"), Title: snapStr("Agent")}, grpSupport, grpMail),
			snapEvent(run, domain.KindMemberRemoved, cara, &grpSupport, nil),
		},
		Joiners:  1, // gus
		Leavers:  1, // cara
		Changes:  4, // ben, dev, eve, finn
		Removals: 2, // eve, cara
	}
	if diff := cmp.Diff(want, got, snapCmp); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	for _, e := range got.Events {
		if err := e.Validate(); err != nil {
			t.Errorf("event %s invalid: %v", e.SourceEventID, err)
		}
	}

	// The default cap (50, or 10% above 5 removals) lets 2 of 7 (28.6%)
	// through: too few removals for the percentage to apply.
	if got, err := domain.DiffSnapshot(prev, snap, domain.RemovalCap{}); err != nil || got.Removals != 2 {
		t.Errorf("default cap: %d removals, %v; want the 2 removals allowed", got.Removals, err)
	}
	// With the percentage applying above 1 removal, it trips.
	_, err = domain.DiffSnapshot(prev, snap, domain.RemovalCap{MinForPercent: 1})
	var capErr *domain.RemovalCapError
	if !errors.As(err, &capErr) || !errors.Is(err, domain.ErrRemovalCapExceeded) {
		t.Fatalf("cap above 1: error %v, want a *RemovalCapError", err)
	}
	if want := (domain.RemovalCapError{Removals: 2, Members: 7, Cap: domain.RemovalCap{
		Max: domain.DefaultMaxRemovals, MaxPercent: domain.DefaultMaxRemovalPercent, MinForPercent: 1}}); *capErr != want {
		t.Errorf("cap error %+v, want %+v", *capErr, want)
	}
}

// Folding a run's events into the last-known people and diffing the same
// snapshot again under a new run id yields nothing: the diff and the fold
// agree on what "up to date" means.
func TestDiffSnapshotFoldConverges(t *testing.T) {
	var prev []domain.Person
	var snap domain.Snapshot
	readSnapshotJSON(t, "prev_people.json", &prev)
	readSnapshotJSON(t, "run_2024-05-15.json", &snap)
	first, err := domain.DiffSnapshot(prev, snap, wideCap)
	if err != nil {
		t.Fatal(err)
	}
	people := snapFoldAll(t, prev, first.Events)

	snap.RunID = "run-2024-05-15T06:00Z-retry"
	second, err := domain.DiffSnapshot(people, snap, wideCap)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Events) != 0 {
		t.Errorf("second diff after folding the first: %d events, want none: %+v", len(second.Events), second.Events)
	}
}

// snapFoldAll folds events into people, finding each event's person by either
// immutable id and adding people it has not seen.
func snapFoldAll(t *testing.T, prev []domain.Person, events []domain.Event) []domain.Person {
	t.Helper()
	people := append([]domain.Person(nil), prev...)
	for _, e := range events {
		idx := -1
		for i, p := range people {
			if (e.Subject.OktaID != "" && p.OktaID == e.Subject.OktaID) || (e.Subject.IdCUserID != "" && p.IdCUserID == e.Subject.IdCUserID) {
				idx = i
				break
			}
		}
		if idx < 0 {
			people = append(people, domain.Person{})
			idx = len(people) - 1
		}
		next, changed := domain.Fold(people[idx], e)
		if !changed {
			t.Fatalf("event %s %s changed nothing when folded", e.Kind, e.SourceEventID)
		}
		people[idx] = next
	}
	return people
}

func TestDiffSnapshotCases(t *testing.T) {
	const okta1, idc1, okta2, idc2 = "00uAAAA1111", "idc-aaaa-1111", "00uBBBB2222", "idc-bbbb-2222"
	member := func(gs ...domain.GroupRef) map[string]domain.Membership {
		m := map[string]domain.Membership{}
		for _, g := range gs {
			for _, k := range []string{"okta:" + g.OktaID, "idc:" + g.IdCID} {
				m[k] = domain.Membership{Member: true, At: prevRunAt, By: "01PREV"}
			}
		}
		return m
	}
	stamp := func(v string) domain.Stamped { return domain.Stamped{Value: v, At: prevRunAt, By: "01PREV"} }
	person := func(okta, idc, login string, groups map[string]domain.Membership) domain.Person {
		key := okta
		if key == "" {
			key = idc
		}
		return domain.Person{Key: key, OktaID: okta, IdCUserID: idc, Login: stamp(login), FirstName: stamp("Ann"),
			LastName: stamp("Lee"), DisplayName: stamp("Ann Lee"), Email: stamp(login), Department: stamp("Ops"),
			Title: stamp("Agent"), Groups: groups}
	}
	user := func(okta, idc, login string, groups ...domain.GroupRef) domain.SnapshotUser {
		return domain.SnapshotUser{UserID: idc, OktaID: okta, Login: login, FirstName: "Ann", LastName: "Lee",
			DisplayName: "Ann Lee", Email: login, Department: "Ops", Title: "Agent", Groups: groups}
	}
	snapshot := func(complete bool, users ...domain.SnapshotUser) domain.Snapshot {
		return domain.Snapshot{RunID: "run-7", TakenAt: snapTakenAt, Complete: complete, Users: users,
			Groups: []domain.GroupRef{grpSupport, grpMail}}
	}
	settling := func(s domain.Snapshot, lag time.Duration) domain.Snapshot {
		s.Lag = lag
		return s
	}
	// hookRemoved records a hook's removal of p from every group it is a
	// member of, under both group ids, at at.
	hookRemoved := func(p domain.Person, at time.Time) domain.Person {
		for k := range p.Groups {
			p.Groups[k] = domain.Membership{Member: false, At: at, By: "01HOOK"}
		}
		return p
	}
	// hookJoined is a person known only from Okta hooks (no IdC id yet),
	// added to g at at.
	hookJoined := func(okta string, g domain.GroupRef, at time.Time) domain.Person {
		p := person(okta, "", "ann@example.com", map[string]domain.Membership{})
		for _, k := range []string{"okta:" + g.OktaID, "idc:" + g.IdCID} {
			p.Groups[k] = domain.Membership{Member: true, At: at, By: "01HOOK"}
		}
		return p
	}
	s1 := domain.Subject{OktaID: okta1, IdCUserID: idc1, Login: "ann@example.com"}
	full := &domain.Profile{Login: snapStr("ann@example.com"), FirstName: snapStr("Ann"), LastName: snapStr("Lee"),
		DisplayName: snapStr("Ann Lee"), Email: snapStr("ann@example.com"), Department: snapStr("Ops"), Title: snapStr("Agent")}

	tests := []struct {
		name string
		prev []domain.Person
		snap domain.Snapshot
		want domain.Diff
	}{
		{
			name: "unchanged gives no events",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", member(grpSupport))},
			snap: snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport)),
			want: domain.Diff{},
		},
		{
			name: "joiner",
			snap: snapshot(true, user(okta1, idc1, "ann@example.com", grpMail)),
			want: domain.Diff{Joiners: 1, Events: []domain.Event{snapJoiner(s1, full, grpMail)}},
		},
		{
			name: "known person without memberships joining is a joiner",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", nil)},
			snap: snapshot(true, user(okta1, idc1, "ann@example.com", grpMail)),
			want: domain.Diff{Joiners: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberAdded, s1, &grpMail, nil),
			}},
		},
		{
			name: "leaver absent from the snapshot",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", member(grpSupport, grpMail))},
			snap: snapshot(true),
			want: domain.Diff{Leavers: 1, Removals: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberRemoved, domain.Subject{OktaID: okta1, IdCUserID: idc1}, &grpSupport, nil),
				snapEvent("run-7", domain.KindMemberRemoved, domain.Subject{OktaID: okta1, IdCUserID: idc1}, &grpMail, nil),
			}},
		},
		{
			name: "leaver still listed but in no group",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", member(grpSupport))},
			snap: snapshot(true, user(okta1, idc1, "ann@example.com")),
			want: domain.Diff{Leavers: 1, Removals: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberRemoved, s1, &grpSupport, nil),
			}},
		},
		{
			name: "removed from a read group but member of an unread one is not a leaver",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", func() map[string]domain.Membership {
				m := member(grpSupport)
				m["okta:00gUNREAD"] = domain.Membership{Member: true, At: prevRunAt}
				return m
			}())},
			snap: snapshot(true),
			want: domain.Diff{Changes: 1, Removals: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberRemoved, domain.Subject{OktaID: okta1, IdCUserID: idc1}, &grpSupport, nil),
			}},
		},
		{
			name: "profile change carries only the differing fields",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", member(grpSupport))},
			snap: snapshot(true, func() domain.SnapshotUser {
				u := user(okta1, idc1, "ann@example.com", grpSupport)
				u.Title, u.Department = "Team Lead", ""
				return u
			}()),
			want: domain.Diff{Changes: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindProfileChanged, s1, nil, &domain.Profile{Department: snapStr(""), Title: snapStr("Team Lead")}),
			}},
		},
		{
			name: "login rename is matched by id: a profile change, not join and leave",
			prev: []domain.Person{person(okta1, idc1, "ann.old@example.com", member(grpSupport))},
			snap: snapshot(true, func() domain.SnapshotUser {
				u := user(okta1, idc1, "ann@example.com", grpSupport)
				u.Email = "ann.old@example.com"
				return u
			}()),
			want: domain.Diff{Changes: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindProfileChanged, s1, nil, &domain.Profile{Login: snapStr("ann@example.com")}),
			}},
		},
		{
			name: "a login taken over by someone else is two people",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", member(grpSupport))},
			snap: snapshot(true, user(okta2, idc2, "ann@example.com", grpSupport)),
			want: domain.Diff{Joiners: 1, Leavers: 1, Removals: 1, Events: []domain.Event{
				snapJoiner(domain.Subject{OktaID: okta2, IdCUserID: idc2, Login: "ann@example.com"}, full, grpSupport),
				snapEvent("run-7", domain.KindMemberRemoved, domain.Subject{OktaID: okta1, IdCUserID: idc1}, &grpSupport, nil),
			}},
		},
		{
			name: "person known by IdC id gains an Okta id",
			prev: []domain.Person{person("", idc1, "ann@example.com", member(grpSupport))},
			snap: snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport)),
			want: domain.Diff{Changes: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindProfileChanged, s1, nil, nil),
			}},
		},
		{
			name: "person known by IdC id whose snapshot user lacks an Okta id keeps the IdC key",
			prev: []domain.Person{person("", idc1, "ann@example.com", member(grpSupport))},
			snap: snapshot(true, user("", idc1, "ann@example.com", grpSupport, grpMail)),
			want: domain.Diff{Changes: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberAdded, domain.Subject{IdCUserID: idc1, Login: "ann@example.com"}, &grpMail, nil),
			}},
		},
		{
			// The IdC user's Okta id contradicts the person it is linked
			// to: neither a joiner nor a leaver, a conflict to report.
			name: "IdC id linked to a person with another Okta id is a conflict",
			prev: []domain.Person{person(okta2, idc1, "ann@example.com", member(grpSupport))},
			snap: snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport)),
			want: domain.Diff{Withheld: 1, Conflicts: []domain.IdentityConflict{{
				OktaID: okta1, IdCUserIDs: []string{idc1}, PersonKeys: []string{okta2},
				Reason: "IdC user idc-aaaa-1111 carries Okta user id 00uAAAA1111, but is linked to person 00uBBBB2222 (Okta user 00uBBBB2222)",
			}}},
		},
		{
			// Ann's IdC user was re-created: same Okta user, new IdC id.
			// The Okta id is authoritative: a relink, first, then the rest.
			name: "IdC user re-created: a relink under the Okta id",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", member(grpSupport))},
			snap: snapshot(true, func() domain.SnapshotUser {
				u := user(okta1, "idc-recreated", "ann@example.com", grpSupport, grpMail)
				u.Title = "Lead"
				return u
			}()),
			want: domain.Diff{Changes: 1, Events: []domain.Event{
				func() domain.Event {
					e := snapEvent("run-7", domain.KindProfileChanged, domain.Subject{OktaID: okta1, IdCUserID: "idc-recreated", Login: "ann@example.com"},
						nil, &domain.Profile{Title: snapStr("Lead")})
					e.ReplacesIdCUserID = idc1
					return e
				}(),
				snapEvent("run-7", domain.KindMemberAdded, domain.Subject{OktaID: okta1, IdCUserID: "idc-recreated", Login: "ann@example.com"}, &grpMail, nil),
			}},
		},
		{
			name: "re-created IdC user whose new id is linked to someone else is a conflict",
			prev: []domain.Person{
				person(okta1, idc1, "ann@example.com", member(grpSupport)),
				person(okta2, idc2, "bob@example.com", member(grpSupport)),
			},
			snap: snapshot(true, user(okta1, idc2, "ann@example.com", grpSupport)),
			want: domain.Diff{Withheld: 2, Conflicts: []domain.IdentityConflict{{
				OktaID: okta1, IdCUserIDs: []string{idc2}, PersonKeys: []string{okta1, okta2},
				Reason: "IdC user idc-bbbb-2222 carries Okta user id 00uAAAA1111, but is linked to person 00uBBBB2222 (Okta user 00uBBBB2222)",
			}}},
		},
		{
			name: "two IdC users carrying one Okta id are a conflict",
			prev: []domain.Person{
				person(okta1, idc1, "ann@example.com", member(grpSupport)),
				person(okta2, idc2, "bob@example.com", member(grpSupport)),
			},
			snap: snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport), user(okta1, "idc-twin", "ann.twin@example.com", grpMail),
				user(okta2, idc2, "bob@example.com")),
			want: domain.Diff{Withheld: 1, Leavers: 1, Removals: 1,
				Events: []domain.Event{snapEvent("run-7", domain.KindMemberRemoved, domain.Subject{OktaID: okta2, IdCUserID: idc2, Login: "bob@example.com"}, &grpSupport, nil)},
				Conflicts: []domain.IdentityConflict{{
					OktaID: okta1, IdCUserIDs: []string{idc1, "idc-twin"}, PersonKeys: []string{okta1},
					Reason: "IdC users idc-aaaa-1111, idc-twin all carry Okta user id 00uAAAA1111",
				}}},
		},
		{
			// Mail Users could not be read: Ann is still removed from the
			// Support Agents she left, Bob (only in Mail Users) keeps his
			// membership, and both are reported as withheld.
			name: "an unread group withholds removals for its members only",
			prev: []domain.Person{
				person(okta1, idc1, "ann@example.com", member(grpSupport, grpMail)),
				person(okta2, idc2, "bob@example.com", member(grpMail)),
			},
			snap: func() domain.Snapshot {
				s := snapshot(true)
				s.UnreadGroups = []domain.GroupRef{grpMail}
				return s
			}(),
			want: domain.Diff{Changes: 1, Removals: 1, Withheld: 2, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberRemoved, domain.Subject{OktaID: okta1, IdCUserID: idc1}, &grpSupport, nil),
			}},
		},
		{
			name: "an unread group adds no one",
			snap: func() domain.Snapshot {
				s := snapshot(true, user(okta1, idc1, "ann@example.com", grpMail, grpSupport))
				s.UnreadGroups = []domain.GroupRef{{IdCID: grpMail.IdCID}}
				return s
			}(),
			want: domain.Diff{Joiners: 1, Events: []domain.Event{snapJoiner(s1, full, grpSupport)}},
		},
		{
			// Ann's profile could not be read: she is left alone, not
			// taken for a leaver; Bob, read fine and in no group, leaves.
			// Cy has no IdC id yet and might be the unread user: held too.
			name: "an unread profile is never a removal",
			prev: []domain.Person{
				person(okta1, idc1, "ann@example.com", member(grpSupport)),
				person(okta2, idc2, "bob@example.com", member(grpSupport)),
				person("00uCY", "", "cy@example.com", member(grpSupport)),
			},
			snap: func() domain.Snapshot {
				s := snapshot(true, user(okta2, idc2, "bob@example.com"))
				s.UnreadUsers = []string{idc1}
				return s
			}(),
			want: domain.Diff{Leavers: 1, Removals: 1, Withheld: 2, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberRemoved, domain.Subject{OktaID: okta2, IdCUserID: idc2, Login: "bob@example.com"}, &grpSupport, nil),
			}},
		},
		{
			// With a settle window the facts occur at TakenAt − window, so
			// that a hook fact from within the window wins the fold.
			name: "a settle window moves the facts back by the window",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", member(grpSupport))},
			snap: settling(snapshot(true, user(okta1, idc1, "ann@example.com", grpMail)), 10*time.Minute),
			want: domain.Diff{Changes: 1, Removals: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberRemoved, s1, &grpSupport, nil),
				snapEvent("run-7", domain.KindMemberAdded, s1, &grpMail, nil),
			}},
		},
		{
			name: "incomplete snapshot removes no one but still adds and updates",
			prev: []domain.Person{
				person(okta1, idc1, "ann@example.com", member(grpSupport)),
				person(okta2, idc2, "bob@example.com", member(grpSupport)),
			},
			snap: snapshot(false, user(okta1, idc1, "ann@example.com", grpMail)),
			want: domain.Diff{Changes: 1, RemovalsSuppressed: true, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberAdded, s1, &grpMail, nil),
			}},
		},
		{
			name: "facts newer than the snapshot are not contradicted",
			prev: []domain.Person{func() domain.Person {
				p := person(okta1, idc1, "ann@example.com", member(grpSupport))
				late := snapTakenAt.Add(time.Second)
				p.Groups["okta:"+grpMail.OktaID] = domain.Membership{Member: false, At: late, By: "01HOOK"}
				p.Groups["okta:"+grpSupport.OktaID] = domain.Membership{Member: true, At: late, By: "01HOOK"}
				p.Login = domain.Stamped{Value: "ann.new@example.com", At: late, By: "01HOOK"}
				return p
			}()},
			// Read before the hook's rename, removal from Mail Users and
			// re-add to Support Agents.
			snap: snapshot(true, user(okta1, idc1, "ann@example.com", grpMail)),
			want: domain.Diff{},
		},
		{
			// Okta removed Ann 10 s before the run; IdC, still waiting for
			// the SCIM push, lists her. The snapshot must not re-add her.
			name: "hook removal within the settle window is not contradicted by a stale IdC",
			prev: []domain.Person{hookRemoved(person(okta1, idc1, "ann@example.com", member(grpSupport)), snapTakenAt.Add(-10*time.Second))},
			snap: settling(snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport)), 10*time.Minute),
			want: domain.Diff{},
		},
		{
			// Okta added Ann 10 s before the run; IdC does not know her
			// yet. The snapshot must not remove her.
			name: "hook joiner within the settle window is not removed by a stale IdC",
			prev: []domain.Person{hookJoined(okta1, grpSupport, snapTakenAt.Add(-10*time.Second))},
			snap: settling(snapshot(true), 10*time.Minute),
			want: domain.Diff{},
		},
		{
			name: "hook profile change within the settle window is not contradicted",
			prev: []domain.Person{func() domain.Person {
				p := person(okta1, idc1, "ann@example.com", member(grpSupport))
				p.Title = domain.Stamped{Value: "Team Lead", At: snapTakenAt.Add(-time.Minute), By: "01HOOK"}
				return p
			}()},
			snap: settling(snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport)), 10*time.Minute),
			want: domain.Diff{},
		},
		{
			// Without a window the same stale read re-adds her.
			name: "without a settle window a stale IdC contradicts the hook removal",
			prev: []domain.Person{hookRemoved(person(okta1, idc1, "ann@example.com", member(grpSupport)), snapTakenAt.Add(-10*time.Second))},
			snap: snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport)),
			want: domain.Diff{Joiners: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberAdded, s1, &grpSupport, nil),
			}},
		},
		{
			name: "without a settle window a stale IdC removes the hook joiner",
			prev: []domain.Person{hookJoined(okta1, grpSupport, snapTakenAt.Add(-10*time.Second))},
			snap: snapshot(true),
			want: domain.Diff{Leavers: 1, Removals: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberRemoved, domain.Subject{OktaID: okta1}, &grpSupport, nil),
			}},
		},
		{
			// A removal 11 minutes old that IdC still disagrees with is IdC's
			// truth: the snapshot corrects it.
			name: "hook removal older than the settle window is corrected",
			prev: []domain.Person{hookRemoved(person(okta1, idc1, "ann@example.com", member(grpSupport)), snapTakenAt.Add(-11*time.Minute))},
			snap: settling(snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport)), 10*time.Minute),
			want: domain.Diff{Joiners: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberAdded, s1, &grpSupport, nil),
			}},
		},
		{
			name: "hook joiner older than the settle window is removed",
			prev: []domain.Person{hookJoined(okta1, grpSupport, snapTakenAt.Add(-11*time.Minute))},
			snap: settling(snapshot(true), 10*time.Minute),
			want: domain.Diff{Leavers: 1, Removals: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberRemoved, domain.Subject{OktaID: okta1}, &grpSupport, nil),
			}},
		},
		{
			name: "hook profile change older than the settle window is corrected",
			prev: []domain.Person{func() domain.Person {
				p := person(okta1, idc1, "ann@example.com", member(grpSupport))
				p.Title = domain.Stamped{Value: "Team Lead", At: snapTakenAt.Add(-11 * time.Minute), By: "01HOOK"}
				return p
			}()},
			snap: settling(snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport)), 10*time.Minute),
			want: domain.Diff{Changes: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindProfileChanged, s1, nil, &domain.Profile{Title: snapStr("Agent")}),
			}},
		},
		{
			name: "a negative lag is no window",
			prev: []domain.Person{hookRemoved(person(okta1, idc1, "ann@example.com", member(grpSupport)), snapTakenAt.Add(-10*time.Second))},
			snap: settling(snapshot(true, user(okta1, idc1, "ann@example.com", grpSupport)), -time.Hour),
			want: domain.Diff{Joiners: 1, Events: []domain.Event{
				snapEvent("run-7", domain.KindMemberAdded, s1, &grpSupport, nil),
			}},
		},
		{
			name: "users without ids and groups not read are disregarded",
			prev: []domain.Person{person(okta1, idc1, "ann@example.com", member(grpSupport))},
			snap: snapshot(true,
				user(okta1, idc1, "ann@example.com", grpSupport, domain.GroupRef{OktaID: "00gNOTREAD"}),
				user("", "", "ghost@example.com", grpSupport)),
			want: domain.Diff{},
		},
	}
	dupGroups := snapshot(true, user(okta1, idc1, "ann@example.com", domain.GroupRef{IdCID: grpMail.IdCID}))
	dupGroups.Groups = []domain.GroupRef{{Name: "no ids"}, grpMail, {OktaID: grpMail.OktaID, Name: "Mail Users again"}}
	tests = append(tests, struct {
		name string
		prev []domain.Person
		snap domain.Snapshot
		want domain.Diff
	}{
		name: "read groups are deduplicated by id and groups without ids dropped",
		snap: dupGroups,
		want: domain.Diff{Joiners: 1, Events: []domain.Event{snapJoiner(s1, full, grpMail)}},
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.DiffSnapshot(tc.prev, tc.snap, wideCap)
			if err != nil {
				t.Fatalf("DiffSnapshot: %v", err)
			}
			want := lagged(tc.want, tc.snap.Lag)
			if diff := cmp.Diff(want, got, snapCmp); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
			for _, e := range got.Events {
				if err := e.Validate(); err != nil {
					t.Errorf("event %s invalid: %v", e.SourceEventID, err)
				}
			}
		})
	}
}

// capMembers returns n people, each a member of Support Agents, and a snapshot
// in which the first keep of them still are.
func capMembers(n, keep int) ([]domain.Person, domain.Snapshot) {
	prev := make([]domain.Person, n)
	snap := domain.Snapshot{RunID: "run-cap", TakenAt: snapTakenAt, Complete: true, Groups: []domain.GroupRef{grpSupport}}
	for i := range prev {
		okta, idc := fmt.Sprintf("00u%08d", i), fmt.Sprintf("idc-%08d", i)
		prev[i] = domain.Person{Key: okta, OktaID: okta, IdCUserID: idc,
			Login:  domain.Stamped{Value: okta + "@example.com", At: prevRunAt},
			Groups: map[string]domain.Membership{"okta:" + grpSupport.OktaID: {Member: true, At: prevRunAt}}}
		if i < keep {
			snap.Users = append(snap.Users, domain.SnapshotUser{UserID: idc, OktaID: okta, Login: okta + "@example.com", Groups: []domain.GroupRef{grpSupport}})
		}
	}
	return prev, snap
}

func TestDiffSnapshotRemovalCap(t *testing.T) {
	tests := []struct {
		name        string
		n, keep     int
		limit       domain.RemovalCap
		wantErr     bool
		wantMessage string
	}{
		{"absolute cap trips", 400, 280, domain.RemovalCap{Max: 50, MaxPercent: 50}, true,
			"snapshot would remove 120 of 400 members (30.0%), cap is 50, or 50.0% when more than 5: no events emitted"},
		{"percentage cap trips", 400, 280, domain.RemovalCap{Max: 1000, MaxPercent: 10}, true,
			"snapshot would remove 120 of 400 members (30.0%), cap is 1000, or 10.0% when more than 5"},
		{"exactly at both caps passes", 400, 360, domain.RemovalCap{Max: 40, MaxPercent: 10}, false, ""},
		{"one over the absolute cap trips", 400, 359, domain.RemovalCap{Max: 40, MaxPercent: 100}, true,
			"snapshot would remove 41 of 400 members (10.2%), cap is 40, or 100.0% when more than 5"},
		{"an empty read trips the default cap", 60, 0, domain.RemovalCap{}, true,
			"snapshot would remove 60 of 60 members (100.0%), cap is 50, or 10.0% when more than 5"},
		{"negative fields mean the defaults", 100, 89, domain.RemovalCap{Max: -1, MaxPercent: -5, MinForPercent: -3}, true,
			"snapshot would remove 11 of 100 members (11.0%), cap is 50, or 10.0% when more than 5"},
		// A small group: one leaver of eight is 12.5%, but too few
		// removals for the percentage to apply.
		{"one of eight removed passes the default cap", 8, 7, domain.RemovalCap{}, false, ""},
		{"five of eight removed passes the default cap", 8, 3, domain.RemovalCap{}, false, ""},
		{"six of eight removed trips the default cap", 8, 2, domain.RemovalCap{}, true,
			"snapshot would remove 6 of 8 members (75.0%), cap is 50, or 10.0% when more than 5"},
		{"six of forty (15%) trips the default cap", 40, 34, domain.RemovalCap{}, true,
			"snapshot would remove 6 of 40 members (15.0%), cap is 50, or 10.0% when more than 5"},
		{"two of eight trip a percentage that applies above 1 removal", 8, 6,
			domain.RemovalCap{MinForPercent: 1}, true,
			"snapshot would remove 2 of 8 members (25.0%), cap is 50, or 10.0% when more than 1"},
		{"the absolute cap applies below minForPercent", 400, 396, domain.RemovalCap{Max: 3, MaxPercent: 100, MinForPercent: 10}, true,
			"snapshot would remove 4 of 400 members (1.0%), cap is 3, or 100.0% when more than 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prev, snap := capMembers(tc.n, tc.keep)
			got, err := domain.DiffSnapshot(prev, snap, tc.limit)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("DiffSnapshot: %v", err)
				}
				if got.Removals != tc.n-tc.keep || got.Leavers != tc.n-tc.keep || len(got.Events) != tc.n-tc.keep {
					t.Errorf("got %d removals, %d leavers, %d events; want %d each", got.Removals, got.Leavers, len(got.Events), tc.n-tc.keep)
				}
				return
			}
			if !errors.Is(err, domain.ErrRemovalCapExceeded) {
				t.Fatalf("error %v, want ErrRemovalCapExceeded", err)
			}
			if !strings.HasPrefix(err.Error(), tc.wantMessage) {
				t.Errorf("message %q, want it to start %q", err, tc.wantMessage)
			}
			if got.Events != nil || got.Removals != 0 {
				t.Errorf("got %+v alongside the cap error, want a zero Diff", got)
			}
		})
	}

	// The same empty read, marked incomplete, removes no one and trips nothing.
	prev, snap := capMembers(60, 0)
	snap.Complete = false
	got, err := domain.DiffSnapshot(prev, snap, domain.RemovalCap{})
	if err != nil || len(got.Events) != 0 || !got.RemovalsSuppressed {
		t.Errorf("incomplete empty read: %+v, %v; want no events, removals suppressed, no error", got, err)
	}
}

func TestRemovalCapErrorWithoutMembers(t *testing.T) {
	err := &domain.RemovalCapError{Removals: 0, Members: 0, Cap: domain.RemovalCap{Max: 5, MaxPercent: 10, MinForPercent: 2}}
	if want := "snapshot would remove 0 of 0 members (0.0%), cap is 5, or 10.0% when more than 2"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want it to start %q", err, want)
	}
}

// Event ids derive from the facts and the time they occur, not from the
// run: the same difference found at the same time collides, a later run's
// copy restamped at the first time is the first event exactly, and every
// id is NewEventID of "<kind>[:<group>]:<digest>".
func TestDiffSnapshotIDs(t *testing.T) {
	var prev []domain.Person
	var snap domain.Snapshot
	readSnapshotJSON(t, "prev_people.json", &prev)
	readSnapshotJSON(t, "run_2024-05-15.json", &snap)
	a, err := domain.DiffSnapshot(prev, snap, wideCap)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range a.Events {
		if seen[e.ID] {
			t.Errorf("id %s used twice in one diff", e.ID)
		}
		seen[e.ID] = true
		if want := domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), e.OccurredAt); e.ID != want {
			t.Errorf("event %s: id %s, want NewEventID(source event id) %s", e.SourceEventID, e.ID, want)
		}
		prefix := string(e.Kind) + ":"
		if e.Group != nil {
			prefix += e.Group.Key() + ":"
		}
		digest, ok := strings.CutPrefix(e.SourceEventID, prefix)
		if !ok || len(digest) != 16 || strings.Trim(digest, "0123456789abcdef") != "" {
			t.Errorf("source event id %q, want %q and 16 hex digits", e.SourceEventID, prefix)
		}
	}

	other := snap
	other.RunID = "run-other"
	b, err := domain.DiffSnapshot(prev, other, wideCap)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("another run at the same time differs:\n%s", diff)
	}

	later := snap
	later.RunID, later.TakenAt = "run-later", snap.TakenAt.Add(15*time.Minute)
	c, err := domain.DiffSnapshot(prev, later, wideCap)
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]domain.Event{}
	for _, e := range a.Events {
		first[e.SourceEventID] = e
	}
	same := 0
	for _, e := range c.Events {
		if seen[e.ID] {
			t.Errorf("a later run reused id %s", e.ID)
		}
		f, ok := first[e.SourceEventID]
		if !ok {
			continue // a fact that was too recent to contradict 15 minutes ago
		}
		same++
		if back := e.Restamped(f.OccurredAt); !cmp.Equal(back, f) {
			t.Errorf("the later copy restamped at the first time is not the first event:\n%s", cmp.Diff(f, back))
		}
	}
	if same != len(a.Events) {
		t.Errorf("the later run found %d of the first run's %d differences again", same, len(a.Events))
	}
}

func TestDiffSnapshotInvalid(t *testing.T) {
	for _, snap := range []domain.Snapshot{
		{TakenAt: snapTakenAt, Complete: true},
		{RunID: "run-1", Complete: true},
	} {
		if _, err := domain.DiffSnapshot(nil, snap, wideCap); !errors.Is(err, domain.ErrInvalidSnapshot) {
			t.Errorf("snapshot %+v: error %v, want ErrInvalidSnapshot", snap, err)
		}
	}
}

// bigOrg is 100,000 people in two groups; the snapshot renames 1% of them,
// moves 1% between groups, removes 0.5% and adds 1,000 joiners.
func bigOrg() ([]domain.Person, domain.Snapshot) {
	const n = 100_000
	prev := make([]domain.Person, n)
	snap := domain.Snapshot{RunID: "run-big", TakenAt: snapTakenAt, Complete: true, Groups: []domain.GroupRef{grpSupport, grpMail},
		Users: make([]domain.SnapshotUser, 0, n+1000)}
	st := func(v string) domain.Stamped { return domain.Stamped{Value: v, At: prevRunAt, By: "01PREV"} }
	for i := range prev {
		okta, idc := fmt.Sprintf("00u%015d", i), fmt.Sprintf("idc-%032d", i)
		g := grpSupport
		if i%2 == 1 {
			g = grpMail
		}
		login := fmt.Sprintf("user%d@example.com", i)
		prev[i] = domain.Person{Key: okta, OktaID: okta, IdCUserID: idc, Login: st(login), FirstName: st("First"),
			LastName: st(fmt.Sprint("Last", i)), DisplayName: st("First Last"), Email: st(login), Department: st("Ops"), Title: st("Agent"),
			Groups: map[string]domain.Membership{"okta:" + g.OktaID: {Member: true, At: prevRunAt, By: "01PREV"},
				"idc:" + g.IdCID: {Member: true, At: prevRunAt, By: "01PREV"}}}
		if i%200 == 7 {
			continue // leaver
		}
		u := domain.SnapshotUser{UserID: idc, OktaID: okta, Login: login, FirstName: "First", LastName: fmt.Sprint("Last", i),
			DisplayName: "First Last", Email: login, Department: "Ops", Title: "Agent", Groups: []domain.GroupRef{g}}
		if i%100 == 3 {
			u.Login = fmt.Sprintf("renamed%d@example.com", i)
		}
		if i%100 == 5 {
			u.Groups = []domain.GroupRef{grpSupport, grpMail}
		}
		snap.Users = append(snap.Users, u)
	}
	for i := range 1000 {
		snap.Users = append(snap.Users, domain.SnapshotUser{UserID: fmt.Sprintf("idc-new-%d", i), OktaID: fmt.Sprintf("00uNEW%d", i),
			Login: fmt.Sprintf("new%d@example.com", i), Groups: []domain.GroupRef{grpMail}})
	}
	return prev, snap
}

func TestDiffSnapshot100k(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	prev, snap := bigOrg()
	got, err := domain.DiffSnapshot(prev, snap, domain.RemovalCap{Max: 1000, MaxPercent: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got.Joiners != 1000 || got.Leavers != 500 || got.Removals != 500 || got.Changes != 2000 {
		t.Errorf("got %d joiners, %d leavers, %d removals, %d changes; want 1000, 500, 500, 2000",
			got.Joiners, got.Leavers, got.Removals, got.Changes)
	}
	// 1,000 joiners (one observed event each), 500 leavers, 1,000 renames,
	// 1,000 movers.
	if want := 1000 + 500 + 1000 + 1000; len(got.Events) != want {
		t.Errorf("got %d events, want %d", len(got.Events), want)
	}
}

func BenchmarkDiffSnapshot100k(b *testing.B) {
	prev, snap := bigOrg()
	limit := domain.RemovalCap{Max: 1000, MaxPercent: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := domain.DiffSnapshot(prev, snap, limit); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCheckRemovalCap(t *testing.T) {
	if err := domain.CheckRemovalCap(domain.RemovalCap{}, 50, 1000); err != nil {
		t.Errorf("50 of 1000 under the default cap: %v", err)
	}
	err := domain.CheckRemovalCap(domain.RemovalCap{}, 51, 1000)
	var capErr *domain.RemovalCapError
	if !errors.As(err, &capErr) || capErr.Cap != (domain.RemovalCap{Max: 50, MaxPercent: 10, MinForPercent: 5}) {
		t.Errorf("51 of 1000: %v, want a *RemovalCapError with the effective default cap", err)
	}
	if err := domain.CheckRemovalCap(domain.RemovalCap{Max: 10, MaxPercent: 10, MinForPercent: 2}, 3, 10); !errors.Is(err, domain.ErrRemovalCapExceeded) {
		t.Errorf("3 of 10 above 10%%: %v, want ErrRemovalCapExceeded", err)
	}
}

func TestIdentityConflictIsAnError(t *testing.T) {
	var err error = domain.IdentityConflict{OktaID: "00u1", IdCUserIDs: []string{"a", "b"}, Reason: "IdC users a, b all carry Okta user id 00u1"}
	if !errors.Is(err, domain.ErrIdentityConflict) || err.Error() != "identity conflict: IdC users a, b all carry Okta user id 00u1" {
		t.Errorf("conflict error %q does not match ErrIdentityConflict or says something else", err)
	}
}
