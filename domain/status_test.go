package domain_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
)

func TestStatusFact(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "status", "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name            string
		Cur             domain.Status
		CurAfterSettled bool
		Okta            domain.Status
		Known           bool
		Want            domain.Kind
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	settled := snapTakenAt.Add(-time.Hour)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			curAt := settled.Add(-time.Minute)
			if c.CurAfterSettled {
				curAt = settled.Add(time.Minute)
			}
			if got := domain.StatusFact(c.Cur, curAt, c.Okta, c.Known, settled); got != c.Want {
				t.Errorf("StatusFact(%q, %q, known %v) = %q, want %q", c.Cur, c.Okta, c.Known, got, c.Want)
			}
		})
	}
	// At the settle boundary itself the stored fact is settled.
	if got := domain.StatusFact(domain.StatusActive, settled, domain.StatusSuspended, true, settled); got != domain.KindSuspended {
		t.Errorf("at the boundary = %q, want suspended", got)
	}
}

// statusPerson is a last-known member of grpSupport with the given
// status, stamped at at.
func statusPerson(okta, idc string, st domain.Status, at time.Time) domain.Person {
	p := domain.Person{Key: okta, OktaID: okta, IdCUserID: idc,
		Login:  domain.Stamped{Value: okta + "@example.com", At: prevRunAt},
		Groups: map[string]domain.Membership{}}
	for _, k := range []string{"okta:" + grpSupport.OktaID, "idc:" + grpSupport.IdCID} {
		p.Groups[k] = domain.Membership{Member: true, At: prevRunAt, By: "x"}
	}
	if st != "" {
		p.Status = domain.Stamped{Value: string(st), At: at, By: "hook"}
	}
	return p
}

func statusUser(p domain.Person) domain.SnapshotUser {
	return domain.SnapshotUser{UserID: p.IdCUserID, OktaID: p.OktaID, Login: p.Login.Value, Groups: []domain.GroupRef{grpSupport}}
}

func TestStatusToConfirm(t *testing.T) {
	settled := snapTakenAt
	prev := []domain.Person{
		statusPerson("00uSUSPENDEDaaaaaaaa", "i1", domain.StatusSuspended, prevRunAt),
		statusPerson("00uDEACTIVATEDaaaaaa", "i2", domain.StatusDeactivated, prevRunAt),
		statusPerson("00uLISTEDaaaaaaaaaaa", "i3", domain.StatusSuspended, prevRunAt),
		statusPerson("00uACTIVEaaaaaaaaaaa", "i4", domain.StatusActive, prevRunAt),
		statusPerson("00uDELETEDaaaaaaaaaa", "i5", domain.StatusDeleted, prevRunAt),
		statusPerson("00uRECENTaaaaaaaaaaa", "i6", domain.StatusSuspended, settled.Add(time.Second)),
		{Key: "i7", IdCUserID: "i7", Status: domain.Stamped{Value: string(domain.StatusSuspended), At: prevRunAt}},
	}
	got := domain.StatusToConfirm(prev, map[string]domain.Status{"00uLISTEDaaaaaaaaaaa": domain.StatusSuspended}, settled)
	want := []string{"00uDEACTIVATEDaaaaaa", "00uSUSPENDEDaaaaaaaa"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StatusToConfirm (-want +got):\n%s", diff)
	}
}

