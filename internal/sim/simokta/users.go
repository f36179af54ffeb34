package simokta

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Lifecycle operations of POST /api/v1/users/{id}/lifecycle/{op}.
const (
	OpActivate   = "activate"
	OpDeactivate = "deactivate"
	OpSuspend    = "suspend"
	OpUnsuspend  = "unsuspend"
	OpReactivate = "reactivate"
)

// findUserLocked finds a user by id, else by login (case-insensitive, as
// Okta's logins are); s.mu must be held.
func (s *Server) findUserLocked(idOrLogin string) *user {
	if u := s.users[idOrLogin]; u != nil {
		return u
	}
	for _, u := range s.users {
		if strings.EqualFold(u.login(), idOrLogin) {
			return u
		}
	}
	return nil
}

func (s *Server) loginTakenLocked(login, except string) bool {
	for _, u := range s.users {
		if u.id != except && strings.EqualFold(u.login(), login) {
			return true
		}
	}
	return false
}

// createUserLocked creates a user (STAGED), then activates it when asked,
// then adds it to groupIDs; s.mu must be held.
func (s *Server) createUserLocked(ri reqInfo, profile map[string]string, password, activate bool, groupIDs []string) (*user, *APIError) {
	if causes := validateProfile(profile); len(causes) > 0 {
		return nil, invalid(causes...)
	}
	if s.loginTakenLocked(profile["login"], "") {
		return nil, invalid("login: An object with this field already exists in the current organization")
	}
	var groups []*group
	for _, gid := range groupIDs {
		g := s.groups[gid]
		if g == nil {
			return nil, invalid("groupIds: Group " + gid + " does not exist")
		}
		groups = append(groups, g)
	}
	now := s.now()
	u := &user{seq: s.nextSeq(), id: "00u" + s.randString(17), status: StatusStaged, hasPassword: password,
		created: now, lastUpdated: now, profile: maps.Clone(profile)}
	if password {
		u.passwordChanged = now
	}
	s.users[u.id] = u
	s.recordLocked(ri, EventUserCreate, nil, userTarget(u))
	if activate {
		if err := s.lifecycleLocked(ri, u, OpActivate); err != nil {
			return nil, err
		}
	}
	for _, g := range groups {
		s.addMemberLocked(ri, g, u)
	}
	return u, nil
}

// lifecycleLocked applies one lifecycle operation with Okta's allowed
// transitions; s.mu must be held.
func (s *Server) lifecycleLocked(ri reqInfo, u *user, op string) *APIError {
	from := u.status
	var to, event string
	switch op {
	case OpActivate:
		if from != StatusStaged && from != StatusDeprovisioned {
			return alreadyActive()
		}
		to, event = StatusProvisioned, EventUserActivate
		if u.hasPassword {
			to = StatusActive
		}
	case OpDeactivate:
		if from == StatusDeprovisioned {
			return lifecycleErr("Cannot deactivate a user that is already deprovisioned")
		}
		to, event = StatusDeprovisioned, EventUserDeactivate
	case OpSuspend:
		if from != StatusActive {
			return lifecycleErr("Cannot suspend a user that is not active")
		}
		to, event = StatusSuspended, EventUserSuspend
	case OpUnsuspend:
		if from != StatusSuspended {
			return lifecycleErr("Cannot unsuspend a user that is not suspended")
		}
		to, event = StatusActive, EventUserUnsuspend
	case OpReactivate:
		if from != StatusProvisioned {
			return lifecycleErr("Cannot reactivate a user that is not provisioned")
		}
		to, event = StatusProvisioned, EventUserReactivate
	default:
		return notFound("Resource not found: %s (lifecycle operation)", op)
	}
	now := s.now()
	if to != from {
		u.status = to
		u.statusChanged = now
	}
	if to == StatusActive {
		u.activated = now
	}
	if to == StatusDeprovisioned {
		u.activated = time.Time{} // Okta shows activated: null for deactivated users
	}
	u.lastUpdated = now
	s.recordLocked(ri, event, nil, userTarget(u))
	s.mirrorPushUserLocked(u)
	return nil
}

