package simworkmail

import (
	"context"
	"slices"
	"strings"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Roles CreateUser and UpdateUser refuse ("You cannot pass SYSTEM_USER or
// RESOURCE").
var fixedRoles = []string{"SYSTEM_USER", "RESOURCE"}

func (s *Server) createUser(_ context.Context, in *createUserInput) (*createUserOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.str("name", in.Name, true, 1, 64, reUserName)
	c.required("displayName", in.DisplayName)
	c.attr("displayName", in.DisplayName)
	c.str("password", in.Password, false, 0, 256, rePassword)
	c.enum("role", in.Role, userRoles)
	c.attr("firstName", in.FirstName)
	c.attr("lastName", in.LastName)
	c.str("identityProviderUserId", in.IdentityProviderUserID, false, 1, 47, reIdPUserID)
	if err := c.err(); err != nil {
		return nil, err
	}
	if in.Role != nil && slices.Contains(fixedRoles, *in.Role) {
		return nil, clientErr(codeInvalidParameter, "Role %s cannot be assigned", *in.Role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.activeOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	// Users, groups and resources share one namespace: a group or
	// resource holding the name answers NameAvailabilityException too.
	if o.names[strings.ToLower(*in.Name)] != nil {
		return nil, clientErr(codeNameAvailability, "Name %s is already in use", *in.Name)
	}
	if err := s.authorizeIdentityCenterUser(o, deref(in.IdentityProviderUserID)); err != nil {
		return nil, err
	}
	// The users-per-organisation quota (see errors.go), not a rate.
	if o.live() >= o.userLimit {
		return nil, clientErr(codeLimitExceeded, "Organization %s has reached its limit of %d users", o.id, o.userLimit)
	}
	u := s.newEntity(o, EntityUser, s.newUUID(), *in.Name)
	u.displayName = *in.DisplayName
	u.firstName = deref(in.FirstName)
	u.lastName = deref(in.LastName)
	u.role = cmpOrPtr(in.Role, "USER")
	u.hidden = in.HiddenFromGlobalAddressList != nil && *in.HiddenFromGlobalAddressList
	u.idpUserID = deref(in.IdentityProviderUserID)
	return &createUserOutput{UserID: u.id}, nil
}

func (s *Server) describeUser(_ context.Context, in *describeUserInput) (*describeUserOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.entityID("userId", in.UserID)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, u, err := s.activeUser(*in.OrganizationID, *in.UserID)
	if err != nil {
		return nil, err
	}
	return &describeUserOutput{
		UserID: u.id, Name: u.name, Email: strPtr(u.email), DisplayName: strPtr(u.displayName),
		State: u.state, UserRole: u.role,
		EnabledDate: epochPtr(u.enabled), DisabledDate: epochPtr(u.disabled),
		MailboxProvisionedDate: epochPtr(u.provisioned), MailboxDeprovisionedDate: epochPtr(u.deprovisioned),
		FirstName: strPtr(u.firstName), LastName: strPtr(u.lastName), HiddenFromGlobalAddressList: u.hidden,
		Initials: strPtr(u.attrs.Initials), Telephone: strPtr(u.attrs.Telephone), Street: strPtr(u.attrs.Street),
		JobTitle: strPtr(u.attrs.JobTitle), City: strPtr(u.attrs.City), Company: strPtr(u.attrs.Company),
		ZipCode: strPtr(u.attrs.ZipCode), Department: strPtr(u.attrs.Department), Country: strPtr(u.attrs.Country),
		Office: strPtr(u.attrs.Office), IdentityProviderUserID: strPtr(u.idpUserID),
		IdentityProviderIdentityStoreID: strPtr(o.storeID(u)),
	}, nil
}

// maxPage is the largest (and the default) page of the List operations.
const maxPage = 100

func (s *Server) listUsers(_ context.Context, in *listUsersInput) (*listUsersOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.length("nextToken", in.NextToken, 1, 1024)
	c.intRange("maxResults", in.MaxResults, 1, maxPage)
	f := in.Filters
	if f == nil {
		f = &listUsersFilters{}
	}
	c.length("filters.usernamePrefix", f.UsernamePrefix, 0, 256)
	c.length("filters.displayNamePrefix", f.DisplayNamePrefix, 0, 256)
	c.length("filters.primaryEmailPrefix", f.PrimaryEmailPrefix, 0, 256)
	c.enum("filters.state", f.State, entityState)
	c.str("filters.identityProviderUserIdPrefix", f.IdentityProviderUserIDPrefix, false, 1, 47, reIdPUserIDPrefix)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := f.one(); err != nil {
		return nil, err
	}
	after, err := parseToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.activeOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	page, next := pageAfterSeq(o.users, func(u *user) int { return u.seq }, f.match, after, pageLimit(in.MaxResults))
	out := &listUsersOutput{Users: []userSummary{}, NextToken: next}
	for _, u := range page {
		out.Users = append(out.Users, userSummary{
			ID: u.id, Email: strPtr(u.email), Name: u.name, DisplayName: strPtr(u.displayName),
			State: u.state, UserRole: u.role, EnabledDate: epochPtr(u.enabled), DisabledDate: epochPtr(u.disabled),
			IdentityProviderUserID: strPtr(u.idpUserID), IdentityProviderIdentityStoreID: strPtr(o.storeID(u)),
		})
	}
	return out, nil
}

// one refuses a request with more than one filter. ListUsers documents
// its Filters member as "Limit the user search results based on the filter
// criteria. You can only use one filter per request."
// (workmail-2017-10-01.json, ListUsersRequest.Filters). The documentation
// does not say how a second filter is refused; the stand-in answers the
// exception every WorkMail operation models for an input outside the
// service's restrictions, InvalidParameterException. A member that is
// present counts as a filter even when it is empty.
func (f *listUsersFilters) one() error {
	var set []string
	for _, m := range []struct {
		name string
		on   bool
	}{{"UsernamePrefix", f.UsernamePrefix != nil}, {"DisplayNamePrefix", f.DisplayNamePrefix != nil},
		{"PrimaryEmailPrefix", f.PrimaryEmailPrefix != nil}, {"State", f.State != nil},
		{"IdentityProviderUserIdPrefix", f.IdentityProviderUserIDPrefix != nil}} {
		if m.on {
			set = append(set, m.name)
		}
	}
	if len(set) > 1 {
		return clientErr(codeInvalidParameter, "You can only use one filter per request; got %s", strings.Join(set, ", "))
	}
	return nil
}

func (f *listUsersFilters) match(u *user) bool {
	return hasPrefixFold(u.name, f.UsernamePrefix) &&
		hasPrefixFold(u.displayName, f.DisplayNamePrefix) &&
		hasPrefixFold(u.email, f.PrimaryEmailPrefix) &&
		hasPrefixFold(u.idpUserID, f.IdentityProviderUserIDPrefix) &&
		(f.State == nil || *f.State == u.state)
}

func hasPrefixFold(v string, prefix *string) bool {
	if prefix == nil || *prefix == "" {
		return true
	}
	return strings.HasPrefix(strings.ToLower(v), strings.ToLower(*prefix))
}

func (s *Server) updateUser(_ context.Context, in *updateUserInput) (*empty, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.entityID("userId", in.UserID)
	c.enum("role", in.Role, userRoles)
	for _, a := range []struct {
		name string
		v    *string
	}{{"displayName", in.DisplayName}, {"firstName", in.FirstName}, {"lastName", in.LastName},
		{"initials", in.Initials}, {"telephone", in.Telephone}, {"street", in.Street}, {"jobTitle", in.JobTitle},
		{"city", in.City}, {"company", in.Company}, {"zipCode", in.ZipCode}, {"department", in.Department},
		{"country", in.Country}, {"office", in.Office}} {
		c.attr(a.name, a.v)
	}
	c.str("identityProviderUserId", in.IdentityProviderUserID, false, 0, 47, reIdPUserIDUpdate)
	if err := c.err(); err != nil {
		return nil, err
	}
	if in.Role != nil && slices.Contains(fixedRoles, *in.Role) {
		return nil, clientErr(codeInvalidParameter, "Role %s cannot be assigned", *in.Role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, u, err := s.activeUser(*in.OrganizationID, *in.UserID)
	if err != nil {
		return nil, err
	}
	if u.state == StateDeleted {
		return nil, clientErr(codeEntityState, "User %s is deleted", u.id)
	}
	if err := s.authorizeIdentityCenterUser(o, deref(in.IdentityProviderUserID)); err != nil {
		return nil, err
	}
	set(&u.role, in.Role)
	set(&u.displayName, in.DisplayName)
	set(&u.firstName, in.FirstName)
	set(&u.lastName, in.LastName)
	if in.HiddenFromGlobalAddressList != nil {
		u.hidden = *in.HiddenFromGlobalAddressList
	}
	set(&u.attrs.Initials, in.Initials)
	set(&u.attrs.Telephone, in.Telephone)
	set(&u.attrs.Street, in.Street)
	set(&u.attrs.JobTitle, in.JobTitle)
	set(&u.attrs.City, in.City)
	set(&u.attrs.Company, in.Company)
	set(&u.attrs.ZipCode, in.ZipCode)
	set(&u.attrs.Department, in.Department)
	set(&u.attrs.Country, in.Country)
	set(&u.attrs.Office, in.Office)
	set(&u.idpUserID, in.IdentityProviderUserID)
	return &empty{}, nil
}

func (s *Server) deleteUser(_ context.Context, in *deleteUserInput) (*empty, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.entityID("userId", in.UserID)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, u, err := s.activeUser(*in.OrganizationID, *in.UserID)
	if err != nil {
		return nil, err
	}
	if u.state != StateDisabled {
		return nil, clientErr(codeEntityState, "User %s is %s; only a DISABLED user can be deleted", u.id, u.state)
	}
	o.remove(u)
	return &empty{}, nil
}

func set(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func deref(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

func cmpOrPtr(v *string, def string) string {
	if v == nil || *v == "" {
		return def
	}
	return *v
}

// pageLimit is a List operation's page size: MaxResults, or maxPage.
func pageLimit(max *int32) int {
	if max == nil {
		return maxPage
	}
	return int(*max)
}

// pageAfterSeq returns up to limit of the items keep accepts whose sequence
// number is above after (items are in ascending sequence order), and the
// NextToken of the page that follows: nil when no later item is accepted.
func pageAfterSeq[T any](items []T, seqOf func(T) int, keep func(T) bool, after, limit int) ([]T, *string) {
	var page []T
	last := 0
	for _, x := range items {
		if seqOf(x) <= after || !keep(x) {
			continue
		}
		if len(page) == limit {
			return page, strPtr(simkit.PageToken(last))
		}
		page = append(page, x)
		last = seqOf(x)
	}
	return page, nil
}

// parseToken reads a NextToken: the sequence number of the last entry of
// the previous page.
func parseToken(tok *string) (int, error) {
	if tok == nil {
		return 0, nil
	}
	n, err := simkit.ParsePageToken(*tok)
	if err != nil {
		return 0, clientErr(codeInvalidParameter, "Invalid NextToken")
	}
	return n, nil
}
