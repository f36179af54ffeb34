package domain_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
)

func TestFoldFirstFact(t *testing.T) {
	e := fxFact(domain.KindMemberAdded, 0, "u1", withGroup(fxMail))
	p, changed := domain.Fold(domain.Person{}, e)
	if !changed {
		t.Fatal("first fact reported no change")
	}
	at := e.OccurredAt
	want := domain.Person{
		Key: fxOkta, OktaID: fxOkta, IdCUserID: fxIdC,
		Login:  domain.Stamped{Value: "jane.doe@example.com", At: at, By: e.ID},
		Linked: domain.Stamped{Value: fxIdC, At: at, By: e.ID},
		Groups: map[string]domain.Membership{
			"okta:" + fxMail.OktaID: {Member: true, At: at, By: e.ID},
			"idc:" + fxMail.IdCID:   {Member: true, At: at, By: e.ID},
		},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("Fold (-want +got):\n%s", diff)
	}
}

func TestFoldFields(t *testing.T) {
	jane := fxJane([]domain.GroupRef{fxMail}, fxAgents)
	tests := []struct {
		name        string
		start       domain.Person
		event       domain.Event
		wantChanged bool
		check       func(t *testing.T, p domain.Person)
	}{
		{
			name:        "later profile fact wins",
			start:       jane,
			event:       fxFact(domain.KindProfileChanged, 5, "p1", withProfile(domain.Profile{LastName: ptr("Doe-Smith")})),
			wantChanged: true,
			check: func(t *testing.T, p domain.Person) {
				if p.LastName.Value != "Doe-Smith" || p.FirstName.Value != "Jane" {
					t.Errorf("names %q %q, want Jane Doe-Smith", p.FirstName.Value, p.LastName.Value)
				}
			},
		},
		{
			name:        "earlier profile fact loses",
			start:       fxFold(jane, fxFact(domain.KindProfileChanged, 5, "p1", withProfile(domain.Profile{LastName: ptr("Doe-Smith")}))),
			event:       fxFact(domain.KindProfileChanged, 3, "p0", withProfile(domain.Profile{LastName: ptr("Smith")})),
			wantChanged: false,
			check: func(t *testing.T, p domain.Person) {
				if p.LastName.Value != "Doe-Smith" {
					t.Errorf("last name %q, want Doe-Smith", p.LastName.Value)
				}
			},
		},
		{
			name:        "an empty string is a fact, nil is none",
			start:       jane,
			event:       fxFact(domain.KindProfileChanged, 5, "p2", withProfile(domain.Profile{Title: ptr("")})),
			wantChanged: true,
			check: func(t *testing.T, p domain.Person) {
				if p.Title.Value != "" || p.Department.Value != "Support" || p.Email.Value == "" {
					t.Errorf("title %q department %q email %q", p.Title.Value, p.Department.Value, p.Email.Value)
				}
			},
		},
		{
			name:  "profile login wins over subject login",
			start: jane,
			event: fxFact(domain.KindProfileChanged, 5, "p3", withProfile(domain.Profile{Login: ptr("jane.smith@example.com")}),
				withSubject(domain.Subject{OktaID: fxOkta, Login: "stale@example.com"})),
			wantChanged: true,
			check: func(t *testing.T, p domain.Person) {
				if p.Login.Value != "jane.smith@example.com" {
					t.Errorf("login %q", p.Login.Value)
				}
			},
		},
		{
			name:        "subject login is a login fact",
			start:       jane,
			event:       fxFact(domain.KindMemberAdded, 5, "m1", withGroup(fxAgents), withSubject(domain.Subject{OktaID: fxOkta, Login: "jane.smith@example.com"})),
			wantChanged: true,
			check: func(t *testing.T, p domain.Person) {
				if p.Login.Value != "jane.smith@example.com" || !p.MemberOf(fxAgents) {
					t.Errorf("login %q, member of agents %v", p.Login.Value, p.MemberOf(fxAgents))
				}
			},
		},
		{
			name:        "member-removed",
			start:       jane,
			event:       fxFact(domain.KindMemberRemoved, 5, "r1", withGroup(domain.GroupRef{OktaID: fxMail.OktaID})),
			wantChanged: true,
			check: func(t *testing.T, p domain.Person) {
				if p.MemberOf(fxMail) {
					t.Error("still a member of mail after a later removal")
				}
			},
		},
		{
			name:        "stale member-added does not undo a later observation",
			start:       jane,
			event:       fxFact(domain.KindMemberAdded, -5, "a0", withGroup(domain.GroupRef{OktaID: fxAgents.OktaID})),
			wantChanged: false,
			check: func(t *testing.T, p domain.Person) {
				if p.MemberOf(fxAgents) {
					t.Error("stale add re-added a removed membership")
				}
			},
		},
		{
			name:        "duplicate fact changes nothing",
			start:       jane,
			event:       fxFact(domain.KindObserved, 0, "snap-0", withGroups([]domain.GroupRef{fxMail}, []domain.GroupRef{fxAgents}), withProfile(fxJaneProfile())),
			wantChanged: false,
		},
		{
			name:        "event about another Okta user is ignored",
			start:       jane,
			event:       fxFact(domain.KindDeleted, 9, "d1", withSubject(domain.Subject{OktaID: "00u9other000000000x7"})),
			wantChanged: false,
			check: func(t *testing.T, p domain.Person) {
				if !p.Active() || p.OktaID != fxOkta {
					t.Error("someone else's deletion applied")
				}
			},
		},
		{
			name:        "event about another IdC user is ignored",
			start:       jane,
			event:       fxFact(domain.KindDeleted, 9, "d2", withSubject(domain.Subject{IdCUserID: "9067c53e4f-00000000-0000-0000-0000-000000000000"})),
			wantChanged: false,
		},
		{
			name:        "invalid event is ignored",
			start:       jane,
			event:       domain.Event{Kind: domain.KindDeleted, Subject: domain.Subject{OktaID: fxOkta}, OccurredAt: fxAt(9)},
			wantChanged: false,
		},
		{
			name:        "key moves to the Okta id once it is known",
			start:       fxFold(domain.Person{}, fxFact(domain.KindProfileChanged, 0, "i1", withSubject(domain.Subject{IdCUserID: fxIdC}), withProfile(fxJaneProfile()))),
			event:       fxFact(domain.KindMemberAdded, 1, "m2", withGroup(fxMail), withSubject(domain.Subject{OktaID: fxOkta, IdCUserID: fxIdC})),
			wantChanged: true,
			check: func(t *testing.T, p domain.Person) {
				if p.Key != fxOkta || p.OktaID != fxOkta || p.IdCUserID != fxIdC {
					t.Errorf("ids %q %q %q", p.Key, p.OktaID, p.IdCUserID)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := domain.Fold(tt.start, tt.event)
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if !changed {
				if diff := cmp.Diff(tt.start, got); diff != "" {
					t.Errorf("unchanged fold altered the person:\n%s", diff)
				}
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestFoldStatus(t *testing.T) {
	tests := []struct {
		kind   domain.Kind
		want   domain.Status
		active bool
	}{
		{domain.KindSuspended, domain.StatusSuspended, false},
		{domain.KindUnsuspended, domain.StatusActive, true},
		{domain.KindDeactivated, domain.StatusDeactivated, false},
		{domain.KindReactivated, domain.StatusActive, true},
		{domain.KindDeleted, domain.StatusDeleted, false},
	}
	start := fxJane([]domain.GroupRef{fxMail})
	if !start.Active() || start.Status.Value != "" {
		t.Fatalf("a person with no lifecycle fact: status %q, active %v; want \"\" and active", start.Status.Value, start.Active())
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			p, _ := domain.Fold(start, fxFact(tt.kind, 1, "s-"+string(tt.kind)))
			if domain.Status(p.Status.Value) != tt.want || p.Active() != tt.active {
				t.Errorf("status %q active %v, want %q %v", p.Status.Value, p.Active(), tt.want, tt.active)
			}
		})
	}
	// Profile and observed facts say nothing about status.
	p := fxFold(start, fxFact(domain.KindSuspended, 1, "s1"), fxFact(domain.KindObserved, 2, "snap-2", withGroups([]domain.GroupRef{fxMail}, nil)))
	if p.Active() {
		t.Error("an observation re-activated a suspended person")
	}
}

func TestFoldTieBreaksByEventID(t *testing.T) {
	a := fxFact(domain.KindSuspended, 1, "tie-a")
	b := fxFact(domain.KindUnsuspended, 1, "tie-b")
	winner := a
	if b.ID > a.ID {
		winner = b
	}
	for _, order := range [][]domain.Event{{a, b}, {b, a}} {
		p := fxFold(domain.Person{}, order...)
		if p.Status.By != winner.ID {
			t.Errorf("order %s,%s: status set by %s, want the greater id %s", order[0].SourceEventID, order[1].SourceEventID, p.Status.By, winner.ID)
		}
	}
}

func TestFoldDoesNotModifyInput(t *testing.T) {
	start := fxJane([]domain.GroupRef{fxMail})
	before := fxJane([]domain.GroupRef{fxMail})
	_, _ = domain.Fold(start, fxFact(domain.KindMemberRemoved, 5, "r", withGroup(fxMail)))
	if diff := cmp.Diff(before, start); diff != "" {
		t.Errorf("Fold modified its input:\n%s", diff)
	}
}

func TestMemberOfAcrossIDs(t *testing.T) {
	bothIDs := fxMail
	oktaOnly := domain.GroupRef{OktaID: fxMail.OktaID}
	idcOnly := domain.GroupRef{IdCID: fxMail.IdCID}
	tests := []struct {
		name   string
		events []domain.Event
		config domain.GroupRef
		want   bool
	}{
		{"hook fact, config lists both", []domain.Event{fxFact(domain.KindMemberAdded, 1, "a", withGroup(oktaOnly))}, bothIDs, true},
		{"snapshot fact, config lists both", []domain.Event{fxFact(domain.KindObserved, 1, "o", withGroups([]domain.GroupRef{idcOnly}, nil))}, bothIDs, true},
		{"fact with both ids, config lists IdC only", []domain.Event{fxFact(domain.KindMemberAdded, 1, "a", withGroup(bothIDs))}, idcOnly, true},
		{"fact by Okta id, config lists IdC only", []domain.Event{fxFact(domain.KindMemberAdded, 1, "a", withGroup(oktaOnly))}, idcOnly, false},
		{
			"newest fact under either id decides: removal by snapshot",
			[]domain.Event{
				fxFact(domain.KindMemberAdded, 1, "a", withGroup(oktaOnly)),
				fxFact(domain.KindObserved, 2, "o", withGroups(nil, []domain.GroupRef{idcOnly})),
			},
			bothIDs, false,
		},
		{
			"newest fact under either id decides: re-add by hook",
			[]domain.Event{
				fxFact(domain.KindObserved, 2, "o", withGroups(nil, []domain.GroupRef{idcOnly})),
				fxFact(domain.KindMemberAdded, 3, "a", withGroup(oktaOnly)),
			},
			bothIDs, true,
		},
		{"no fact", nil, bothIDs, false},
		{"group without ids", []domain.Event{fxFact(domain.KindMemberAdded, 1, "a", withGroup(oktaOnly))}, domain.GroupRef{Name: "Mail Users"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fxFold(domain.Person{}, tt.events...)
			if got := p.MemberOf(tt.config); got != tt.want {
				t.Errorf("MemberOf(%+v) = %v, want %v; groups %+v", tt.config, got, tt.want, p.Groups)
			}
		})
	}
}

// TestFoldOrderFree folds random permutations, with random duplicates, of
// random event sets about one person and requires the same person every
// time, and that folding any of the events again changes nothing.
func TestFoldOrderFree(t *testing.T) {
	groups := []domain.GroupRef{
		fxMail, {OktaID: fxMail.OktaID}, {IdCID: fxMail.IdCID},
		fxAgents, {OktaID: fxAgents.OktaID}, fxSupervisors, fxUnmapped,
	}
	kinds := []domain.Kind{
		domain.KindMemberAdded, domain.KindMemberRemoved, domain.KindProfileChanged, domain.KindSuspended,
		domain.KindUnsuspended, domain.KindDeactivated, domain.KindReactivated, domain.KindDeleted, domain.KindObserved,
	}
	subjects := []domain.Subject{
		{OktaID: fxOkta, IdCUserID: fxIdC, Login: "jane.doe@example.com"},
		{OktaID: fxOkta, Login: "jane.smith@example.com"},
		{OktaID: fxOkta},
		{IdCUserID: fxIdC, Login: "jdoe@example.com"},
	}
	values := []string{"", "a", "b", "Jane", "Doe"}
	zones := []*time.Location{time.UTC, time.FixedZone("CEST", 2*3600), time.FixedZone("PDT", -7*3600)}

	for seed := uint64(1); seed <= 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x1d5c))
		pick := func(n int) int { return rng.IntN(n) }
		maybe := func() *string {
			if pick(3) == 0 {
				return nil
			}
			return ptr(values[pick(len(values))])
		}

		n := 1 + pick(12)
		events := make([]domain.Event, n)
		for i := range events {
			kind := kinds[pick(len(kinds))]
			e := domain.Event{
				Source:        []domain.Source{domain.SourceOktaHook, domain.SourceIdCSnapshot, domain.SourceReplay}[pick(3)],
				SourceEventID: fmt.Sprintf("s%d-e%d", seed, i),
				Kind:          kind,
				Subject:       subjects[pick(len(subjects))],
				// Few distinct times, so that ties are common.
				OccurredAt: fxAt(pick(4)).In(zones[pick(len(zones))]),
			}
			if pick(2) == 0 {
				e.Profile = &domain.Profile{Login: maybe(), FirstName: maybe(), LastName: maybe(), DisplayName: maybe(), Email: maybe(), Department: maybe(), Title: maybe()}
			}
			switch kind {
			case domain.KindMemberAdded, domain.KindMemberRemoved:
				g := groups[pick(len(groups))]
				e.Group = &g
			case domain.KindObserved:
				used := map[string]bool{}
				for _, g := range groups {
					k1, k2 := "o"+g.OktaID, "i"+g.IdCID
					if (g.OktaID != "" && used[k1]) || (g.IdCID != "" && used[k2]) {
						continue // Groups and NotGroups must not overlap
					}
					switch pick(3) {
					case 0:
						e.Groups = append(e.Groups, g)
					case 1:
						e.NotGroups = append(e.NotGroups, g)
					default:
						continue
					}
					used[k1], used[k2] = g.OktaID != "", g.IdCID != ""
				}
			}
			e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), e.OccurredAt)
			if err := e.Validate(); err != nil {
				t.Fatalf("seed %d: generated an invalid event: %v", seed, err)
			}
			events[i] = e
		}

		want := fxFold(domain.Person{}, events...)
		for perm := 0; perm < 20; perm++ {
			shuffled := append([]domain.Event(nil), events...)
			for d := pick(4); d > 0; d-- {
				shuffled = append(shuffled, events[pick(n)])
			}
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got := fxFold(domain.Person{}, shuffled...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d permutation %d: folding order changed the person (-in order +shuffled):\n%s", seed, perm, diff)
			}
		}
		for _, e := range events {
			if again, changed := domain.Fold(want, e); changed || !cmp.Equal(again, want) {
				t.Fatalf("seed %d: refolding %s (%s) changed the person", seed, e.ID, e.Kind)
			}
		}
	}
}

