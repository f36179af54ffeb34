package simokta

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

func (s *Server) sortedGroupsLocked() []*group {
	return slices.SortedFunc(maps.Values(s.groups), func(a, b *group) int { return int(a.seq - b.seq) })
}

// createGroupLocked creates an OKTA_GROUP; names are unique (case-
// insensitive) as in Okta. s.mu must be held.
func (s *Server) createGroupLocked(ri reqInfo, name, description string, pushed bool) (*group, *APIError) {
	if strings.TrimSpace(name) == "" {
		return nil, invalid("name: The field cannot be left blank")
	}
	if len(name) > 255 {
		return nil, invalid("name: The field is too long")
	}
	for _, g := range s.groups {
		if strings.EqualFold(g.name, name) {
			return nil, invalid("name: An object with this field already exists in the current organization")
		}
	}
	now := s.now()
	g := &group{seq: s.nextSeq(), id: "00g" + s.randString(17), name: name, description: description,
		created: now, lastUpdated: now, lastMembershipUpdated: now, members: map[string]bool{}}
	s.groups[g.id] = g
	s.recordLocked(ri, EventGroupCreate, nil, groupTarget(g))
	if pushed {
		s.setPushedLocked(g, true)
	}
	return g, nil
}

// addMemberLocked adds u to g; adding a member again changes nothing and
// records nothing. s.mu must be held.
func (s *Server) addMemberLocked(ri reqInfo, g *group, u *user) {
	if g.members[u.id] {
		return
	}
	g.members[u.id] = true
	g.lastMembershipUpdated = s.now()
	s.recordLocked(ri, EventGroupMemberAdd, nil, userTarget(u), groupTarget(g))
	s.mirrorMemberLocked(g, u, true)
}

// removeMemberLocked removes u from g; removing a non-member changes
// nothing and records nothing. s.mu must be held.
func (s *Server) removeMemberLocked(ri reqInfo, g *group, u *user) {
	if !g.members[u.id] {
		return
	}
	delete(g.members, u.id)
	g.lastMembershipUpdated = s.now()
	s.recordLocked(ri, EventGroupMemberRemove, nil, userTarget(u), groupTarget(g))
	s.mirrorMemberLocked(g, u, false)
}

func (s *Server) deleteGroupLocked(ri reqInfo, g *group) {
	s.recordLocked(ri, EventGroupDelete, nil, groupTarget(g))
	delete(s.groups, g.id)
	s.mirrorGroupDeleteLocked(g)
}

type createGroupBody struct {
	Profile *groupProfile `json:"profile"`
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	var body createGroupBody
	if err := decodeBody(r, &body); err != nil {
		s.writeError(w, err)
		return
	}
	if body.Profile == nil {
		s.writeError(w, invalid("profile: The field cannot be left blank"))
		return
	}
	ri := s.requestInfo(r)
	s.mu.Lock()
	g, err := s.createGroupLocked(ri, body.Profile.Name, body.Profile.Description, false)
	var doc groupDoc
	if err == nil {
		doc = groupDocOf(s.baseURL(r), g)
	}
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, doc)
}

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, after, err := pageParams(q, 10000, 10000)
	if err != nil {
		s.writeError(w, err)
		return
	}
	prefix := strings.ToLower(q.Get("q"))
	base := s.baseURL(r)
	s.mu.Lock()
	docs := []groupDoc{}
	next, last := "", int64(0)
	for _, g := range s.sortedGroupsLocked() {
		if g.seq <= after || !strings.HasPrefix(strings.ToLower(g.name), prefix) {
			continue
		}
		if len(docs) == limit {
			next = cursor(last)
			break
		}
		docs = append(docs, groupDocOf(base, g))
		last = g.seq
	}
	s.mu.Unlock()
	setLinks(w, r, base, next)
	s.writeJSON(w, http.StatusOK, docs)
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	g := s.groups[id]
	var doc groupDoc
	if g != nil {
		doc = groupDocOf(s.baseURL(r), g)
	}
	s.mu.Unlock()
	if g == nil {
		s.writeError(w, groupNotFound(id))
		return
	}
	s.writeJSON(w, http.StatusOK, doc)
}

