package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// TestTargetRecords: everyone with a state in the target, with their
// identity, and nobody else; other targets' states, snapshot records and
// leases are left out.
func TestTargetRecords(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	want := map[string]domain.TargetState{}
	for i := range 7 {
		sub := domain.Subject{OktaID: fmt.Sprintf("00uT%02d", i), Login: fmt.Sprintf("p%02d@example.com", i)}
		if _, err := f.st.Fold(ctx, ev(domain.KindMemberAdded, sub, fmt.Sprintf("t%d", i), t0, group("00gMAIL"))); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0: // a mailbox (and an agent)
			ts := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: fmt.Sprintf("wm-%d", i),
				Status: domain.RemoteEnabled, ExportJobID: "job", ExportState: domain.ExportRunning}
			put, err := f.st.PutTarget(ctx, sub.OktaID, ts, 0)
			if err != nil {
				t.Fatal(err)
			}
			want[sub.OktaID] = put
			if _, err := f.st.PutTarget(ctx, sub.OktaID, domain.TargetState{Target: domain.TargetConnect, Managed: true}, 0); err != nil {
				t.Fatal(err)
			}
		case 1: // an agent only
			if _, err := f.st.PutTarget(ctx, sub.OktaID, domain.TargetState{Target: domain.TargetConnect, Managed: true}, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.st.WriteSnapshotRecords(ctx, []store.SnapshotRecord{{Key: "00uT00"}}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := f.st.TargetRecords(ctx, domain.TargetWorkMail)
	if err != nil {
		t.Fatal(err)
	}
	gotStates := map[string]domain.TargetState{}
	for i, r := range got {
		if i > 0 && got[i-1].Key >= r.Key {
			t.Errorf("not sorted by key: %s after %s", r.Key, got[i-1].Key)
		}
		if r.Person.OktaID != r.Key || r.Person.Login.Value == "" || len(r.Targets) != 1 {
			t.Errorf("record %s: person %+v, targets %v", r.Key, r.Person, r.Targets)
		}
		gotStates[r.Key] = r.Target(domain.TargetWorkMail)
	}
	if d := cmp.Diff(want, gotStates); d != "" {
		t.Errorf("workmail states (-want +got):\n%s", d)
	}
	if _, err := f.st.TargetRecords(ctx, ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty target: %v, want ErrInvalid", err)
	}
}