func TestFoldReconcileChangesNothing(t *testing.T) {
	rec := fxFact(domain.KindReconcile, 9, "reconcile:workmail:x", func(e *domain.Event) {
		e.Source, e.Target, e.Subject.Login = domain.SourceIdCSnapshot, domain.TargetWorkMail, ""
	})
	if err := rec.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]domain.Person{"known person": fxJane([]domain.GroupRef{fxMail}), "nobody": {}} {
		if got, changed := domain.Fold(p, rec); changed || !cmp.Equal(got, p) {
			t.Errorf("%s: a reconcile event changed the person (changed=%v):\n%s", name, changed, cmp.Diff(p, got))
		}
	}
}

// relinkFact is the snapshot's relink of the fixture person to IdC user to
// (replacing from) at minute.
func relinkFact(minute int, from, to string) domain.Event {
	return fxFact(domain.KindProfileChanged, minute, "relink-"+to, func(e *domain.Event) {
		e.Source = domain.SourceIdCSnapshot
		e.Subject.IdCUserID = to
		e.ReplacesIdCUserID = from
	})
}

func TestFoldRelink(t *testing.T) {
	const newIdC, newerIdC = "idc-recreated-1", "idc-recreated-2"
	jane := fxJane([]domain.GroupRef{fxMail})
	relink := relinkFact(10, fxIdC, newIdC)

	p, changed := domain.Fold(jane, relink)
	if !changed || p.IdCUserID != newIdC || p.OktaID != fxOkta || p.Key != fxOkta {
		t.Fatalf("relink: changed=%v ids %s/%s key %s; want IdC %s under the same Okta id and key", changed, p.OktaID, p.IdCUserID, p.Key, newIdC)
	}
	if want := (domain.Stamped{Value: fxIdC, At: relink.OccurredAt, By: relink.ID}); p.Relinked != want {
		t.Errorf("Relinked = %+v, want %+v", p.Relinked, want)
	}
	if !p.MemberOf(fxMail) || p.Login.Value != jane.Login.Value {
		t.Error("a relink lost the person's other facts")
	}
	if again, changed := domain.Fold(p, relink); changed || !cmp.Equal(again, p) {
		t.Error("folding the relink again changed the person")
	}

	if want := (domain.Stamped{Value: newIdC, At: relink.OccurredAt, By: relink.ID}); p.Linked != want {
		t.Errorf("Linked = %+v, want %+v", p.Linked, want)
	}

	// A relink from an id the person no longer has, older than the link,
	// changes nothing (CheckSubject calls it stale); a relink from the
	// current id moves on.
	if _, changed := domain.Fold(p, relinkFact(9, fxIdC, newerIdC)); changed {
		t.Error("an older relink from a replaced id changed the person")
	}
	q, changed := domain.Fold(p, relinkFact(20, newIdC, newerIdC))
	if !changed || q.IdCUserID != newerIdC || q.Relinked.Value != newIdC {
		t.Errorf("second relink: changed=%v IdC %s relinked from %s", changed, q.IdCUserID, q.Relinked.Value)
	}
}

