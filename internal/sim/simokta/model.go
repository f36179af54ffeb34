package simokta

import (
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// User statuses (Okta's user status model; RECOVERY, LOCKED_OUT and
// PASSWORD_EXPIRED are not modelled).
const (
	StatusStaged        = "STAGED"
	StatusProvisioned   = "PROVISIONED"
	StatusActive        = "ACTIVE"
	StatusSuspended     = "SUSPENDED"
	StatusDeprovisioned = "DEPROVISIONED"
)

// Event hook lifecycle and verification statuses.
const (
	HookActive     = "ACTIVE"
	HookInactive   = "INACTIVE"
	HookVerified   = "VERIFIED"
	HookUnverified = "UNVERIFIED"
)

// Profile is the part of Okta's base user profile a seeding caller usually
// sets. Login, Email, FirstName and LastName are required (Okta's base
// schema); Extra carries any other base-schema attribute by its Okta name
// (e.g. "employeeNumber", "mobilePhone").
type Profile struct {
	Login       string
	Email       string
	FirstName   string
	LastName    string
	DisplayName string
	Department  string
	Title       string
	Extra       map[string]string
}

func (p Profile) attrs() map[string]string {
	m := map[string]string{}
	maps.Copy(m, p.Extra)
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("login", p.Login)
	set("email", p.Email)
	set("firstName", p.FirstName)
	set("lastName", p.LastName)
	set("displayName", p.DisplayName)
	set("department", p.Department)
	set("title", p.Title)
	return m
}

// baseAttributes are the attributes of Okta's default user profile schema.
// Custom attributes need a schema change in Okta; the stand-in has none, so
// any other name is rejected as Okta rejects undefined properties.
var baseAttributes = []string{
	"login", "email", "secondEmail", "firstName", "lastName", "middleName",
	"honorificPrefix", "honorificSuffix", "title", "displayName", "nickName",
	"profileUrl", "primaryPhone", "mobilePhone", "streetAddress", "city",
	"state", "zipCode", "postalAddress", "countryCode", "preferredLanguage",
	"locale", "timezone", "userType", "employeeNumber", "costCenter",
	"organization", "division", "department", "managerId", "manager",
}

// validateProfile checks a complete profile as Okta's base schema does.
func validateProfile(p map[string]string) []string {
	var causes []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if !slices.Contains(baseAttributes, k) {
			causes = append(causes, k+": Property name '"+k+"' is not defined in profile schema")
		}
	}
	for _, k := range []string{"login", "email", "firstName", "lastName"} {
		if strings.TrimSpace(p[k]) == "" {
			causes = append(causes, k+": The field cannot be left blank")
		}
	}
	if l := p["login"]; l != "" && !isEmail(l) {
		causes = append(causes, "login: Username must be in the form of an email address")
	}
	for _, k := range []string{"email", "secondEmail"} {
		if v := p[k]; v != "" && !isEmail(v) {
			causes = append(causes, k+": Does not match required pattern")
		}
	}
	for k, v := range p {
		if len(v) > 1024 {
			causes = append(causes, k+": The field is too long")
		}
	}
	return causes
}

func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s, "@")
}

type user struct {
	seq             int64
	id              string
	status          string
	hasPassword     bool
	mirrored        bool // pushed to the IdentityStore mirror
	created         time.Time
	activated       time.Time
	statusChanged   time.Time
	lastUpdated     time.Time
	passwordChanged time.Time
	profile         map[string]string
}

func (u *user) login() string { return u.profile["login"] }

// displayName is what Okta's log events show for a user: the profile's
// first and last name.
func (u *user) displayName() string {
	return strings.TrimSpace(u.profile["firstName"] + " " + u.profile["lastName"])
}

type group struct {
	seq                   int64
	id                    string
	name                  string
	description           string
	created               time.Time
	lastUpdated           time.Time
	lastMembershipUpdated time.Time
	members               map[string]bool
	pushed                bool
}

type hookHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type hook struct {
	seq            int64
	id             string
	name           string
	status         string
	verification   string
	created        time.Time
	lastUpdated    time.Time
	createdBy      string
	events         []string
	channelVersion string
	uri            string
	headers        []hookHeader
	authKey        string
	authValue      string
}

func (h *hook) subscribes(eventType string) bool {
	return slices.Contains(h.events, eventType)
}

func (h *hook) deliverable() bool {
	return h.status == HookActive && h.verification == HookVerified
}

const oktaTime = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(oktaTime) }

func fmtTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := fmtTime(t)
	return &s
}

type href struct {
	Href   string `json:"href"`
	Method string `json:"method,omitempty"`
}

type userDoc struct {
	ID              string            `json:"id"`
	Status          string            `json:"status"`
	Created         string            `json:"created"`
	Activated       *string           `json:"activated"`
	StatusChanged   *string           `json:"statusChanged"`
	LastLogin       *string           `json:"lastLogin"`
	LastUpdated     string            `json:"lastUpdated"`
	PasswordChanged *string           `json:"passwordChanged"`
	Type            map[string]string `json:"type"`
	Profile         map[string]string `json:"profile"`
	Credentials     map[string]any    `json:"credentials"`
	Links           map[string]href   `json:"_links"`
}