func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ri := s.requestInfo(r)
	s.mu.Lock()
	g := s.groups[id]
	if g != nil {
		s.deleteGroupLocked(ri, g)
	}
	s.mu.Unlock()
	if g == nil {
		s.writeError(w, groupNotFound(id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListGroupUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, after, err := pageParams(q, 1000, 1000)
	if err != nil {
		s.writeError(w, err)
		return
	}
	id := r.PathValue("id")
	base := s.baseURL(r)
	s.mu.Lock()
	g := s.groups[id]
	docs := []userDoc{}
	next, last := "", int64(0)
	if g != nil {
		for _, u := range s.usersByIDLocked(g.members) {
			if u.seq <= after {
				continue
			}
			if len(docs) == limit {
				next = cursor(last)
				break
			}
			docs = append(docs, s.userDoc(base, u))
			last = u.seq
		}
	}
	s.mu.Unlock()
	if g == nil {
		s.writeError(w, groupNotFound(id))
		return
	}
	setLinks(w, r, base, next)
	s.writeJSON(w, http.StatusOK, docs)
}

// handleMembership serves PUT (add) and DELETE (remove) of
// /api/v1/groups/{id}/users/{uid}: 204 either way, also when nothing
// changes.
func (s *Server) handleMembership(add bool) handler {
	return func(w http.ResponseWriter, r *http.Request) {
		gid, uid := r.PathValue("id"), r.PathValue("uid")
		ri := s.requestInfo(r)
		s.mu.Lock()
		g, u := s.groups[gid], s.users[uid]
		var err *APIError
		switch {
		case g == nil:
			err = groupNotFound(gid)
		case u == nil:
			err = userNotFound(uid)
		case add:
			s.addMemberLocked(ri, g, u)
		default:
			s.removeMemberLocked(ri, g, u)
		}
		s.mu.Unlock()
		if err != nil {
			s.writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// CreateGroup creates an Okta group, as POST /api/v1/groups does; pushed
// marks it for Group Push to the IdentityStore mirror. It returns the new
// group's id.
//
// Errors: *APIError wrapping ErrInvalid (blank or taken name). Not
// idempotent: a second call with the same name fails with ErrInvalid.
func (s *Server) CreateGroup(name, description string, pushed bool) (string, error) {
	ri := s.goRequest("/api/v1/groups")
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.createGroupLocked(ri, name, description, pushed)
	if err != nil {
		return "", err
	}
	return g.id, nil
}

// AddMember adds a user to a group, as PUT /api/v1/groups/{gid}/users/{uid}
// does. Idempotent: adding a member again records nothing.
//
// Errors: *APIError wrapping ErrNotFound (no such group or user).
func (s *Server) AddMember(groupID, userID string) error {
	return s.membership(groupID, userID, true)
}

// RemoveMember removes a user from a group, as DELETE
// /api/v1/groups/{gid}/users/{uid} does. Idempotent.
//
// Errors: *APIError wrapping ErrNotFound (no such group or user).
func (s *Server) RemoveMember(groupID, userID string) error {
	return s.membership(groupID, userID, false)
}

func (s *Server) membership(groupID, userID string, add bool) error {
	ri := s.goRequest("/api/v1/groups/" + groupID + "/users/" + userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupID]
	if g == nil {
		return groupNotFound(groupID)
	}
	u := s.findUserLocked(userID)
	if u == nil {
		return userNotFound(userID)
	}
	if add {
		s.addMemberLocked(ri, g, u)
	} else {
		s.removeMemberLocked(ri, g, u)
	}
	return nil
}

// DeleteGroup deletes a group, as DELETE /api/v1/groups/{id} does.
//
// Errors: *APIError wrapping ErrNotFound (also for a second call).
func (s *Server) DeleteGroup(groupID string) error {
	ri := s.goRequest("/api/v1/groups/" + groupID)
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupID]
	if g == nil {
		return groupNotFound(groupID)
	}
	s.deleteGroupLocked(ri, g)
	return nil
}

// SetGroupPushed turns Group Push to the IdentityStore mirror on or off
// for a group. Turning it on creates the group there with its mirrored
// members; turning it off leaves the mirrored group as it is (Okta's
// "unlink, keep the group"). Idempotent.
//
// Errors: *APIError wrapping ErrNotFound.
func (s *Server) SetGroupPushed(groupID string, pushed bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupID]
	if g == nil {
		return groupNotFound(groupID)
	}
	s.setPushedLocked(g, pushed)
	return nil
}
