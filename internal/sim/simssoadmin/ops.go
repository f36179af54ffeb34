package simssoadmin

import (
	"context"
	"net/http"
	"regexp"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Constraints from the API model (sso-admin-2020-07-20.json).
var (
	reInstanceArn    = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`)
	reApplicationArn = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso::\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}$`)
	reProviderArn    = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso::aws:applicationProvider/[a-zA-Z0-9-/]+$`)
	reAccountID      = regexp.MustCompile(`^\d{12}$`)
	rePrincipalID    = regexp.MustCompile(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
	reToken          = regexp.MustCompile(`^[-a-zA-Z0-9+=/_]*$`)
)

const defaultPageSize = 100

type checker struct{ simkit.Problems }

func (c *checker) err() error {
	if e := c.Err(http.StatusBadRequest, "ValidationException"); e != nil {
		return e
	}
	return nil
}

func (c *checker) arn(name, v string, re *regexp.Regexp) {
	c.Required(name, v)
	c.Length(name, v, 10, 1224)
	c.Match(name, v, re)
}

func (c *checker) page(max *int, token string) {
	if max != nil && (*max < 1 || *max > 100) {
		c.Addf("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", *max)
	}
	c.Length("nextToken", token, 0, 2048)
	c.Match("nextToken", token, reToken)
}

func (c *checker) principal(typ, id string) {
	c.Required("principalType", typ)
	if typ != "" && typ != "USER" && typ != "GROUP" {
		c.Addf("Value '%s' at 'principalType' failed to satisfy constraint: Member must satisfy enum value set: [USER, GROUP]", typ)
	}
	c.Required("principalId", id)
	c.Length("principalId", id, 1, 47)
	c.Match("principalId", id, rePrincipalID)
}

func pageSize(max *int) int {
	if max == nil {
		return defaultPageSize
	}
	return *max
}

func invalidToken() error {
	return simkit.Errorf(http.StatusBadRequest, "ValidationException", "The pagination token is invalid.")
}

type listInstancesIn struct {
	MaxResults *int
	NextToken  string
}

type instanceMetadata struct {
	InstanceArn     string
	IdentityStoreId string
	OwnerAccountId  string
	CreatedDate     int64
	Status          string
}

type listInstancesOut struct {
	Instances []instanceMetadata
	NextToken string `json:",omitempty"`
}

func (s *Server) listInstances(_ context.Context, in *listInstancesIn) (*listInstancesOut, error) {
	var c checker
	c.page(in.MaxResults, in.NextToken)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	page, next, ok := simkit.PageBySeq(s.instOrder, func(i *instance) uint64 { return i.seq }, in.NextToken, pageSize(in.MaxResults))
	if !ok {
		return nil, invalidToken()
	}
	out := &listInstancesOut{Instances: make([]instanceMetadata, 0, len(page)), NextToken: next}
	for _, i := range page {
		out.Instances = append(out.Instances, instanceMetadata{InstanceArn: i.arn, IdentityStoreId: i.identityStoreID,
			OwnerAccountId: s.account, CreatedDate: i.created.Unix(), Status: "ACTIVE"})
	}
	return out, nil
}

type portalOptions struct {
	Visibility string
}

type applicationOut struct {
	ApplicationArn         string
	ApplicationProviderArn string
	Name                   string
	ApplicationAccount     string
	InstanceArn            string
	Status                 string
	PortalOptions          portalOptions
	CreatedDate            int64
}

func (s *Server) applicationOut(a *application) applicationOut {
	return applicationOut{ApplicationArn: a.arn, ApplicationProviderArn: a.provider, Name: a.name,
		ApplicationAccount: s.account, InstanceArn: a.instance.arn, Status: "ENABLED",
		PortalOptions: portalOptions{Visibility: "ENABLED"}, CreatedDate: a.created.Unix()}
}

type listApplicationsIn struct {
	InstanceArn string
	MaxResults  *int
	NextToken   string
	Filter      *struct {
		ApplicationAccount  string
		ApplicationProvider string
	}
}

type listApplicationsOut struct {
	Applications []applicationOut
	NextToken    string `json:",omitempty"`
}

// listApplications answers AccessDeniedException for an instance this
// account does not have (the model lists no ResourceNotFoundException here).
func (s *Server) listApplications(_ context.Context, in *listApplicationsIn) (*listApplicationsOut, error) {
	var c checker
	c.arn("instanceArn", in.InstanceArn, reInstanceArn)
	c.page(in.MaxResults, in.NextToken)
	if f := in.Filter; f != nil {
		c.Match("filter.applicationAccount", f.ApplicationAccount, reAccountID)
		c.Match("filter.applicationProvider", f.ApplicationProvider, reProviderArn)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	inst := s.instances[in.InstanceArn]
	if inst == nil {
		return nil, simkit.Errorf(http.StatusForbidden, "AccessDeniedException",
			"User: arn:aws:sts::%s:assumed-role/idsync/session is not authorized to perform: sso:ListApplications on resource: %s", s.account, in.InstanceArn)
	}
	items := inst.apps
	if f := in.Filter; f != nil && (f.ApplicationAccount != "" || f.ApplicationProvider != "") {
		items = nil
		for _, a := range inst.apps {
			if (f.ApplicationAccount == "" || f.ApplicationAccount == s.account) && (f.ApplicationProvider == "" || f.ApplicationProvider == a.provider) {
				items = append(items, a)
			}
		}
	}
	page, next, ok := simkit.PageBySeq(items, func(a *application) uint64 { return a.seq }, in.NextToken, pageSize(in.MaxResults))
	if !ok {
		return nil, invalidToken()
	}
	out := &listApplicationsOut{Applications: make([]applicationOut, 0, len(page)), NextToken: next}
	for _, a := range page {
		out.Applications = append(out.Applications, s.applicationOut(a))
	}
	return out, nil
}

type applicationRef struct {
	ApplicationArn string
}

func (s *Server) describeApplication(_ context.Context, in *applicationRef) (*applicationOut, error) {
	var c checker
	c.arn("applicationArn", in.ApplicationArn, reApplicationArn)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.app(in.ApplicationArn)
	if err != nil {
		return nil, err
	}
	out := s.applicationOut(a)
	return &out, nil
}

// app finds an application; s.mu must be held.
func (s *Server) app(arn string) (*application, error) {
	a := s.apps[arn]
	if a == nil {
		return nil, simkit.Errorf(http.StatusNotFound, "ResourceNotFoundException", "Application %s not found", arn)
	}
	return a, nil
}

type listAssignmentsIn struct {
	ApplicationArn string
	MaxResults     *int
	NextToken      string
}

type assignmentOut struct {
	ApplicationArn string
	PrincipalId    string
	PrincipalType  string
}

type listAssignmentsOut struct {
	ApplicationAssignments []assignmentOut
	NextToken              string `json:",omitempty"`
}

func (s *Server) listApplicationAssignments(_ context.Context, in *listAssignmentsIn) (*listAssignmentsOut, error) {
	var c checker
	c.arn("applicationArn", in.ApplicationArn, reApplicationArn)
	c.page(in.MaxResults, in.NextToken)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.app(in.ApplicationArn)
	if err != nil {
		return nil, err
	}
	page, next, ok := simkit.PageBySeq(a.assignments, func(x *assignment) uint64 { return x.seq }, in.NextToken, pageSize(in.MaxResults))
	if !ok {
		return nil, invalidToken()
	}
	out := &listAssignmentsOut{ApplicationAssignments: make([]assignmentOut, 0, len(page)), NextToken: next}
	for _, x := range page {
		out.ApplicationAssignments = append(out.ApplicationAssignments, assignmentOut{ApplicationArn: a.arn, PrincipalId: x.p.id, PrincipalType: x.p.typ})
	}
	return out, nil
}

type assignmentIn struct {
	ApplicationArn string
	PrincipalId    string
	PrincipalType  string
}

func (c *checker) assignmentIn(in *assignmentIn) {
	c.arn("applicationArn", in.ApplicationArn, reApplicationArn)
	c.principal(in.PrincipalType, in.PrincipalId)
}

type empty struct{}

func (s *Server) createApplicationAssignment(_ context.Context, in *assignmentIn) (*empty, error) {
	var c checker
	c.assignmentIn(in)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.app(in.ApplicationArn)
	if err != nil {
		return nil, err
	}
	p := principal{in.PrincipalType, in.PrincipalId}
	if s.principals != nil && !s.principals.PrincipalExists(a.instance.identityStoreID, p.typ, p.id) {
		return nil, simkit.Errorf(http.StatusNotFound, "ResourceNotFoundException",
			"%s %s not found in identity store %s", p.typ, p.id, a.instance.identityStoreID)
	}
	if a.byPrincipal[p] != nil {
		return nil, simkit.Errorf(http.StatusConflict, "ConflictException",
			"Application assignment for %s %s already exists", p.typ, p.id)
	}
	s.seq++
	x := &assignment{seq: s.seq, p: p}
	a.byPrincipal[p] = x
	a.assignments = append(a.assignments, x)
	return &empty{}, nil
}

func (s *Server) describeApplicationAssignment(_ context.Context, in *assignmentIn) (*assignmentOut, error) {
	var c checker
	c.assignmentIn(in)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.app(in.ApplicationArn)
	if err != nil {
		return nil, err
	}
	if a.byPrincipal[principal{in.PrincipalType, in.PrincipalId}] == nil {
		return nil, simkit.Errorf(http.StatusNotFound, "ResourceNotFoundException", "Application assignment not found")
	}
	return &assignmentOut{ApplicationArn: a.arn, PrincipalId: in.PrincipalId, PrincipalType: in.PrincipalType}, nil
}

func (s *Server) deleteApplicationAssignment(_ context.Context, in *assignmentIn) (*empty, error) {
	var c checker
	c.assignmentIn(in)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.app(in.ApplicationArn)
	if err != nil {
		return nil, err
	}
	p := principal{in.PrincipalType, in.PrincipalId}
	x := a.byPrincipal[p]
	if x == nil {
		return nil, simkit.Errorf(http.StatusNotFound, "ResourceNotFoundException", "Application assignment not found")
	}
	delete(a.byPrincipal, p)
	a.assignments = simkit.RemoveBySeq(a.assignments, x.seq, func(x *assignment) uint64 { return x.seq })
	return &empty{}, nil
}
