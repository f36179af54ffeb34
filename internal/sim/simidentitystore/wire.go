package simidentitystore

import "encoding/json"

// Wire shapes, named and cased as in the API model
// (identitystore-2020-06-15.json). Stored records reuse them; a stored
// record's slices, maps and pointers are never mutated in place (updates
// replace them), so shallow copies handed to the encoder are safe after the
// lock is released.

type wireName struct {
	Formatted       string `json:",omitempty"`
	FamilyName      string `json:",omitempty"`
	GivenName       string `json:",omitempty"`
	MiddleName      string `json:",omitempty"`
	HonorificPrefix string `json:",omitempty"`
	HonorificSuffix string `json:",omitempty"`
}

type wireEmail struct {
	Value   string `json:",omitempty"`
	Type    string `json:",omitempty"`
	Primary bool   `json:",omitempty"`
}

type wireAddress struct {
	StreetAddress string `json:",omitempty"`
	Locality      string `json:",omitempty"`
	Region        string `json:",omitempty"`
	PostalCode    string `json:",omitempty"`
	Country       string `json:",omitempty"`
	Formatted     string `json:",omitempty"`
	Type          string `json:",omitempty"`
	Primary       bool   `json:",omitempty"`
}

type wirePhone struct {
	Value   string `json:",omitempty"`
	Type    string `json:",omitempty"`
	Primary bool   `json:",omitempty"`
}

type wireExternalID struct {
	Issuer string
	Id     string
}

type wireUser struct {
	UserName          string `json:",omitempty"`
	UserId            string
	ExternalIds       []wireExternalID           `json:",omitempty"`
	Name              *wireName                  `json:",omitempty"`
	DisplayName       string                     `json:",omitempty"`
	NickName          string                     `json:",omitempty"`
	ProfileUrl        string                     `json:",omitempty"`
	Emails            []wireEmail                `json:",omitempty"`
	Addresses         []wireAddress              `json:",omitempty"`
	PhoneNumbers      []wirePhone                `json:",omitempty"`
	UserType          string                     `json:",omitempty"`
	Title             string                     `json:",omitempty"`
	PreferredLanguage string                     `json:",omitempty"`
	Locale            string                     `json:",omitempty"`
	Timezone          string                     `json:",omitempty"`
	Extensions        map[string]json.RawMessage `json:",omitempty"`
	IdentityStoreId   string
}

type wireGroup struct {
	GroupId         string
	DisplayName     string           `json:",omitempty"`
	ExternalIds     []wireExternalID `json:",omitempty"`
	Description     string           `json:",omitempty"`
	IdentityStoreId string
}

type wireMemberID struct {
	UserId string `json:",omitempty"`
}

type wireMembership struct {
	IdentityStoreId string
	MembershipId    string
	GroupId         string
	MemberId        wireMemberID
}

type wireFilter struct {
	AttributePath  string
	AttributeValue string
}

type wireAttributeOp struct {
	AttributePath  string
	AttributeValue json.RawMessage
}

type wireAlternateIdentifier struct {
	ExternalId      *wireExternalID
	UniqueAttribute *struct {
		AttributePath  string
		AttributeValue json.RawMessage
	}
}
