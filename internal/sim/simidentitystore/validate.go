package simidentitystore

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Constraints from the API model. The identity store id also accepts the
// identity store ARN, and AttributePath the extension form
// ("aws:identitystore:enterprise.department"), as the current service does.
var (
	reIdentityStoreID = regexp.MustCompile(`^d-[0-9a-f]{10}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	reIdentityStoreAR = regexp.MustCompile(`^arn:aws[a-z-]*:identitystore::\d{12}:identitystore/(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	reResourceID      = regexp.MustCompile(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
	reAttributePath   = regexp.MustCompile(`^(?:\p{L}+:\p{L}+:\p{L}+(?:\.\p{L}+){0,3}|\p{L}+(?:\.\p{L}+){0,2})$`)
	reNextToken       = regexp.MustCompile(`^[-a-zA-Z0-9+=/:_]*$`)
)

// Character classes of the model's string patterns, checked rune by rune
// (several times faster than the equivalent regular expressions, which
// matters when seeding 100,000 users).
var printable = []*unicode.RangeTable{unicode.L, unicode.M, unicode.S, unicode.N, unicode.P}

type charClass struct {
	pattern string // as the model writes it, for messages
	extra   string // allowed whitespace besides the printable classes
}

var (
	classUserName  = charClass{`^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$`, ""}
	classSensitive = charClass{`^[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r  　]+$`, "\t\n\r \u00a0\u3000"}
	classGroupName = charClass{`^[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r  ]+$`, "\t\n\r \u00a0"}
	classExternal  = charClass{`^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$`, ""}
)

func (cc charClass) ok(s string) bool {
	for _, r := range s {
		if !unicode.IsOneOf(printable, r) && !strings.ContainsRune(cc.extra, r) {
			return false
		}
	}
	return true
}

// chars records a problem when a set member has a character outside cc.
func (c *checker) chars(name, v string, cc charClass) {
	if v != "" && !cc.ok(v) {
		c.Addf("Value at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", name, cc.pattern)
	}
}

// enterpriseExtension is the only extension the service supports.
const enterpriseExtension = "aws:identitystore:enterprise"

// reservedNames cannot be used for users or groups.
func reserved(name string) bool {
	return strings.EqualFold(name, "Administrator") || strings.EqualFold(name, "AWSAdministrators")
}

type checker struct{ simkit.Problems }

func (c *checker) err() error {
	if e := c.Err(http.StatusBadRequest, "ValidationException"); e != nil {
		return e
	}
	return nil
}

func (c *checker) storeID(v string) {
	c.Required("identityStoreId", v)
	if v == "" || reIdentityStoreAR.MatchString(v) {
		return
	}
	c.Length("identityStoreId", v, 1, 36)
	c.Match("identityStoreId", v, reIdentityStoreID)
}

func (c *checker) resourceID(name, v string, required bool) {
	if required {
		c.Required(name, v)
	}
	c.Length(name, v, 1, 47)
	c.Match(name, v, reResourceID)
}

func (c *checker) sensitive(name, v string) {
	c.Length(name, v, 1, 1024)
	c.chars(name, v, classSensitive)
}

func (c *checker) page(max *int, token string) {
	if max != nil && (*max < 1 || *max > 100) {
		c.Addf("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", *max)
	}
	if utf8.RuneCountInString(token) > 65535 {
		c.Addf("Value at 'nextToken' failed to satisfy constraint: Member must have length between 1 and 65535")
	}
	c.Match("nextToken", token, reNextToken)
}

func (c *checker) externalIDs(name string, xs []wireExternalID) {
	if xs != nil && (len(xs) < 1 || len(xs) > 10) {
		c.Addf("Value at '%s' failed to satisfy constraint: Member must have length between 1 and 10", name)
	}
	for _, x := range xs {
		c.Required(name+".member.issuer", x.Issuer)
		c.Length(name+".member.issuer", x.Issuer, 1, 100)
		c.chars(name+".member.issuer", x.Issuer, classExternal)
		if l := strings.ToLower(x.Issuer); strings.HasPrefix(l, "arn:") || strings.HasPrefix(l, "aws:") {
			c.Addf("Value at '%s.member.issuer' failed to satisfy constraint: Member must not start with arn: or aws:", name)
		}
		c.Required(name+".member.id", x.Id)
		c.Length(name+".member.id", x.Id, 1, 256)
		c.chars(name+".member.id", x.Id, classExternal)
	}
}

func (c *checker) attributePath(name, v string) {
	c.Required(name, v)
	c.Length(name, v, 1, 255)
	c.Match(name, v, reAttributePath)
}

// user checks every attribute of a user as CreateUser does, including IAM
// Identity Center's requirement of UserName, DisplayName and both names.
func (c *checker) user(u *wireUser) {
	c.Required("userName", u.UserName)
	c.Length("userName", u.UserName, 1, 128)
	c.chars("userName", u.UserName, classUserName)
	if reserved(u.UserName) {
		c.Addf("Value at 'userName' failed to satisfy constraint: %s is a reserved name", u.UserName)
	}
	c.Required("displayName", u.DisplayName)
	c.sensitive("displayName", u.DisplayName)
	if u.Name == nil {
		c.Required("name", "")
	} else {
		c.Required("name.givenName", u.Name.GivenName)
		c.Required("name.familyName", u.Name.FamilyName)
		for _, kv := range [...][2]string{{"name.givenName", u.Name.GivenName}, {"name.familyName", u.Name.FamilyName},
			{"name.formatted", u.Name.Formatted}, {"name.middleName", u.Name.MiddleName},
			{"name.honorificPrefix", u.Name.HonorificPrefix}, {"name.honorificSuffix", u.Name.HonorificSuffix}} {
			c.sensitive(kv[0], kv[1])
		}
	}
	for _, kv := range [...][2]string{{"nickName", u.NickName}, {"profileUrl", u.ProfileUrl}, {"userType", u.UserType},
		{"title", u.Title}, {"preferredLanguage", u.PreferredLanguage}, {"locale", u.Locale}, {"timezone", u.Timezone}} {
		c.sensitive(kv[0], kv[1])
	}
	c.one("emails", len(u.Emails), u.Emails != nil)
	for _, e := range u.Emails {
		c.sensitive("emails.member.value", e.Value)
		c.sensitive("emails.member.type", e.Type)
	}
	c.one("addresses", len(u.Addresses), u.Addresses != nil)
	for _, a := range u.Addresses {
		for _, kv := range [...][2]string{{"streetAddress", a.StreetAddress}, {"locality", a.Locality}, {"region", a.Region},
			{"postalCode", a.PostalCode}, {"country", a.Country}, {"formatted", a.Formatted}, {"type", a.Type}} {
			c.sensitive("addresses.member."+kv[0], kv[1])
		}
	}
	c.one("phoneNumbers", len(u.PhoneNumbers), u.PhoneNumbers != nil)
	for _, p := range u.PhoneNumbers {
		c.sensitive("phoneNumbers.member.value", p.Value)
		c.sensitive("phoneNumbers.member.type", p.Type)
	}
	c.externalIDs("externalIds", u.ExternalIds)
	for k, v := range u.Extensions {
		if k != enterpriseExtension {
			c.Addf("Value '%s' at 'extensions' failed to satisfy constraint: %s is the only supported extension", k, enterpriseExtension)
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) != nil || obj == nil {
			c.Addf("Value at 'extensions.%s' failed to satisfy constraint: Member must be an object", k)
		}
	}
}

// one checks the model's fixed-size-1 lists (Emails, Addresses, PhoneNumbers).
func (c *checker) one(name string, n int, set bool) {
	if set && n != 1 {
		c.Addf("Value at '%s' failed to satisfy constraint: Member must have length between 1 and 1", name)
	}
}

// operations checks an UpdateUser / UpdateGroup Operations list: 1 to 100
// operations, each with a well-formed attribute path.
func (c *checker) operations(ops []wireAttributeOp) {
	if len(ops) < 1 || len(ops) > 100 {
		c.Addf("Value at 'operations' failed to satisfy constraint: Member must have length between 1 and 100")
	}
	for _, op := range ops {
		c.attributePath("operations.member.attributePath", op.AttributePath)
	}
}

func (c *checker) group(g *wireGroup) {
	c.Required("displayName", g.DisplayName)
	c.Length("displayName", g.DisplayName, 1, 1024)
	c.chars("displayName", g.DisplayName, classGroupName)
	if reserved(g.DisplayName) {
		c.Addf("Value at 'displayName' failed to satisfy constraint: %s is a reserved name", g.DisplayName)
	}
	c.sensitive("description", g.Description)
	c.externalIDs("externalIds", g.ExternalIds)
}

func (c *checker) extensionNames(names []string) {
	if names != nil && (len(names) < 1 || len(names) > 10) {
		c.Addf("Value at 'extensions' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	for _, n := range names {
		if n != enterpriseExtension {
			c.Addf("Value '%s' at 'extensions' failed to satisfy constraint: %s is the only supported extension", n, enterpriseExtension)
		}
	}
}