// TestFoldImplicitRelink: a fact with the person's Okta id naming another
// IdC user id re-links the person when it is newer than their link fact,
// and changes nothing when it is not.
func TestFoldImplicitRelink(t *testing.T) {
	const newIdC, newerIdC = "idc-recreated-1", "idc-recreated-2"
	jane := fxJane([]domain.GroupRef{fxMail}) // linked to fxIdC at minute 0
	naming := func(minute int, sid, idc string) domain.Event {
		return fxFact(domain.KindObserved, minute, sid, withSubject(domain.Subject{OktaID: fxOkta, IdCUserID: idc}),
			withGroups([]domain.GroupRef{fxMail}, []domain.GroupRef{fxAgents}), withProfile(domain.Profile{Title: ptr("Boss")}))
	}

	newer := naming(30, "snap-30", newIdC)
	p, changed := domain.Fold(jane, newer)
	if !changed || p.IdCUserID != newIdC || p.OktaID != fxOkta || p.Key != fxOkta {
		t.Fatalf("newer fact: changed=%v ids %s/%s key %s; want IdC %s under the same Okta id and key", changed, p.OktaID, p.IdCUserID, p.Key, newIdC)
	}
	if want := (domain.Stamped{Value: fxIdC, At: newer.OccurredAt, By: newer.ID}); p.Relinked != want {
		t.Errorf("Relinked = %+v, want %+v", p.Relinked, want)
	}
	if want := (domain.Stamped{Value: newIdC, At: newer.OccurredAt, By: newer.ID}); p.Linked != want {
		t.Errorf("Linked = %+v, want %+v", p.Linked, want)
	}
	if p.Title.Value != "Boss" || !p.MemberOf(fxMail) || p.MemberOf(fxAgents) || p.Login.Value != jane.Login.Value {
		t.Error("the relinking fact's facts were not folded, or the person's others were lost")
	}
	if err := domain.CheckSubject(jane, newer); err != nil {
		t.Errorf("CheckSubject of the newer fact = %v, want nil", err)
	}
	if again, changed := domain.Fold(p, newer); changed || !cmp.Equal(again, p) {
		t.Error("folding the fact again changed the person")
	}

	// An older fact naming another IdC user is stale: nothing changes.
	older := naming(20, "snap-20", newerIdC)
	if got, changed := domain.Fold(p, older); changed || !cmp.Equal(got, p) {
		t.Errorf("an older fact changed the person (changed=%v):\n%s", changed, cmp.Diff(p, got))
	}
	if err := domain.CheckSubject(p, older); !errors.Is(err, domain.ErrSupersededLink) || domain.KindOf(err) != domain.ErrorStale {
		t.Errorf("CheckSubject of the older fact = %v, want a stale ErrSupersededLink", err)
	}
	// The same fact first, then the newer one: the newest observation wins
	// whichever order they are folded in.
	for _, order := range [][]domain.Event{{older, newer}, {newer, older}} {
		if got := fxFold(jane, order...); got.IdCUserID != newIdC {
			t.Errorf("folding %s then %s: IdC %s, want %s", order[0].SourceEventID, order[1].SourceEventID, got.IdCUserID, newIdC)
		}
	}

	// A later fact naming the current IdC user moves the link fact on, so
	// that an older fact naming another one stays stale.
	confirm := naming(40, "snap-40", newIdC)
	r, changed := domain.Fold(p, confirm)
	if !changed || r.Linked != (domain.Stamped{Value: newIdC, At: confirm.OccurredAt, By: confirm.ID}) {
		t.Errorf("a newer fact naming the current IdC user: changed=%v Linked %+v", changed, r.Linked)
	}
	if _, changed := domain.Fold(r, naming(35, "snap-35", newerIdC)); changed {
		t.Error("a fact older than the confirmed link re-linked the person")
	}

	// A fact naming the IdC user the person was re-linked away from stays
	// stale even when newer.
	if _, changed := domain.Fold(p, naming(50, "snap-50", fxIdC)); changed {
		t.Error("a fact naming the replaced IdC user re-linked the person back")
	}
	// Without the person's Okta id a fact naming another IdC user changes
	// nothing.
	idcOnly := fxFact(domain.KindProfileChanged, 50, "idc-only", withSubject(domain.Subject{IdCUserID: newerIdC}),
		withProfile(domain.Profile{Title: ptr("Other")}))
	if got, changed := domain.Fold(jane, idcOnly); changed || got.IdCUserID != fxIdC {
		t.Errorf("an IdC-only fact re-linked the person (changed=%v, IdC %s)", changed, got.IdCUserID)
	}
}

