package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OktaHookEventType is the envelope eventType of every Okta event-hook
// delivery.
const OktaHookEventType = "com.okta.event_hook"

// Okta System Log event types that NormaliseOktaHook understands.
const (
	OktaGroupMemberAdd      = "group.user_membership.add"
	OktaGroupMemberRemove   = "group.user_membership.remove"
	OktaUserDeactivate      = "user.lifecycle.deactivate"
	OktaUserSuspend         = "user.lifecycle.suspend"
	OktaUserUnsuspend       = "user.lifecycle.unsuspend"
	OktaUserReactivate      = "user.lifecycle.reactivate"
	OktaUserDeleteInitiated = "user.lifecycle.delete.initiated"
	OktaUserUpdateProfile   = "user.account.update_profile"
	OktaUserCreate          = "user.lifecycle.create"
	OktaUserActivate        = "user.lifecycle.activate"
	OktaAppMemberAdd        = "application.user_membership.add"
	OktaAppMemberRemove     = "application.user_membership.remove"
	OktaGroupDelete         = "group.lifecycle.delete"
)

// OktaHookEventTypes lists the event types an idsync event hook subscribes
// to: every type NormaliseOktaHook understands, in a fixed order. The local
// runner registers exactly these; the deployment guide lists them.
func OktaHookEventTypes() []string {
	return []string{
		OktaGroupMemberAdd, OktaGroupMemberRemove, OktaUserDeactivate, OktaUserSuspend, OktaUserUnsuspend,
		OktaUserReactivate, OktaUserDeleteInitiated, OktaUserUpdateProfile, OktaUserCreate, OktaUserActivate,
		OktaAppMemberAdd, OktaAppMemberRemove, OktaGroupDelete,
	}
}

// Reasons recorded on Ignored entries. They are stable strings so the ledger
// and tests can match them.
const (
	IgnoreGroupNotMapped  = "group not mapped"
	IgnoreUnsupportedType = "unsupported event type"
	IgnoreDuplicateUUID   = "duplicate uuid in this delivery"
	IgnoreMissingUUID     = "log event has no uuid"
	IgnoreBadPublished    = "log event has no valid published time"
	IgnoreNoUserTarget    = "log event has no User target with an id"
	IgnoreNoGroupTarget   = "log event has no UserGroup target with an id"
	IgnoreAppAssignment   = "application assignment: idsync entitlements come from groups, not app assignments"
	IgnoreGroupDeleted    = "group deleted: the event names no members; removals come from the next IdC snapshot"
	// IgnoreMalformedPrefix starts the reason of a log event that could not
	// be decoded; the rest names the element, the field and the byte offset
	// within the element.
	IgnoreMalformedPrefix = "malformed log event: "
	// IgnoreOutcomePrefix starts the reason of a log event whose
	// outcome.result is not SUCCESS; the result (and Okta's reason) follow.
	IgnoreOutcomePrefix = "outcome "
)

const (
	oktaTargetUser       = "User"
	oktaTargetUserGroup  = "UserGroup"
	oktaOutcomeSuccess   = "SUCCESS"
	oktaHookMajorVersion = "1"
)

// Errors returned by NormaliseOktaHook. Both are returned wrapped by
// Permanent: resending the same body can never succeed.
var (
	// ErrMalformedHook: the body is not JSON, has the wrong shape at the
	// envelope level, is not an Okta event hook, or lacks data.events.
	ErrMalformedHook = errors.New("malformed Okta event hook")
	// ErrUnsupportedHookVersion: the envelope's eventTypeVersion has a major
	// version other than 1.
	ErrUnsupportedHookVersion = errors.New("unsupported Okta event hook version")
)

// Normalised is the result of normalising one event-hook delivery: the
// identity events it yields, and every log event that yields none, with why.
// Each data.events element lands in exactly one of the two lists, in
// delivery order.
type Normalised struct {
	Events  []Event
	Ignored []Ignored
}

// Ignored is a log event of a delivery that produced no identity event.
type Ignored struct {
	UUID      string `json:"uuid,omitempty"`      // data.events[].uuid, when present
	EventType string `json:"eventType,omitempty"` // data.events[].eventType, when present
	// PersonKey is the Okta user id of the event's User target, when the
	// event got far enough for it to be known.
	PersonKey string `json:"personKey,omitempty"`
	Reason    string `json:"reason"`
}

type oktaEnvelope struct {
	EventType        string `json:"eventType"`
	EventTypeVersion string `json:"eventTypeVersion"`
	Data             *struct {
		Events []json.RawMessage `json:"events"`
	} `json:"data"`
}

