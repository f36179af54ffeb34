package simidentitystore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Errors of the Go seeding methods, matching the API's exceptions.
var (
	// ErrNotFound: the identity store, user, group or membership does not exist.
	ErrNotFound = errors.New("identitystore: not found")
	// ErrConflict: a user name, group display name, external id or membership is taken.
	ErrConflict = errors.New("identitystore: conflict")
	// ErrInvalid: an attribute breaks the API model's constraints.
	ErrInvalid = errors.New("identitystore: invalid")
)

// ExternalID is an identifier issued by an external identity provider; Okta's
// SCIM push sets Issuer to the Okta org and ID to the Okta user id.
type ExternalID struct {
	Issuer string `json:"issuer"`
	ID     string `json:"id"`
}

// User is a user as the seeding methods take it and State reports it: the
// attributes idsync reads. DisplayName defaults to "GivenName FamilyName".
type User struct {
	UserID      string       `json:"userId,omitempty"` // set by SeedUser; ignored on input
	UserName    string       `json:"userName"`
	DisplayName string       `json:"displayName,omitempty"`
	GivenName   string       `json:"givenName"`
	FamilyName  string       `json:"familyName"`
	Email       string       `json:"email,omitempty"`      // primary work email
	Title       string       `json:"title,omitempty"`      // job title
	Department  string       `json:"department,omitempty"` // enterprise extension's department
	ExternalIDs []ExternalID `json:"externalIds,omitempty"`
}

// Group is a group as the seeding methods take it and State reports it.
type Group struct {
	GroupID     string       `json:"groupId,omitempty"` // set by SeedGroup; ignored on input
	DisplayName string       `json:"displayName"`
	Description string       `json:"description,omitempty"`
	ExternalIDs []ExternalID `json:"externalIds,omitempty"`
}

// Membership is one group membership as State reports it.
type Membership struct {
	MembershipID string `json:"membershipId"`
	GroupID      string `json:"groupId"`
	UserID       string `json:"userId"`
}

// StoreState is one identity store's content, in creation order.
type StoreState struct {
	IdentityStoreID string       `json:"identityStoreId"`
	Users           []User       `json:"users"`
	Groups          []Group      `json:"groups"`
	Memberships     []Membership `json:"memberships"`
}

// State is the stand-in's whole content, as served at GET /_sim/state.
type State struct {
	IdentityStores []StoreState `json:"identityStores"`
}

// AddIdentityStore creates an empty identity store and returns its id
// (d-<10 hex digits>). Every call creates a new store.
func (s *Server) AddIdentityStore() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		id := fmt.Sprintf("d-%010x", s.rng.Uint64()&0xffffffffff)
		if s.stores[id] == nil {
			s.stores[id] = newStore(id)
			s.order = append(s.order, id)
			return id
		}
	}
}

// SeedUser creates a user as SCIM provisioning would (ExternalIds included)
// and returns its UserId.
//
// Errors: ErrNotFound (no such identity store), ErrInvalid (an attribute
// breaks the model's constraints), ErrConflict (UserName or an ExternalId is
// taken). Not idempotent: each successful call creates a user.
func (s *Server) SeedUser(identityStoreID string, u User) (string, error) {
	w, err := u.wire()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(identityStoreID)
	if e != nil {
		return "", seedErr(e)
	}
	rec, e := s.insertUser(st, w)
	if e != nil {
		return "", seedErr(e)
	}
	return rec.w.UserId, nil
}

// ReplaceUser sets every attribute of an existing user from u (as a SCIM
// PUT would), keeping its UserId and group memberships.
//
// Errors: ErrNotFound, ErrInvalid, ErrConflict (UserName or an ExternalId
// belongs to another user). Idempotent.
func (s *Server) ReplaceUser(identityStoreID, userID string, u User) error {
	w, err := u.wire()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(identityStoreID)
	if e != nil {
		return seedErr(e)
	}
	rec := st.users[userID]
	if rec == nil {
		return fmt.Errorf("%w: user %s", ErrNotFound, userID)
	}
	return seedErr(s.replaceUser(st, rec, w))
}

// RemoveUser deletes a user and its group memberships.
//
// Errors: ErrNotFound (no such store or user). Not idempotent: a second call
// answers ErrNotFound.
func (s *Server) RemoveUser(identityStoreID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(identityStoreID)
	if e != nil {
		return seedErr(e)
	}
	if e := st.deleteUser(userID); e != nil {
		return seedErr(e)
	}
	return nil
}

