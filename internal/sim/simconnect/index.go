package simconnect

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// SearchUsers is eventually consistent. Amazon Connect's API reference
// says "The Amazon Connect API follows an eventual consistency model ...
// changes to Amazon Connect resources might not be immediately visible to
// the subsequent commands you run ... It typically takes less than a few
// seconds for the change to propagate throughout the system, but in some
// cases it can take several minutes"
// (https://docs.aws.amazon.com/connect/latest/APIReference/eventual-consistency.html).
// The stand-in models the lag where a client feels it most: SearchUsers
// answers from a search index that receives every created, updated and
// deleted user SearchLag after the change, in the order the changes were
// made, while CreateUser's duplicate check, DescribeUser, ListUsers and the
// Update* operations see the truth at once. So a user created a moment ago
// is not found by SearchUsers (and CreateUser of the same name answers
// DuplicateResourceException), a user updated a moment ago is found as it
// was, and a user deleted a moment ago is still found.
//
// The same page says that DescribeUser right after CreateUser may answer
// ResourceNotFoundException; that lag is not modelled (DescribeUser sees
// the truth), which is kinder than the service.
//
// DefaultSearchLag is one second: the documentation's "typically less than
// a few seconds" justifies a non-zero default, and one second is short
// enough for a local run yet long enough that no client can search for a
// user it has just created and find it without waiting. Options.SearchLag,
// Server.SetSearchLag and POST /_sim/search-lag {"lagMs":N} change it
// (minutes model the documented worst case); NoSearchLag makes the index
// instant.
const DefaultSearchLag = time.Second

// indexChange is one user change on its way to the search index: the
// user's state after the change, or nil for a deletion.
type indexChange struct {
	due  time.Time
	id   string
	user *User
}

// reindexLocked queues u's current state (or, when gone is true, its
// deletion) for the search index of in; s.mu must be held. Changes reach
// the index in the order they were made: a change is never due before
// the one queued ahead of it, even after the lag has been shortened.
func (s *Server) reindexLocked(in *instance, u *User, gone bool) {
	ch := indexChange{due: s.now().Add(s.searchLag), id: u.ID}
	if !gone {
		c := u.clone()
		ch.user = &c
	}
	if n := len(in.pending); n > 0 && in.pending[n-1].due.After(ch.due) {
		ch.due = in.pending[n-1].due
	}
	in.pending = append(in.pending, ch)
	s.flushIndexLocked(in)
}

// indexNowLocked puts u into the search index at once (seeded users were
// made long ago, outside the run); s.mu must be held.
func (s *Server) indexNowLocked(in *instance, u *User) {
	s.flushIndexLocked(in)
	if len(in.pending) > 0 {
		// Keep the order: behind changes still on their way.
		c := u.clone()
		in.pending = append(in.pending, indexChange{due: in.pending[len(in.pending)-1].due, id: u.ID, user: &c})
		return
	}
	c := u.clone()
	in.index[u.ID] = &c
}

// flushIndexLocked applies every queued change that is due; s.mu must be
// held.
func (s *Server) flushIndexLocked(in *instance) {
	now := s.now()
	i := 0
	for ; i < len(in.pending) && !in.pending[i].due.After(now); i++ {
		ch := in.pending[i]
		if ch.user == nil {
			delete(in.index, ch.id)
		} else {
			in.index[ch.id] = ch.user
		}
	}
	in.pending = slices.Delete(in.pending, 0, i)
}

// searchableLocked returns the users SearchUsers sees, ordered as
// sortedUsers orders them; s.mu must be held.
func (s *Server) searchableLocked(in *instance) []*User {
	s.flushIndexLocked(in)
	us := slices.Collect(maps.Values(in.index))
	slices.SortFunc(us, func(a, b *User) int { return strings.Compare(userKey(a), userKey(b)) })
	return us
}

// SetSearchLag sets how long a user change takes to reach SearchUsers
// (zero or less: at once, for changes made from now on). Changes already
// on their way keep their time. Idempotent.
func (s *Server) SetSearchLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.searchLag = max(d, 0)
}

// SearchLag returns the current search index lag.
func (s *Server) SearchLag() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.searchLag
}

// serveSearchLag serves the control knob:
//
//	GET  /_sim/search-lag              → {"lagMs": 1000}
//	POST /_sim/search-lag {"lagMs": N} → 204 (N ≥ 0)
func (s *Server) serveSearchLag(w http.ResponseWriter, r *http.Request) {
	type body struct {
		LagMs *int64 `json:"lagMs"`
	}
	switch r.Method {
	case http.MethodGet:
		ms := s.SearchLag().Milliseconds()
		proto.WriteJSON(w, http.StatusOK, body{LagMs: &ms})
	case http.MethodPost:
		var b body
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&b); err != nil || b.LagMs == nil || *b.LagMs < 0 {
			proto.WriteError(w, simkit.Errorf(http.StatusBadRequest, "InvalidRequestException", `want {"lagMs": N} with N >= 0`))
			return
		}
		s.SetSearchLag(time.Duration(*b.LagMs) * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	default:
		proto.WriteError(w, simkit.Errorf(http.StatusMethodNotAllowed, "InvalidRequestException", "GET or POST /_sim/search-lag"))
	}
}
