package store_test

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// personRows reads a person's whole timeline.
func personRows(t *testing.T, f *fixture, key string) []domain.LedgerEntry {
	t.Helper()
	page, err := f.st.Audit(testenv.Context(t), store.AuditQuery{PersonKey: key, PageSize: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if page.Cursor != "" {
		t.Fatal("more rows than one page")
	}
	return page.Entries
}

func TestCommit(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	const key = "00uADA"
	e1 := ev(domain.KindMemberAdded, domain.Subject{OktaID: key}, "c1", t0, group("00gMAIL"))
	e2 := ev(domain.KindProfileChanged, domain.Subject{OktaID: key}, "c2", t0.Add(time.Second), profile(domain.Profile{Email: ptr("a@example.com")}))
	created := domain.TargetState{Managed: true, RemoteID: "wm-1", Status: domain.RemoteEnabled, Name: "ada"}
	ops := func(e domain.Event, kinds ...domain.OpKind) []domain.LedgerEntry {
		var out []domain.LedgerEntry
		for _, k := range kinds {
			out = append(out, domain.LedgerEntry{Op: k, Kind: e.Kind, Source: e.Source, RemoteID: "wm-1"})
		}
		return out
	}

	for _, tc := range []struct {
		name        string
		commit      store.Commit
		wantErr     error
		wantKind    domain.ErrorKind
		wantVersion int64 // stored target version afterwards
		wantRows    int   // timeline rows of the person afterwards
		wantApplied map[string]bool
	}{
		{
			name:        "first commit writes state, applied record and op rows",
			commit:      store.Commit{PersonKey: key, EventID: e1.ID, Target: domain.TargetWorkMail, Expected: 0, Next: created, Entries: ops(e1, domain.OpCreate, domain.OpRegister)},
			wantVersion: 1, wantRows: 2,
			wantApplied: map[string]bool{e1.ID: true, e2.ID: false},
		},
		{
			name:    "same event again at the current version is a duplicate",
			commit:  store.Commit{PersonKey: key, EventID: e1.ID, Target: domain.TargetWorkMail, Expected: 1, Next: created, Entries: ops(e1, domain.OpCreate)},
			wantErr: store.ErrDuplicate, wantKind: domain.ErrorStale,
			wantVersion: 1, wantRows: 2,
			wantApplied: map[string]bool{e1.ID: true, e2.ID: false},
		},
		{
			name:    "same event with a stale version is still a duplicate",
			commit:  store.Commit{PersonKey: key, EventID: e1.ID, Target: domain.TargetWorkMail, Expected: 0, Next: created},
			wantErr: store.ErrDuplicate, wantKind: domain.ErrorStale,
			wantVersion: 1, wantRows: 2,
			wantApplied: map[string]bool{e1.ID: true, e2.ID: false},
		},
		{
			name:    "new event planned from a stale version conflicts and writes nothing",
			commit:  store.Commit{PersonKey: key, EventID: e2.ID, Target: domain.TargetWorkMail, Expected: 0, Next: created, Entries: ops(e2, domain.OpUpdateEmail)},
			wantErr: store.ErrConflict, wantKind: domain.ErrorRetryable,
			wantVersion: 1, wantRows: 2,
			wantApplied: map[string]bool{e1.ID: true, e2.ID: false},
		},
		{
			name:        "new event at the current version commits",
			commit:      store.Commit{PersonKey: key, EventID: e2.ID, Target: domain.TargetWorkMail, Expected: 1, Next: created, Entries: ops(e2, domain.OpUpdateEmail)},
			wantVersion: 2, wantRows: 3,
			wantApplied: map[string]bool{e1.ID: true, e2.ID: true},
		},
		{
			name:        "same event to another target is not a duplicate",
			commit:      store.Commit{PersonKey: key, EventID: e2.ID, Target: domain.TargetConnect, Expected: 0, Next: domain.TargetState{Managed: true, RemoteID: "cx-1"}},
			wantVersion: 2, wantRows: 4,
			wantApplied: map[string]bool{e1.ID: true, e2.ID: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(time.Second)
			next, written, err := f.st.Commit(ctx, tc.commit)
			if !errors.Is(err, tc.wantErr) || domain.KindOf(err) != tc.wantKind {
				t.Fatalf("error %v (kind %v), want %v (kind %v)", err, domain.KindOf(err), tc.wantErr, tc.wantKind)
			}
			if err == nil {
				if next.Version != tc.commit.Expected+1 || next.Target != tc.commit.Target {
					t.Errorf("returned state %+v", next)
				}
				if len(written) != max(1, len(tc.commit.Entries)) {
					t.Errorf("%d rows written", len(written))
				}
				for _, w := range written {
					if w.PersonKey != key || w.EventID != tc.commit.EventID || w.Target != tc.commit.Target || w.Outcome != domain.OutcomeApplied {
						t.Errorf("row defaults not filled in: %+v", w)
					}
				}
			}
			ts, err := f.st.Target(ctx, key, domain.TargetWorkMail)
			if err != nil {
				t.Fatal(err)
			}
			if ts.Version != tc.wantVersion {
				t.Errorf("workmail state version %d, want %d", ts.Version, tc.wantVersion)
			}
			if rows := personRows(t, f, key); len(rows) != tc.wantRows {
				t.Errorf("%d timeline rows, want %d: %+v", len(rows), tc.wantRows, rows)
			}
			for id, want := range tc.wantApplied {
				got, err := f.st.Applied(ctx, key, domain.TargetWorkMail, id)
				if err != nil || got != want {
					t.Errorf("Applied(%s) = %v, %v; want %v", id, got, err, want)
				}
			}
		})
	}

	t.Run("invalid commits", func(t *testing.T) {
		for _, c := range []store.Commit{
			{EventID: e1.ID, Target: domain.TargetWorkMail},
			{PersonKey: key, Target: domain.TargetWorkMail},
			{PersonKey: key, EventID: e1.ID},
			{PersonKey: key, EventID: e1.ID, Target: domain.TargetWorkMail, Entries: make([]domain.LedgerEntry, store.MaxCommitEntries+1)},
		} {
			if _, _, err := f.st.Commit(ctx, c); !errors.Is(err, store.ErrInvalid) || domain.KindOf(err) != domain.ErrorPermanent {
				t.Errorf("%+v: %v", c, err)
			}
		}
	})
}

func TestRecordReceivedOncePerOktaUUID(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	var events []domain.Event
	var uuids []string
	for _, name := range []string{"testdata/okta/batch_mixed.json", "testdata/okta/group_membership_add.json"} {
		body, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := domain.NormaliseOktaHook(body, nil, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, n.Events...)
	}
	// Rows come in id order, i.e. by when the facts occurred.
	sorted := slices.SortedFunc(slices.Values(events), func(a, b domain.Event) int { return strings.Compare(a.ID, b.ID) })
	for _, e := range sorted {
		uuids = append(uuids, e.SourceEventID)
	}
	if len(events) < 5 {
		t.Fatalf("only %d events in the payloads", len(events))
	}
	// Okta delivers the batch, then retries it: every uuid is recorded once.
	for round, wantDup := range []bool{false, true} {
		for i, err := range f.st.RecordReceivedAll(ctx, events) {
			switch {
			case !wantDup && err != nil:
				t.Fatalf("round %d, event %d: %v", round, i, err)
			case wantDup && (!errors.Is(err, store.ErrDuplicate) || domain.KindOf(err) != domain.ErrorStale):
				t.Fatalf("round %d, event %d: %v, want a stale ErrDuplicate", round, i, err)
			}
		}
	}
	var got []string
	q := store.AuditQuery{From: t0.Add(-48 * time.Hour), To: t0.Add(time.Hour), Outcomes: []domain.Outcome{domain.OutcomeReceived}, PageSize: 3}
	for {
		page, err := f.st.Audit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			got = append(got, e.Detail["sourceEventId"])
			if e.ID != e.EventID || e.Source != domain.SourceOktaHook || e.PersonKey == "" || !e.At.Equal(t0.Add(time.Minute)) {
				t.Errorf("received row %+v", e)
			}
		}
		if q.Cursor = page.Cursor; q.Cursor == "" {
			break
		}
	}
	if diff := cmp.Diff(uuids, got); diff != "" {
		t.Fatalf("recorded uuids (-want +got):\n%s", diff)
	}
}

func TestAppend(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	run := domain.LedgerEntry{Source: domain.SourceIdCSnapshot, Outcome: domain.OutcomeSnapshot,
		Detail: map[string]string{"runId": "run-1", "joiners": "3", "leavers": "1"}}
	written, err := f.st.Append(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if written[0].ID == "" || !written[0].At.Equal(t0) {
		t.Fatalf("defaults not filled in: %+v", written[0])
	}
	page, err := f.st.Audit(ctx, store.AuditQuery{System: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(written, page.Entries); diff != "" {
		t.Fatalf("system rows (-written +read):\n%s", diff)
	}

	skipped := domain.LedgerEntry{PersonKey: "00uADA", EventID: "01HXAMPLE0000000000000000", Outcome: domain.OutcomeSkipped, Reason: "duplicate"}
	f.clock.Advance(time.Second)
	_, err = f.st.Append(ctx, skipped, written[0])
	if !errors.Is(err, store.ErrDuplicate) || domain.KindOf(err) != domain.ErrorStale {
		t.Fatalf("appending an existing row: %v", err)
	}
	if rows := personRows(t, f, "00uADA"); len(rows) != 0 {
		t.Fatalf("a cancelled append left %d rows", len(rows))
	}
	both, err := f.st.Append(ctx, skipped, domain.LedgerEntry{PersonKey: "00uADA", Outcome: domain.OutcomeFailed, Reason: "LimitExceededException"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(both, personRows(t, f, "00uADA")); diff != "" {
		t.Fatalf("person rows (-written +read):\n%s", diff)
	}

	for _, bad := range [][]domain.LedgerEntry{
		{{PersonKey: "x"}},
		{{PersonKey: "x", Outcome: domain.OutcomeFailed, ID: "nope"}},
		make([]domain.LedgerEntry, store.MaxAppendEntries+1),
	} {
		if _, err := f.st.Append(ctx, bad...); !errors.Is(err, store.ErrInvalid) || domain.KindOf(err) != domain.ErrorPermanent {
			t.Errorf("%d entries: %v", len(bad), err)
		}
	}
}

func TestLedgerTTL(t *testing.T) {
	if _, err := store.New(store.Options{DB: &dynamodb.Client{}, StateTable: "s", LedgerTable: "l", LedgerTTL: 24 * time.Hour}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a TTL shorter than queue+DLQ retention: %v", err)
	}
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		want string // expiresAt attribute, "" for none
	}{
		{"none by default", 0, ""},
		{"30 days", 30 * 24 * time.Hour, strconv.FormatInt(t0.Add(30*24*time.Hour).Unix(), 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *store.Options) { o.LedgerTTL = tc.ttl })
			ctx := testenv.Context(t)
			w, err := f.st.Append(ctx, domain.LedgerEntry{PersonKey: "00uADA", Outcome: domain.OutcomeFailed})
			if err != nil {
				t.Fatal(err)
			}
			key, _ := attributevalue.MarshalMap(map[string]string{"PK": "PERSON#00uADA", "SK": w[0].ID + "#failed"})
			out, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.ledger), Key: key})
			if err != nil || out.Item == nil {
				t.Fatalf("row not found: %v", err)
			}
			var got struct {
				ExpiresAt string `dynamodbav:"expiresAt"`
			}
			if err := attributevalue.UnmarshalMap(out.Item, &got); err != nil {
				t.Fatal(err)
			}
			if got.ExpiresAt != tc.want {
				t.Fatalf("expiresAt %q, want %q", got.ExpiresAt, tc.want)
			}
		})
	}
}
