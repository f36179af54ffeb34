package domain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
)

// EnvelopeVersion is the version of the event envelope this package writes
// and the only one it reads.
const EnvelopeVersion = 1

// Event codec errors. DecodeEvent and EncodeEvent wrap them with the detail
// of what was wrong, and always mark the result Permanent: the same bytes can
// never decode differently.
var (
	// ErrUnknownVersion: the envelope's "v" is missing or not EnvelopeVersion.
	ErrUnknownVersion = errors.New("unknown event envelope version")
	// ErrUnknownKind: the event's kind is not one of the Kind constants.
	ErrUnknownKind = errors.New("unknown event kind")
	// ErrInvalidEvent: malformed JSON or a missing/invalid field.
	ErrInvalidEvent = errors.New("invalid event")
)

// NewEventID returns the deterministic ULID of one fact. The time part is
// occurredAt in Unix milliseconds (clamped to the ULID range, so times before
// 1970 give 0) and the 80-bit entropy part is the first 10 bytes of a SHA-256
// over source, sourceEventID and subjectKey (each length-prefixed, so no two
// different triples hash the same input). Calling it again with the same
// arguments always gives the same id, which is what makes duplicate
// deliveries of one fact collide; ids sort by occurred-at.
func NewEventID(source Source, sourceEventID, subjectKey string, occurredAt time.Time) string {
	h := sha256.New()
	for _, part := range []string{string(source), sourceEventID, subjectKey} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	sum := h.Sum(nil)

	ms := occurredAt.UnixMilli()
	switch {
	case ms < 0:
		ms = 0
	case uint64(ms) > ulid.MaxTime():
		ms = int64(ulid.MaxTime())
	}
	var id ulid.ULID
	// ULID layout: 48-bit big-endian millisecond time, then 80 bits of entropy.
	for i := 0; i < 6; i++ {
		id[i] = byte(uint64(ms) >> (8 * (5 - i)))
	}
	copy(id[6:], sum[:10])
	return id.String()
}

// Known reports whether k is one of the Kind constants.
func (k Kind) Known() bool {
	switch k {
	case KindMemberAdded, KindMemberRemoved, KindProfileChanged, KindSuspended,
		KindUnsuspended, KindDeactivated, KindReactivated, KindDeleted, KindObserved, KindReconcile:
		return true
	}
	return false
}

// Known reports whether s is one of the Source constants.
func (s Source) Known() bool {
	switch s {
	case SourceOktaHook, SourceIdCSnapshot, SourceReplay, SourceOktaAPI, SourceIdCLookup:
		return true
	}
	return false
}

// Restamped returns e as if it had occurred at at: OccurredAt is at,
// ReceivedAt moves by the same amount, and ID is NewEventID of e's source,
// source event id and subject key at the new time. For events whose id is
// deterministic (every event this package makes): restamping an event at
// the time it was first made gives back exactly that event, id included,
// which is how a producer re-sends an unresolved difference so that the
// copies collide. It never modifies e.
func (e Event) Restamped(at time.Time) Event {
	at = at.UTC()
	if !e.ReceivedAt.IsZero() {
		e.ReceivedAt = e.ReceivedAt.Add(at.Sub(e.OccurredAt)).UTC()
	}
	e.OccurredAt = at
	e.ID = NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), at)
	return e
}

// targetPattern is what a target name looks like (Event.Target).
const targetPattern = `^[a-z][a-z0-9-]{0,31}$`

