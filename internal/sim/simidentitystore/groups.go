package simidentitystore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/idsync/idsync/internal/sim/simkit"
)

type createGroupIn struct {
	IdentityStoreId string
	DisplayName     string
	Description     string
}

type createGroupOut struct {
	GroupId         string
	IdentityStoreId string
}

func (s *Server) createGroup(_ context.Context, in *createGroupIn) (*createGroupOut, error) {
	w := wireGroup{DisplayName: in.DisplayName, Description: in.Description}
	var c checker
	c.storeID(in.IdentityStoreId)
	c.group(&w)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	g, e := s.insertGroup(st, w)
	if e != nil {
		return nil, e
	}
	return &createGroupOut{GroupId: g.w.GroupId, IdentityStoreId: st.id}, nil
}

// insertGroup adds a validated group to st; s.mu must be held for writing.
func (s *Server) insertGroup(st *store, w wireGroup) (*group, *simkit.APIError) {
	if st.byGroupName[fold(w.DisplayName)] != nil {
		return nil, conflict("Duplicate GroupDisplayName")
	}
	for _, x := range w.ExternalIds {
		if st.byGroupExt[externalKey{x.Issuer, x.Id}] != nil {
			return nil, conflict("Duplicate ExternalId")
		}
	}
	w.GroupId = s.newUUID()
	w.IdentityStoreId = st.id
	g := &group{seq: s.nextSeq(), w: w}
	st.indexGroup(g)
	st.groupOrder = append(st.groupOrder, g)
	return g, nil
}

type groupRef struct {
	IdentityStoreId string
	GroupId         string
}

func (s *Server) describeGroup(_ context.Context, in *groupRef) (*wireGroup, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("groupId", in.GroupId, true)
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
	out := g.w
	return &out, nil
}

type listGroupsIn struct {
	IdentityStoreId string
	MaxResults      *int
	NextToken       string
	Filters         []wireFilter
}

type listGroupsOut struct {
	Groups    []wireGroup
	NextToken string `json:",omitempty"`
}

func (s *Server) listGroups(_ context.Context, in *listGroupsIn) (*listGroupsOut, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.page(in.MaxResults, in.NextToken)
	filters(&c, in.Filters, "DisplayName")
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	items := filtered(st.groupOrder, st.byGroupName, in.Filters)
	groups, next, err := listPage(items, groupSeq, in.NextToken, in.MaxResults, func(g *group) wireGroup { return g.w })
	if err != nil {
		return nil, err
	}
	return &listGroupsOut{Groups: groups, NextToken: next}, nil
}

type updateGroupIn struct {
	IdentityStoreId string
	GroupId         string
	Operations      []wireAttributeOp
}

func (s *Server) updateGroup(_ context.Context, in *updateGroupIn) (*empty, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("groupId", in.GroupId, true)
	c.operations(in.Operations)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	g, e := st.findGroup(in.GroupId)
	if e != nil {
		return nil, e
	}
	w := g.w
	for _, op := range in.Operations {
		var dst *string
		switch strings.ToLower(op.AttributePath) {
		case "displayname":
			dst = &w.DisplayName
		case "description":
			dst = &w.Description
		default:
			return nil, invalid("Invalid attribute path %s", op.AttributePath)
		}
		*dst = ""
		if len(op.AttributeValue) > 0 && string(op.AttributeValue) != "null" {
			if err := json.Unmarshal(op.AttributeValue, dst); err != nil {
				return nil, invalid("AttributeValue for %s must be a string", op.AttributePath)
			}
		}
	}
	c = checker{}
	c.group(&w)
	if err := c.err(); err != nil {
		return nil, err
	}
	if o := st.byGroupName[fold(w.DisplayName)]; o != nil && o != g {
		return nil, conflict("Duplicate GroupDisplayName")
	}
	st.unindexGroup(g)
	g.w = w
	st.indexGroup(g)
	return &empty{}, nil
}

func (s *Server) deleteGroup(_ context.Context, in *groupRef) (*empty, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("groupId", in.GroupId, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	g, e := st.findGroup(in.GroupId)
	if e != nil {
		return nil, e
	}
	for len(g.members) > 0 {
		st.removeMembership(g.members[len(g.members)-1])
	}
	st.unindexGroup(g)
	st.groupOrder = simkit.RemoveBySeq(st.groupOrder, g.seq, groupSeq)
	return &empty{}, nil
}

type getGroupIDOut struct {
	GroupId         string
	IdentityStoreId string
}

func (s *Server) getGroupID(_ context.Context, in *getIDIn) (*getGroupIDOut, error) {
	_, value, err := alternate(in, "displayName")
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	var g *group
	if x := in.AlternateIdentifier.ExternalId; x != nil {
		g = st.byGroupExt[externalKey{x.Issuer, x.Id}]
	} else {
		g = st.byGroupName[fold(value)]
	}
	if g == nil {
		return nil, notFoundUnnamed("GROUP")
	}
	return &getGroupIDOut{GroupId: g.w.GroupId, IdentityStoreId: st.id}, nil
}
