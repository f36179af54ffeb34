package simidentitystore

import (
	"strings"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// store is one identity store. Every list is kept sorted by creation
// sequence so that a page is found by binary search (keyset pagination):
// listing costs O(log n + page), never a scan or a sort.
type store struct {
	id string

	users      map[string]*user
	userOrder  []*user
	byUserName map[string]*user            // folded UserName
	byUserExt  map[externalKey]*user       // ExternalIds
	byEmail    map[string]map[string]*user // folded email value → user id → user

	groups      map[string]*group
	groupOrder  []*group
	byGroupName map[string]*group // folded DisplayName
	byGroupExt  map[externalKey]*group

	memberships map[string]*membership
	byPair      map[pairKey]*membership
}

type user struct {
	seq         uint64
	w           wireUser
	memberships []*membership // by seq
}

type group struct {
	seq     uint64
	w       wireGroup
	members []*membership // by seq
}

type membership struct {
	seq     uint64
	id      string
	groupID string
	userID  string
}

type externalKey struct{ issuer, id string }

type pairKey struct{ groupID, userID string }

func newStore(id string) *store {
	return &store{
		id:          id,
		users:       map[string]*user{},
		byUserName:  map[string]*user{},
		byUserExt:   map[externalKey]*user{},
		byEmail:     map[string]map[string]*user{},
		groups:      map[string]*group{},
		byGroupName: map[string]*group{},
		byGroupExt:  map[externalKey]*group{},
		memberships: map[string]*membership{},
		byPair:      map[pairKey]*membership{},
	}
}

// fold is the case folding of unique names: Identity Store user names and
// group display names are unique regardless of case.
func fold(s string) string { return strings.ToLower(s) }

func (m *membership) wire(storeID string) wireMembership {
	return wireMembership{IdentityStoreId: storeID, MembershipId: m.id, GroupId: m.groupID, MemberId: wireMemberID{UserId: m.userID}}
}

func userSeq(u *user) uint64             { return u.seq }
func groupSeq(g *group) uint64           { return g.seq }
func membershipSeq(m *membership) uint64 { return m.seq }

// findUser, findGroup and findMembership look an item up by id, answering
// ResourceNotFoundException when there is none.
func (st *store) findUser(id string) (*user, *simkit.APIError) {
	if u := st.users[id]; u != nil {
		return u, nil
	}
	return nil, notFound("USER", id, "USER not found.")
}

func (st *store) findGroup(id string) (*group, *simkit.APIError) {
	if g := st.groups[id]; g != nil {
		return g, nil
	}
	return nil, notFound("GROUP", id, "GROUP not found.")
}

func (st *store) findMembership(id string) (*membership, *simkit.APIError) {
	if m := st.memberships[id]; m != nil {
		return m, nil
	}
	return nil, notFound("GROUP_MEMBERSHIP", id, "GROUP_MEMBERSHIP not found.")
}

// emailTaken answers ConflictException (UNIQUENESS_CONSTRAINT_VIOLATION)
// when another user than self already has one of w's email addresses,
// compared without regard to case. IAM Identity Center "requires that all
// user names and email addresses for your users are non-NULL and unique"
// (https://docs.aws.amazon.com/singlesignon/latest/userguide/users-groups-provisioning.html,
// "User name and email address uniqueness"); its SCIM provisioning notes
// say "If you are provisioning a primary email address, this attribute
// value must be unique for each user" (provision-automatically.html), and
// AWS's knowledge centre attributes SCIM's "Refused to create a new,
// duplicate resource" to a username, email address or external id that is
// not unique (repost.aws/knowledge-center/iam-identity-center-provision).
// The API model's GetUserId also lists emails.value among the unique
// attributes. The documentation speaks of primary addresses; the stricter
// rule, applied here, is every address (the model allows one per user).
func (st *store) emailTaken(w wireUser, self *user) *simkit.APIError {
	for _, e := range w.Emails {
		if e.Value == "" {
			continue
		}
		for _, o := range st.byEmail[fold(e.Value)] {
			if o != self {
				return conflict("Duplicate Email")
			}
		}
	}
	return nil
}

// indexUser adds u to the store's user indexes (not the order slice).
func (st *store) indexUser(u *user) {
	st.users[u.w.UserId] = u
	if u.w.UserName != "" {
		st.byUserName[fold(u.w.UserName)] = u
	}
	for _, x := range u.w.ExternalIds {
		st.byUserExt[externalKey{x.Issuer, x.Id}] = u
	}
	for _, e := range u.w.Emails {
		if e.Value == "" {
			continue
		}
		k := fold(e.Value)
		if st.byEmail[k] == nil {
			st.byEmail[k] = map[string]*user{}
		}
		st.byEmail[k][u.w.UserId] = u
	}
}

// unindexUser removes u from the store's user indexes (not the order slice).
func (st *store) unindexUser(u *user) {
	delete(st.users, u.w.UserId)
	if st.byUserName[fold(u.w.UserName)] == u {
		delete(st.byUserName, fold(u.w.UserName))
	}
	for _, x := range u.w.ExternalIds {
		if k := (externalKey{x.Issuer, x.Id}); st.byUserExt[k] == u {
			delete(st.byUserExt, k)
		}
	}
	for _, e := range u.w.Emails {
		k := fold(e.Value)
		delete(st.byEmail[k], u.w.UserId)
		if len(st.byEmail[k]) == 0 {
			delete(st.byEmail, k)
		}
	}
}

func (st *store) indexGroup(g *group) {
	st.groups[g.w.GroupId] = g
	if g.w.DisplayName != "" {
		st.byGroupName[fold(g.w.DisplayName)] = g
	}
	for _, x := range g.w.ExternalIds {
		st.byGroupExt[externalKey{x.Issuer, x.Id}] = g
	}
}

func (st *store) unindexGroup(g *group) {
	delete(st.groups, g.w.GroupId)
	if st.byGroupName[fold(g.w.DisplayName)] == g {
		delete(st.byGroupName, fold(g.w.DisplayName))
	}
	for _, x := range g.w.ExternalIds {
		if k := (externalKey{x.Issuer, x.Id}); st.byGroupExt[k] == g {
			delete(st.byGroupExt, k)
		}
	}
}

// addMembership links m into the store, its group and its user.
func (st *store) addMembership(m *membership) {
	st.memberships[m.id] = m
	st.byPair[pairKey{m.groupID, m.userID}] = m
	g, u := st.groups[m.groupID], st.users[m.userID]
	g.members = append(g.members, m)
	u.memberships = append(u.memberships, m)
}

// removeMembership unlinks m from the store, its group and its user.
func (st *store) removeMembership(m *membership) {
	delete(st.memberships, m.id)
	delete(st.byPair, pairKey{m.groupID, m.userID})
	if g := st.groups[m.groupID]; g != nil {
		g.members = simkit.RemoveBySeq(g.members, m.seq, membershipSeq)
	}
	if u := st.users[m.userID]; u != nil {
		u.memberships = simkit.RemoveBySeq(u.memberships, m.seq, membershipSeq)
	}
}
