package simworkmail

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Groups and resources. The stand-in keeps them mainly as holders of names
// and addresses (see Entity): CreateGroup and CreateResource make DISABLED
// ones, RegisterToWorkMail, DeregisterFromWorkMail and
// UpdatePrimaryEmailAddress take them as well as users, DescribeGroup,
// DescribeResource and DescribeEntity describe them. Membership, delegates,
// booking options, aliases and deletion are not modelled. User operations
// (DescribeUser, UpdateUser, DeleteUser) do not resolve a group's or
// resource's id, name or address: they answer EntityNotFoundException.

// Patterns and enumerations of the model for groups and resources.
var (
	reGroupName    = regexp.MustCompile(`^[\x{0020}-\x{00FF}]+$`)
	reResourceName = regexp.MustCompile(`^[\w\-.]+(@[a-zA-Z0-9.\-]+\.[a-zA-Z0-9-]{2,})?$`)
	resourceTypes  = []string{"ROOM", "EQUIPMENT"}
)

type createGroupInput struct {
	OrganizationID              *string `json:"OrganizationId"`
	Name                        *string
	HiddenFromGlobalAddressList *bool
}

type createGroupOutput struct {
	GroupID string `json:"GroupId"`
}

type createResourceInput struct {
	OrganizationID              *string `json:"OrganizationId"`
	Name                        *string
	Type                        *string
	Description                 *string
	HiddenFromGlobalAddressList *bool
}

type createResourceOutput struct {
	ResourceID string `json:"ResourceId"`
}

type describeGroupInput struct {
	OrganizationID *string `json:"OrganizationId"`
	GroupID        *string `json:"GroupId"`
}

type describeGroupOutput struct {
	GroupID                     string  `json:"GroupId"`
	Name                        string  `json:"Name"`
	Email                       *string `json:"Email,omitempty"`
	State                       string  `json:"State"`
	EnabledDate                 *epoch  `json:"EnabledDate,omitempty"`
	DisabledDate                *epoch  `json:"DisabledDate,omitempty"`
	HiddenFromGlobalAddressList bool    `json:"HiddenFromGlobalAddressList"`
}

type describeResourceInput struct {
	OrganizationID *string `json:"OrganizationId"`
	ResourceID     *string `json:"ResourceId"`
}

type bookingOptions struct {
	AutoAcceptRequests             bool
	AutoDeclineRecurringRequests   bool
	AutoDeclineConflictingRequests bool
}

type describeResourceOutput struct {
	ResourceID                  string         `json:"ResourceId"`
	Email                       *string        `json:"Email,omitempty"`
	Name                        string         `json:"Name"`
	Type                        string         `json:"Type"`
	BookingOptions              bookingOptions `json:"BookingOptions"`
	State                       string         `json:"State"`
	EnabledDate                 *epoch         `json:"EnabledDate,omitempty"`
	DisabledDate                *epoch         `json:"DisabledDate,omitempty"`
	Description                 *string        `json:"Description,omitempty"`
	HiddenFromGlobalAddressList bool           `json:"HiddenFromGlobalAddressList"`
}

type describeEntityInput struct {
	OrganizationID *string `json:"OrganizationId"`
	Email          *string
}

type describeEntityOutput struct {
	EntityID string `json:"EntityId"`
	Name     string `json:"Name"`
	Type     string `json:"Type"`
}

func (s *Server) createGroup(_ context.Context, in *createGroupInput) (*createGroupOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.str("name", in.Name, true, 1, 256, reGroupName)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.activeOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	if o.names[strings.ToLower(*in.Name)] != nil {
		return nil, clientErr(codeNameAvailability, "Name %s is already in use", *in.Name)
	}
	g := s.newEntity(o, EntityGroup, s.newUUID(), *in.Name)
	g.hidden = in.HiddenFromGlobalAddressList != nil && *in.HiddenFromGlobalAddressList
	return &createGroupOutput{GroupID: g.id}, nil
}

func (s *Server) createResource(_ context.Context, in *createResourceInput) (*createResourceOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.str("name", in.Name, true, 1, 20, reResourceName)
	c.required("type", in.Type)
	c.enum("type", in.Type, resourceTypes)
	c.length("description", in.Description, 1, 64)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.activeOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	if o.names[strings.ToLower(*in.Name)] != nil {
		return nil, clientErr(codeNameAvailability, "Name %s is already in use", *in.Name)
	}
	r := s.newEntity(o, EntityResource, s.resourceID(), *in.Name)
	r.resType, r.description = *in.Type, deref(in.Description)
	r.hidden = in.HiddenFromGlobalAddressList != nil && *in.HiddenFromGlobalAddressList
	return &createResourceOutput{ResourceID: r.id}, nil
}