// lifecycleLinks are the operations Okta advertises for each status.
var lifecycleLinks = map[string][]string{
	StatusStaged:        {"activate", "deactivate"},
	StatusProvisioned:   {"reactivate", "deactivate"},
	StatusActive:        {"suspend", "deactivate"},
	StatusSuspended:     {"unsuspend", "deactivate"},
	StatusDeprovisioned: {"activate"},
}

func (s *Server) userDoc(base string, u *user) userDoc {
	self := base + "/api/v1/users/" + u.id
	links := map[string]href{"self": {Href: self}}
	for _, op := range lifecycleLinks[u.status] {
		links[op] = href{Href: self + "/lifecycle/" + op, Method: "POST"}
	}
	creds := map[string]any{"provider": map[string]string{"type": "OKTA", "name": "OKTA"}}
	if u.hasPassword {
		creds["password"] = map[string]any{}
	}
	return userDoc{
		ID: u.id, Status: u.status, Created: fmtTime(u.created), Activated: fmtTimePtr(u.activated),
		StatusChanged: fmtTimePtr(u.statusChanged), LastUpdated: fmtTime(u.lastUpdated),
		PasswordChanged: fmtTimePtr(u.passwordChanged), Type: map[string]string{"id": s.userTypeID},
		Profile: maps.Clone(u.profile), Credentials: creds, Links: links,
	}
}

type groupProfile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type groupDoc struct {
	ID                    string          `json:"id"`
	Created               string          `json:"created"`
	LastUpdated           string          `json:"lastUpdated"`
	LastMembershipUpdated string          `json:"lastMembershipUpdated"`
	ObjectClass           []string        `json:"objectClass"`
	Type                  string          `json:"type"`
	Profile               groupProfile    `json:"profile"`
	Links                 map[string]href `json:"_links"`
}

func groupDocOf(base string, g *group) groupDoc {
	self := base + "/api/v1/groups/" + g.id
	return groupDoc{
		ID: g.id, Created: fmtTime(g.created), LastUpdated: fmtTime(g.lastUpdated),
		LastMembershipUpdated: fmtTime(g.lastMembershipUpdated), ObjectClass: []string{"okta:user_group"},
		Type: "OKTA_GROUP", Profile: groupProfile{Name: g.name, Description: g.description},
		Links: map[string]href{"self": {Href: self}, "users": {Href: self + "/users"}, "apps": {Href: self + "/apps"}},
	}
}

type authScheme struct {
	Type  string `json:"type"`
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

type channelConfig struct {
	URI        string       `json:"uri"`
	Headers    []hookHeader `json:"headers"`
	AuthScheme *authScheme  `json:"authScheme"`
}

type channel struct {
	Type    string        `json:"type"`
	Version string        `json:"version"`
	Config  channelConfig `json:"config"`
}

type subscriptions struct {
	Type  string   `json:"type"`
	Items []string `json:"items"`
}

type hookDoc struct {
	ID                 string          `json:"id"`
	Status             string          `json:"status"`
	VerificationStatus string          `json:"verificationStatus"`
	Name               string          `json:"name"`
	Created            string          `json:"created"`
	CreatedBy          string          `json:"createdBy"`
	LastUpdated        string          `json:"lastUpdated"`
	Events             subscriptions   `json:"events"`
	Channel            channel         `json:"channel"`
	Links              map[string]href `json:"_links"`
}

// hookDocOf renders a hook as Okta does: the auth scheme's secret value is
// never echoed back.
func hookDocOf(base string, h *hook) hookDoc {
	self := base + "/api/v1/eventHooks/" + h.id
	var auth *authScheme
	if h.authKey != "" {
		auth = &authScheme{Type: "HEADER", Key: h.authKey}
	}
	headers := slices.Clone(h.headers)
	if headers == nil {
		headers = []hookHeader{}
	}
	links := map[string]href{"self": {Href: self}, "verify": {Href: self + "/lifecycle/verify", Method: "POST"}}
	if h.status == HookActive {
		links["deactivate"] = href{Href: self + "/lifecycle/deactivate", Method: "POST"}
	} else {
		links["activate"] = href{Href: self + "/lifecycle/activate", Method: "POST"}
	}
	return hookDoc{
		ID: h.id, Status: h.status, VerificationStatus: h.verification, Name: h.name,
		Created: fmtTime(h.created), CreatedBy: h.createdBy, LastUpdated: fmtTime(h.lastUpdated),
		Events:  subscriptions{Type: "EVENT_TYPE", Items: slices.Clone(h.events)},
		Channel: channel{Type: "HTTP", Version: h.channelVersion, Config: channelConfig{URI: h.uri, Headers: headers, AuthScheme: auth}},
		Links:   links,
	}
}
