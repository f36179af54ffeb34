package simconnect

import (
	"context"
	"strings"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// createUser is CreateUser: PUT /users/{InstanceId}.
func (s *Server) createUser(_ context.Context, c *call) (any, error) {
	var in createUserIn
	if err := decode(c.body, &in); err != nil {
		return nil, err
	}
	var p simkit.Problems
	checkInstanceID(&p, c.instance)
	p.Required("username", in.Username)
	p.Length("username", in.Username, 1, 100)
	checkPassword(&p, in.Password)
	checkIdentityInfo(&p, "identityInfo", in.IdentityInfo)
	switch {
	case in.PhoneConfig != nil:
		checkPhoneConfig(&p, in.PhoneConfig)
	case in.AutoAcceptConfigs == nil && in.AfterContactWorkConfigs == nil && in.PhoneNumberConfigs == nil &&
		in.PersistentConnectionConfigs == nil && in.VoiceEnhancementConfigs == nil:
		p.Required("phoneConfig", "")
	}
	checkSecurityProfileIDs(&p, in.SecurityProfileIDs)
	p.Required("routingProfileId", in.RoutingProfileID)
	checkTags(&p, in.Tags)
	if err := problems(&p); err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	inst, err := s.lookupInstance(c.instance)
	if err != nil {
		return nil, err
	}
	if err := checkUsername(inst.idType, in.Username); err != nil {
		return nil, err
	}
	if err := checkIdentityRules(inst.idType, in.Password, in.DirectoryUserID, in.IdentityInfo, true); err != nil {
		return nil, err
	}
	if err := checkSecurityProfilesExist(inst, in.SecurityProfileIDs); err != nil {
		return nil, err
	}
	if inst.routingProfiles[in.RoutingProfileID] == nil {
		return nil, errNotFound("RoutingProfile %s not found in instance %s", in.RoutingProfileID, inst.id)
	}
	if in.HierarchyGroupID != nil && inst.hierarchyGroups[*in.HierarchyGroupID] == nil {
		return nil, errNotFound("HierarchyGroup %s not found in instance %s", *in.HierarchyGroupID, inst.id)
	}
	if _, taken := inst.byName[strings.ToLower(in.Username)]; taken {
		return nil, errDuplicate("User with username %s already exists", in.Username)
	}
	if len(inst.users) >= inst.userLimit {
		return nil, errLimitExceeded("The number of users in instance %s has reached the limit of %d", inst.id, inst.userLimit)
	}

	u := &User{
		Username:           in.Username,
		PhoneType:          "SOFT_PHONE",
		SecurityProfileIDs: dedupe(in.SecurityProfileIDs),
		RoutingProfileID:   in.RoutingProfileID,
		Tags:               in.Tags,
		LastModifiedTime:   s.now(),
	}
	if pc := in.PhoneConfig; pc != nil {
		u.PhoneType, u.AutoAccept, u.DeskPhoneNumber = pc.PhoneType, pc.AutoAccept, pc.DeskPhoneNumber
		if pc.AfterContactWorkTimeLimit != nil {
			u.AfterContactWorkTimeLimit = *pc.AfterContactWorkTimeLimit
		}
	}
	setIdentityInfo(u, in.IdentityInfo)
	if in.DirectoryUserID != nil {
		u.DirectoryUserID = *in.DirectoryUserID
	}
	if in.HierarchyGroupID != nil {
		u.HierarchyGroupID = *in.HierarchyGroupID
	}
	s.insertUserLocked(inst, u)
	s.reindexLocked(inst, u, false)
	return createUserOut{UserID: u.ID, UserArn: u.ARN}, nil
}

func checkSecurityProfilesExist(inst *instance, ids []string) error {
	for _, id := range ids {
		if inst.securityProfiles[id] == nil {
			return errNotFound("SecurityProfile %s not found in instance %s", id, inst.id)
		}
	}
	return nil
}

func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func setIdentityInfo(u *User, info *identityInfoJSON) {
	if info == nil {
		info = &identityInfoJSON{}
	}
	u.FirstName, u.LastName, u.Email = info.FirstName, info.LastName, info.Email
	u.SecondaryEmail, u.Mobile = info.SecondaryEmail, info.Mobile
}

// lookupUser finds a user of an instance; s.mu must be held.
func (s *Server) lookupUser(instanceID, userID string) (*instance, *User, error) {
	inst, err := s.lookupInstance(instanceID)
	if err != nil {
		return nil, nil, err
	}
	u := inst.users[userID]
	if u == nil {
		return nil, nil, errNotFound("User %s not found in instance %s", userID, inst.id)
	}
	return inst, u, nil
}

func labelProblems(c *call) error {
	var p simkit.Problems
	checkLabels(&p, c)
	return problems(&p)
}

// checkLabels checks the InstanceId and UserId path labels.
func checkLabels(p *simkit.Problems, c *call) {
	checkInstanceID(p, c.instance)
	p.Required("userId", c.user)
}

// describeUser is DescribeUser: GET /users/{InstanceId}/{UserId}.
func (s *Server) describeUser(_ context.Context, c *call) (any, error) {
	if err := labelProblems(c); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, u, err := s.lookupUser(c.instance, c.user)
	if err != nil {
		return nil, err
	}
	return describeUserOut{User: s.userJSON(u)}, nil
}

func (s *Server) userJSON(u *User) userJSON {
	out := userJSON{
		ID: u.ID, Arn: u.ARN, Username: u.Username,
		PhoneConfig:        phoneJSON(u, 1),
		DirectoryUserID:    u.DirectoryUserID,
		SecurityProfileIDs: append([]string{}, u.SecurityProfileIDs...),
		RoutingProfileID:   u.RoutingProfileID,
		HierarchyGroupID:   u.HierarchyGroupID,
		Tags:               u.Tags,
		LastModifiedTime:   epochSeconds(u.LastModifiedTime),
		LastModifiedRegion: s.region,
	}
	info := identityInfoJSON{FirstName: u.FirstName, LastName: u.LastName, Email: u.Email,
		SecondaryEmail: u.SecondaryEmail, Mobile: u.Mobile}
	if info != (identityInfoJSON{}) {
		out.IdentityInfo = &info
	}
	return out
}

// phoneJSON is the user's PhoneConfig with AfterContactWorkTimeLimit in
// seconds times acwScale (SearchUsers answers it in milliseconds).
func phoneJSON(u *User, acwScale int64) phoneConfigJSON {
	return phoneConfigJSON{PhoneType: u.PhoneType, AutoAccept: u.AutoAccept,
		AfterContactWorkTimeLimit: u.AfterContactWorkTimeLimit * acwScale, DeskPhoneNumber: u.DeskPhoneNumber}
}

// deleteUser is DeleteUser: DELETE /users/{InstanceId}/{UserId}.
func (s *Server) deleteUser(_ context.Context, c *call) (any, error) {
	if err := labelProblems(c); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, u, err := s.lookupUser(c.instance, c.user)
	if err != nil {
		return nil, err
	}
	delete(inst.users, u.ID)
	delete(inst.byName, strings.ToLower(u.Username))
	s.reindexLocked(inst, u, true)
	return struct{}{}, nil
}

// updateUserWith serves one UpdateUser* operation: it decodes the body into
// In, reports the path labels' problems and check's together, then, with
// s.mu held, finds the user, lets apply change it (an error leaves the user
// as it was) and stamps LastModifiedTime.
func updateUserWith[In any](s *Server, c *call, check func(*simkit.Problems, *In), apply func(*instance, *User, *In) error) (any, error) {
	var in In
	if err := decode(c.body, &in); err != nil {
		return nil, err
	}
	var p simkit.Problems
	checkLabels(&p, c)
	check(&p, &in)
	if err := problems(&p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, u, err := s.lookupUser(c.instance, c.user)
	if err != nil {
		return nil, err
	}
	if err := apply(inst, u, &in); err != nil {
		return nil, err
	}
	u.LastModifiedTime = s.now()
	s.reindexLocked(inst, u, false)
	return struct{}{}, nil
}

// updateUserIdentityInfo is UpdateUserIdentityInfo: POST
// /users/{InstanceId}/{UserId}/identity-info. The given IdentityInfo
// replaces the user's whole identity info (members left out are cleared).
func (s *Server) updateUserIdentityInfo(_ context.Context, c *call) (any, error) {
	return updateUserWith(s, c, func(p *simkit.Problems, in *updateIdentityInfoIn) {
		if in.IdentityInfo == nil {
			p.Required("identityInfo", "")
		}
		checkIdentityInfo(p, "identityInfo", in.IdentityInfo)
	}, func(inst *instance, u *User, in *updateIdentityInfoIn) error {
		if err := checkIdentityRules(inst.idType, nil, nil, in.IdentityInfo, false); err != nil {
			return err
		}
		info := in.IdentityInfo
		if inst.idType == IdentityExistingDirectory &&
			(info.FirstName != u.FirstName || info.LastName != u.LastName || info.Email != u.Email) {
			return errInvalidRequest("FirstName, LastName and Email are managed by the directory of instance %s", inst.id)
		}
		setIdentityInfo(u, info)
		return nil
	})
}

// updateUserSecurityProfiles is UpdateUserSecurityProfiles: POST
// /users/{InstanceId}/{UserId}/security-profiles. The list replaces the
// user's.
func (s *Server) updateUserSecurityProfiles(_ context.Context, c *call) (any, error) {
	return updateUserWith(s, c, func(p *simkit.Problems, in *updateSecurityProfilesIn) {
		checkSecurityProfileIDs(p, in.SecurityProfileIDs)
	}, func(inst *instance, u *User, in *updateSecurityProfilesIn) error {
		if err := checkSecurityProfilesExist(inst, in.SecurityProfileIDs); err != nil {
			return err
		}
		u.SecurityProfileIDs = dedupe(in.SecurityProfileIDs)
		return nil
	})
}

// updateUserRoutingProfile is UpdateUserRoutingProfile: POST
// /users/{InstanceId}/{UserId}/routing-profile.
func (s *Server) updateUserRoutingProfile(_ context.Context, c *call) (any, error) {
	return updateUserWith(s, c, func(p *simkit.Problems, in *updateRoutingProfileIn) {
		p.Required("routingProfileId", in.RoutingProfileID)
	}, func(inst *instance, u *User, in *updateRoutingProfileIn) error {
		if inst.routingProfiles[in.RoutingProfileID] == nil {
			return errNotFound("RoutingProfile %s not found in instance %s", in.RoutingProfileID, inst.id)
		}
		u.RoutingProfileID = in.RoutingProfileID
		return nil
	})
}

// updateUserHierarchy is UpdateUserHierarchy: POST
// /users/{InstanceId}/{UserId}/hierarchy. A missing or empty
// HierarchyGroupId removes the user from their hierarchy group.
func (s *Server) updateUserHierarchy(_ context.Context, c *call) (any, error) {
	return updateUserWith(s, c, func(*simkit.Problems, *updateHierarchyIn) {}, func(inst *instance, u *User, in *updateHierarchyIn) error {
		group := ""
		if in.HierarchyGroupID != nil {
			group = *in.HierarchyGroupID
		}
		if group != "" && inst.hierarchyGroups[group] == nil {
			return errNotFound("HierarchyGroup %s not found in instance %s", group, inst.id)
		}
		u.HierarchyGroupID = group
		return nil
	})
}
