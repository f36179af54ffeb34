package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// auditAll follows cursors to the end and returns the rows and the number
// of pages.
func auditAll(t *testing.T, f *fixture, q store.AuditQuery) ([]domain.LedgerEntry, int) {
	t.Helper()
	var all []domain.LedgerEntry
	pages := 0
	for {
		page, err := f.st.Audit(testenv.Context(t), q)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if q.PageSize > 0 && len(page.Entries) > q.PageSize {
			t.Fatalf("page %d holds %d rows, page size %d", pages, len(page.Entries), q.PageSize)
		}
		all = append(all, page.Entries...)
		if q.Cursor = page.Cursor; q.Cursor == "" {
			return all, pages
		}
		if pages > 1000 {
			t.Fatal("cursor never ends")
		}
	}
}

func TestAuditAcrossDaysAndPages(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	midnight := time.Date(2024, 5, 16, 0, 0, 0, 0, time.UTC)
	f.clock.Set(midnight.Add(-5 * time.Second))

	// Twenty rows, one every 500ms, from 23:59:55 to 00:00:04.5, cycling
	// through people, sources, kinds, targets and outcomes; some through
	// Commit (whose applied records must never show up in an audit).
	people := []string{"00uADA", "00uBOB", "idc-carol"}
	sources := []domain.Source{domain.SourceOktaHook, domain.SourceIdCSnapshot, domain.SourceReplay}
	kinds := []domain.Kind{domain.KindMemberAdded, domain.KindMemberRemoved, domain.KindProfileChanged, domain.KindDeactivated}
	targets := []domain.Target{domain.TargetWorkMail, domain.TargetConnect}
	outcomes := []domain.Outcome{domain.OutcomeApplied, domain.OutcomeSkipped, domain.OutcomeFailed, domain.OutcomePlanned, domain.OutcomeApplied}
	var all []domain.LedgerEntry
	version := map[string]int64{}
	for i := range 20 {
		e := domain.LedgerEntry{
			PersonKey: people[i%3], Source: sources[i%3], Kind: kinds[i%4], Target: targets[i%2], Outcome: outcomes[i%5],
			EventID: f.ids.New(), Reason: "row " + string(rune('a'+i)),
		}
		if e.Outcome == domain.OutcomeApplied {
			k := e.PersonKey + string(e.Target)
			_, w, err := f.st.Commit(ctx, store.Commit{PersonKey: e.PersonKey, EventID: e.EventID, Target: e.Target,
				Expected: version[k], Next: domain.TargetState{Managed: true}, Entries: []domain.LedgerEntry{e}})
			if err != nil {
				t.Fatal(err)
			}
			version[k]++
			all = append(all, w...)
		} else {
			w, err := f.st.Append(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, w...)
		}
		f.clock.Advance(500 * time.Millisecond)
	}
	// A row on another day, outside every range below.
	f.clock.Set(midnight.Add(48 * time.Hour))
	if _, err := f.st.Append(ctx, domain.LedgerEntry{PersonKey: "00uADA", Outcome: domain.OutcomeSkipped}); err != nil {
		t.Fatal(err)
	}
	before, after := 0, 0
	for _, e := range all {
		if e.At.Before(midnight) {
			before++
		} else {
			after++
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("rows do not straddle midnight: %d before, %d after", before, after)
	}

	where := func(keep func(domain.LedgerEntry) bool) []domain.LedgerEntry {
		var out []domain.LedgerEntry
		for _, e := range all {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	reversed := func(es []domain.LedgerEntry) []domain.LedgerEntry {
		out := slices.Clone(es)
		slices.Reverse(out)
		return out
	}
	from, to := midnight.Add(-time.Minute), midnight.Add(time.Minute)
	for _, tc := range []struct {
		name     string
		q        store.AuditQuery
		want     []domain.LedgerEntry
		minPages int
	}{
		{
			name: "everyone, both days, pages of 3",
			q:    store.AuditQuery{From: from, To: to, PageSize: 3},
			want: all, minPages: 7,
		},
		{
			name: "everyone, newest first, pages of 4",
			q:    store.AuditQuery{From: from, To: to, PageSize: 4, Descending: true},
			want: reversed(all), minPages: 5,
		},
		{
			name: "everyone, second day only",
			q:    store.AuditQuery{From: midnight, To: to, PageSize: 2},
			want: where(func(e domain.LedgerEntry) bool { return !e.At.Before(midnight) }),
		},
		{
			name: "everyone, filtered by target and outcome across pages",
			q: store.AuditQuery{From: from, To: to, PageSize: 2,
				Targets: []domain.Target{domain.TargetConnect}, Outcomes: []domain.Outcome{domain.OutcomeApplied, domain.OutcomeFailed}},
			want: where(func(e domain.LedgerEntry) bool {
				return e.Target == domain.TargetConnect && (e.Outcome == domain.OutcomeApplied || e.Outcome == domain.OutcomeFailed)
			}),
		},
		{
			name: "everyone, filtered by source and kind",
			q: store.AuditQuery{From: from, To: to, PageSize: 5,
				Sources: []domain.Source{domain.SourceOktaHook}, Kinds: []domain.Kind{domain.KindMemberAdded, domain.KindProfileChanged}},
			want: where(func(e domain.LedgerEntry) bool {
				return e.Source == domain.SourceOktaHook && (e.Kind == domain.KindMemberAdded || e.Kind == domain.KindProfileChanged)
			}),
		},
		{
			name: "one person, all time, pages of 1",
			q:    store.AuditQuery{PersonKey: "00uBOB", PageSize: 1, To: to},
			want: where(func(e domain.LedgerEntry) bool { return e.PersonKey == "00uBOB" }),
		},
		{
			name: "one person, first day, newest first",
			q:    store.AuditQuery{PersonKey: "00uADA", To: midnight, Descending: true, PageSize: 2},
			want: reversed(where(func(e domain.LedgerEntry) bool { return e.PersonKey == "00uADA" && e.At.Before(midnight) })),
		},
		{
			name: "nothing matches",
			q:    store.AuditQuery{From: from, To: to, Outcomes: []domain.Outcome{domain.OutcomeWould}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := auditAll(t, f, tc.q)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("rows (-want +got):\n%s", diff)
			}
			if pages < tc.minPages {
				t.Fatalf("%d pages, want at least %d", pages, tc.minPages)
			}
		})
	}

	t.Run("cursors", func(t *testing.T) {
		q := store.AuditQuery{From: from, To: to, PageSize: 3}
		page, err := f.st.Audit(ctx, q)
		if err != nil || page.Cursor == "" {
			t.Fatalf("first page: %v, cursor %q", err, page.Cursor)
		}
		other := q
		other.Targets = []domain.Target{domain.TargetConnect}
		for name, bad := range map[string]store.AuditQuery{
			"garbage":       {From: from, To: to, Cursor: "!!!"},
			"not JSON":      {From: from, To: to, Cursor: "bm90IGpzb24"},
			"another query": withCursor(other, page.Cursor),
		} {
			if _, err := f.st.Audit(ctx, bad); !errors.Is(err, store.ErrBadCursor) || domain.KindOf(err) != domain.ErrorPermanent {
				t.Errorf("%s: %v, want a permanent ErrBadCursor", name, err)
			}
		}
	})

	t.Run("invalid queries", func(t *testing.T) {
		for name, q := range map[string]store.AuditQuery{
			"everyone without From": {},
			"person and system":     {PersonKey: "00uADA", System: true},
			"page too large":        {PersonKey: "00uADA", PageSize: store.MaxPageSize + 1},
			"To before From":        {From: to, To: from},
			"too many days":         {From: midnight.AddDate(-3, 0, 0), To: midnight},
		} {
			if _, err := f.st.Audit(ctx, q); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
	})
}

func withCursor(q store.AuditQuery, c string) store.AuditQuery {
	q.Cursor = c
	return q
}
