package simidentitystore

import (
	"context"

	"github.com/idsync/idsync/internal/sim/simkit"
)

type membershipIn struct {
	IdentityStoreId string
	GroupId         string
	MemberId        wireMemberID
}

type membershipIDOut struct {
	MembershipId    string
	IdentityStoreId string
}

func (c *checker) membershipIn(in *membershipIn) {
	c.storeID(in.IdentityStoreId)
	c.resourceID("groupId", in.GroupId, true)
	c.resourceID("memberId.userId", in.MemberId.UserId, true)
}

func (s *Server) createGroupMembership(_ context.Context, in *membershipIn) (*membershipIDOut, error) {
	var c checker
	c.membershipIn(in)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	m, e := s.insertMembership(st, in.GroupId, in.MemberId.UserId)
	if e != nil {
		return nil, e
	}
	return &membershipIDOut{MembershipId: m.id, IdentityStoreId: st.id}, nil
}

// insertMembership adds user userID to group groupID; s.mu must be held for
// writing.
func (s *Server) insertMembership(st *store, groupID, userID string) (*membership, *simkit.APIError) {
	if _, e := st.findGroup(groupID); e != nil {
		return nil, e
	}
	if _, e := st.findUser(userID); e != nil {
		return nil, e
	}
	if st.byPair[pairKey{groupID, userID}] != nil {
		return nil, conflict("Member and Group relationship already exists.")
	}
	m := &membership{seq: s.nextSeq(), id: s.newUUID(), groupID: groupID, userID: userID}
	st.addMembership(m)
	return m, nil
}

type membershipRef struct {
	IdentityStoreId string
	MembershipId    string
}

func (s *Server) deleteGroupMembership(_ context.Context, in *membershipRef) (*empty, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("membershipId", in.MembershipId, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	m, e := st.findMembership(in.MembershipId)
	if e != nil {
		return nil, e
	}
	st.removeMembership(m)
	return &empty{}, nil
}

func (s *Server) describeGroupMembership(_ context.Context, in *membershipRef) (*wireMembership, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("membershipId", in.MembershipId, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	m, e := st.findMembership(in.MembershipId)
	if e != nil {
		return nil, e
	}
	out := m.wire(st.id)
	return &out, nil
}

func (s *Server) getGroupMembershipID(_ context.Context, in *membershipIn) (*membershipIDOut, error) {
	var c checker
	c.membershipIn(in)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	m := st.byPair[pairKey{in.GroupId, in.MemberId.UserId}]
	if m == nil {
		return nil, notFoundUnnamed("GROUP_MEMBERSHIP")
	}
	return &membershipIDOut{MembershipId: m.id, IdentityStoreId: st.id}, nil
}

type listMembershipsIn struct {
	IdentityStoreId string
	GroupId         string
	MemberId        wireMemberID
	MaxResults      *int
	NextToken       string
}

type listMembershipsOut struct {
	GroupMemberships []wireMembership
	NextToken        string `json:",omitempty"`
}

func (s *Server) listGroupMemberships(_ context.Context, in *listMembershipsIn) (*listMembershipsOut, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("groupId", in.GroupId, true)
	c.page(in.MaxResults, in.NextToken)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	g, e := st.findGroup(in.GroupId)
	if e != nil {
		return nil, e
	}
	return membershipPage(st.id, g.members, in)
}

func (s *Server) listGroupMembershipsForMember(_ context.Context, in *listMembershipsIn) (*listMembershipsOut, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("memberId.userId", in.MemberId.UserId, true)
	c.page(in.MaxResults, in.NextToken)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	u, e := st.findUser(in.MemberId.UserId)
	if e != nil {
		return nil, e
	}
	return membershipPage(st.id, u.memberships, in)
}

func membershipPage(storeID string, items []*membership, in *listMembershipsIn) (*listMembershipsOut, error) {
	list, next, err := listPage(items, membershipSeq, in.NextToken, in.MaxResults, func(m *membership) wireMembership { return m.wire(storeID) })
	if err != nil {
		return nil, err
	}
	return &listMembershipsOut{GroupMemberships: list, NextToken: next}, nil
}

type isMemberIn struct {
	IdentityStoreId string
	MemberId        wireMemberID
	GroupIds        []string
}

type existence struct {
	GroupId          string
	MemberId         wireMemberID
	MembershipExists bool
}

type isMemberOut struct {
	Results []existence
}

// isMemberInGroups answers MembershipExists per group; an unknown group or
// member is simply not a membership.
func (s *Server) isMemberInGroups(_ context.Context, in *isMemberIn) (*isMemberOut, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("memberId.userId", in.MemberId.UserId, true)
	if len(in.GroupIds) < 1 || len(in.GroupIds) > 100 {
		c.Addf("Value at 'groupIds' failed to satisfy constraint: Member must have length between 1 and 100")
	}
	for _, g := range in.GroupIds {
		c.resourceID("groupIds.member", g, true)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	out := &isMemberOut{Results: make([]existence, 0, len(in.GroupIds))}
	for _, g := range in.GroupIds {
		_, ok := st.byPair[pairKey{g, in.MemberId.UserId}]
		out.Results = append(out.Results, existence{GroupId: g, MemberId: in.MemberId, MembershipExists: ok})
	}
	return out, nil
}