type oktaLogEvent struct {
	UUID      string       `json:"uuid"`
	Published string       `json:"published"`
	EventType string       `json:"eventType"`
	Outcome   *oktaOutcome `json:"outcome"`
	Target    []oktaTarget `json:"target"`
}

type oktaOutcome struct {
	Result string `json:"result"`
	Reason string `json:"reason"`
}

type oktaTarget struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

// oktaRule says what one Okta event type becomes.
type oktaRule struct {
	kind       Kind
	group      bool   // needs a UserGroup target and a mapped group
	login      bool   // carries the User target's login as a profile fact
	ignoreWhy  string // non-empty: never an event, always ignored for this reason
	recognised bool
}

func oktaRuleFor(eventType string) oktaRule {
	switch eventType {
	case OktaGroupMemberAdd:
		return oktaRule{kind: KindMemberAdded, group: true, recognised: true}
	case OktaGroupMemberRemove:
		return oktaRule{kind: KindMemberRemoved, group: true, recognised: true}
	case OktaUserDeactivate:
		return oktaRule{kind: KindDeactivated, recognised: true}
	case OktaUserSuspend:
		return oktaRule{kind: KindSuspended, recognised: true}
	case OktaUserUnsuspend:
		return oktaRule{kind: KindUnsuspended, recognised: true}
	case OktaUserReactivate, OktaUserActivate:
		return oktaRule{kind: KindReactivated, recognised: true}
	case OktaUserDeleteInitiated:
		return oktaRule{kind: KindDeleted, recognised: true}
	case OktaUserUpdateProfile, OktaUserCreate:
		return oktaRule{kind: KindProfileChanged, login: true, recognised: true}
	case OktaAppMemberAdd, OktaAppMemberRemove:
		return oktaRule{ignoreWhy: IgnoreAppAssignment, recognised: true}
	case OktaGroupDelete:
		return oktaRule{ignoreWhy: IgnoreGroupDeleted, recognised: true}
	}
	return oktaRule{}
}

// NormaliseOktaHook turns the body of one Okta event-hook POST into identity
// events. It is pure and deterministic: the same body, mapping and
// receivedAt always give the same result, and every event's ID is
// NewEventID(SourceOktaHook, uuid, Okta user id, published), so redeliveries
// of a log event collide by construction.
//
// Targets are selected by type (User, UserGroup), never by position; groups
// are matched by id only (Okta sends alternateId "unknown" for groups).
// mapped reports whether a group is configured; membership events for other
// groups are ignored. A nil mapped accepts every group.
//
// Mapping of Okta event types:
//   - group.user_membership.add / .remove → member-added / member-removed
//     with Group{OktaID, Name}.
//   - user.lifecycle.deactivate / .suspend / .unsuspend / .reactivate /
//     .delete.initiated → deactivated / suspended / unsuspended /
//     reactivated / deleted.
//   - user.lifecycle.activate → reactivated: the person's status becomes
//     active, which is what reactivated states.
//   - user.account.update_profile and user.lifecycle.create →
//     profile-changed carrying only the login (the User target's
//     alternateId); hook payloads carry ids and names only, and the other
//     profile values come from the IdC snapshot. They never become observed
//     events, because observed states complete group membership.
//   - application.user_membership.add / .remove → ignored: entitlements come
//     from groups, and app assignments that matter are made through groups.
//   - group.lifecycle.delete → ignored: it names no members; the next
//     snapshot emits the removals.
//   - anything else → ignored as an unsupported event type.
//
// Log events are also ignored (never an error) when their outcome.result is
// neither SUCCESS nor absent, when they lack a uuid, a valid published time,
// a User target with an id or (for membership) a UserGroup target with an
// id, when a field has the wrong JSON type, or when their uuid repeats an
// earlier one in the same delivery. Unknown fields, null targets and a
// missing actor are tolerated.
//
// Errors, all wrapped by Permanent: ErrMalformedHook when the body is not
// valid JSON (the message gives the byte offset), has a wrongly typed
// envelope field (the message names the field), has an eventType other than
// "com.okta.event_hook", or has no data.events array; ErrUnsupportedHookVersion
// when eventTypeVersion is present with a major version other than 1. The
// json.SyntaxError or json.UnmarshalTypeError is wrapped too.
func NormaliseOktaHook(body []byte, mapped func(GroupRef) bool, receivedAt time.Time) (Normalised, error) {
	var env oktaEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Normalised{}, Permanent(fmt.Errorf("%w: %s: %w", ErrMalformedHook, jsonErrorWhere(err), err))
	}
	if env.EventType != OktaHookEventType {
		return Normalised{}, Permanent(fmt.Errorf("%w: eventType %q, want %q", ErrMalformedHook, env.EventType, OktaHookEventType))
	}
	if v := env.EventTypeVersion; v != "" {
		if major, _, _ := strings.Cut(v, "."); major != oktaHookMajorVersion {
			return Normalised{}, Permanent(fmt.Errorf("%w: eventTypeVersion %q, want 1.x", ErrUnsupportedHookVersion, v))
		}
	}
	if env.Data == nil || env.Data.Events == nil {
		return Normalised{}, Permanent(fmt.Errorf("%w: no data.events array", ErrMalformedHook))
	}

	var out Normalised
	seen := make(map[string]bool, len(env.Data.Events))
	for i, raw := range env.Data.Events {
		ev, ign, ok := normaliseLogEvent(i, raw, mapped, receivedAt, seen)
		if ok {
			out.Events = append(out.Events, ev)
		} else {
			out.Ignored = append(out.Ignored, ign)
		}
	}
	return out, nil
}