// TestFoldUnstampedLink: a person stored before idsync recorded the link
// fact counts as linked at the zero time (or at their last relink): any
// fact with their Okta id naming another IdC user re-links them.
func TestFoldUnstampedLink(t *testing.T) {
	const newIdC = "idc-recreated-1"
	legacy := fxJane([]domain.GroupRef{fxMail})
	legacy.Linked = domain.Stamped{}
	e := fxFact(domain.KindSuspended, 1, "s", withSubject(domain.Subject{OktaID: fxOkta, IdCUserID: newIdC}))
	p, changed := domain.Fold(legacy, e)
	if !changed || p.IdCUserID != newIdC || p.Relinked.Value != fxIdC || p.Status.Value != string(domain.StatusSuspended) {
		t.Errorf("unstamped link: changed=%v IdC %s relinked from %q status %q", changed, p.IdCUserID, p.Relinked.Value, p.Status.Value)
	}
	if err := domain.CheckSubject(legacy, e); err != nil {
		t.Errorf("CheckSubject = %v, want nil", err)
	}

	// Relinked but without a link stamp: the relink's time counts.
	relinked := fxFold(legacy, relinkFact(10, fxIdC, newIdC))
	relinked.Linked = domain.Stamped{}
	if _, changed := domain.Fold(relinked, fxFact(domain.KindSuspended, 5, "s5",
		withSubject(domain.Subject{OktaID: fxOkta, IdCUserID: "idc-recreated-2"}))); changed {
		t.Error("a fact older than the relink re-linked the person")
	}
	if q, changed := domain.Fold(relinked, fxFact(domain.KindSuspended, 15, "s15",
		withSubject(domain.Subject{OktaID: fxOkta, IdCUserID: "idc-recreated-2"}))); !changed || q.IdCUserID != "idc-recreated-2" {
		t.Errorf("a fact newer than the relink: changed=%v IdC %s", changed, q.IdCUserID)
	}
}

