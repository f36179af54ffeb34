package simkit_test

import (
	"encoding/base64"
	"slices"
	"testing"

	"github.com/idsync/idsync/internal/sim/simkit"
)

type item struct{ seq uint64 }

func seqOf(it item) uint64 { return it.seq }

func seqs(items []item) []uint64 {
	out := []uint64{}
	for _, it := range items {
		out = append(out, it.seq)
	}
	return out
}

func TestPageBySeqWalksEveryItemOnce(t *testing.T) {
	items := []item{{2}, {3}, {5}, {8}, {13}}
	tests := []struct {
		max   int
		pages [][]uint64
	}{
		{max: 2, pages: [][]uint64{{2, 3}, {5, 8}, {13}}},
		{max: 5, pages: [][]uint64{{2, 3, 5, 8, 13}}},
		{max: 100, pages: [][]uint64{{2, 3, 5, 8, 13}}},
		{max: 1, pages: [][]uint64{{2}, {3}, {5}, {8}, {13}}},
	}
	for _, tc := range tests {
		var got [][]uint64
		tok := ""
		for {
			page, next, ok := simkit.PageBySeq(items, seqOf, tok, tc.max)
			if !ok {
				t.Fatalf("max %d: token %q refused", tc.max, tok)
			}
			got = append(got, seqs(page))
			if next == "" {
				break
			}
			tok = next
		}
		if !slices.EqualFunc(got, tc.pages, slices.Equal) {
			t.Errorf("max %d: pages %v, want %v", tc.max, got, tc.pages)
		}
	}
}

func TestPageBySeqSkipsNothingAfterDeletion(t *testing.T) {
	items := []item{{1}, {2}, {3}, {4}}
	page, next, _ := simkit.PageBySeq(items, seqOf, "", 2)
	if !slices.Equal(seqs(page), []uint64{1, 2}) || next == "" {
		t.Fatalf("first page %v, next %q", seqs(page), next)
	}
	// Deleting a served item shifts offsets but not positions.
	items = simkit.RemoveBySeq(items, 1, seqOf)
	page, next, _ = simkit.PageBySeq(items, seqOf, next, 2)
	if !slices.Equal(seqs(page), []uint64{3, 4}) || next != "" {
		t.Fatalf("second page %v, next %q; want [3 4] and no next", seqs(page), next)
	}
}

func TestParseSeqToken(t *testing.T) {
	tests := []struct {
		name  string
		tok   string
		after uint64
		ok    bool
	}{
		{"empty is the start", "", 0, true},
		{"round trip", simkit.SeqToken(42), 42, true},
		{"not base64", "***", 0, false},
		{"offset token", simkit.PageToken(3), 0, false},
		{"wrong prefix", base64.RawURLEncoding.EncodeToString([]byte("other:7")), 0, false},
		{"not a number", base64.RawURLEncoding.EncodeToString([]byte("idsync-sim-v1:x")), 0, false},
		{"negative", base64.RawURLEncoding.EncodeToString([]byte("idsync-sim-v1:-1")), 0, false},
	}
	for _, tc := range tests {
		after, ok := simkit.ParseSeqToken(tc.tok)
		if after != tc.after || ok != tc.ok {
			t.Errorf("%s: ParseSeqToken(%q) = %d, %v; want %d, %v", tc.name, tc.tok, after, ok, tc.after, tc.ok)
		}
		if _, _, ok := simkit.PageBySeq([]item{{1}}, seqOf, tc.tok, 10); ok != tc.ok {
			t.Errorf("%s: PageBySeq ok = %v, want %v", tc.name, ok, tc.ok)
		}
	}
}

func TestRemoveBySeq(t *testing.T) {
	tests := []struct {
		seq  uint64
		want []uint64
	}{
		{1, []uint64{3, 5}},
		{3, []uint64{1, 5}},
		{5, []uint64{1, 3}},
		{4, []uint64{1, 3, 5}}, // absent: unchanged
	}
	for _, tc := range tests {
		items := []item{{1}, {3}, {5}}
		if got := seqs(simkit.RemoveBySeq(items, tc.seq, seqOf)); !slices.Equal(got, tc.want) {
			t.Errorf("remove %d: %v, want %v", tc.seq, got, tc.want)
		}
	}
}