// completeActivationLocked moves a PROVISIONED user to ACTIVE, as the user
// finishing Okta's activation flow does; s.mu must be held.
func (s *Server) completeActivationLocked(ri reqInfo, u *user) *APIError {
	if u.status != StatusProvisioned {
		return lifecycleErr("Cannot complete activation of a user that is not provisioned")
	}
	now := s.now()
	u.status, u.statusChanged, u.activated, u.lastUpdated = StatusActive, now, now, now
	u.hasPassword, u.passwordChanged = true, now
	s.recordLocked(ri, EventUserActivate, nil, userTarget(u))
	return nil
}

// setProfileLocked replaces u's profile with p after validation, recording
// user.account.update_profile with the changed attribute names when
// anything changed; s.mu must be held.
func (s *Server) setProfileLocked(ri reqInfo, u *user, p map[string]string) *APIError {
	if causes := validateProfile(p); len(causes) > 0 {
		return invalid(causes...)
	}
	if s.loginTakenLocked(p["login"], u.id) {
		return invalid("login: An object with this field already exists in the current organization")
	}
	var changed []string
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(u.profile, p))) {
		if u.profile[k] != p[k] {
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	old := u.profile
	u.profile = maps.Clone(p)
	u.lastUpdated = s.now()
	s.recordLocked(ri, EventUserUpdateProfile, map[string]string{"changedAttributes": strings.Join(changed, ",")}, userTarget(u))
	s.mirrorUpdateUserLocked(u, old)
	return nil
}

func sortUsers(us []*user) {
	slices.SortFunc(us, func(a, b *user) int { return int(a.seq - b.seq) })
}

func mergeKeys(a, b map[string]string) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// deleteUserLocked is DELETE /api/v1/users/{id}: a user that is not
// DEPROVISIONED is deactivated, a DEPROVISIONED one deleted. It reports
// whether the user was deleted; s.mu must be held.
func (s *Server) deleteUserLocked(ri reqInfo, u *user) bool {
	if u.status != StatusDeprovisioned {
		_ = s.lifecycleLocked(ri, u, OpDeactivate)
		return false
	}
	s.recordLocked(ri, EventUserDeleteInitiated, nil, userTarget(u))
	for _, g := range s.groups {
		delete(g.members, u.id)
	}
	delete(s.users, u.id)
	s.mirrorDeleteUserLocked(u)
	return true
}

// decodeProfile turns a JSON profile into attribute strings. null values
// are reported in nulls (they clear an attribute on a partial update).
func decodeProfile(in map[string]any) (attrs map[string]string, nulls []string, err *APIError) {
	attrs = map[string]string{}
	var causes []string
	for _, k := range slices.Sorted(maps.Keys(in)) {
		switch v := in[k].(type) {
		case nil:
			nulls = append(nulls, k)
		case string:
			attrs[k] = v
		default:
			causes = append(causes, k+": Does not match required type string")
		}
	}
	if len(causes) > 0 {
		return nil, nil, invalid(causes...)
	}
	return attrs, nulls, nil
}

type createUserBody struct {
	Profile     map[string]any `json:"profile"`
	Credentials *struct {
		Password *struct {
			Value string `json:"value"`
		} `json:"password"`
	} `json:"credentials"`
	GroupIDs []string `json:"groupIds"`
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var body createUserBody
	if err := decodeBody(r, &body); err != nil {
		s.writeError(w, err)
		return
	}
	profile, _, err := decodeProfile(body.Profile)
	if err != nil {
		s.writeError(w, err)
		return
	}
	password := body.Credentials != nil && body.Credentials.Password != nil && body.Credentials.Password.Value != ""
	activate := r.URL.Query().Get("activate") != "false"
	ri := s.requestInfo(r)
	s.mu.Lock()
	u, err := s.createUserLocked(ri, profile, password, activate, body.GroupIDs)
	var doc userDoc
	if err == nil {
		doc = s.userDoc(s.baseURL(r), u)
	}
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, doc)
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	u := s.findUserLocked(id)
	var doc userDoc
	if u != nil {
		doc = s.userDoc(s.baseURL(r), u)
	}
	s.mu.Unlock()
	if u == nil {
		s.writeError(w, userNotFound(id))
		return
	}
	s.writeJSON(w, http.StatusOK, doc)
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, after, err := pageParams(q, 200, 200)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if q.Get("filter") != "" && q.Get("search") != "" {
		s.writeError(w, &APIError{Status: http.StatusBadRequest, Code: "E0000033",
			Summary: "Cannot specify a search query and filter in the same request.", kind: ErrInvalid})
		return
	}
	// Without filter or search, Okta lists every user but the DEPROVISIONED.
	match := func(u *user) bool { return u.status != StatusDeprovisioned }
	if text := q.Get("q"); text != "" {
		text = strings.ToLower(text)
		match = func(u *user) bool {
			if u.status == StatusDeprovisioned {
				return false
			}
			for _, k := range []string{"firstName", "lastName", "email", "login"} {
				if strings.HasPrefix(strings.ToLower(u.profile[k]), text) {
					return true
				}
			}
			return false
		}
	}
	for _, param := range []string{"filter", "search"} {
		if v := q.Get(param); v != "" {
			e, err := parseFilter(v)
			if err != nil {
				s.writeError(w, err)
				return
			}
			match = func(u *user) bool { return e.match(userAttr(u)) }
		}
	}
	base := s.baseURL(r)
	s.mu.Lock()
	all := slices.Collect(maps.Values(s.users))
	sortUsers(all)
	docs := []userDoc{}
	next, last := "", int64(0)
	for _, u := range all {
		if u.seq <= after || !match(u) {
			continue
		}
		if len(docs) == limit {
			next = cursor(last)
			break
		}
		docs = append(docs, s.userDoc(base, u))
		last = u.seq
	}
	s.mu.Unlock()
	setLinks(w, r, base, next)
	s.writeJSON(w, http.StatusOK, docs)
}