func TestCheckSubject(t *testing.T) {
	const newIdC = "idc-recreated-1"
	jane := fxJane([]domain.GroupRef{fxMail})
	relinked := fxFold(jane, relinkFact(10, fxIdC, newIdC))
	tests := []struct {
		name   string
		p      domain.Person
		e      domain.Event
		is     error
		kind   domain.ErrorKind
		detail string
	}{
		{"same ids", jane, fxFact(domain.KindSuspended, 1, "s"), nil, domain.ErrorNone, ""},
		{"nobody yet", domain.Person{}, fxFact(domain.KindSuspended, 1, "s"), nil, domain.ErrorNone, ""},
		{"okta id only", jane, fxFact(domain.KindSuspended, 1, "s", withSubject(domain.Subject{OktaID: fxOkta})), nil, domain.ErrorNone, ""},
		{"person without an idc id yet", fxFold(domain.Person{}, fxFact(domain.KindMemberAdded, 0, "h", withGroup(fxMail),
			withSubject(domain.Subject{OktaID: fxOkta}))), fxFact(domain.KindSuspended, 1, "s"), nil, domain.ErrorNone, ""},
		{"a relink", jane, relinkFact(10, fxIdC, newIdC), nil, domain.ErrorNone, ""},
		{"after the relink, the new id", relinked, fxFact(domain.KindSuspended, 11, "s", withSubject(domain.Subject{OktaID: fxOkta, IdCUserID: newIdC})),
			nil, domain.ErrorNone, ""},
		{"after the relink, the replaced id is stale", relinked, fxFact(domain.KindMemberAdded, 5, "old", withGroup(fxAgents)),
			domain.ErrSupersededLink, domain.ErrorStale, "re-linked away from"},
		{"another okta user", jane, fxFact(domain.KindSuspended, 1, "s", withSubject(domain.Subject{OktaID: "00uSOMEONEELSE"})),
			domain.ErrIdentityConflict, domain.ErrorPermanent, "names Okta user 00uSOMEONEELSE, person " + fxOkta + " is Okta user " + fxOkta},
		{"an idc user never linked, newer: an implicit relink", jane, fxFact(domain.KindSuspended, 1, "s",
			withSubject(domain.Subject{OktaID: fxOkta, IdCUserID: "idc-stranger"})), nil, domain.ErrorNone, ""},
		{"an idc user never linked, older: stale", fxFold(jane, fxFact(domain.KindSuspended, 5, "s5")), fxFact(domain.KindSuspended, 3, "s3",
			withSubject(domain.Subject{OktaID: fxOkta, IdCUserID: "idc-stranger"})),
			domain.ErrSupersededLink, domain.ErrorStale, "names IdC user idc-stranger and predates person " + fxOkta + "'s link to " + fxIdC},
		{"another okta user with another idc user", jane, fxFact(domain.KindSuspended, 1, "s",
			withSubject(domain.Subject{OktaID: "00uSOMEONEELSE", IdCUserID: "idc-stranger"})),
			domain.ErrIdentityConflict, domain.ErrorPermanent, "names Okta user 00uSOMEONEELSE"},
		{"an idc-only subject naming another idc user", jane, fxFact(domain.KindSuspended, 1, "s",
			withSubject(domain.Subject{IdCUserID: "idc-stranger"})),
			domain.ErrIdentityConflict, domain.ErrorPermanent, "names IdC user idc-stranger, person " + fxOkta + " is linked to IdC user " + fxIdC},
		{"before the relink, an earlier link is stale", fxFold(relinked, relinkFact(12, newIdC, "idc-recreated-2")),
			fxFact(domain.KindMemberAdded, 9, "older", withGroup(fxAgents)),
			domain.ErrSupersededLink, domain.ErrorStale, "predates person"},
		{"before the relink, an older relink is stale", fxFold(relinked, relinkFact(12, newIdC, "idc-recreated-2")),
			relinkFact(8, "idc-gone", fxIdC), domain.ErrSupersededLink, domain.ErrorStale, "predates person"},
		{"before the relink, an idc-only subject is stale", fxFold(relinked, relinkFact(12, newIdC, "idc-recreated-2")),
			fxFact(domain.KindMemberAdded, 9, "older-idc", withGroup(fxAgents), withSubject(domain.Subject{IdCUserID: "idc-gone"})),
			domain.ErrSupersededLink, domain.ErrorStale, "predates person"},
		{"after the relink, an idc user never linked, newer: an implicit relink", relinked, fxFact(domain.KindSuspended, 11, "s",
			withSubject(domain.Subject{OktaID: fxOkta, IdCUserID: "idc-stranger"})), nil, domain.ErrorNone, ""},
		{"after the relink, an idc-only subject never linked", relinked, fxFact(domain.KindSuspended, 11, "s",
			withSubject(domain.Subject{IdCUserID: "idc-stranger"})),
			domain.ErrIdentityConflict, domain.ErrorPermanent, "names IdC user idc-stranger"},
		{"a newer relink from another id", relinked, relinkFact(20, "idc-stranger", "idc-recreated-2"), nil, domain.ErrorNone, ""},
		{"an older relink from another id", relinked, relinkFact(9, "idc-stranger", "idc-recreated-2"),
			domain.ErrSupersededLink, domain.ErrorStale, "predates person " + fxOkta + "'s link to " + newIdC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.CheckSubject(tc.p, tc.e)
			if tc.is == nil {
				if err != nil {
					t.Fatalf("CheckSubject = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.is) || domain.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("CheckSubject = %v (%s), want %v (%s) saying %q", err, domain.KindOf(err), tc.is, tc.kind, tc.detail)
			}
			if strings.Contains(err.Error(), "jane") {
				t.Errorf("the error carries profile data: %v", err)
			}
		})
	}
}
