package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// TestRunProgressRoundTrip: a saved cursor and its chunks read back; a
// second save replaces the chunks (stale ones deleted); ClearRun leaves
// nothing, and AllRecords never sees a job's items.
func TestRunProgressRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	if _, found, err := f.st.RunProgress(ctx, "snap"); err != nil || found {
		t.Fatalf("RunProgress before any save = %v, %v; want not found", found, err)
	}
	big := bytes.Repeat([]byte{7}, store.MaxRunChunk)
	var chunks []store.RunChunk
	for i := range 30 {
		chunks = append(chunks, store.RunChunk{ID: fmt.Sprintf("u%04d", i), Data: []byte(fmt.Sprint(i))})
	}
	chunks = append(chunks, store.RunChunk{ID: "big", Data: big})
	if err := f.st.SaveRunProgress(ctx, "snap", []byte(`{"phase":1}`), chunks); err != nil {
		t.Fatal(err)
	}
	read := func() map[string][]byte {
		got := map[string][]byte{}
		if err := f.st.RunChunks(ctx, "snap", func(c store.RunChunk) error { got[c.ID] = c.Data; return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := read(); len(got) != 31 || string(got["u0007"]) != "7" || !bytes.Equal(got["big"], big) {
		t.Fatalf("read %d chunks back, want 31 with their data", len(got))
	}
	if st, found, err := f.st.RunProgress(ctx, "snap"); err != nil || !found || string(st) != `{"phase":1}` {
		t.Fatalf("RunProgress = %q, %v, %v", st, found, err)
	}
	if err := f.st.SaveRunProgress(ctx, "snap", []byte(`{"phase":2}`), chunks[:2]); err != nil {
		t.Fatal(err)
	}
	if got := read(); len(got) != 2 {
		t.Fatalf("after a smaller save %d chunks, want 2", len(got))
	}
	recs, err := f.st.AllRecords(ctx)
	if err != nil || len(recs) != 0 {
		t.Fatalf("AllRecords = %d records, %v; want none", len(recs), err)
	}
	if err := f.st.ClearRun(ctx, "snap"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := f.st.RunProgress(ctx, "snap"); err != nil || found || len(read()) != 0 {
		t.Fatalf("after ClearRun: found %v, %d chunks, %v", found, len(read()), err)
	}
	for _, bad := range [][]store.RunChunk{{{ID: ""}}, {{ID: "a#b"}}, {{ID: "a"}, {ID: "a"}}, {{ID: "x", Data: append(big, 1)}}} {
		if err := f.st.SaveRunProgress(ctx, "snap", nil, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("SaveRunProgress(%d chunks) = %v, want ErrInvalid", len(bad), err)
		}
	}
}
