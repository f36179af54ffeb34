package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

func TestReceivedRowsKeepTheEventWithoutProfileValues(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	ana := domain.Subject{OktaID: "00uANA", IdCUserID: "idc-ana", Login: "ana@example.com"}
	observed := ev(domain.KindObserved, ana, "run-1/ana", t0, func(e *domain.Event) {
		e.Source = domain.SourceIdCSnapshot
		e.Groups = []domain.GroupRef{{OktaID: "00gMAIL", IdCID: "idc-mail", Name: "Mail users"}}
		e.NotGroups = []domain.GroupRef{{IdCID: "idc-agents", Name: "Agents"}}
		e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), e.OccurredAt)
	}, profile(domain.Profile{FirstName: ptr("Ana"), LastName: ptr("Silva"), Email: ptr("ana@example.com")}))
	if _, err := f.st.RecordReceived(ctx, observed); err != nil {
		t.Fatal(err)
	}

	row, err := f.st.ReceivedRow(ctx, observed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.PersonKey != "00uANA" || row.EventID != observed.ID || row.Outcome != domain.OutcomeReceived {
		t.Fatalf("received row %+v", row)
	}
	got, err := store.ReceivedEvent(row)
	if err != nil {
		t.Fatal(err)
	}
	want := observed
	want.Profile = nil
	if got.ID != want.ID || got.Subject != want.Subject || got.Kind != want.Kind || got.Source != want.Source ||
		got.SourceEventID != want.SourceEventID || !got.OccurredAt.Equal(want.OccurredAt) ||
		len(got.Groups) != 1 || got.Groups[0] != want.Groups[0] || len(got.NotGroups) != 1 || got.NotGroups[0] != want.NotGroups[0] {
		t.Fatalf("rebuilt event\n got %+v\nwant %+v", got, want)
	}
	if got.Profile != nil {
		t.Fatalf("the ledger kept profile values: %+v", *got.Profile)
	}

	for _, tc := range []struct {
		name string
		id   string
		want error
	}{
		{"not a ULID", "nope", store.ErrInvalid},
		{"no such event", domain.NewEventID(domain.SourceOktaHook, "other", "00uANA", t0), store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.st.ReceivedRow(ctx, tc.id); !errors.Is(err, tc.want) {
				t.Fatalf("ReceivedRow(%q) = %v, want %v", tc.id, err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		row  domain.LedgerEntry
		want error
	}{
		{"an applied row", domain.LedgerEntry{ID: "x", Outcome: domain.OutcomeApplied}, store.ErrNotFound},
		{"a received row recorded without its event", domain.LedgerEntry{ID: "x", Outcome: domain.OutcomeReceived,
			Detail: map[string]string{"sourceEventId": "u1"}}, store.ErrNotFound},
		{"a broken envelope", domain.LedgerEntry{ID: "x", Outcome: domain.OutcomeReceived,
			Detail: map[string]string{store.DetailEvent: `{"v":1}`}}, domain.ErrInvalidEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := store.ReceivedEvent(tc.row); !errors.Is(err, tc.want) {
				t.Fatalf("ReceivedEvent = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEventRowsAndAppliedRecordTellOneEventsStory(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	bea := domain.Subject{OktaID: "00uBEA", Login: "bea@example.com"}
	added := ev(domain.KindMemberAdded, bea, "u-add", t0, group("00gMAIL"))
	other := ev(domain.KindMemberAdded, bea, "u-other", t0.Add(time.Minute), group("00gAGENTS"))
	for _, e := range []domain.Event{added, other} {
		if _, err := f.st.RecordReceived(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(time.Second)
	if _, _, err := f.st.Commit(ctx, store.Commit{PersonKey: "00uBEA", EventID: added.ID, Target: domain.TargetWorkMail,
		Next:    domain.TargetState{Managed: true, RemoteID: "wm-1", Status: domain.RemoteEnabled},
		Entries: []domain.LedgerEntry{{Op: domain.OpCreate, RemoteID: "wm-1"}, {Op: domain.OpRegister, RemoteID: "wm-1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Append(ctx, domain.LedgerEntry{PersonKey: "00uBEA", EventID: other.ID, Target: domain.TargetWorkMail,
		Outcome: domain.OutcomeSkipped, Reason: "no change"}); err != nil {
		t.Fatal(err)
	}

	rows, err := f.st.EventRows(ctx, "00uBEA", added.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		if r.EventID != added.ID {
			t.Errorf("row %+v is about another event", r)
		}
		got = append(got, string(r.Outcome)+":"+string(r.Op))
	}
	if want := []string{"received:", "applied:create", "applied:register"}; !slices.Equal(got, want) {
		t.Fatalf("event rows %v, want %v", got, want)
	}
	rec, ok, err := f.st.AppliedRecord(ctx, "00uBEA", domain.TargetWorkMail, added.ID)
	if err != nil || !ok || rec.RemoteID != "wm-1" || rec.Detail["version"] != "1" {
		t.Fatalf("applied record %+v %v %v", rec, ok, err)
	}
	if _, ok, err := f.st.AppliedRecord(ctx, "00uBEA", domain.TargetConnect, added.ID); err != nil || ok {
		t.Fatalf("connect applied record: %v %v", ok, err)
	}
	if rows, err := f.st.EventRows(ctx, "00uNOBODY", added.ID); err != nil || len(rows) != 0 {
		t.Fatalf("rows of nobody: %v %v", rows, err)
	}
	if _, err := f.st.EventRows(ctx, "", added.ID); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
}
