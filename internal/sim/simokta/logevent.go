package simokta

import (
	"net"
	"net/http"
	"strings"
)

// Event types the stand-in records (Okta System Log event types).
const (
	EventUserCreate          = "user.lifecycle.create"
	EventUserActivate        = "user.lifecycle.activate"
	EventUserDeactivate      = "user.lifecycle.deactivate"
	EventUserSuspend         = "user.lifecycle.suspend"
	EventUserUnsuspend       = "user.lifecycle.unsuspend"
	EventUserReactivate      = "user.lifecycle.reactivate"
	EventUserDeleteInitiated = "user.lifecycle.delete.initiated"
	EventUserUpdateProfile   = "user.account.update_profile"
	EventGroupMemberAdd      = "group.user_membership.add"
	EventGroupMemberRemove   = "group.user_membership.remove"
	EventGroupCreate         = "group.lifecycle.create"
	EventGroupDelete         = "group.lifecycle.delete"
)

// eventInfo is the display message and legacy event type Okta records for
// each event type (legacy types only where Okta has one).
var eventInfo = map[string]struct{ display, legacy string }{
	EventUserCreate:          {"Create Okta user", "core.user.config.user_creation.success"},
	EventUserActivate:        {"Activate Okta user", "core.user.config.user_activated"},
	EventUserDeactivate:      {"Deactivate Okta user", "core.user.config.user_deactivated"},
	EventUserSuspend:         {"Suspend Okta user", "core.user.config.user_status.suspended"},
	EventUserUnsuspend:       {"Unsuspend Okta user", "core.user.config.user_status.unsuspended"},
	EventUserReactivate:      {"Reactivate Okta user", ""},
	EventUserDeleteInitiated: {"Delete Okta user", ""},
	EventUserUpdateProfile:   {"Update user profile for Okta", "core.user.config.profile_update.success"},
	EventGroupMemberAdd:      {"Add user to group membership", "core.user_group_member.user_add"},
	EventGroupMemberRemove:   {"Remove user from group membership", "core.user_group_member.user_remove"},
	EventGroupCreate:         {"Create Okta group", ""},
	EventGroupDelete:         {"Delete Okta group", ""},
}

// Target is one entry of a LogEvent's target list.
type Target struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
	DetailEntry any    `json:"detailEntry"`
}

// Actor is who did it: for the stand-in, the admin the API token belongs to.
type Actor struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
	DetailEntry any    `json:"detailEntry"`
}

// LogEvent is an Okta System Log event (the LogEvent object), as recorded
// and as delivered in event hooks' data.events[].
type LogEvent struct {
	Actor                 Actor                 `json:"actor"`
	Client                Client                `json:"client"`
	Device                any                   `json:"device"`
	AuthenticationContext AuthenticationContext `json:"authenticationContext"`
	DisplayMessage        string                `json:"displayMessage"`
	EventType             string                `json:"eventType"`
	Outcome               Outcome               `json:"outcome"`
	Published             string                `json:"published"`
	SecurityContext       SecurityContext       `json:"securityContext"`
	Severity              string                `json:"severity"`
	DebugContext          DebugContext          `json:"debugContext"`
	LegacyEventType       *string               `json:"legacyEventType"`
	Transaction           Transaction           `json:"transaction"`
	UUID                  string                `json:"uuid"`
	Version               string                `json:"version"`
	Request               EventRequest          `json:"request"`
	Target                []Target              `json:"target"`
}

// Client is the LogEvent's client object.
type Client struct {
	UserAgent           UserAgent `json:"userAgent"`
	Zone                string    `json:"zone"`
	Device              string    `json:"device"`
	ID                  *string   `json:"id"`
	IPAddress           string    `json:"ipAddress"`
	GeographicalContext any       `json:"geographicalContext"`
}

// UserAgent is the client's user agent.
type UserAgent struct {
	RawUserAgent string `json:"rawUserAgent"`
	OS           string `json:"os"`
	Browser      string `json:"browser"`
}

