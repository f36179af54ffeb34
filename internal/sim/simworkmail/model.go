package simworkmail

import (
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// User is a snapshot of one WorkMail user, for assertions and /_sim/state.
type User struct {
	UserID                          string    `json:"userId"`
	Name                            string    `json:"name"`
	Email                           string    `json:"email,omitempty"`
	Aliases                         []string  `json:"aliases,omitempty"`
	DisplayName                     string    `json:"displayName,omitempty"`
	FirstName                       string    `json:"firstName,omitempty"`
	LastName                        string    `json:"lastName,omitempty"`
	State                           string    `json:"state"`
	Role                            string    `json:"role"`
	HiddenFromGlobalAddressList     bool      `json:"hiddenFromGlobalAddressList,omitempty"`
	IdentityProviderUserID          string    `json:"identityProviderUserId,omitempty"`
	IdentityProviderIdentityStoreID string    `json:"identityProviderIdentityStoreId,omitempty"`
	Initials                        string    `json:"initials,omitempty"`
	Telephone                       string    `json:"telephone,omitempty"`
	Street                          string    `json:"street,omitempty"`
	JobTitle                        string    `json:"jobTitle,omitempty"`
	City                            string    `json:"city,omitempty"`
	Company                         string    `json:"company,omitempty"`
	ZipCode                         string    `json:"zipCode,omitempty"`
	Department                      string    `json:"department,omitempty"`
	Country                         string    `json:"country,omitempty"`
	Office                          string    `json:"office,omitempty"`
	CreatedDate                     time.Time `json:"createdDate,omitzero"`
	EnabledDate                     time.Time `json:"enabledDate,omitzero"`
	DisabledDate                    time.Time `json:"disabledDate,omitzero"`
	MailboxProvisionedDate          time.Time `json:"mailboxProvisionedDate,omitzero"`
	MailboxDeprovisionedDate        time.Time `json:"mailboxDeprovisionedDate,omitzero"`
}

// Entity is a snapshot of one WorkMail group or resource. The stand-in keeps
// them as holders of names and email addresses: WorkMail's user, group and
// resource names share one namespace (NameAvailabilityException: "The user,
// group, or resource name isn't unique in WorkMail"), and so do their
// addresses (EmailAddressInUseException: "already created for a different
// user, group, or resource"); workmail-2017-10-01.json.
type Entity struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"` // EntityGroup or EntityResource
	Name         string    `json:"name"`
	Email        string    `json:"email,omitempty"`
	State        string    `json:"state"`
	ResourceType string    `json:"resourceType,omitempty"` // ROOM or EQUIPMENT
	Description  string    `json:"description,omitempty"`
	Hidden       bool      `json:"hiddenFromGlobalAddressList,omitempty"`
	EnabledDate  time.Time `json:"enabledDate,omitzero"`
	DisabledDate time.Time `json:"disabledDate,omitzero"`
}

// Organization is a snapshot of one organisation and its users, groups and
// resources.
type Organization struct {
	OrganizationID    string                  `json:"organizationId"`
	Alias             string                  `json:"alias"`
	State             string                  `json:"state"`
	DefaultMailDomain string                  `json:"defaultMailDomain"`
	MailDomains       []string                `json:"mailDomains"`
	UserLimit         int                     `json:"userLimit"`
	IdentityStoreID   string                  `json:"identityStoreId,omitempty"`
	IdentityProvider  *IdentityProviderConfig `json:"identityProvider,omitempty"`
	Users             []User                  `json:"users"`
	Groups            []Entity                `json:"groups"`
	Resources         []Entity                `json:"resources"`
}

// IdentityProviderConfig is what PutIdentityProviderConfiguration stored.
type IdentityProviderConfig struct {
	AuthenticationMode string `json:"authenticationMode"`
	InstanceArn        string `json:"instanceArn"`
	ApplicationArn     string `json:"applicationArn"`
	TokenStatus        string `json:"personalAccessTokenStatus"`
	TokenLifetimeDays  *int32 `json:"personalAccessTokenLifetimeInDays,omitempty"`
}

