package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// allFieldsSet fails the test for every field of the struct v left at its
// zero value, so that a field added to a domain type must be added to the
// round trips below (and so to the store's item conversions).
func allFieldsSet(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("%s.%s is not set: give it a value so that the round trip covers it", rv.Type().Name(), rv.Type().Field(i).Name)
		}
	}
}

// TestDomainTypesRoundTrip stores each domain type with every field set and
// reads it back unchanged.
func TestDomainTypesRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)

	t.Run("person", func(t *testing.T) {
		sub := domain.Subject{OktaID: "00uROUND", IdCUserID: "idc-round", Login: "round@example.com"}
		var folded store.FoldResult
		for i, e := range []domain.Event{
			ev(domain.KindProfileChanged, sub, "r1", t0, profile(domain.Profile{
				FirstName: ptr("Ro"), LastName: ptr("Und"), DisplayName: ptr("Ro Und"), Email: ptr("round@example.com"),
				Department: ptr("Ops"), Title: ptr("Engineer"),
			})),
			ev(domain.KindMemberAdded, sub, "r2", t0.Add(time.Second), group("00gMAIL")),
			ev(domain.KindMemberRemoved, sub, "r3", t0.Add(2*time.Second), group("00gAGENTS")),
			ev(domain.KindSuspended, sub, "r4", t0.Add(3*time.Second)),
			// The IdC user is re-created: a relink.
			ev(domain.KindProfileChanged, domain.Subject{OktaID: sub.OktaID, IdCUserID: "idc-round-2"}, "r5", t0.Add(4*time.Second),
				func(e *domain.Event) { e.Source, e.ReplacesIdCUserID = domain.SourceIdCSnapshot, sub.IdCUserID }),
		} {
			var err error
			if folded, err = f.st.Fold(ctx, e); err != nil {
				t.Fatalf("fold %d: %v", i, err)
			}
		}
		allFieldsSet(t, folded.Person)
		for _, s := range []domain.Stamped{folded.Person.Login, folded.Person.Title, folded.Person.Status, folded.Person.Relinked, folded.Person.Linked} {
			allFieldsSet(t, s)
		}
		rec, err := f.st.Person(ctx, folded.Key)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(folded.Person, rec.Person); d != "" {
			t.Errorf("person read back (-folded +read):\n%s", d)
		}
		all, err := f.st.AllPeople(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || !cmp.Equal(folded.Person, all[0]) {
			t.Errorf("AllPeople = %+v, want the folded person", all)
		}
		recs, err := f.st.AllRecords(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || !cmp.Equal(folded.Person, recs[0].Person) {
			t.Errorf("AllRecords = %+v, want the folded person", recs)
		}
		if byIdC, err := f.st.FindByIdCUserID(ctx, "idc-round-2"); err != nil || byIdC.Key != folded.Key {
			t.Errorf("the relinked IdC user id does not find the person: %+v, %v", byIdC, err)
		}
	})

	t.Run("target state", func(t *testing.T) {
		want := domain.TargetState{
			Target: domain.TargetConnect, Managed: true, RemoteID: "cn-1", Status: domain.RemoteDisabled,
			Name: "round", Email: "round@example.com", DisplayName: "Ro Und", FirstName: "Ro", LastName: "Und",
			SecurityProfileIDs: []string{"sp-b", "sp-a"}, RoutingProfileID: "rp-1", HierarchyGroupID: "hg-1",
			IdentityProviderUserID: "idc-round",
			DisabledAt:             t0.Add(time.Hour + time.Nanosecond), PendingName: "round", PendingAt: t0.Add(2*time.Hour + time.Nanosecond),
			ExportJobID: "job-1", ExportState: domain.ExportCompleted, ExportStartedAt: t0.Add(3*time.Hour + time.Nanosecond),
			ExportProgress: 100, ExportPath: "bucket/prefix/job-1.zip", ExportReason: "none",
			Version: 1,
		}
		allFieldsSet(t, want)
		put, err := f.st.PutTarget(ctx, "00uROUND", want, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.st.Target(ctx, "00uROUND", domain.TargetConnect)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" || !cmp.Equal(put, got) {
			t.Errorf("target state read back (-put +read):\n%s", d)
		}
		rec, err := f.st.Person(ctx, "00uROUND")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, rec.Target(domain.TargetConnect)); d != "" {
			t.Errorf("target state from the partition read (-put +read):\n%s", d)
		}
	})

	t.Run("mark", func(t *testing.T) {
		want := store.Mark{
			Key: "00uROUND", Target: domain.TargetConnect, Digest: "d1", EventID: "01EVENT",
			PersonVersion: 7, TargetVersion: 3, Since: t0.Add(time.Nanosecond), At: t0.Add(time.Hour),
			FailedEventID: "01FAILED", FailedAt: t0.Add(2 * time.Hour), FailedReason: "quota",
		}
		allFieldsSet(t, want)
		if err := f.st.WriteMarks(ctx, []store.Mark{want}, nil); err != nil {
			t.Fatal(err)
		}
		rec, err := f.st.Person(ctx, "00uROUND")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, rec.Marks[domain.TargetConnect]); d != "" {
			t.Errorf("mark read back (-written +read):\n%s", d)
		}
	})

	t.Run("ledger entry", func(t *testing.T) {
		want := domain.LedgerEntry{
			ID: f.ids.New(), At: t0.Add(time.Minute + time.Nanosecond), PersonKey: "00uROUND", EventID: "01EVENT",
			Source: domain.SourceOktaHook, Kind: domain.KindMemberAdded, Target: domain.TargetWorkMail,
			Op: domain.OpCreate, Outcome: domain.OutcomeFailed, RemoteID: "wm-1", Reason: "throttled",
			Detail: map[string]string{"ms": "12"},
		}
		allFieldsSet(t, want)
		if _, err := f.st.Append(ctx, want); err != nil {
			t.Fatal(err)
		}
		page, err := f.st.Audit(ctx, store.AuditQuery{PersonKey: "00uROUND"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 1 {
			t.Fatalf("audit = %+v, want the one entry", page.Entries)
		}
		if d := cmp.Diff(want, page.Entries[0]); d != "" {
			t.Errorf("ledger entry read back (-appended +read):\n%s", d)
		}
	})
}