// AuthenticationContext is the LogEvent's authenticationContext object.
type AuthenticationContext struct {
	AuthenticationProvider *string `json:"authenticationProvider"`
	CredentialProvider     *string `json:"credentialProvider"`
	CredentialType         *string `json:"credentialType"`
	Issuer                 any     `json:"issuer"`
	Interface              *string `json:"interface"`
	AuthenticationStep     int     `json:"authenticationStep"`
	ExternalSessionID      string  `json:"externalSessionId"`
}

// Outcome is the LogEvent's outcome.
type Outcome struct {
	Result string  `json:"result"`
	Reason *string `json:"reason"`
}

// SecurityContext is the LogEvent's securityContext object.
type SecurityContext struct {
	AsNumber *int    `json:"asNumber"`
	AsOrg    *string `json:"asOrg"`
	ISP      *string `json:"isp"`
	Domain   *string `json:"domain"`
	IsProxy  *bool   `json:"isProxy"`
}

// DebugContext carries debugData: the request id and URI, and for profile
// updates the changed attribute names.
type DebugContext struct {
	DebugData map[string]string `json:"debugData"`
}

// Transaction groups the events of one API request.
type Transaction struct {
	Type   string         `json:"type"`
	ID     string         `json:"id"`
	Detail map[string]any `json:"detail"`
}

// EventRequest is the LogEvent's request object.
type EventRequest struct {
	IPChain []IPAddress `json:"ipChain"`
}

// IPAddress is one entry of request.ipChain.
type IPAddress struct {
	IP                  string  `json:"ip"`
	GeographicalContext any     `json:"geographicalContext"`
	Version             string  `json:"version"`
	Source              *string `json:"source"`
}

// reqInfo is what a log event records about the request that caused it.
type reqInfo struct {
	id        string
	uri       string
	url       string
	ip        string
	userAgent string
}

func (s *Server) requestInfo(r *http.Request) reqInfo {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	ua := r.UserAgent()
	if ua == "" {
		ua = "UNKNOWN"
	}
	return reqInfo{id: opaque(27), uri: r.URL.Path, url: r.URL.RequestURI(), ip: ip, userAgent: ua}
}

// goRequest is the request info of a Go seeding call.
func (s *Server) goRequest(uri string) reqInfo {
	return reqInfo{id: opaque(27), uri: uri, url: uri, ip: "127.0.0.1", userAgent: "idsync-okta-sim"}
}

func userTarget(u *user) Target {
	return Target{ID: u.id, Type: "User", AlternateID: u.login(), DisplayName: u.displayName()}
}

// groupTarget: Okta reports a group's alternateId as "unknown".
func groupTarget(g *group) Target {
	return Target{ID: g.id, Type: "UserGroup", AlternateID: "unknown", DisplayName: g.name}
}

// recordLocked builds a LogEvent, appends it to the system log and hands it
// to the hook batcher; s.mu must be held.
func (s *Server) recordLocked(ri reqInfo, eventType string, debug map[string]string, targets ...Target) {
	info := eventInfo[eventType]
	var legacy *string
	if info.legacy != "" {
		l := info.legacy
		legacy = &l
	}
	dd := map[string]string{"requestId": ri.id, "requestUri": ri.uri, "url": ri.url}
	for k, v := range debug {
		dd[k] = v
	}
	version := "V4"
	if strings.Contains(ri.ip, ":") {
		version = "V6"
	}
	ev := LogEvent{
		Actor: s.actor,
		Client: Client{UserAgent: UserAgent{RawUserAgent: ri.userAgent, OS: "Unknown", Browser: "UNKNOWN"},
			Zone: "null", Device: "Unknown", IPAddress: ri.ip},
		AuthenticationContext: AuthenticationContext{ExternalSessionID: "unknown"},
		DisplayMessage:        info.display,
		EventType:             eventType,
		Outcome:               Outcome{Result: "SUCCESS"},
		Published:             fmtTime(s.now()),
		Severity:              "INFO",
		DebugContext:          DebugContext{DebugData: dd},
		LegacyEventType:       legacy,
		Transaction:           Transaction{Type: "WEB", ID: ri.id, Detail: map[string]any{}},
		UUID:                  s.uuid(),
		Version:               "0",
		Request:               EventRequest{IPChain: []IPAddress{{IP: ri.ip, Version: version}}},
		Target:                targets,
	}
	s.logs = append(s.logs, ev)
	s.enqueueLocked(ev)
}