// resourceID mints a resource id, r-<32 hex> (the model's ResourceId).
func (s *Server) resourceID() string {
	return "r-" + strings.ReplaceAll(s.newUUID(), "-", "")
}

// activeOf finds an entity of kind by id, name or email address in an
// active organisation; s.mu must be held.
func (s *Server) activeOf(orgID, ident, kind string) (*user, error) {
	o, err := s.activeOrg(orgID)
	if err != nil {
		return nil, err
	}
	if e := o.resolveKind(ident, func(u *user) bool { return u.kind == kind }); e != nil {
		return e, nil
	}
	return nil, clientErr(codeEntityNotFound, "Entity %s not found in organization %s", ident, o.id)
}

func (s *Server) describeGroup(_ context.Context, in *describeGroupInput) (*describeGroupOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.entityID("groupId", in.GroupID)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.activeOf(*in.OrganizationID, *in.GroupID, EntityGroup)
	if err != nil {
		return nil, err
	}
	return &describeGroupOutput{GroupID: g.id, Name: g.name, Email: strPtr(g.email), State: g.state,
		EnabledDate: epochPtr(g.enabled), DisabledDate: epochPtr(g.disabled), HiddenFromGlobalAddressList: g.hidden}, nil
}

func (s *Server) describeResource(_ context.Context, in *describeResourceInput) (*describeResourceOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.entityID("resourceId", in.ResourceID)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.activeOf(*in.OrganizationID, *in.ResourceID, EntityResource)
	if err != nil {
		return nil, err
	}
	return &describeResourceOutput{ResourceID: r.id, Email: strPtr(r.email), Name: r.name, Type: r.resType,
		State: r.state, EnabledDate: epochPtr(r.enabled), DisabledDate: epochPtr(r.disabled),
		Description: strPtr(r.description), HiddenFromGlobalAddressList: r.hidden}, nil
}

// describeEntity is DescribeEntity: the user, group or resource holding an
// address (primary or alias) that is not DELETED.
func (s *Server) describeEntity(_ context.Context, in *describeEntityInput) (*describeEntityOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.str("email", in.Email, true, 1, 254, reEmail)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.activeOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	e := o.emails[strings.ToLower(*in.Email)]
	if e == nil {
		return nil, clientErr(codeEntityNotFound, "Entity %s not found in organization %s", *in.Email, o.id)
	}
	return &describeEntityOutput{EntityID: e.id, Name: e.name, Type: e.kind}, nil
}

// AddGroup creates a group directly, as if made outside idsync: ENABLED
// with email as its primary address when email is set, else DISABLED. It
// bypasses quotas and faults. Not idempotent.
//
// Errors: ErrNoOrganization; ErrSeed when the name breaks the model's
// GroupName pattern or is held by a user, group or resource, or the email
// is invalid, taken or of another domain.
func (s *Server) AddGroup(orgID, name, email string) (Entity, error) {
	if name == "" || len(name) > 256 || !reGroupName.MatchString(name) {
		return Entity{}, fmt.Errorf("%w: group name %q", ErrSeed, name)
	}
	return s.addEntity(orgID, EntityGroup, name, email, nil)
}

// AddResource creates a resource (resourceType ROOM or EQUIPMENT) directly,
// as AddGroup does a group. Not idempotent.
//
// Errors: as AddGroup, with the model's ResourceName rules (at most 20
// characters) and ResourceType values.
func (s *Server) AddResource(orgID, name, resourceType, email string) (Entity, error) {
	if name == "" || len(name) > 20 || !reResourceName.MatchString(name) {
		return Entity{}, fmt.Errorf("%w: resource name %q", ErrSeed, name)
	}
	if resourceType != "ROOM" && resourceType != "EQUIPMENT" {
		return Entity{}, fmt.Errorf("%w: resource type %q", ErrSeed, resourceType)
	}
	return s.addEntity(orgID, EntityResource, name, email, func(r *user) { r.resType = resourceType })
}

// addEntity seeds a group or resource; set, when not nil, fills in the
// kind's own fields.
func (s *Server) addEntity(orgID, kind, name, email string, set func(*user)) (Entity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgID]
	if !ok {
		return Entity{}, fmt.Errorf("%w: %s", ErrNoOrganization, orgID)
	}
	if o.names[strings.ToLower(name)] != nil {
		return Entity{}, fmt.Errorf("%w: name %q taken", ErrSeed, name)
	}
	if email != "" {
		if apiErr := o.checkEmail(email, nil); apiErr != nil {
			return Entity{}, fmt.Errorf("%w: %v", ErrSeed, apiErr)
		}
	}
	id := s.newUUID()
	if kind == EntityResource {
		id = s.resourceID()
	}
	e := s.newEntity(o, kind, id, name)
	if set != nil {
		set(e)
	}
	if email != "" {
		o.enable(e, email, s.now())
	}
	return entitySnapshot(e), nil
}
