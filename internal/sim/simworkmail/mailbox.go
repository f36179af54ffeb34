package simworkmail

import (
	"context"
	"slices"
	"strings"
)

func checkEntityEmail(in *entityInput, email bool) error {
	var c checker
	c.orgID(in.OrganizationID)
	c.entityID("entityId", in.EntityID)
	if email {
		c.str("email", in.Email, true, 1, 254, reEmail)
	}
	return c.err()
}

func (s *Server) registerToWorkMail(_ context.Context, in *entityInput) (*empty, error) {
	if err := checkEntityEmail(in, true); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, u, err := s.activeEntity(*in.OrganizationID, *in.EntityID)
	if err != nil {
		return nil, err
	}
	switch u.state {
	case StateDeleted:
		return nil, clientErr(codeEntityState, "Entity %s is deleted", u.id)
	case StateEnabled:
		// See EnabledRegistration for the sources of both answers.
		if s.registerOn == RegisterAlreadyRegistered {
			return nil, clientErr(codeAlreadyRegistered, "Entity %s is already registered", u.id)
		}
		return &empty{}, nil
	}
	if apiErr := o.checkEmail(*in.Email, u); apiErr != nil {
		return nil, apiErr
	}
	o.enable(u, *in.Email, s.now())
	return &empty{}, nil
}

func (s *Server) deregisterFromWorkMail(_ context.Context, in *entityInput) (*empty, error) {
	if err := checkEntityEmail(in, false); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, u, err := s.activeEntity(*in.OrganizationID, *in.EntityID)
	if err != nil {
		return nil, err
	}
	if u.state != StateEnabled {
		return nil, clientErr(codeEntityState, "Entity %s is %s, not registered", u.id, u.state)
	}
	now := s.now()
	u.state = StateDisabled
	u.disabled, u.deprovisioned = now, now
	return &empty{}, nil
}

func (s *Server) updatePrimaryEmailAddress(_ context.Context, in *entityInput) (*empty, error) {
	if err := checkEntityEmail(in, true); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, u, err := s.activeEntity(*in.OrganizationID, *in.EntityID)
	if err != nil {
		return nil, err
	}
	if u.state != StateEnabled {
		return nil, clientErr(codeEntityState, "Entity %s is %s; its primary email can only be changed while ENABLED", u.id, u.state)
	}
	if apiErr := o.checkEmail(*in.Email, u); apiErr != nil {
		return nil, apiErr
	}
	email := *in.Email
	if strings.EqualFold(email, u.email) {
		u.email = email
		return &empty{}, nil
	}
	// The old primary becomes an alias; an alias being promoted leaves the
	// alias list.
	u.aliases = slices.DeleteFunc(u.aliases, func(a string) bool { return strings.EqualFold(a, email) })
	u.aliases = append(u.aliases, u.email)
	u.email = email
	o.emails[strings.ToLower(email)] = u
	return &empty{}, nil
}
