package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
)

func readEventFile(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata", "events"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewEventIDGoldenVectors(t *testing.T) {
	// Expected ids computed independently (SHA-256 over length-prefixed
	// parts, Crockford base32) so that the id scheme cannot drift silently:
	// ids already stored in the ledger must keep colliding with redeliveries.
	tests := []struct {
		source    domain.Source
		sourceID  string
		key       string
		published string
		want      string
	}{
		{domain.SourceOktaHook, "1f1f3c2e-1b1a-11ef-9c1d-0b6c5e2f4a01", "00u1ab2cd3EF4gh5IJ6k7", "2024-05-15T08:00:12.345Z", "01HXXM871SPZKV594JSZ92W36H"},
		{domain.SourceOktaHook, "7a9c0d4e-1b1a-11ef-9c1d-0b6c5e2f4a02", "00u1ab2cd3EF4gh5IJ6k7", "2024-05-16T17:45:03.002Z", "01HY183T8TH7R2JW7WRV82RD1D"},
	}
	for _, tt := range tests {
		at, err := time.Parse(time.RFC3339Nano, tt.published)
		if err != nil {
			t.Fatal(err)
		}
		if got := domain.NewEventID(tt.source, tt.sourceID, tt.key, at); got != tt.want {
			t.Errorf("NewEventID(%s, %s, %s, %s) = %s, want %s", tt.source, tt.sourceID, tt.key, tt.published, got, tt.want)
		}
	}
}

func TestNewEventID(t *testing.T) {
	at := time.Date(2024, 5, 15, 8, 0, 12, 345_000_000, time.UTC)
	base := domain.NewEventID(domain.SourceOktaHook, "uuid-1", "00u1", at)

	id, err := ulid.ParseStrict(base)
	if err != nil {
		t.Fatalf("id %q is not a ULID: %v", base, err)
	}
	if got := ulid.Time(id.Time()); !got.Equal(at) {
		t.Errorf("ULID time = %v, want occurred-at %v", got, at)
	}
	if again := domain.NewEventID(domain.SourceOktaHook, "uuid-1", "00u1", at.In(time.FixedZone("x", 3600))); again != base {
		t.Errorf("same fact in another zone: %s != %s", again, base)
	}

	differ := map[string]string{
		"source":         domain.NewEventID(domain.SourceReplay, "uuid-1", "00u1", at),
		"source event":   domain.NewEventID(domain.SourceOktaHook, "uuid-2", "00u1", at),
		"subject":        domain.NewEventID(domain.SourceOktaHook, "uuid-1", "00u2", at),
		"occurred-at":    domain.NewEventID(domain.SourceOktaHook, "uuid-1", "00u1", at.Add(time.Millisecond)),
		"part boundary":  domain.NewEventID(domain.SourceOktaHook, "uuid-100u", "1", at),
		"part boundary2": domain.NewEventID(domain.SourceOktaHook, "uuid-", "100u1", at),
	}
	for what, got := range differ {
		if got == base {
			t.Errorf("changing the %s gave the same id %s", what, got)
		}
	}
	later := domain.NewEventID(domain.SourceOktaHook, "uuid-0", "00u1", at.Add(time.Second))
	if later <= base {
		t.Errorf("ids do not sort by occurred-at: %s <= %s", later, base)
	}

	clamped := []struct {
		name string
		at   time.Time
		ms   uint64
	}{
		{"zero time", time.Time{}, 0},
		{"before 1970", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{"after the ULID range", time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), ulid.MaxTime()},
	}
	for _, c := range clamped {
		got := ulid.MustParseStrict(domain.NewEventID(domain.SourceOktaHook, "u", "k", c.at))
		if got.Time() != c.ms {
			t.Errorf("%s: ULID time %d, want %d", c.name, got.Time(), c.ms)
		}
	}
}

func TestEventEnvelopeRoundTrip(t *testing.T) {
	for _, name := range []string{"member_added.json", "observed.json", "suspended.json", "reconcile.json", "relink.json"} {
		t.Run(name, func(t *testing.T) {
			raw := readEventFile(t, name)
			e, err := domain.DecodeEvent(raw)
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if want := domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), e.OccurredAt); e.ID != want {
				t.Errorf("testdata id %s is not the deterministic id %s", e.ID, want)
			}
			enc, err := domain.EncodeEvent(e)
			if err != nil {
				t.Fatalf("EncodeEvent: %v", err)
			}
			var head struct {
				V int `json:"v"`
			}
			if err := json.Unmarshal(enc, &head); err != nil || head.V != domain.EnvelopeVersion {
				t.Errorf("encoded envelope v = %d (%v), want %d", head.V, err, domain.EnvelopeVersion)
			}
			back, err := domain.DecodeEvent(enc)
			if err != nil {
				t.Fatalf("DecodeEvent(EncodeEvent): %v", err)
			}
			if diff := cmp.Diff(e, back); diff != "" {
				t.Errorf("round trip changed the event (-first +second):\n%s", diff)
			}
			again, _ := domain.EncodeEvent(back)
			if !bytes.Equal(enc, again) {
				t.Errorf("encoding is not deterministic:\n%s\n%s", enc, again)
			}
			// The encoding says the same as the stored payload.
			var a, b any
			_ = json.Unmarshal(raw, &a)
			_ = json.Unmarshal(enc, &b)
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("encoding differs from testdata (-testdata +encoded):\n%s", diff)
			}
		})
	}
}