type org struct {
	seq             int
	id              string
	alias           string
	state           string
	defaultDomain   string
	domains         []string // lower case; the default first
	created         time.Time
	directoryID     string
	userLimit       int
	identityStoreID string
	idp             *IdentityProviderConfig

	users     []*user          // users in creation order, DELETED ones included
	others    []*user          // groups and resources in creation order
	liveUsers int              // users that are not DELETED
	byID      map[string]*user // every entity by lower-case id
	names     map[string]*user // live (not DELETED) entities of every kind by lower-case name
	emails    map[string]*user // primary addresses and aliases of every kind, lower case

	exports exportState // mailbox export jobs
}

type directory struct {
	Initials, Telephone, Street, JobTitle, City, Company, ZipCode, Department, Country, Office string
}

// user is one entity of the organisation: a user, or (kind EntityGroup or
// EntityResource) a group or resource, which use only the fields they have.
type user struct {
	seq         int
	kind        string
	id          string
	name        string
	email       string
	aliases     []string
	displayName string
	firstName   string
	lastName    string
	state       string
	role        string
	hidden      bool
	idpUserID   string
	attrs       directory
	resType     string // resources: ROOM or EQUIPMENT
	description string // resources

	created, enabled, disabled, provisioned, deprovisioned time.Time
}

// resolve finds a user by id, name or email address (the identifier forms
// WorkMail accepts); a live user wins over a DELETED one of the same name.
// Groups and resources are not users: their names and addresses resolve to
// nothing here.
func (o *org) resolve(ident string) *user {
	return o.resolveKind(ident, func(u *user) bool { return u.kind == EntityUser })
}

// resolveAny finds a user, group or resource by id, name or email address,
// for the operations that take any entity (RegisterToWorkMail,
// DeregisterFromWorkMail, UpdatePrimaryEmailAddress).
func (o *org) resolveAny(ident string) *user {
	return o.resolveKind(ident, func(*user) bool { return true })
}

func (o *org) resolveKind(ident string, accept func(*user) bool) *user {
	key := strings.ToLower(ident)
	for _, m := range []map[string]*user{o.byID, o.names, o.emails} {
		if u := m[key]; u != nil && accept(u) {
			return u
		}
	}
	for i := len(o.users) - 1; i >= 0; i-- {
		if u := o.users[i]; strings.EqualFold(u.name, ident) && accept(u) {
			return u
		}
	}
	return nil
}

func (o *org) mustResolve(ident string) (*user, error) {
	if u := o.resolve(ident); u != nil {
		return u, nil
	}
	return nil, clientErr(codeEntityNotFound, "Entity %s not found in organization %s", ident, o.id)
}

// live counts the users that are not DELETED (groups and resources do not
// count towards the user limit).
func (o *org) live() int {
	return o.liveUsers
}

// checkEmail answers the exception WorkMail gives for assigning email to
// self (nil for a new user): MailDomainNotFoundException when the domain is
// not the organisation's, EmailAddressInUseException when another entity
// holds the address.
func (o *org) checkEmail(email string, self *user) *simkit.APIError {
	lower := strings.ToLower(email)
	at := strings.LastIndexByte(lower, '@')
	if at < 0 || !reEmail.MatchString(email) {
		return clientErr(codeInvalidParameter, "Invalid email address %s", email)
	}
	if !slices.Contains(o.domains, lower[at+1:]) {
		return clientErr(codeMailDomainNotFound, "Mail domain %s is not registered in organization %s", lower[at+1:], o.id)
	}
	if holder := o.emails[lower]; holder != nil && holder != self {
		return clientErr(codeEmailInUse, "Email address %s is already in use", email)
	}
	return nil
}