func TestDiffSnapshotStatus(t *testing.T) {
	const lag = 10 * time.Minute
	settled := snapTakenAt.Add(-lag)
	susp := statusPerson("00uSUSPaaaaaaaaaaaaa", "idc-susp", domain.StatusActive, prevRunAt)
	unsusp := statusPerson("00uUNSUSPaaaaaaaaaaa", "idc-unsusp", domain.StatusSuspended, prevRunAt)
	gone := statusPerson("00uGONEaaaaaaaaaaaaa", "idc-gone", domain.StatusDeactivated, prevRunAt)
	recent := statusPerson("00uRECENTaaaaaaaaaaa", "idc-recent", domain.StatusActive, settled.Add(time.Minute))
	quiet := statusPerson("00uQUIETaaaaaaaaaaaa", "idc-quiet", "", time.Time{})
	absent := statusPerson("00uABSENTaaaaaaaaaaa", "idc-absent", domain.StatusActive, prevRunAt)
	prev := []domain.Person{susp, unsusp, gone, recent, quiet, absent}
	joiner := domain.SnapshotUser{UserID: "idc-new", OktaID: "00uNEWaaaaaaaaaaaaaa", Login: "new@example.com", Groups: []domain.GroupRef{grpSupport}}
	status := &domain.OktaStatus{Complete: true, Users: map[string]domain.Status{
		susp.OktaID:   domain.StatusSuspended,
		unsusp.OktaID: domain.StatusActive, // read one by one
		gone.OktaID:   domain.StatusDeleted,
		recent.OktaID: domain.StatusSuspended, // the hook said active within the window
		absent.OktaID: domain.StatusDeactivated,
		joiner.OktaID: domain.StatusSuspended,
	}}
	snap := func(complete bool, st *domain.OktaStatus) domain.Snapshot {
		users := []domain.SnapshotUser{statusUser(susp), statusUser(unsusp), statusUser(gone), statusUser(recent), statusUser(quiet), joiner}
		// absent is not in the snapshot (nor in any group, as IdC says).
		return domain.Snapshot{RunID: "run", TakenAt: snapTakenAt, Lag: lag, Complete: complete, Users: users,
			Groups: []domain.GroupRef{grpSupport}, Status: st}
	}
	kinds := func(d domain.Diff) map[string][]domain.Kind {
		out := map[string][]domain.Kind{}
		for _, e := range d.Events {
			out[e.Subject.Key()] = append(out[e.Subject.Key()], e.Kind)
			if e.OccurredAt != settled || e.ReceivedAt != snapTakenAt || e.Source != domain.SourceIdCSnapshot {
				t.Errorf("event %s %s stamped %s/%s from %s", e.Kind, e.Subject.Key(), e.OccurredAt, e.ReceivedAt, e.Source)
			}
		}
		return out
	}

	t.Run("complete", func(t *testing.T) {
		d, err := domain.DiffSnapshot(prev, snap(true, status), wideCap)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]domain.Kind{
			susp.OktaID:   {domain.KindSuspended},
			unsusp.OktaID: {domain.KindUnsuspended},
			gone.OktaID:   {domain.KindDeleted},
			absent.OktaID: {domain.KindMemberRemoved, domain.KindDeactivated},
			joiner.OktaID: {domain.KindObserved, domain.KindSuspended},
		}
		if diff := cmp.Diff(want, kinds(d)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if d.StatusFacts != 5 {
			t.Errorf("StatusFacts = %d, want 5", d.StatusFacts)
		}
		// susp and gone lose their accounts; absent loses a membership.
		if d.Removals != 3 {
			t.Errorf("Removals = %d, want 3", d.Removals)
		}
		// Folding the facts brings the statuses to Okta's.
		for _, p := range prev {
			for _, e := range d.Events {
				if e.Subject.OktaID == p.OktaID {
					p, _ = domain.Fold(p, e)
				}
			}
			again, err := domain.DiffSnapshot([]domain.Person{p}, domain.Snapshot{RunID: "r2", TakenAt: snapTakenAt.Add(time.Hour), Complete: true,
				Groups: []domain.GroupRef{grpSupport}, Status: status}, wideCap)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range again.Events {
				if e.Kind != domain.KindMemberRemoved && p.OktaID != recent.OktaID {
					t.Errorf("after folding, %s gets %s again", p.OktaID, e.Kind)
				}
			}
		}
	})

	t.Run("incomplete Okta read", func(t *testing.T) {
		d, err := domain.DiffSnapshot(prev, snap(true, &domain.OktaStatus{Complete: false, Users: status.Users}), wideCap)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range d.Events {
			switch e.Kind {
			case domain.KindSuspended, domain.KindUnsuspended, domain.KindDeactivated, domain.KindReactivated, domain.KindDeleted:
				t.Errorf("status event %s for %s from an incomplete Okta read", e.Kind, e.Subject.Key())
			}
		}
		if d.StatusFacts != 0 {
			t.Errorf("StatusFacts = %d", d.StatusFacts)
		}
	})

	t.Run("no Okta access", func(t *testing.T) {
		d, err := domain.DiffSnapshot(prev, snap(true, nil), wideCap)
		if err != nil {
			t.Fatal(err)
		}
		if d.StatusFacts != 0 || d.Removals != 1 {
			t.Errorf("StatusFacts = %d, Removals = %d; want 0, 1", d.StatusFacts, d.Removals)
		}
	})

	t.Run("incomplete IdC read", func(t *testing.T) {
		// The absent person still gets the status fact, not the removal.
		d, err := domain.DiffSnapshot(prev, snap(false, status), wideCap)
		if err != nil {
			t.Fatal(err)
		}
		if got := kinds(d)[absent.OktaID]; !cmp.Equal(got, []domain.Kind{domain.KindDeactivated}) {
			t.Errorf("absent person's events = %v, want [deactivated]", got)
		}
	})

	t.Run("removal cap", func(t *testing.T) {
		_, err := domain.DiffSnapshot(prev, snap(true, status), domain.RemovalCap{Max: 2, MaxPercent: 100})
		var capErr *domain.RemovalCapError
		if !errors.As(err, &capErr) || capErr.Removals != 3 {
			t.Fatalf("err = %v, want the removal cap refusing 3 removals", err)
		}
	})
}
