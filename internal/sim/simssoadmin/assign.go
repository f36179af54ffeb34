package simssoadmin

// Directory is what AssignmentChecker needs of the identity store behind an
// instance: whether a user exists and whether it belongs to a group. The
// identitystore stand-in's *Server satisfies it.
type Directory interface {
	PrincipalExists(identityStoreID, principalType, principalID string) bool
	IsMember(identityStoreID, groupID, userID string) bool
}

// AssignmentChecker answers whether an IAM Identity Center user is assigned
// to an application of a Server, directly or through a group: the question
// WorkMail asks before it links a mailbox to an IdC user. Its UserAssigned
// method makes it a simworkmail.IdentityCenterAuthorizer, which is how a
// local run wires the three stand-ins together:
//
//	ids := simidentitystore.New(…)
//	sso := simssoadmin.New(simssoadmin.Options{Principals: ids})
//	wm := simworkmail.New(simworkmail.Options{IdentityCenter: sso.AssignmentChecker(ids)})
//
// It reads both stand-ins at call time, so assignments and memberships
// made (or removed) later count at once. It is safe for concurrent use.
type AssignmentChecker struct {
	s   *Server
	dir Directory
}

// AssignmentChecker returns a checker over s's application assignments and
// dir's users and group memberships.
func (s *Server) AssignmentChecker(dir Directory) *AssignmentChecker {
	return &AssignmentChecker{s: s, dir: dir}
}

// UserAssigned reports whether user userID exists in the identity store of
// applicationArn's instance and is assigned to that application, by a USER
// assignment or by a GROUP assignment of a group the user belongs to (IAM
// Identity Center has no nested groups). An unknown application assigns
// nobody.
func (a *AssignmentChecker) UserAssigned(applicationArn, userID string) bool {
	store, direct, groups, ok := a.s.assignmentsOf(applicationArn, userID)
	if !ok || !a.dir.PrincipalExists(store, "USER", userID) {
		return false
	}
	if direct {
		return true
	}
	for _, g := range groups {
		if a.dir.IsMember(store, g, userID) {
			return true
		}
	}
	return false
}

// assignmentsOf returns the identity store of an application's instance,
// whether userID has a USER assignment to it, and its GROUP assignments;
// ok is false for an unknown application.
func (s *Server) assignmentsOf(applicationArn, userID string) (store string, direct bool, groups []string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	app := s.apps[applicationArn]
	if app == nil {
		return "", false, nil, false
	}
	for _, x := range app.assignments {
		if x.p.typ == "GROUP" {
			groups = append(groups, x.p.id)
		}
	}
	return app.instance.identityStoreID, app.byPrincipal[principal{"USER", userID}] != nil, groups, true
}