// handleUpdateUser serves POST (partial: only the given attributes change,
// null clears one) and PUT (the profile is replaced).
func (s *Server) handleUpdateUser(partial bool) handler {
	return func(w http.ResponseWriter, r *http.Request) {
		var body createUserBody
		if err := decodeBody(r, &body); err != nil {
			s.writeError(w, err)
			return
		}
		attrs, nulls, err := decodeProfile(body.Profile)
		if err != nil {
			s.writeError(w, err)
			return
		}
		id := r.PathValue("id")
		ri := s.requestInfo(r)
		s.mu.Lock()
		doc, err := s.updateUserLocked(ri, s.baseURL(r), id, attrs, nulls, partial, body.Profile != nil)
		s.mu.Unlock()
		if err != nil {
			s.writeError(w, err)
			return
		}
		s.writeJSON(w, http.StatusOK, doc)
	}
}

// updateUserLocked applies a POST (partial) or PUT profile update; s.mu
// must be held.
func (s *Server) updateUserLocked(ri reqInfo, base, id string, attrs map[string]string, nulls []string, partial, hasProfile bool) (userDoc, *APIError) {
	u := s.findUserLocked(id)
	if u == nil {
		return userDoc{}, userNotFound(id)
	}
	p := attrs
	if partial {
		p = maps.Clone(u.profile)
		maps.Copy(p, attrs)
		for _, k := range nulls {
			delete(p, k)
		}
	}
	if hasProfile || !partial {
		if err := s.setProfileLocked(ri, u, p); err != nil {
			return userDoc{}, err
		}
	}
	return s.userDoc(base, u), nil
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ri := s.requestInfo(r)
	s.mu.Lock()
	u := s.findUserLocked(id)
	if u != nil {
		s.deleteUserLocked(ri, u)
	}
	s.mu.Unlock()
	if u == nil {
		s.writeError(w, userNotFound(id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleUserLifecycle(w http.ResponseWriter, r *http.Request) {
	id, op := r.PathValue("id"), r.PathValue("op")
	ri := s.requestInfo(r)
	base := s.baseURL(r)
	s.mu.Lock()
	u := s.findUserLocked(id)
	var err *APIError
	if u == nil {
		err = userNotFound(id)
	} else {
		err = s.lifecycleLocked(ri, u, op)
	}
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, err)
		return
	}
	// Activation and reactivation answer with an activation link when
	// sendEmail=false, else with an empty object, as Okta does.
	out := map[string]string{}
	if (op == OpActivate || op == OpReactivate) && r.URL.Query().Get("sendEmail") == "false" {
		tok := opaque(20)
		out["activationToken"] = tok
		out["activationUrl"] = base + "/welcome/" + tok
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListUserGroups(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	base := s.baseURL(r)
	s.mu.Lock()
	u := s.findUserLocked(id)
	docs := []groupDoc{}
	if u != nil {
		for _, g := range s.sortedGroupsLocked() {
			if g.members[u.id] {
				docs = append(docs, groupDocOf(base, g))
			}
		}
	}
	s.mu.Unlock()
	if u == nil {
		s.writeError(w, userNotFound(id))
		return
	}
	s.writeJSON(w, http.StatusOK, docs)
}

// CreateUser creates a user as POST /api/v1/users would for an admin who
// also sets a password: activate=true makes it ACTIVE, false leaves it
// STAGED. The change is logged and hooked like an API call. It returns the
// new user's id.
//
// Errors: *APIError wrapping ErrInvalid (profile fails validation, login
// taken). Not idempotent: each call creates a user.
func (s *Server) CreateUser(p Profile, activate bool) (string, error) {
	ri := s.goRequest("/api/v1/users")
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.createUserLocked(ri, p.attrs(), true, activate, nil)
	if err != nil {
		return "", err
	}
	return u.id, nil
}

// Lifecycle applies one of OpActivate, OpDeactivate, OpSuspend, OpUnsuspend
// and OpReactivate to the user with that id or login, as the API does.
//
// Errors: *APIError wrapping ErrNotFound (no such user or operation) or
// ErrLifecycle (the user's status does not allow it). Not idempotent: a
// repeated call fails with ErrLifecycle.
func (s *Server) Lifecycle(userID, op string) error {
	ri := s.goRequest("/api/v1/users/" + userID + "/lifecycle/" + op)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUserLocked(userID)
	if u == nil {
		return userNotFound(userID)
	}
	if err := s.lifecycleLocked(ri, u, op); err != nil {
		return err
	}
	return nil
}

// CompleteActivation moves a PROVISIONED user to ACTIVE, standing in for
// the user completing Okta's activation email (user.lifecycle.activate).
//
// Errors: *APIError wrapping ErrNotFound or ErrLifecycle (not PROVISIONED).
// Not idempotent: a second call fails with ErrLifecycle.
func (s *Server) CompleteActivation(userID string) error {
	ri := s.goRequest("/api/v1/users/" + userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUserLocked(userID)
	if u == nil {
		return userNotFound(userID)
	}
	if err := s.completeActivationLocked(ri, u); err != nil {
		return err
	}
	return nil
}

// UpdateProfile merges the set fields of p (and p.Extra) into the user's
// profile, as POST /api/v1/users/{id} does.
//
// Errors: *APIError wrapping ErrNotFound or ErrInvalid. Idempotent: an
// update that changes nothing records no event.
func (s *Server) UpdateProfile(userID string, p Profile) error {
	ri := s.goRequest("/api/v1/users/" + userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUserLocked(userID)
	if u == nil {
		return userNotFound(userID)
	}
	merged := maps.Clone(u.profile)
	maps.Copy(merged, p.attrs())
	if err := s.setProfileLocked(ri, u, merged); err != nil {
		return err
	}
	return nil
}

// DeleteUser is DELETE /api/v1/users/{id}: the first call on a user that is
// not DEPROVISIONED deactivates it, the next deletes it. It reports whether
// the user was deleted.
//
// Errors: *APIError wrapping ErrNotFound. Not idempotent: each call moves
// the user one step on, and a call after deletion fails with ErrNotFound.
func (s *Server) DeleteUser(userID string) (bool, error) {
	ri := s.goRequest("/api/v1/users/" + userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUserLocked(userID)
	if u == nil {
		return false, userNotFound(userID)
	}
	return s.deleteUserLocked(ri, u), nil
}