// enable registers u with primary address email, releasing a different
// previous primary address.
func (o *org) enable(u *user, email string, now time.Time) {
	if u.email != "" && !strings.EqualFold(u.email, email) {
		delete(o.emails, strings.ToLower(u.email))
	}
	u.aliases = slices.DeleteFunc(u.aliases, func(a string) bool { return strings.EqualFold(a, email) })
	u.email = email
	o.emails[strings.ToLower(email)] = u
	u.state = StateEnabled
	u.enabled, u.disabled = now, time.Time{}
	u.provisioned, u.deprovisioned = now, time.Time{}
}

// remove marks u DELETED and frees its name and addresses.
func (o *org) remove(u *user) {
	if u.kind == EntityUser && u.state != StateDeleted {
		o.liveUsers--
	}
	u.state = StateDeleted
	if o.names[strings.ToLower(u.name)] == u {
		delete(o.names, strings.ToLower(u.name))
	}
	for _, e := range append([]string{u.email}, u.aliases...) {
		if e != "" && o.emails[strings.ToLower(e)] == u {
			delete(o.emails, strings.ToLower(e))
		}
	}
	u.email, u.aliases = "", nil
}

func (o *org) storeID(u *user) string {
	if u.idpUserID == "" {
		return ""
	}
	return o.identityStoreID
}

func entitySnapshot(u *user) Entity {
	return Entity{ID: u.id, Type: u.kind, Name: u.name, Email: u.email, State: u.state, ResourceType: u.resType,
		Description: u.description, Hidden: u.hidden, EnabledDate: u.enabled, DisabledDate: u.disabled}
}

func (o *org) snapshot(u *user) User {
	return User{
		UserID: u.id, Name: u.name, Email: u.email, Aliases: slices.Clone(u.aliases),
		DisplayName: u.displayName, FirstName: u.firstName, LastName: u.lastName,
		State: u.state, Role: u.role, HiddenFromGlobalAddressList: u.hidden,
		IdentityProviderUserID: u.idpUserID, IdentityProviderIdentityStoreID: o.storeID(u),
		Initials: u.attrs.Initials, Telephone: u.attrs.Telephone, Street: u.attrs.Street,
		JobTitle: u.attrs.JobTitle, City: u.attrs.City, Company: u.attrs.Company, ZipCode: u.attrs.ZipCode,
		Department: u.attrs.Department, Country: u.attrs.Country, Office: u.attrs.Office,
		CreatedDate: u.created, EnabledDate: u.enabled, DisabledDate: u.disabled,
		MailboxProvisionedDate: u.provisioned, MailboxDeprovisionedDate: u.deprovisioned,
	}
}

// activeOrg finds an organisation that accepts user operations; s.mu must
// be held.
func (s *Server) activeOrg(id string) (*org, error) {
	o, err := s.findOrg(id)
	if err != nil {
		return nil, err
	}
	if o.state != OrganizationActive {
		return nil, clientErr(codeOrganizationState, "Organization %s is in state %s", id, o.state)
	}
	return o, nil
}

// activeEntity finds a user, group or resource (by id, name or email) of an
// active organisation; s.mu must be held.
func (s *Server) activeEntity(orgID, ident string) (*org, *user, error) {
	o, err := s.activeOrg(orgID)
	if err != nil {
		return nil, nil, err
	}
	if u := o.resolveAny(ident); u != nil {
		return o, u, nil
	}
	return nil, nil, clientErr(codeEntityNotFound, "Entity %s not found in organization %s", ident, o.id)
}

// activeUser finds a user (by id, name or email) of an active organisation;
// s.mu must be held.
func (s *Server) activeUser(orgID, ident string) (*org, *user, error) {
	o, err := s.activeOrg(orgID)
	if err != nil {
		return nil, nil, err
	}
	u, err := o.mustResolve(ident)
	if err != nil {
		return nil, nil, err
	}
	return o, u, nil
}

// findOrg finds an organisation in any state; s.mu must be held.
func (s *Server) findOrg(id string) (*org, error) {
	o, ok := s.orgs[id]
	if !ok {
		return nil, clientErr(codeOrganizationNotFound, "Organization %s not found", id)
	}
	return o, nil
}
