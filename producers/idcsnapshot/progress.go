package idcsnapshot

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/store"
)

// progress is a run that did not finish in one invocation: its identity
// (id and time, which every event id and time derives from), where its
// reads stand and how many events earlier invocations queued. It is saved
// in the state table (store.SaveRunProgress under the lease's name) when
// an invocation stops before its deadline, and the next invocation
// continues it.
type progress struct {
	// Version of the saved layout; a progress of another version is
	// abandoned.
	Version int       `json:"v"`
	RunID   string    `json:"runId"`
	TakenAt time.Time `json:"takenAt"`
	// Groups are the IdC group ids the run reads, in order; a run saved
	// under another configuration is abandoned.
	Groups      []string   `json:"groups"`
	Invocations int        `json:"invocations"`
	Read        *readState `json:"read"`
	// Emitted counts the events earlier invocations queued (the reads were
	// over and the decision made).
	Emitted int `json:"emitted,omitempty"`
}

const progressVersion = 1

// Chunk sizes: entries per chunk before compression. A chunk whose
// compressed form is still over store.MaxRunChunk is split in two.
const (
	membersPerChunk = 5000
	usersPerChunk   = 1000
)

type memberEntry struct {
	U string `json:"u"`
	G []int  `json:"g"`
}

func (s *Snapshotter) groupIDs() []string {
	ids := make([]string, len(s.groups))
	for i, g := range s.groups {
		ids[i] = g.IdCID
	}
	return ids
}

// loadProgress returns the run an earlier invocation left unfinished, or
// nil when there is none (or it is abandoned: another layout or
// configuration, or older than maxRunAge, logged and cleared).
//
// Errors: the store's; a saved run that does not decode.
func (s *Snapshotter) loadProgress(ctx context.Context, now time.Time) (*progress, error) {
	raw, found, err := s.store.RunProgress(ctx, s.leaseName)
	if err != nil || !found {
		return nil, err
	}
	var p progress
	abandon := func(why string) (*progress, error) {
		s.log.Warn("unfinished snapshot run abandoned; starting a new one", "runId", p.RunID, "reason", why)
		if err := s.store.ClearRun(ctx, s.leaseName); err != nil {
			return nil, fmt.Errorf("idcsnapshot: clear abandoned run %s: %w", p.RunID, err)
		}
		return nil, nil
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.Read == nil {
		return abandon(fmt.Sprintf("saved progress does not decode: %v", err))
	}
	switch {
	case p.Version != progressVersion:
		return abandon(fmt.Sprintf("saved with layout %d", p.Version))
	case !slices.Equal(p.Groups, s.groupIDs()):
		return abandon("the configured groups changed")
	case now.Sub(p.TakenAt) > s.maxRunAge:
		return abandon(fmt.Sprintf("taken at %s, more than %v ago", p.TakenAt.UTC().Format(time.RFC3339), s.maxRunAge))
	}
	rs := p.Read
	rs.Members, rs.found = map[string][]int{}, map[string]bool{}
	err = s.store.RunChunks(ctx, s.leaseName, func(c store.RunChunk) error {
		switch {
		case strings.HasPrefix(c.ID, "m"):
			var es []memberEntry
			if err := unzipJSON(c.Data, &es); err != nil {
				return err
			}
			for _, e := range es {
				rs.Members[e.U] = e.G
			}
		case strings.HasPrefix(c.ID, "u"):
			var us []domain.SnapshotUser
			if err := unzipJSON(c.Data, &us); err != nil {
				return err
			}
			for _, u := range us {
				rs.addUser(u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("idcsnapshot: read the partial results of run %s: %w", p.RunID, err)
	}
	for _, id := range rs.Gone {
		rs.found[id] = true
	}
	for _, id := range rs.Unread {
		rs.found[id] = true
	}
	return &p, nil
}

// saveProgress stores p and its partial results (members and users in
// compressed chunks).
//
// Errors: the store's.
func (s *Snapshotter) saveProgress(ctx context.Context, p *progress) error {
	state, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("idcsnapshot: encode progress: %w", err)
	}
	var chunks []store.RunChunk
	members := make([]memberEntry, 0, len(p.Read.Members))
	for _, id := range slices.Sorted(maps.Keys(p.Read.Members)) {
		members = append(members, memberEntry{U: id, G: p.Read.Members[id]})
	}
	if chunks, err = appendChunks(chunks, "m", members, membersPerChunk); err != nil {
		return err
	}
	if chunks, err = appendChunks(chunks, "u", p.Read.Users, usersPerChunk); err != nil {
		return err
	}
	if err := s.store.SaveRunProgress(ctx, s.leaseName, state, chunks); err != nil {
		return fmt.Errorf("idcsnapshot: save the progress of run %s: %w", p.RunID, err)
	}
	return nil
}

// appendChunks encodes items in compressed chunks of up to per entries
// (fewer when a chunk would exceed store.MaxRunChunk), named
// <prefix><sequence>.
func appendChunks[T any](chunks []store.RunChunk, prefix string, items []T, per int) ([]store.RunChunk, error) {
	seq := 0
	var add func(part []T) error
	add = func(part []T) error {
		data, err := zipJSON(part)
		if err != nil {
			return err
		}
		if len(data) > store.MaxRunChunk && len(part) > 1 {
			if err := add(part[:len(part)/2]); err != nil {
				return err
			}
			return add(part[len(part)/2:])
		}
		chunks = append(chunks, store.RunChunk{ID: fmt.Sprintf("%s%06d", prefix, seq), Data: data})
		seq++
		return nil
	}
	for start := 0; start < len(items); start += per {
		if err := add(items[start:min(start+per, len(items))]); err != nil {
			return nil, err
		}
	}
	return chunks, nil
}

func zipJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, fmt.Errorf("idcsnapshot: encode partial results: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("idcsnapshot: compress partial results: %w", err)
	}
	return b.Bytes(), nil
}

func unzipJSON(data []byte, v any) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("idcsnapshot: partial results: %w", err)
	}
	if err := json.NewDecoder(io.Reader(zr)).Decode(v); err != nil {
		return fmt.Errorf("idcsnapshot: partial results: %w", err)
	}
	return nil
}