func TestDecodeEventObservedFields(t *testing.T) {
	e, err := domain.DecodeEvent(readEventFile(t, "observed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != domain.KindObserved || len(e.Groups) != 1 || len(e.NotGroups) != 1 {
		t.Fatalf("kind %s, %d groups, %d notGroups; want observed, 1, 1", e.Kind, len(e.Groups), len(e.NotGroups))
	}
	if e.Profile == nil || e.Profile.Title == nil || *e.Profile.Title != "" || e.Profile.FirstName == nil || *e.Profile.FirstName != "Jane" {
		t.Errorf("profile facts lost: %+v", e.Profile)
	}
	if e.Profile.Login == nil || e.Subject.IdCUserID == "" {
		t.Errorf("ids or login lost: %+v", e)
	}
}

func TestDecodeEventUnknownFieldsIgnored(t *testing.T) {
	raw := readEventFile(t, "suspended.json")
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["addedLater"] = "a field a newer producer writes within v1"
	b, _ := json.Marshal(m)
	if _, err := domain.DecodeEvent(b); err != nil {
		t.Fatalf("unknown field rejected: %v", err)
	}
}

func TestDecodeEventPermanentErrors(t *testing.T) {
	tests := []struct {
		file   string
		is     error
		detail string // must appear in the message
	}{
		{"unknown_version.json", domain.ErrUnknownVersion, "v=2"},
		{"missing_version.json", domain.ErrUnknownVersion, `missing "v"`},
		{"unknown_kind.json", domain.ErrUnknownKind, "user-teleported"},
		{"missing_id.json", domain.ErrInvalidEvent, "missing id"},
		{"bad_id.json", domain.ErrInvalidEvent, `"evt-42" is not a ULID`},
		{"missing_subject.json", domain.ErrInvalidEvent, "missing subject key"},
		{"unknown_source.json", domain.ErrInvalidEvent, "carrier-pigeon"},
		{"missing_occurred_at.json", domain.ErrInvalidEvent, "missing occurredAt"},
		{"member_added_without_group.json", domain.ErrInvalidEvent, "member-added without group id"},
		{"observed_overlap.json", domain.ErrInvalidEvent, "okta:00g4wdylwlJQZ63kM5y8 is also in groups"},
		{"truncated.json", domain.ErrInvalidEvent, "malformed JSON"},
		{"wrong_type.json", domain.ErrInvalidEvent, "malformed JSON"},
		{"reconcile_with_facts.json", domain.ErrInvalidEvent, "reconcile carries facts"},
		{"reconcile_without_target.json", domain.ErrInvalidEvent, "reconcile without target"},
		{"bad_target.json", domain.ErrInvalidEvent, `target "Work Mail" is not a target name`},
		{"relink_on_member_added.json", domain.ErrInvalidEvent, "replacesIdcUserId on a member-added event"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e, err := domain.DecodeEvent(readEventFile(t, "invalid", tt.file))
			if err == nil {
				t.Fatalf("decoded %+v, want an error", e)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q does not match %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not say %q", err, tt.detail)
			}
			if k := domain.KindOf(err); k != domain.ErrorPermanent {
				t.Errorf("KindOf = %s, want permanent", k)
			}
		})
	}
}