// normaliseLogEvent turns one data.events element into an Event (ok) or
// says why it is ignored.
func normaliseLogEvent(index int, raw json.RawMessage, mapped func(GroupRef) bool, receivedAt time.Time, seen map[string]bool) (Event, Ignored, bool) {
	var le oktaLogEvent
	if err := json.Unmarshal(raw, &le); err != nil {
		// Unmarshal keeps the fields it could decode, so uuid and eventType
		// are usually still known.
		return Event{}, Ignored{UUID: le.UUID, EventType: le.EventType, Reason: fmt.Sprintf("%sdata.events[%d]: %s", IgnoreMalformedPrefix, index, jsonErrorWhere(err))}, false
	}
	ign := Ignored{UUID: le.UUID, EventType: le.EventType}
	if le.UUID == "" {
		ign.Reason = IgnoreMissingUUID
		return Event{}, ign, false
	}
	if seen[le.UUID] {
		ign.Reason = IgnoreDuplicateUUID
		return Event{}, ign, false
	}
	seen[le.UUID] = true

	rule := oktaRuleFor(le.EventType)
	switch {
	case !rule.recognised:
		ign.Reason = IgnoreUnsupportedType
		return Event{}, ign, false
	case rule.ignoreWhy != "":
		ign.Reason = rule.ignoreWhy
		user, _ := findTarget(le.Target, oktaTargetUser)
		ign.PersonKey = user.ID
		return Event{}, ign, false
	}

	user, hasUser := findTarget(le.Target, oktaTargetUser)
	ign.PersonKey = user.ID
	if le.Outcome != nil && le.Outcome.Result != "" && le.Outcome.Result != oktaOutcomeSuccess {
		ign.Reason = IgnoreOutcomePrefix + le.Outcome.Result
		if le.Outcome.Reason != "" {
			ign.Reason += ": " + le.Outcome.Reason
		}
		return Event{}, ign, false
	}
	if !hasUser {
		ign.Reason = IgnoreNoUserTarget
		return Event{}, ign, false
	}
	published, err := time.Parse(time.RFC3339Nano, le.Published)
	if err != nil {
		ign.Reason = IgnoreBadPublished
		return Event{}, ign, false
	}
	published = published.UTC()

	subject := Subject{OktaID: user.ID, Login: user.AlternateID}
	ev := Event{
		ID:            NewEventID(SourceOktaHook, le.UUID, subject.Key(), published),
		Source:        SourceOktaHook,
		SourceEventID: le.UUID,
		Kind:          rule.kind,
		Subject:       subject,
		OccurredAt:    published,
		ReceivedAt:    receivedAt.UTC(),
	}
	if rule.login && user.AlternateID != "" {
		login := user.AlternateID
		ev.Profile = &Profile{Login: &login}
	}
	if rule.group {
		group, ok := findTarget(le.Target, oktaTargetUserGroup)
		if !ok {
			ign.Reason = IgnoreNoGroupTarget
			return Event{}, ign, false
		}
		ref := GroupRef{OktaID: group.ID, Name: group.DisplayName}
		if mapped != nil && !mapped(ref) {
			ign.Reason = IgnoreGroupNotMapped
			return Event{}, ign, false
		}
		ev.Group = &ref
	}
	return ev, Ignored{}, true
}

// findTarget returns the first target of the given type that has an id.
func findTarget(targets []oktaTarget, typ string) (oktaTarget, bool) {
	for _, t := range targets {
		if t.ID != "" && strings.EqualFold(t.Type, typ) {
			return t, true
		}
	}
	return oktaTarget{}, false
}

// jsonErrorWhere says where in the input a decoding error happened.
func jsonErrorWhere(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte offset %d", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Sprintf("field %s has JSON %s, want %s (at byte offset %d)", field, typ.Value, typ.Type, typ.Offset)
	}
	return err.Error()
}
