package simworkmail

import (
	"strconv"
	"time"
)

// epoch is an awsJson1_1 timestamp: epoch seconds as a JSON number.
type epoch time.Time

// MarshalJSON writes seconds with millisecond precision, as AWS does.
func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

func epochPtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type createUserInput struct {
	OrganizationID              *string `json:"OrganizationId"`
	Name                        *string
	DisplayName                 *string
	Password                    *string
	Role                        *string
	FirstName                   *string
	LastName                    *string
	HiddenFromGlobalAddressList *bool
	IdentityProviderUserID      *string `json:"IdentityProviderUserId"`
}

type createUserOutput struct {
	UserID string `json:"UserId"`
}

type describeUserInput struct {
	OrganizationID *string `json:"OrganizationId"`
	UserID         *string `json:"UserId"`
}

type describeUserOutput struct {
	UserID                          string  `json:"UserId"`
	Name                            string  `json:"Name"`
	Email                           *string `json:"Email,omitempty"`
	DisplayName                     *string `json:"DisplayName,omitempty"`
	State                           string  `json:"State"`
	UserRole                        string  `json:"UserRole"`
	EnabledDate                     *epoch  `json:"EnabledDate,omitempty"`
	DisabledDate                    *epoch  `json:"DisabledDate,omitempty"`
	MailboxProvisionedDate          *epoch  `json:"MailboxProvisionedDate,omitempty"`
	MailboxDeprovisionedDate        *epoch  `json:"MailboxDeprovisionedDate,omitempty"`
	FirstName                       *string `json:"FirstName,omitempty"`
	LastName                        *string `json:"LastName,omitempty"`
	HiddenFromGlobalAddressList     bool    `json:"HiddenFromGlobalAddressList"`
	Initials                        *string `json:"Initials,omitempty"`
	Telephone                       *string `json:"Telephone,omitempty"`
	Street                          *string `json:"Street,omitempty"`
	JobTitle                        *string `json:"JobTitle,omitempty"`
	City                            *string `json:"City,omitempty"`
	Company                         *string `json:"Company,omitempty"`
	ZipCode                         *string `json:"ZipCode,omitempty"`
	Department                      *string `json:"Department,omitempty"`
	Country                         *string `json:"Country,omitempty"`
	Office                          *string `json:"Office,omitempty"`
	IdentityProviderUserID          *string `json:"IdentityProviderUserId,omitempty"`
	IdentityProviderIdentityStoreID *string `json:"IdentityProviderIdentityStoreId,omitempty"`
}

type listUsersFilters struct {
	UsernamePrefix               *string
	DisplayNamePrefix            *string
	PrimaryEmailPrefix           *string
	State                        *string
	IdentityProviderUserIDPrefix *string `json:"IdentityProviderUserIdPrefix"`
}

type listUsersInput struct {
	OrganizationID *string `json:"OrganizationId"`
	NextToken      *string
	MaxResults     *int32
	Filters        *listUsersFilters
}

type userSummary struct {
	ID                              string  `json:"Id"`
	Email                           *string `json:"Email,omitempty"`
	Name                            string  `json:"Name"`
	DisplayName                     *string `json:"DisplayName,omitempty"`
	State                           string  `json:"State"`
	UserRole                        string  `json:"UserRole"`
	EnabledDate                     *epoch  `json:"EnabledDate,omitempty"`
	DisabledDate                    *epoch  `json:"DisabledDate,omitempty"`
	IdentityProviderUserID          *string `json:"IdentityProviderUserId,omitempty"`
	IdentityProviderIdentityStoreID *string `json:"IdentityProviderIdentityStoreId,omitempty"`
}

type listUsersOutput struct {
	Users     []userSummary `json:"Users"`
	NextToken *string       `json:"NextToken,omitempty"`
}

type updateUserInput struct {
	OrganizationID              *string `json:"OrganizationId"`
	UserID                      *string `json:"UserId"`
	Role                        *string
	DisplayName                 *string
	FirstName                   *string
	LastName                    *string
	HiddenFromGlobalAddressList *bool
	Initials                    *string
	Telephone                   *string
	Street                      *string
	JobTitle                    *string
	City                        *string
	Company                     *string
	ZipCode                     *string
	Department                  *string
	Country                     *string
	Office                      *string
	IdentityProviderUserID      *string `json:"IdentityProviderUserId"`
}

type deleteUserInput struct {
	OrganizationID *string `json:"OrganizationId"`
	UserID         *string `json:"UserId"`
}

type entityInput struct {
	OrganizationID *string `json:"OrganizationId"`
	EntityID       *string `json:"EntityId"`
	Email          *string
}

type empty struct{}

type organizationInput struct {
	OrganizationID *string `json:"OrganizationId"`
}

type describeOrganizationOutput struct {
	OrganizationID          string `json:"OrganizationId"`
	Alias                   string `json:"Alias"`
	State                   string `json:"State"`
	DirectoryID             string `json:"DirectoryId"`
	DirectoryType           string `json:"DirectoryType"`
	DefaultMailDomain       string `json:"DefaultMailDomain"`
	CompletedDate           *epoch `json:"CompletedDate,omitempty"`
	ARN                     string `json:"ARN"`
	InteroperabilityEnabled bool   `json:"InteroperabilityEnabled"`
}

type listOrganizationsInput struct {
	NextToken  *string
	MaxResults *int32
}

type organizationSummary struct {
	OrganizationID    string `json:"OrganizationId"`
	Alias             string `json:"Alias"`
	DefaultMailDomain string `json:"DefaultMailDomain"`
	State             string `json:"State"`
}

type listOrganizationsOutput struct {
	OrganizationSummaries []organizationSummary `json:"OrganizationSummaries"`
	NextToken             *string               `json:"NextToken,omitempty"`
}

type identityCenterConfiguration struct {
	InstanceArn    *string
	ApplicationArn *string
}

type personalAccessTokenConfiguration struct {
	Status         *string
	LifetimeInDays *int32 `json:",omitempty"`
}

type identityProviderConfiguration struct {
	OrganizationID                   *string                           `json:"OrganizationId,omitempty"`
	AuthenticationMode               *string                           `json:",omitempty"`
	IdentityCenterConfiguration      *identityCenterConfiguration      `json:",omitempty"`
	PersonalAccessTokenConfiguration *personalAccessTokenConfiguration `json:",omitempty"`
}
