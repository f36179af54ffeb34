package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

func record(i int, run string) store.SnapshotRecord {
	return store.SnapshotRecord{
		Key:       fmt.Sprintf("00u%08d", i),
		OktaID:    fmt.Sprintf("00u%08d", i),
		IdCUserID: fmt.Sprintf("9067%08d-idc", i),
		Groups:    []string{"okta:00gMAIL", fmt.Sprintf("okta:00gTEAM%d", i%7)},
		Digest:    fmt.Sprintf("%064x", i),
		RunID:     run, ObservedAt: t0,
	}
}

func TestSnapshotChanges(t *testing.T) {
	a, b, c := record(1, "r1"), record(2, "r1"), record(3, "r1")
	bMoved := b
	bMoved.Groups = []string{"okta:00gSALES", "okta:00gMAIL"} // unsorted on purpose
	bMoved.RunID = "r2"
	aLater := a
	aLater.RunID, aLater.ObservedAt = "r2", t0.Add(time.Hour)
	sortedMoved := bMoved
	sortedMoved.Groups = []string{"okta:00gMAIL", "okta:00gSALES"}
	for _, tc := range []struct {
		name       string
		prev, next []store.SnapshotRecord
		put        []store.SnapshotRecord
		remove     []string
	}{
		{"first run writes everyone", nil, []store.SnapshotRecord{c, a}, []store.SnapshotRecord{a, c}, nil},
		{"unchanged run writes nothing", []store.SnapshotRecord{a, b}, []store.SnapshotRecord{aLater, b}, nil, nil},
		{"mover is rewritten, groups sorted", []store.SnapshotRecord{a, b}, []store.SnapshotRecord{a, bMoved}, []store.SnapshotRecord{sortedMoved}, nil},
		{"leaver is removed", []store.SnapshotRecord{a, b, c}, []store.SnapshotRecord{a, c}, nil, []string{b.Key}},
		{"repeated and keyless records are dropped", nil, []store.SnapshotRecord{a, a, {}}, []store.SnapshotRecord{a}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			put, remove := store.SnapshotChanges(tc.prev, tc.next)
			if diff := cmp.Diff(tc.put, put); diff != "" {
				t.Errorf("put (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.remove, remove); diff != "" {
				t.Errorf("remove (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSnapshotRecordsRoundTrip(t *testing.T) {
	sizes := []int{10_000}
	if !testing.Short() {
		sizes = append(sizes, 100_000)
	}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t)
			// The 100k case takes over a minute under -race: more than
			// testenv.Context allows.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			first := make([]store.SnapshotRecord, n)
			for i := range first {
				first[i] = record(i, "run-1")
			}
			put, remove := store.SnapshotChanges(nil, first)
			start := time.Now()
			if err := f.st.WriteSnapshotRecords(ctx, put, remove); err != nil {
				t.Fatal(err)
			}
			wrote := time.Since(start)
			writes := f.calls.ByOp()["BatchWriteItem"]
			if want := (n + 24) / 25; writes < want {
				t.Fatalf("%d BatchWriteItem calls for %d records, want at least %d", writes, n, want)
			}
			start = time.Now()
			got, err := f.st.SnapshotRecords(ctx)
			if err != nil {
				t.Fatal(err)
			}
			read := time.Since(start)
			if len(got) != n {
				t.Fatalf("read back %d records, want %d", len(got), n)
			}
			sameRecords(t, first, got)
			t.Logf("%d records: write %v (%d BatchWriteItem calls), read %v (%d Query calls)",
				n, wrote.Round(time.Millisecond), writes, read.Round(time.Millisecond), f.calls.ByOp()["Query"])

			// A second run with 10 movers, 5 leavers and 3 joiners writes 18
			// items in one call.
			next := append([]store.SnapshotRecord(nil), first[5:]...)
			for i := range 10 {
				next[i*100].Groups = []string{"okta:00gSALES"}
				next[i*100].RunID = "run-2"
			}
			for i := range 3 {
				next = append(next, record(n+i, "run-2"))
			}
			put, remove = store.SnapshotChanges(got, next)
			if len(put) != 13 || len(remove) != 5 {
				t.Fatalf("changes: %d puts, %d removals; want 13 and 5", len(put), len(remove))
			}
			f.calls.Reset()
			if err := f.st.WriteSnapshotRecords(ctx, put, remove); err != nil {
				t.Fatal(err)
			}
			if c := f.calls.ByOp()["BatchWriteItem"]; c != 1 {
				t.Fatalf("%d BatchWriteItem calls for 18 changes, want 1", c)
			}
			got, err = f.st.SnapshotRecords(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := store.SnapshotChanges(nil, next)
			sameRecords(t, want, got)
		})
	}
}

// sameRecords compares long record lists quickly (cmp.Diff of 100,000
// structs is slow under -race), reporting the first difference.
func sameRecords(t *testing.T, want, got []store.SnapshotRecord) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Key != g.Key || w.OktaID != g.OktaID || w.IdCUserID != g.IdCUserID || w.Digest != g.Digest ||
			w.RunID != g.RunID || !w.ObservedAt.Equal(g.ObservedAt) || !slices.Equal(w.Groups, g.Groups) {
			t.Fatalf("record %d differs (-want +got):\n%s", i, cmp.Diff(w, g))
		}
	}
}

// throttlingDB leaves part of every BatchWriteItem unprocessed the first
// times it is called, as DynamoDB does under throttling.
type throttlingDB struct {
	store.DB
	refusals atomic.Int64 // batches still to answer with unprocessed items
}

func (d *throttlingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if d.refusals.Add(-1) < 0 {
		return d.DB.BatchWriteItem(ctx, in, opts...)
	}
	for table, reqs := range in.RequestItems {
		half := len(reqs) / 2
		if half == 0 {
			return &dynamodb.BatchWriteItemOutput{UnprocessedItems: in.RequestItems}, nil
		}
		out, err := d.DB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{table: reqs[:half]},
		}, opts...)
		if err != nil {
			return nil, err
		}
		out.UnprocessedItems = map[string][]types.WriteRequest{table: reqs[half:]}
		return out, nil
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

func TestWriteSnapshotRecordsRetriesUnprocessedItems(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	for _, tc := range []struct {
		name     string
		refusals int64
		wantErr  error
	}{
		{"unprocessed items are resent", 12, nil},
		{"gives up when they never go through", 1 << 40, store.ErrUnprocessed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &throttlingDB{DB: f.db}
			db.refusals.Store(tc.refusals)
			o := f.opts
			o.DB = db
			o.Workers = 2
			o.BatchBackoff = time.Millisecond
			st, err := store.New(o)
			if err != nil {
				t.Fatal(err)
			}
			recs := make([]store.SnapshotRecord, 120)
			for i := range recs {
				recs[i] = record(i, tc.name)
			}
			err = st.WriteSnapshotRecords(ctx, recs, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			got, err := st.SnapshotRecords(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(recs, got); diff != "" {
				t.Fatalf("records (-want +got):\n%s", diff)
			}
		})
	}
	if err := f.st.WriteSnapshotRecords(ctx, []store.SnapshotRecord{record(1, "x")}, []string{record(1, "x").Key}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a key both put and removed: %v", err)
	}
}
