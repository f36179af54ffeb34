package simworkmail

import (
	"context"
	"net/http"

	"github.com/idsync/idsync/internal/sim/simkit"
)

func (s *Server) describeOrganization(_ context.Context, in *organizationInput) (*describeOrganizationOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.findOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	return &describeOrganizationOutput{
		OrganizationID: o.id, Alias: o.alias, State: o.state, DirectoryID: o.directoryID,
		DirectoryType: "WorkMailDirectory", DefaultMailDomain: o.defaultDomain, CompletedDate: epochPtr(o.created),
		ARN: "arn:aws:workmail:" + s.region + ":" + s.account + ":organization/" + o.id,
	}, nil
}

func (s *Server) listOrganizations(_ context.Context, in *listOrganizationsInput) (*listOrganizationsOutput, error) {
	var c checker
	c.length("nextToken", in.NextToken, 1, 1024)
	c.intRange("maxResults", in.MaxResults, 1, maxPage)
	if err := c.err(); err != nil {
		return nil, err
	}
	after, err := parseToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	page, next := pageAfterSeq(s.order, func(o *org) int { return o.seq }, func(*org) bool { return true }, after, pageLimit(in.MaxResults))
	out := &listOrganizationsOutput{OrganizationSummaries: []organizationSummary{}, NextToken: next}
	for _, o := range page {
		out.OrganizationSummaries = append(out.OrganizationSummaries, organizationSummary{
			OrganizationID: o.id, Alias: o.alias, DefaultMailDomain: o.defaultDomain, State: o.state,
		})
	}
	return out, nil
}

func (s *Server) describeIdentityProviderConfiguration(_ context.Context, in *organizationInput) (*identityProviderConfiguration, error) {
	var c checker
	c.orgID(in.OrganizationID)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.activeOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	if o.idp == nil {
		return nil, &simkit.APIError{Status: http.StatusNotFound, Code: codeResourceNotFound,
			Message: "No identity provider configuration for organization " + o.id}
	}
	p := o.idp
	return &identityProviderConfiguration{
		AuthenticationMode: &p.AuthenticationMode,
		IdentityCenterConfiguration: &identityCenterConfiguration{
			InstanceArn: &p.InstanceArn, ApplicationArn: &p.ApplicationArn,
		},
		PersonalAccessTokenConfiguration: &personalAccessTokenConfiguration{
			Status: &p.TokenStatus, LifetimeInDays: p.TokenLifetimeDays,
		},
	}, nil
}

func (s *Server) putIdentityProviderConfiguration(_ context.Context, in *identityProviderConfiguration) (*empty, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.required("authenticationMode", in.AuthenticationMode)
	c.enum("authenticationMode", in.AuthenticationMode, authModes)
	ic, pat := in.IdentityCenterConfiguration, in.PersonalAccessTokenConfiguration
	if ic == nil {
		c.required("identityCenterConfiguration", nil)
		ic = &identityCenterConfiguration{}
	} else {
		c.str("identityCenterConfiguration.instanceArn", ic.InstanceArn, true, 10, 1124, reInstanceArn)
		c.str("identityCenterConfiguration.applicationArn", ic.ApplicationArn, true, 10, 1224, reApplicationArn)
	}
	if pat == nil {
		c.required("personalAccessTokenConfiguration", nil)
		pat = &personalAccessTokenConfiguration{}
	} else {
		c.required("personalAccessTokenConfiguration.status", pat.Status)
		c.enum("personalAccessTokenConfiguration.status", pat.Status, patStatuses)
		c.intRange("personalAccessTokenConfiguration.lifetimeInDays", pat.LifetimeInDays, 1, 3653)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.activeOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	o.idp = &IdentityProviderConfig{
		AuthenticationMode: *in.AuthenticationMode,
		InstanceArn:        *ic.InstanceArn,
		ApplicationArn:     *ic.ApplicationArn,
		TokenStatus:        *pat.Status,
		TokenLifetimeDays:  pat.LifetimeInDays,
	}
	return &empty{}, nil
}
