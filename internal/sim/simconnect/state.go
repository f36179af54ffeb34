package simconnect

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Errors of the seeding methods.
var (
	// ErrNoInstance: the instance id is not one of the server's.
	ErrNoInstance = errors.New("connect sim: no such instance")
	// ErrDuplicateUsername: the instance already has a user of that name
	// (compared case-insensitively).
	ErrDuplicateUsername = errors.New("connect sim: username taken")
)

// User is one agent account as the stand-in holds it (passwords are not
// kept).
type User struct {
	ID                        string            `json:"id"`
	ARN                       string            `json:"arn"`
	Username                  string            `json:"username"`
	FirstName                 string            `json:"firstName,omitempty"`
	LastName                  string            `json:"lastName,omitempty"`
	Email                     string            `json:"email,omitempty"`
	SecondaryEmail            string            `json:"secondaryEmail,omitempty"`
	Mobile                    string            `json:"mobile,omitempty"`
	PhoneType                 string            `json:"phoneType"`
	AutoAccept                bool              `json:"autoAccept"`
	AfterContactWorkTimeLimit int64             `json:"afterContactWorkTimeLimit"`
	DeskPhoneNumber           string            `json:"deskPhoneNumber,omitempty"`
	DirectoryUserID           string            `json:"directoryUserId,omitempty"`
	SecurityProfileIDs        []string          `json:"securityProfileIds"`
	RoutingProfileID          string            `json:"routingProfileId"`
	HierarchyGroupID          string            `json:"hierarchyGroupId,omitempty"`
	Tags                      map[string]string `json:"tags,omitempty"`
	LastModifiedTime          time.Time         `json:"lastModifiedTime"`
}

func (u *User) clone() User {
	c := *u
	c.SecurityProfileIDs = slices.Clone(u.SecurityProfileIDs)
	c.Tags = maps.Clone(u.Tags)
	return c
}

// Profile is a seeded security profile, routing profile or hierarchy group.
type Profile struct {
	ID   string `json:"id"`
	ARN  string `json:"arn"`
	Name string `json:"name"`
}

// InstanceState is one instance in the /_sim/state dump.
type InstanceState struct {
	ID                     string    `json:"id"`
	ARN                    string    `json:"arn"`
	Alias                  string    `json:"alias"`
	IdentityManagementType string    `json:"identityManagementType"`
	UserLimit              int       `json:"userLimit"`
	SecurityProfiles       []Profile `json:"securityProfiles"`
	RoutingProfiles        []Profile `json:"routingProfiles"`
	HierarchyGroups        []Profile `json:"hierarchyGroups"`
	Users                  []User    `json:"users"`
}

type profile struct {
	Profile
	modified time.Time
}

type instance struct {
	id, arn, alias, idType string
	created                time.Time
	userLimit              int
	users                  map[string]*User  // by id
	byName                 map[string]string // lower-cased username → id
	securityProfiles       map[string]*profile
	routingProfiles        map[string]*profile
	hierarchyGroups        map[string]*profile
	index                  map[string]*User // what SearchUsers sees, by id (index.go)
	pending                []indexChange    // changes on their way to index, oldest first
}

// sortedUsers returns the instance's users ordered by lower-cased username,
// then id: the order of ListUsers and SearchUsers pages.
func (in *instance) sortedUsers() []*User {
	us := slices.Collect(maps.Values(in.users))
	slices.SortFunc(us, func(a, b *User) int { return strings.Compare(userKey(a), userKey(b)) })
	return us
}

func userKey(u *User) string { return strings.ToLower(u.Username) + "\x00" + u.ID }

func sortedProfiles(m map[string]*profile) []*profile {
	ps := slices.Collect(maps.Values(m))
	slices.SortFunc(ps, func(a, b *profile) int { return strings.Compare(profileKey(a), profileKey(b)) })
	return ps
}

func profileKey(p *profile) string { return strings.ToLower(p.Name) + "\x00" + p.ID }

// lookupInstance finds an instance by id or instance ARN; s.mu must be held.
func (s *Server) lookupInstance(idOrARN string) (*instance, error) {
	id := idOrARN
	if strings.HasPrefix(id, "arn:") {
		_, after, ok := strings.Cut(id, ":instance/")
		if !ok {
			return nil, errInvalidParameter("InstanceId %q is not an instance id or ARN", idOrARN)
		}
		id = after
	}
	in := s.instances[id]
	if in == nil {
		return nil, errNotFound("Instance %s not found", idOrARN)
	}
	return in, nil
}

func (s *Server) arn(rest string) string {
	return fmt.Sprintf("arn:aws:connect:%s:%s:instance/%s", s.region, s.account, rest)
}

