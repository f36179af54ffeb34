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

// Organization is a snapshot of one organisation and its users.
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

	users  []*user          // creation order, DELETED ones included
	byID   map[string]*user // by user id
	names  map[string]*user // live (not DELETED) users by lower-case name
	emails map[string]*user // primary addresses and aliases, lower case
}

type directory struct {
	Initials, Telephone, Street, JobTitle, City, Company, ZipCode, Department, Country, Office string
}

type user struct {
	seq         int
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

	created, enabled, disabled, provisioned, deprovisioned time.Time
}

// resolve finds a user by id, name or email address (the identifier forms
// WorkMail accepts); a live user wins over a DELETED one of the same name.
func (o *org) resolve(ident string) *user {
	if u := o.byID[strings.ToLower(ident)]; u != nil {
		return u
	}
	key := strings.ToLower(ident)
	if u := o.names[key]; u != nil {
		return u
	}
	if u := o.emails[key]; u != nil {
		return u
	}
	for i := len(o.users) - 1; i >= 0; i-- {
		if strings.EqualFold(o.users[i].name, ident) {
			return o.users[i]
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

// live counts the users that are not DELETED.
func (o *org) live() int {
	return len(o.names)
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
