package oktaapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"time"
)

// Okta user statuses (the user object's status).
const (
	StatusStaged          = "STAGED"
	StatusProvisioned     = "PROVISIONED"
	StatusActive          = "ACTIVE"
	StatusRecovery        = "RECOVERY"
	StatusLockedOut       = "LOCKED_OUT"
	StatusPasswordExpired = "PASSWORD_EXPIRED"
	StatusSuspended       = "SUSPENDED"
	StatusDeprovisioned   = "DEPROVISIONED"
)

// User is the part of an Okta user object idsync uses.
//
// String, GoString and LogValue show the id and status only: the profile
// is personal data and is never logged or put in an error.
type User struct {
	ID     string // 00u…
	Status string // one of the Status constants
	// Created and LastUpdated are the object's timestamps; LastUpdated is
	// when anything about the user (profile, status) last changed, which
	// makes it the occurred-at of a fact read from the profile.
	Created     time.Time
	LastUpdated time.Time
	Profile     Profile
}

// Profile holds the profile attributes idsync uses (Okta's base user
// profile names). An attribute that is null or missing in Okta is "".
type Profile struct {
	Login       string
	FirstName   string
	LastName    string
	DisplayName string
	Email       string
	Department  string
	Title       string
}

// String is "okta user <id> (<status>)".
func (u User) String() string { return "okta user " + u.ID + " (" + u.Status + ")" }

// GoString is String.
func (u User) GoString() string { return u.String() }

// LogValue logs the id and status only.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", u.ID), slog.String("status", u.Status))
}

// String hides the profile's values.
func (Profile) String() string { return "[okta profile]" }

// GoString is String.
func (p Profile) GoString() string { return p.String() }

// LogValue hides the profile's values.
func (Profile) LogValue() slog.Value { return slog.StringValue("[okta profile]") }

// userDoc is the wire form of an Okta user object. Profile attributes are
// read one by one so that a custom attribute of another JSON type does not
// spoil the answer.
type userDoc struct {
	ID          string                     `json:"id"`
	Status      string                     `json:"status"`
	Created     string                     `json:"created"`
	LastUpdated string                     `json:"lastUpdated"`
	Profile     map[string]json.RawMessage `json:"profile"`
}

// errBadUser says an answer is not a usable user object.
var errBadUser = errors.New("answer is not an Okta user object")

// decodeUser reads a user object. It needs an id; timestamps that do not
// parse are left zero; profile attributes that are not strings are "".
func decodeUser(body []byte) (User, error) {
	var d userDoc
	if err := json.Unmarshal(body, &d); err != nil || d.ID == "" {
		return User{}, errBadUser
	}
	str := func(name string) string {
		var s string
		if raw, ok := d.Profile[name]; ok && json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	ts := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}
		}
		return t.UTC()
	}
	return User{
		ID: d.ID, Status: d.Status, Created: ts(d.Created), LastUpdated: ts(d.LastUpdated),
		Profile: Profile{
			Login: str("login"), FirstName: str("firstName"), LastName: str("lastName"),
			DisplayName: str("displayName"), Email: str("email"), Department: str("department"),
			Title: str("title"),
		},
	}, nil
}