// SeedGroup creates a group and returns its GroupId.
//
// Errors: ErrNotFound (no such identity store), ErrInvalid, ErrConflict
// (DisplayName or an ExternalId is taken). Not idempotent.
func (s *Server) SeedGroup(identityStoreID string, g Group) (string, error) {
	w := wireGroup{DisplayName: g.DisplayName, Description: g.Description, ExternalIds: externalIDs(g.ExternalIDs)}
	var c checker
	c.group(&w)
	if err := c.err(); err != nil {
		return "", seedErr(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(identityStoreID)
	if e != nil {
		return "", seedErr(e)
	}
	rec, e := s.insertGroup(st, w)
	if e != nil {
		return "", seedErr(e)
	}
	return rec.w.GroupId, nil
}

// SeedMembership adds a user to a group and returns the MembershipId.
//
// Errors: ErrNotFound (no such store, group or user), ErrConflict (already a
// member). Not idempotent: a second call answers ErrConflict.
func (s *Server) SeedMembership(identityStoreID, groupID, userID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(identityStoreID)
	if e != nil {
		return "", seedErr(e)
	}
	m, e := s.insertMembership(st, groupID, userID)
	if e != nil {
		return "", seedErr(e)
	}
	return m.id, nil
}

// RemoveMembership takes a user out of a group.
//
// Errors: ErrNotFound (no such store, or the user is not a member).
func (s *Server) RemoveMembership(identityStoreID, groupID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(identityStoreID)
	if e != nil {
		return seedErr(e)
	}
	m := st.byPair[pairKey{groupID, userID}]
	if m == nil {
		return fmt.Errorf("%w: user %s is not a member of group %s", ErrNotFound, userID, groupID)
	}
	st.removeMembership(m)
	return nil
}

// PrincipalExists reports whether a USER or GROUP principal exists in an
// identity store (SSO Admin checks assignment principals with it).
func (s *Server) PrincipalExists(identityStoreID, principalType, principalID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.stores[identityStoreID]
	if st == nil {
		return false
	}
	switch principalType {
	case "USER":
		return st.users[principalID] != nil
	case "GROUP":
		return st.groups[principalID] != nil
	}
	return false
}

// IsMember reports whether a user belongs to a group of an identity store
// (SSO Admin's AssignmentChecker resolves group assignments with it). It
// never fails: an unknown store, group or user is simply not a member.
func (s *Server) IsMember(identityStoreID, groupID, userID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.stores[identityStoreID]
	return st != nil && st.byPair[pairKey{groupID, userID}] != nil
}

// State returns a copy of every identity store's users, groups and
// memberships, each in creation order.
func (s *Server) State() State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := State{IdentityStores: make([]StoreState, 0, len(s.order))}
	for _, id := range s.order {
		st := s.stores[id]
		ss := StoreState{IdentityStoreID: id, Users: make([]User, 0, len(st.userOrder)),
			Groups: make([]Group, 0, len(st.groupOrder)), Memberships: []Membership{}}
		for _, u := range st.userOrder {
			ss.Users = append(ss.Users, userFromWire(u.w))
		}
		for _, g := range st.groupOrder {
			ss.Groups = append(ss.Groups, Group{GroupID: g.w.GroupId, DisplayName: g.w.DisplayName,
				Description: g.w.Description, ExternalIDs: fromWireExternalIDs(g.w.ExternalIds)})
			for _, m := range g.members {
				ss.Memberships = append(ss.Memberships, Membership{MembershipID: m.id, GroupID: m.groupID, UserID: m.userID})
			}
		}
		out.IdentityStores = append(out.IdentityStores, ss)
	}
	return out
}

// wire turns a seed user into the stored shape and validates it.
func (u User) wire() (wireUser, error) {
	display := u.DisplayName
	if display == "" {
		display = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	w := wireUser{
		UserName:    u.UserName,
		DisplayName: display,
		Name:        &wireName{GivenName: u.GivenName, FamilyName: u.FamilyName, Formatted: strings.TrimSpace(u.GivenName + " " + u.FamilyName)},
		Title:       u.Title,
		ExternalIds: externalIDs(u.ExternalIDs),
	}
	if u.Email != "" {
		w.Emails = []wireEmail{{Value: u.Email, Type: "work", Primary: true}}
	}
	if u.Department != "" {
		raw, err := json.Marshal(map[string]string{"department": u.Department})
		if err != nil {
			return wireUser{}, fmt.Errorf("%w: department: %v", ErrInvalid, err)
		}
		w.Extensions = map[string]json.RawMessage{enterpriseExtension: raw}
	}
	var c checker
	c.user(&w)
	if err := c.err(); err != nil {
		return wireUser{}, seedErr(err)
	}
	return w, nil
}

func userFromWire(w wireUser) User {
	u := User{UserID: w.UserId, UserName: w.UserName, DisplayName: w.DisplayName, Title: w.Title,
		ExternalIDs: fromWireExternalIDs(w.ExternalIds)}
	if w.Name != nil {
		u.GivenName, u.FamilyName = w.Name.GivenName, w.Name.FamilyName
	}
	for _, e := range w.Emails {
		if u.Email == "" || e.Primary {
			u.Email = e.Value
		}
	}
	if raw, ok := w.Extensions[enterpriseExtension]; ok {
		var ext struct {
			Department string `json:"department"`
		}
		if json.Unmarshal(raw, &ext) == nil {
			u.Department = ext.Department
		}
	}
	return u
}

func externalIDs(xs []ExternalID) []wireExternalID {
	if len(xs) == 0 {
		return nil
	}
	out := make([]wireExternalID, len(xs))
	for i, x := range xs {
		out[i] = wireExternalID{Issuer: x.Issuer, Id: x.ID}
	}
	return out
}

func fromWireExternalIDs(xs []wireExternalID) []ExternalID {
	if len(xs) == 0 {
		return nil
	}
	out := make([]ExternalID, len(xs))
	for i, x := range xs {
		out[i] = ExternalID{Issuer: x.Issuer, ID: x.Id}
	}
	return out
}

// seedErr maps an API error to the seeding sentinels; nil stays nil.
func seedErr(err error) error {
	var ae *simkit.APIError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	if ae == nil {
		return nil
	}
	switch ae.Code {
	case "ResourceNotFoundException":
		return fmt.Errorf("%w: %s", ErrNotFound, ae.Message)
	case "ConflictException":
		return fmt.Errorf("%w: %s", ErrConflict, ae.Message)
	default:
		return fmt.Errorf("%w: %s", ErrInvalid, ae.Message)
	}
}