func TestValidateJoinsEveryProblem(t *testing.T) {
	err := domain.Event{Kind: "nope", Subject: domain.Subject{Login: "x"}}.Validate()
	for _, want := range []string{"(no id)", "missing id", `unknown source ""`, `unknown event kind "nope"`, "missing subject key", "missing occurredAt"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	if !errors.Is(err, domain.ErrUnknownKind) || !errors.Is(err, domain.ErrInvalidEvent) {
		t.Errorf("Validate() = %v, want it to match both ErrUnknownKind and ErrInvalidEvent", err)
	}
	observed := domain.Event{
		ID: domain.NewEventID(domain.SourceIdCSnapshot, "r", "00u1", time.Unix(1, 0)), Source: domain.SourceIdCSnapshot,
		Kind: domain.KindObserved, Subject: domain.Subject{OktaID: "00u1"}, OccurredAt: time.Unix(1, 0),
		Groups: []domain.GroupRef{{Name: "no ids"}}, NotGroups: []domain.GroupRef{{Name: "none either"}},
	}
	err = observed.Validate()
	for _, want := range []string{"groups[0] without group id", "notGroups[0] without group id"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestEncodeEventRejectsInvalid(t *testing.T) {
	b, err := domain.EncodeEvent(domain.Event{Kind: domain.KindSuspended, Source: domain.SourceOktaHook})
	if err == nil {
		t.Fatalf("encoded %s, want an error", b)
	}
	if !errors.Is(err, domain.ErrInvalidEvent) || domain.KindOf(err) != domain.ErrorPermanent {
		t.Errorf("EncodeEvent error %v: want permanent ErrInvalidEvent", err)
	}
}

func TestKindAndSourceKnown(t *testing.T) {
	for _, k := range []domain.Kind{domain.KindMemberAdded, domain.KindMemberRemoved, domain.KindProfileChanged,
		domain.KindSuspended, domain.KindUnsuspended, domain.KindDeactivated, domain.KindReactivated,
		domain.KindDeleted, domain.KindObserved, domain.KindReconcile} {
		if !k.Known() {
			t.Errorf("%s not known", k)
		}
	}
	if domain.Kind("member-add").Known() || domain.Source("okta").Known() {
		t.Error("near-miss names are known")
	}
	for _, s := range []domain.Source{domain.SourceOktaHook, domain.SourceIdCSnapshot, domain.SourceReplay, domain.SourceOktaAPI, domain.SourceIdCLookup} {
		if !s.Known() {
			t.Errorf("%s not known", s)
		}
	}
}

func TestDecodeEventTargetAndRelink(t *testing.T) {
	r, err := domain.DecodeEvent(readEventFile(t, "reconcile.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != domain.KindReconcile || r.Target != domain.TargetConnect || r.Profile != nil || r.Group != nil {
		t.Errorf("reconcile decoded as %+v, want kind reconcile for connect without facts", r)
	}
	l, err := domain.DecodeEvent(readEventFile(t, "relink.json"))
	if err != nil {
		t.Fatal(err)
	}
	if l.ReplacesIdCUserID != fxIdC || l.Subject.IdCUserID == fxIdC || l.Target != "" {
		t.Errorf("relink decoded as %+v, want it to replace %s, for every target", l, fxIdC)
	}
	// An older reader of v1 ignores "target": the field is optional and
	// absent from events for every target.
	s, err := domain.EncodeEvent(fxFact(domain.KindSuspended, 0, "s1"))
	if err != nil || strings.Contains(string(s), `"target"`) || strings.Contains(string(s), `"replacesIdcUserId"`) {
		t.Errorf("an event for every target encodes as %s (%v), want neither target nor replacesIdcUserId", s, err)
	}
}

func TestValidateRelinkNeedsBothIds(t *testing.T) {
	for name, mod := range map[string]func(*domain.Event){
		"no idc id":     func(e *domain.Event) { e.Subject.IdCUserID = "" },
		"no okta id":    func(e *domain.Event) { e.Subject.OktaID = "" },
		"replaces self": func(e *domain.Event) { e.ReplacesIdCUserID = e.Subject.IdCUserID },
	} {
		e := fxFact(domain.KindProfileChanged, 0, "relink", func(e *domain.Event) { e.ReplacesIdCUserID = "idc-old" }, mod)
		if err := e.Validate(); !errors.Is(err, domain.ErrInvalidEvent) || !strings.Contains(err.Error(), "replacesIdcUserId") {
			t.Errorf("%s: Validate() = %v, want an ErrInvalidEvent about replacesIdcUserId", name, err)
		}
	}
}

func TestRestamped(t *testing.T) {
	e := fxFact(domain.KindMemberAdded, 0, "snap:member-added", withGroup(fxMail), func(e *domain.Event) { e.Source = domain.SourceIdCSnapshot })
	later := e.Restamped(fxAt(30))
	if !later.OccurredAt.Equal(fxAt(30)) || later.ReceivedAt.Sub(later.OccurredAt) != e.ReceivedAt.Sub(e.OccurredAt) {
		t.Errorf("restamped at %v, received %v; want the same received offset", later.OccurredAt, later.ReceivedAt)
	}
	if later.ID == e.ID || later.ID != domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), fxAt(30)) {
		t.Errorf("restamped id %s, want the deterministic id at the new time", later.ID)
	}
	if back := later.Restamped(e.OccurredAt); !cmp.Equal(back, e) {
		t.Errorf("restamping back gives a different event:\n%s", cmp.Diff(e, back))
	}
	if e.OccurredAt != fxAt(0) {
		t.Error("Restamped modified its receiver")
	}
}
