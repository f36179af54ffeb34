package domain_test

import (
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
)

// The flip-flop race of a person added to the WorkMail group through the
// Okta API while a snapshot runs: Okta's hook is seconds ahead of the SCIM
// push to IdC, so the snapshot reads IdC without the person. Whatever order
// the hook's fact and the snapshot's events are folded in, a person who is
// in the group in both sources (as soon as the push lands) must never be
// left without the membership, and so never disabled.
func TestSnapshotRaceWithHookAdd(t *testing.T) {
	const lag = domain.DefaultSettleWindow
	taken := snapTakenAt
	mail := domain.WorkMailConfig{OrganizationID: fxOrg, MailDomain: "example.com", Groups: []domain.GroupRef{grpMail}}
	ann := domain.Subject{OktaID: "00uANNRACE", IdCUserID: "idc-ann-race", Login: "ann@example.com"}
	hookAdd := func(at time.Time) domain.Event {
		e := domain.Event{Source: domain.SourceOktaHook, SourceEventID: "hook-add", Kind: domain.KindMemberAdded,
			Subject: domain.Subject{OktaID: ann.OktaID, Login: ann.Login}, Group: &domain.GroupRef{OktaID: grpMail.OktaID}, OccurredAt: at, ReceivedAt: at}
		e.ID = domain.NewEventID(e.Source, e.SourceEventID, ann.OktaID, at)
		return e
	}
	long := taken.Add(-30 * 24 * time.Hour)
	// member is Ann as last known long ago: a member of Mail Users.
	member := domain.Person{Key: ann.OktaID, OktaID: ann.OktaID, IdCUserID: ann.IdCUserID,
		Login: domain.Stamped{Value: ann.Login, At: long, By: "01OLD"},
		Groups: map[string]domain.Membership{
			"okta:" + grpMail.OktaID: {Member: true, At: long, By: "01OLD"},
			"idc:" + grpMail.IdCID:   {Member: true, At: long, By: "01OLD"},
		}}
	// IdC does not list Ann in Mail Users (the push has not landed).
	snap := domain.Snapshot{RunID: "run-race", TakenAt: taken, Lag: lag, Complete: true, Groups: []domain.GroupRef{grpMail}}

	t.Run("hook add folded before the read: no removal", func(t *testing.T) {
		folded, _ := domain.Fold(domain.Person{}, hookAdd(taken.Add(-300*time.Millisecond)))
		d, err := domain.DiffSnapshot([]domain.Person{folded}, snap, wideCap)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Events) != 0 || d.Removals != 0 {
			t.Fatalf("the snapshot removed a person the hook added 0.3 s before: %+v", d.Events)
		}
	})

	// Ann's removal long ago never reached idsync (a lost hook), so the
	// snapshot rightly emits it; Okta re-adds her 1 s before the read, and
	// that hook fact is folded only after the snapshot read the state.
	t.Run("hook add published before the read, folded after it, is not lost", func(t *testing.T) {
		d, err := domain.DiffSnapshot([]domain.Person{member}, snap, wideCap)
		if err != nil {
			t.Fatal(err)
		}
		if d.Removals != 1 || len(d.Events) != 1 || d.Events[0].Kind != domain.KindMemberRemoved {
			t.Fatalf("want the one removal IdC shows, got %+v", d.Events)
		}
		add := hookAdd(taken.Add(-time.Second))
		for name, order := range map[string][]domain.Event{
			"hook first":     {add, d.Events[0]},
			"snapshot first": {d.Events[0], add},
		} {
			p := fxFold(member, order...)
			if !p.MemberOf(grpMail) || !mail.Qualifies(p) {
				t.Errorf("%s: the hook's add lost to the snapshot's removal (occurred %v, the add %v)", name, d.Events[0].OccurredAt, add.OccurredAt)
			}
			enabled := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: "wm-ann", Status: domain.RemoteEnabled,
				Name: "ann", Email: "ann@example.com", DisplayName: "ann", Version: 3}
			plan, err := domain.PlanWorkMail(mail, "example.com", p, enabled, taken)
			if err != nil || plan.Leaves() {
				t.Errorf("%s: planned %+v (%v) for a person in the group in both sources", name, plan.Ops, err)
			}
		}
	})

	// A removal the source really shows is still applied once it is older
	// than the window: the next run's removal occurs after the add.
	t.Run("a removal IdC keeps showing wins once the window has passed", func(t *testing.T) {
		p := fxFold(member, hookAdd(taken.Add(-time.Second)))
		later := snap
		later.TakenAt = taken.Add(lag + time.Minute)
		d, err := domain.DiffSnapshot([]domain.Person{p}, later, wideCap)
		if err != nil || len(d.Events) != 1 {
			t.Fatalf("later run: %+v, %v; want the removal", d.Events, err)
		}
		if fxFold(p, d.Events...).MemberOf(grpMail) {
			t.Error("the source's removal never wins")
		}
	})
}