// AddInstance creates an ACTIVE instance with the given alias and identity
// management type (IdentitySAML, IdentityConnectManaged or
// IdentityExistingDirectory) and returns its id. It returns "" for an
// unknown identity management type. Each call makes a new instance.
func (s *Server) AddInstance(alias string, identityManagementType string) (instanceID string) {
	switch identityManagementType {
	case IdentitySAML, IdentityConnectManaged, IdentityExistingDirectory:
	default:
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID()
	s.instances[id] = &instance{
		id: id, arn: s.arn(id), alias: alias, idType: identityManagementType,
		created:          s.now(),
		userLimit:        s.userLimit,
		users:            map[string]*User{},
		byName:           map[string]string{},
		securityProfiles: map[string]*profile{},
		routingProfiles:  map[string]*profile{},
		hierarchyGroups:  map[string]*profile{},
		index:            map[string]*User{},
	}
	s.order = append(s.order, id)
	return id
}

// addProfile adds a named profile of kind (the ARN path segment) to the
// map pick selects; "" when the instance does not exist.
func (s *Server) addProfile(instanceID, name, kind string, pick func(*instance) map[string]*profile) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[instanceID]
	if in == nil {
		return ""
	}
	id := s.newID()
	pick(in)[id] = &profile{
		Profile:  Profile{ID: id, ARN: s.arn(instanceID + "/" + kind + "/" + id), Name: name},
		modified: s.now(),
	}
	return id
}

// AddSecurityProfile adds a security profile to the instance and returns
// its id, or "" when the instance does not exist. Each call makes a new
// profile.
func (s *Server) AddSecurityProfile(instanceID, name string) (id string) {
	return s.addProfile(instanceID, name, "security-profile", func(in *instance) map[string]*profile { return in.securityProfiles })
}

// AddRoutingProfile adds a routing profile to the instance and returns its
// id, or "" when the instance does not exist. Each call makes a new profile.
func (s *Server) AddRoutingProfile(instanceID, name string) (id string) {
	return s.addProfile(instanceID, name, "routing-profile", func(in *instance) map[string]*profile { return in.routingProfiles })
}

// AddHierarchyGroup adds an agent hierarchy group to the instance and
// returns its id, or "" when the instance does not exist. Each call makes a
// new group.
func (s *Server) AddHierarchyGroup(instanceID, name string) (id string) {
	return s.addProfile(instanceID, name, "agent-group", func(in *instance) map[string]*profile { return in.hierarchyGroups })
}

// SetUserLimit sets the users-per-instance quota of one instance; CreateUser
// beyond it answers LimitExceededException. Users already there stay.
// Idempotent.
//
// Errors: ErrNoInstance.
func (s *Server) SetUserLimit(instanceID string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[instanceID]
	if in == nil {
		return fmt.Errorf("set user limit of %s: %w", instanceID, ErrNoInstance)
	}
	in.userLimit = n
	return nil
}

// SeedUser adds a user that idsync did not create (an "unmanaged" account)
// with a soft phone, the instance's first security profile and routing
// profile (by name) if it has any, and no identity info. It bypasses
// validation, quotas and the user limit, and SearchUsers finds it at once
// (it was made before the run). It returns the new user's id.
//
// Errors: ErrNoInstance, ErrDuplicateUsername. Not idempotent: a second call
// with the same username fails with ErrDuplicateUsername.
func (s *Server) SeedUser(instanceID, username string) (userID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[instanceID]
	if in == nil {
		return "", fmt.Errorf("seed user in %s: %w", instanceID, ErrNoInstance)
	}
	if _, taken := in.byName[strings.ToLower(username)]; taken {
		return "", fmt.Errorf("seed user in %s: %w", instanceID, ErrDuplicateUsername)
	}
	u := &User{Username: username, PhoneType: "SOFT_PHONE", LastModifiedTime: s.now()}
	if ps := sortedProfiles(in.securityProfiles); len(ps) > 0 {
		u.SecurityProfileIDs = []string{ps[0].ID}
	}
	if ps := sortedProfiles(in.routingProfiles); len(ps) > 0 {
		u.RoutingProfileID = ps[0].ID
	}
	s.insertUserLocked(in, u)
	s.indexNowLocked(in, u)
	return u.ID, nil
}

// insertUserLocked gives u an id and ARN and stores it; s.mu must be held.
func (s *Server) insertUserLocked(in *instance, u *User) {
	u.ID = s.newID()
	u.ARN = s.arn(in.id + "/agent/" + u.ID)
	in.users[u.ID] = u
	in.byName[strings.ToLower(u.Username)] = u.ID
}

// Users returns a copy of the instance's users ordered by username (nil for
// an unknown instance), for asserting final state. It never fails.
func (s *Server) Users(instanceID string) []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[instanceID]
	if in == nil {
		return nil
	}
	out := []User{}
	for _, u := range in.sortedUsers() {
		out = append(out, u.clone())
	}
	return out
}

// State returns a copy of every instance, in creation order; it is what
// GET /_sim/state answers. It never fails.
func (s *Server) State() []InstanceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []InstanceState{}
	for _, id := range s.order {
		in := s.instances[id]
		st := InstanceState{
			ID: in.id, ARN: in.arn, Alias: in.alias, IdentityManagementType: in.idType, UserLimit: in.userLimit,
			SecurityProfiles: profiles(in.securityProfiles),
			RoutingProfiles:  profiles(in.routingProfiles),
			HierarchyGroups:  profiles(in.hierarchyGroups),
			Users:            []User{},
		}
		for _, u := range in.sortedUsers() {
			st.Users = append(st.Users, u.clone())
		}
		out = append(out, st)
	}
	return out
}

func profiles(m map[string]*profile) []Profile {
	out := []Profile{}
	for _, p := range sortedProfiles(m) {
		out = append(out, p.Profile)
	}
	return out
}
