package simokta

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// handleListLogs serves GET /api/v1/logs (the System Log API): since and
// until (Okta timestamps), filter, q (keywords, all must appear), limit
// (default 100, max 1000), after (cursor), sortOrder (ASCENDING default,
// DESCENDING without paging).
func (s *Server) handleListLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, after, err := pageParams(q, 100, 1000)
	if err != nil {
		s.writeError(w, err)
		return
	}
	var bounds [2]string
	for i, p := range []string{"since", "until"} {
		v := q.Get(p)
		if v == "" {
			continue
		}
		t, perr := time.Parse(time.RFC3339Nano, v)
		if perr != nil {
			s.writeError(w, &APIError{Status: http.StatusBadRequest, Code: "E0000030",
				Summary: "Bad request. Invalid date. Dates must be of the form yyyy-MM-dd'T'HH:mm:ss.SSSZZ, e.g. 2013-01-01T12:00:00.000-07:00.", kind: ErrInvalid})
			return
		}
		bounds[i] = fmtTime(t)
	}
	var filter expr
	if v := q.Get("filter"); v != "" {
		if filter, err = parseFilter(v); err != nil {
			s.writeError(w, err)
			return
		}
	}
	keywords := strings.Fields(strings.ToLower(q.Get("q")))
	desc := strings.EqualFold(q.Get("sortOrder"), "DESCENDING")
	s.mu.Lock()
	var hits []LogEvent
	next := ""
	for i := int(after); i < len(s.logs); i++ {
		e := &s.logs[i]
		if (bounds[0] != "" && e.Published < bounds[0]) || (bounds[1] != "" && e.Published >= bounds[1]) ||
			(filter != nil && !filter.match(logAttr(e))) || !hasKeywords(e, keywords) {
			continue
		}
		if !desc && len(hits) == limit {
			next = cursor(int64(i))
			break
		}
		hits = append(hits, *e)
	}
	s.mu.Unlock()
	if desc {
		slices.Reverse(hits)
		hits = hits[:min(limit, len(hits))]
	}
	if hits == nil {
		hits = []LogEvent{}
	}
	setLinks(w, r, s.baseURL(r), next)
	s.writeJSON(w, http.StatusOK, hits)
}

func hasKeywords(e *LogEvent, words []string) bool {
	if len(words) == 0 {
		return true
	}
	hay := []string{strings.ToLower(e.EventType), strings.ToLower(e.DisplayMessage), strings.ToLower(e.Actor.AlternateID)}
	for _, t := range e.Target {
		hay = append(hay, strings.ToLower(t.ID), strings.ToLower(t.AlternateID), strings.ToLower(t.DisplayName))
	}
	joined := strings.Join(hay, " ")
	for _, w := range words {
		if !strings.Contains(joined, w) {
			return false
		}
	}
	return true
}

// State is a snapshot of the org for assertions and GET /_sim/state.
type State struct {
	Users      []UserState       `json:"users"`
	Groups     []GroupState      `json:"groups"`
	EventHooks []HookState       `json:"eventHooks"`
	LogEvents  int               `json:"logEvents"`
	Deliveries []DeliveryAttempt `json:"deliveries"`
	HookFaults HookFaults        `json:"hookFaults"`
	Mirror     MirrorState       `json:"mirror"`
}

// UserState is one user in a State.
type UserState struct {
	ID       string            `json:"id"`
	Status   string            `json:"status"`
	Profile  map[string]string `json:"profile"`
	Mirrored bool              `json:"mirrored"`
}

// GroupState is one group in a State, with its members' ids.
type GroupState struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Pushed      bool     `json:"pushed"`
	Members     []string `json:"members"`
}

// HookState is one event hook in a State.
type HookState struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Status             string   `json:"status"`
	VerificationStatus string   `json:"verificationStatus"`
	URI                string   `json:"uri"`
	Events             []string `json:"events"`
}

// MirrorState is what the mirror knows and how far it got.
type MirrorState struct {
	Enabled bool              `json:"enabled"`
	Pending int               `json:"pending"`
	Done    int               `json:"done"`
	Users   map[string]string `json:"users"`  // Okta user id → IdentityStore UserId
	Groups  map[string]string `json:"groups"` // Okta group id → IdentityStore GroupId
	Errors  []MirrorError     `json:"errors"`
}

