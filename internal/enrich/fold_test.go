package enrich_test

import (
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/enrich"
)

// permutations calls f with every order of evs.
func permutations(evs []domain.Event, f func([]domain.Event)) {
	var rec func(int)
	rec = func(k int) {
		if k == len(evs) {
			f(append([]domain.Event(nil), evs...))
			return
		}
		for i := k; i < len(evs); i++ {
			evs[k], evs[i] = evs[i], evs[k]
			rec(k + 1)
			evs[k], evs[i] = evs[i], evs[k]
		}
	}
	rec(0)
}

// snapshotNames is a real fact stating the names, as the IdC snapshot
// makes them.
func snapshotNames(key, first, last string, at time.Time) domain.Event {
	sid := "run-1:" + string(domain.KindProfileChanged)
	return domain.Event{
		ID: domain.NewEventID(domain.SourceIdCSnapshot, sid, key, at), Source: domain.SourceIdCSnapshot, SourceEventID: sid,
		Kind: domain.KindProfileChanged, Subject: domain.Subject{OktaID: key},
		Profile: &domain.Profile{FirstName: &first, LastName: &last}, OccurredAt: at, ReceivedAt: at,
	}
}

// Whatever the order, the real names win over provisional ones: even a
// real fact older than the hook facts the provisional names come from.
func TestRealNamesWinInAnyOrder(t *testing.T) {
	hook := hookEvents(t, withDisplayName("Ana Silva"))
	p := enrich.Apply(domain.Person{}, hook)
	prov := enrichNoAPI(t, p)
	if len(prov) != 1 {
		t.Fatalf("%d provisional facts", len(prov))
	}
	for _, realAt := range []time.Time{hookTime().Add(-24 * time.Hour), hookTime().Add(time.Hour)} {
		real := snapshotNames(p.Key, "Ana Maria", "Silva Santos", realAt)
		permutations(append(append([]domain.Event{}, hook...), prov[0], real), func(order []domain.Event) {
			q := enrich.Apply(domain.Person{}, order)
			if q.FirstName.Value != "Ana Maria" || q.LastName.Value != "Silva Santos" || enrich.IsProvisional(q.FirstName) {
				t.Fatalf("real fact at %v: folded names %q %q", realAt, q.FirstName.Value, q.LastName.Value)
			}
		})
	}
}

// A newer display name gives provisional names that win over older
// provisional ones, in either order.
func TestNewerProvisionalWins(t *testing.T) {
	old := hookPerson(t, withDisplayName("Ana Silva"))
	first := enrichNoAPI(t, old)
	renamed := hookEvent(fixture{oktaID: old.OktaID, login: old.Login.Value}, "uuid-rename", domain.KindProfileChanged, hookTime().Add(time.Hour))
	name := "Ana Souza"
	renamed.Profile = &domain.Profile{DisplayName: &name}
	p := enrich.Apply(enrich.Apply(old, first), []domain.Event{renamed})
	second := enrichNoAPI(t, p)
	if len(second) != 1 || second[0].ID == first[0].ID {
		t.Fatalf("second provisional fact %+v", second)
	}
	for _, order := range [][]domain.Event{{first[0], second[0]}, {second[0], first[0]}} {
		q := enrich.Apply(old, order)
		if q.LastName.Value != "Souza" {
			t.Errorf("last name %q, want Souza", q.LastName.Value)
		}
	}
}

// The next snapshot corrects provisional names, however soon after them it
// runs: its settle window spares facts learned shortly before the run,
// and a provisional stamp is never among them.
func TestSnapshotCorrectsProvisionalNames(t *testing.T) {
	p := hookPerson(t, withDisplayName("Ana Silva"))
	p = enrich.Apply(p, enrichNoAPI(t, p))
	if !enrich.IsProvisional(p.LastName) {
		t.Fatal("names not provisional")
	}
	groups := []domain.GroupRef{{OktaID: agentsOkta, IdCID: agentsIdC}, {OktaID: mailOkta, IdCID: mailIdC}}
	snap := domain.Snapshot{
		RunID: "run-7", TakenAt: hookTime().Add(time.Minute), Lag: 10 * time.Minute, Complete: true, Groups: groups,
		Users: []domain.SnapshotUser{{UserID: "idc-ana", OktaID: p.OktaID, Login: p.Login.Value, FirstName: "Ana Maria",
			LastName: "Silva Santos", DisplayName: "Ana Silva", Groups: groups}},
	}
	diff, err := domain.DiffSnapshot([]domain.Person{p}, snap, domain.RemovalCap{})
	if err != nil {
		t.Fatal(err)
	}
	q := enrich.Apply(p, diff.Events)
	if q.FirstName.Value != "Ana Maria" || q.LastName.Value != "Silva Santos" || q.IdCUserID != "idc-ana" {
		t.Errorf("after the snapshot: %q %q idc %q", q.FirstName.Value, q.LastName.Value, q.IdCUserID)
	}
	if facts := enrichNoAPI(t, q); len(facts) != 0 {
		t.Errorf("enriched after the snapshot: %+v", facts)
	}
}