// Validate reports everything wrong with e, joined: an unknown kind wraps
// ErrUnknownKind, every other problem wraps ErrInvalidEvent. An event is
// valid when its id is a ULID, its source and kind are known, its subject
// has an immutable id, OccurredAt is set, a member-added/-removed event
// names a group, an observed event's Groups and NotGroups name groups and
// do not overlap, a Target (when set) is a target name (lower case letters,
// digits and '-', at most 32), a reconcile event names a Target and carries
// no facts (no group, groups, profile, relink or subject login), a Drift
// is on a reconcile event and names its account and drifted fields, and a
// relink (ReplacesIdCUserID) is a profile-changed event whose subject has
// both ids, the IdC one differing from the replaced one. The result is
// marked Permanent; nil when valid.
func (e Event) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...)))
	}
	switch {
	case e.ID == "":
		bad("missing id")
	default:
		if _, err := ulid.ParseStrict(e.ID); err != nil {
			bad("id %q is not a ULID: %v", e.ID, err)
		}
	}
	if !e.Source.Known() {
		bad("unknown source %q", e.Source)
	}
	if !e.Kind.Known() {
		errs = append(errs, fmt.Errorf("%w %q", ErrUnknownKind, e.Kind))
	}
	if e.Subject.Key() == "" {
		bad("missing subject key (neither subject.oktaId nor subject.idcUserId)")
	}
	if e.OccurredAt.IsZero() {
		bad("missing occurredAt")
	}
	switch e.Kind {
	case KindMemberAdded, KindMemberRemoved:
		if e.Group == nil || e.Group.Key() == "" {
			bad("%s without group id", e.Kind)
		}
	case KindReconcile:
		if e.Target == "" {
			bad("reconcile without target")
		}
		if e.Group != nil || len(e.Groups) > 0 || len(e.NotGroups) > 0 || e.Profile != nil || e.Subject.Login != "" {
			bad("reconcile carries facts (group, groups, profile or subject login); it must carry none")
		}
	case KindObserved:
		in := map[string]bool{}
		for i, g := range e.Groups {
			if g.Key() == "" {
				bad("groups[%d] without group id", i)
			}
			for _, k := range groupKeys(g) {
				in[k] = true
			}
		}
		for i, g := range e.NotGroups {
			if g.Key() == "" {
				bad("notGroups[%d] without group id", i)
			}
			for _, k := range groupKeys(g) {
				if in[k] {
					bad("notGroups[%d] %s is also in groups", i, k)
				}
			}
		}
	}
	if d := e.Drift; d != nil {
		switch {
		case e.Kind != KindReconcile:
			bad("drift on a %s event (only reconcile events carry one)", e.Kind)
		case d.RemoteID == "" || d.Observed.State.RemoteID != d.RemoteID:
			bad("drift without the account's remote id")
		case len(d.Fields) == 0:
			bad("drift without drifted fields")
		}
	}
	if e.Target != "" && !matches(targetPattern, string(e.Target)) {
		bad("target %q is not a target name", e.Target)
	}
	if r := e.ReplacesIdCUserID; r != "" {
		switch {
		case e.Kind != KindProfileChanged:
			bad("replacesIdcUserId on a %s event (only profile-changed relinks)", e.Kind)
		case e.Subject.OktaID == "" || e.Subject.IdCUserID == "":
			bad("replacesIdcUserId without both subject ids")
		case e.Subject.IdCUserID == r:
			bad("replacesIdcUserId is the subject's own IdC user id")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	id := e.ID
	if id == "" {
		id = "(no id)"
	}
	return Permanent(fmt.Errorf("event %s: %w", id, errors.Join(errs...)))
}

// envelope is the wire form of an event: the event's fields next to "v".
type envelope struct {
	V int `json:"v"`
	Event
}

// EncodeEvent returns e's versioned JSON envelope ({"v":1, …event fields}).
// It refuses an event that Validate rejects, with Validate's (Permanent)
// error, so that nothing is ever enqueued that a consumer would reject.
// Encoding is deterministic: the same event always gives the same bytes.
func EncodeEvent(e Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(envelope{V: EnvelopeVersion, Event: e})
	if err != nil {
		return nil, Permanent(fmt.Errorf("%w: encode: %w", ErrInvalidEvent, err))
	}
	return b, nil
}

// DecodeEvent parses a versioned JSON envelope written by EncodeEvent.
// Errors, all marked Permanent and naming what was wrong: ErrUnknownVersion
// when "v" is missing or not EnvelopeVersion, ErrUnknownKind for an unknown
// kind, ErrInvalidEvent for malformed JSON or any other problem Validate
// finds. Unknown fields are ignored, so that fields added within version 1
// do not break older readers.
func DecodeEvent(b []byte) (Event, error) {
	var head struct {
		V *int `json:"v"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return Event{}, Permanent(fmt.Errorf("%w: malformed JSON: %w", ErrInvalidEvent, err))
	}
	if head.V == nil {
		return Event{}, Permanent(fmt.Errorf("%w: missing \"v\"", ErrUnknownVersion))
	}
	if *head.V != EnvelopeVersion {
		return Event{}, Permanent(fmt.Errorf("%w: v=%d, want %d", ErrUnknownVersion, *head.V, EnvelopeVersion))
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return Event{}, Permanent(fmt.Errorf("%w: malformed JSON: %w", ErrInvalidEvent, err))
	}
	if err := env.Event.Validate(); err != nil {
		return Event{}, err
	}
	return env.Event, nil
}
