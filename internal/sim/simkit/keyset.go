package simkit

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
)

// Keyset pagination: a list kept sorted by a creation sequence number is
// paged by position, not offset. A token holds the sequence number of the
// last item served, so deletions between pages skip nothing, and a page is
// found by binary search: O(log n + page), never a scan or a sort.

const seqTokenPrefix = "idsync-sim-v1:"

// SeqToken encodes the sequence number of the last item of a page as an
// opaque NextToken for PageBySeq.
func SeqToken(after uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(seqTokenPrefix + strconv.FormatUint(after, 10)))
}

// ParseSeqToken decodes a NextToken made by SeqToken; "" is the start of the
// list (0). ok is false for a token SeqToken did not make.
func ParseSeqToken(tok string) (after uint64, ok bool) {
	if tok == "" {
		return 0, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(raw), seqTokenPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 64)
	return n, err == nil
}

// PageBySeq returns up to max items of items (sorted by seqOf, ascending)
// after the position token names, and the token of the next page ("" on
// the last). ok is false for a token SeqToken did not make.
func PageBySeq[T any](items []T, seqOf func(T) uint64, token string, max int) (page []T, next string, ok bool) {
	after, ok := ParseSeqToken(token)
	if !ok {
		return nil, "", false
	}
	i := sort.Search(len(items), func(i int) bool { return seqOf(items[i]) > after })
	end := i + max
	if end >= len(items) {
		return items[i:], "", true
	}
	return items[i:end], SeqToken(seqOf(items[end-1])), true
}

// RemoveBySeq deletes the item with sequence number seq from items (sorted
// by seqOf, ascending) in place and returns the shortened slice; items is
// returned unchanged when no item has that number.
func RemoveBySeq[T any](items []T, seq uint64, seqOf func(T) uint64) []T {
	i := sort.Search(len(items), func(i int) bool { return seqOf(items[i]) >= seq })
	if i < len(items) && seqOf(items[i]) == seq {
		copy(items[i:], items[i+1:])
		var zero T
		items[len(items)-1] = zero
		items = items[:len(items)-1]
	}
	return items
}