// State returns a snapshot of users, groups, hooks, deliveries and the
// mirror. It cannot fail.
func (s *Server) State() State {
	deliveries := s.Deliveries()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Users: []UserState{}, Groups: []GroupState{}, EventHooks: []HookState{}, LogEvents: len(s.logs),
		Deliveries: deliveries, HookFaults: s.faults,
		Mirror: MirrorState{Enabled: s.o.Mirror != nil, Pending: len(s.mirror.queue), Done: s.mirror.done,
			Users: maps.Clone(s.mirror.users), Groups: maps.Clone(s.mirror.groups),
			Errors: slices.Clone(s.mirror.errors)}}
	all := slices.Collect(maps.Values(s.users))
	sortUsers(all)
	for _, u := range all {
		st.Users = append(st.Users, UserState{ID: u.id, Status: u.status, Profile: maps.Clone(u.profile), Mirrored: u.mirrored})
	}
	for _, g := range s.sortedGroupsLocked() {
		gs := GroupState{ID: g.id, Name: g.name, Description: g.description, Pushed: g.pushed, Members: []string{}}
		for _, u := range s.usersByIDLocked(g.members) {
			gs.Members = append(gs.Members, u.id)
		}
		st.Groups = append(st.Groups, gs)
	}
	hooks := slices.SortedFunc(maps.Values(s.hooks), func(a, b *hook) int { return int(a.seq - b.seq) })
	for _, h := range hooks {
		st.EventHooks = append(st.EventHooks, HookState{ID: h.id, Name: h.name, Status: h.status,
			VerificationStatus: h.verification, URI: h.uri, Events: slices.Clone(h.events)})
	}
	return st
}

// serveControl serves the stand-in's own /_sim routes and hands the rest
// to simkit's control surface.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && path == "/_sim/deliveries":
		s.writeJSON(w, http.StatusOK, s.Deliveries())
	case r.Method == http.MethodGet && path == "/_sim/hook-faults":
		s.writeJSON(w, http.StatusOK, s.HookFaults())
	case r.Method == http.MethodPost && path == "/_sim/hook-faults":
		var req struct {
			DuplicateRate  float64 `json:"duplicateRate"`
			ReorderRate    float64 `json:"reorderRate"`
			DropRate       float64 `json:"dropRate"`
			ReorderDelayMs int     `json:"reorderDelayMs"`
		}
		if err := decodeBody(r, &req); err != nil {
			s.writeError(w, err)
			return
		}
		s.SetHookFaults(HookFaults{DuplicateRate: req.DuplicateRate, ReorderRate: req.ReorderRate,
			DropRate: req.DropRate, ReorderDelay: time.Duration(req.ReorderDelayMs) * time.Millisecond})
		w.WriteHeader(http.StatusNoContent)
	case (r.Method == http.MethodGet || r.Method == http.MethodPost) && path == "/_sim/service-apps":
		s.serveServiceApps(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodPost) && path == "/_sim/rate-limits":
		s.serveRateLimits(w, r)
	case r.Method == http.MethodPost && path == "/_sim/flush":
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		if err := s.Flush(ctx); err != nil {
			s.writeError(w, &APIError{Status: http.StatusServiceUnavailable, Code: codeInternal, Summary: err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/_sim/groups/") && strings.HasSuffix(path, "/push"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/_sim/groups/"), "/push")
		req := struct {
			Pushed *bool `json:"pushed"`
		}{}
		if r.ContentLength != 0 {
			if err := decodeBody(r, &req); err != nil {
				s.writeError(w, err)
				return
			}
		}
		pushed := req.Pushed == nil || *req.Pushed
		if err := s.SetGroupPushed(id, pushed); err != nil {
			s.writeError(w, asAPIError(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/_sim/users/") && strings.HasSuffix(path, "/complete-activation"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/_sim/users/"), "/complete-activation")
		if err := s.CompleteActivation(id); err != nil {
			s.writeError(w, asAPIError(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		s.ctl.ServeControl(w, r, func() any { return s.State() })
	}
}
