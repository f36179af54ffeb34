package domain_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
)

var hookReceivedAt = time.Date(2024, 5, 15, 8, 0, 30, 0, time.UTC)

// Groups the tests configure as mapped.
var (
	hookSupportAgents = domain.GroupRef{OktaID: "00g3vcxkvkIPY52jL4x7", Name: "Support Agents"}
	hookMailUsers     = domain.GroupRef{OktaID: "00g4wdylwlJQZ63kM5y8", Name: "Mail Users"}
)

func hookMapped(ids ...string) func(domain.GroupRef) bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return func(g domain.GroupRef) bool { return set[g.OktaID] }
}

// hookEvent builds the event NormaliseOktaHook must produce for one log event.
func hookEvent(t *testing.T, kind domain.Kind, uuid, published, oktaID, login string, group *domain.GroupRef, withLogin bool) domain.Event {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, published)
	if err != nil {
		t.Fatal(err)
	}
	e := domain.Event{
		ID:            domain.NewEventID(domain.SourceOktaHook, uuid, oktaID, at),
		Source:        domain.SourceOktaHook,
		SourceEventID: uuid,
		Kind:          kind,
		Subject:       domain.Subject{OktaID: oktaID, Login: login},
		Group:         group,
		OccurredAt:    at,
		ReceivedAt:    hookReceivedAt,
	}
	if withLogin {
		l := login
		e.Profile = &domain.Profile{Login: &l}
	}
	return e
}

func readHook(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "okta", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNormaliseOktaHook(t *testing.T) {
	const (
		alex = "00u5a7b9c1d3E5f7G9h1"
		bea  = "00u6b8c0d2e4F6g8H0i2"
		cian = "00u7c9d1e3f5G7h9I1j3"
		dana = "00u8d0e2f4g6H8i0J2k4"
		eoin = "00u9e1f3g5h7I9j1K3l5"
		fia  = "00u0f2g4h6i8J0k2L4m6"
		ana  = "00ufh433fil4JtjEw4x7"
		uuid = "5e0a1c2e-1201-11ef-9f3a-0b1c2d3e4f"
	)
	mapped := hookMapped(hookSupportAgents.OktaID, hookMailUsers.OktaID)

	tests := []struct {
		file        string
		mapped      func(domain.GroupRef) bool
		wantEvents  func(t *testing.T) []domain.Event
		wantIgnored []domain.Ignored
	}{
		{
			file:   "group_membership_add.json",
			mapped: mapped,
			wantEvents: func(t *testing.T) []domain.Event {
				return []domain.Event{hookEvent(t, domain.KindMemberAdded, "3a0e6c5e-11d2-11ef-8b1c-8f5d2a6e4c01",
					"2024-05-14T09:12:02.771Z", ana, "ana.silva@example.com", &hookSupportAgents, false)}
			},
		},
		{
			file:   "group_membership_add.json",
			mapped: hookMapped(hookMailUsers.OktaID),
			wantIgnored: []domain.Ignored{{UUID: "3a0e6c5e-11d2-11ef-8b1c-8f5d2a6e4c01", EventType: "group.user_membership.add",
				PersonKey: ana, Reason: domain.IgnoreGroupNotMapped}},
		},
		{
			// A nil mapping accepts every group.
			file:   "group_membership_add.json",
			mapped: nil,
			wantEvents: func(t *testing.T) []domain.Event {
				return []domain.Event{hookEvent(t, domain.KindMemberAdded, "3a0e6c5e-11d2-11ef-8b1c-8f5d2a6e4c01",
					"2024-05-14T09:12:02.771Z", ana, "ana.silva@example.com", &hookSupportAgents, false)}
			},
		},
		{
			// UserGroup listed before User: targets are picked by type.
			file:   "group_membership_remove_targets_reversed.json",
			mapped: mapped,
			wantEvents: func(t *testing.T) []domain.Event {
				return []domain.Event{hookEvent(t, domain.KindMemberRemoved, "8d4b2f90-11de-11ef-a3c7-1b9e5f0d7a22",
					"2024-05-14T10:40:17.095Z", ana, "ana.silva@example.com", &hookSupportAgents, false)}
			},
		},
		{
			// The actor is a User too; the subject is the User target.
			file:   "user_lifecycle_deactivate.json",
			mapped: mapped,
			wantEvents: func(t *testing.T) []domain.Event {
				return []domain.Event{hookEvent(t, domain.KindDeactivated, "ab62c0bc-2837-11eb-9823-9fb8f750c5a9",
					"2020-11-16T18:15:12.862Z", "00u3m90rxKjGQ0G6L1d6", "john.doe@example.com", nil, false)}
			},
		},
		{
			// Okta's documented sample delivery: a sign-in, not an identity change.
			file:   "documented_sample_session_start.json",
			mapped: mapped,
			wantIgnored: []domain.Ignored{{UUID: "f790999f-fe87-467a-9880-6982a583986c", EventType: "user.session.start",
				Reason: domain.IgnoreUnsupportedType}},
		},
		{
			file:   "batch_mixed.json",
			mapped: mapped,
			wantEvents: func(t *testing.T) []domain.Event {
				return []domain.Event{
					hookEvent(t, domain.KindSuspended, uuid+"01", "2024-05-15T08:00:01.101Z", alex, "alex.murphy@example.com", nil, false),
					hookEvent(t, domain.KindUnsuspended, uuid+"02", "2024-05-15T08:00:02.202Z", alex, "alex.murphy@example.com", nil, false),
					hookEvent(t, domain.KindReactivated, uuid+"03", "2024-05-15T08:00:03.303Z", bea, "bea.nolan@example.com", nil, false),
					hookEvent(t, domain.KindDeleted, uuid+"04", "2024-05-15T08:00:04.404Z", cian, "cian.walsh@example.com", nil, false),
					hookEvent(t, domain.KindProfileChanged, uuid+"05", "2024-05-15T08:00:05.505Z", dana, "dana.renamed@example.com", nil, true),
					hookEvent(t, domain.KindProfileChanged, uuid+"06", "2024-05-15T08:00:06.606Z", eoin, "eoin.kelly@example.com", nil, true),
					hookEvent(t, domain.KindReactivated, uuid+"07", "2024-05-15T08:00:07.707Z", eoin, "eoin.kelly@example.com", nil, false),
					hookEvent(t, domain.KindMemberAdded, uuid+"16", "2024-05-15T08:00:16.616Z", bea, "bea.nolan@example.com", &hookMailUsers, false),
				}
			},
			wantIgnored: []domain.Ignored{
				{UUID: uuid + "08", EventType: "application.user_membership.add", PersonKey: fia, Reason: domain.IgnoreAppAssignment},
				{UUID: uuid + "09", EventType: "application.user_membership.remove", PersonKey: fia, Reason: domain.IgnoreAppAssignment},
				{UUID: uuid + "10", EventType: "group.lifecycle.delete", Reason: domain.IgnoreGroupDeleted},
				{UUID: uuid + "11", EventType: "group.user_membership.add", PersonKey: fia, Reason: domain.IgnoreGroupNotMapped},
				{UUID: uuid + "12", EventType: "group.user_membership.add", PersonKey: bea,
					Reason: domain.IgnoreOutcomePrefix + "FAILURE: User is already a member of this group"},
				{UUID: uuid + "13", EventType: "user.lifecycle.deactivate", Reason: domain.IgnoreNoUserTarget},
				{UUID: uuid + "01", EventType: "user.lifecycle.suspend", Reason: domain.IgnoreDuplicateUUID},
				{UUID: uuid + "15", EventType: "user.session.start", Reason: domain.IgnoreUnsupportedType},
				{EventType: "user.lifecycle.suspend", Reason: domain.IgnoreMissingUUID},
				{UUID: uuid + "18", EventType: "user.lifecycle.suspend", PersonKey: cian, Reason: domain.IgnoreBadPublished},
				{UUID: uuid + "19", EventType: "user.lifecycle.deactivate",
					Reason: domain.IgnoreMalformedPrefix + "data.events[18]: field target.id has JSON number, want string (at byte offset 1313)"},
				{UUID: uuid + "20", EventType: "group.user_membership.remove", PersonKey: dana, Reason: domain.IgnoreNoGroupTarget},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := domain.NormaliseOktaHook(readHook(t, tc.file), tc.mapped, hookReceivedAt)
			if err != nil {
				t.Fatalf("NormaliseOktaHook: %v", err)
			}
			var want []domain.Event
			if tc.wantEvents != nil {
				want = tc.wantEvents(t)
			}
			if diff := cmp.Diff(want, got.Events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIgnored, got.Ignored); diff != "" {
				t.Errorf("ignored (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormaliseOktaHookErrors(t *testing.T) {
	tests := []struct {
		name     string
		body     []byte
		sentinel error
		contains string
	}{
		{"trailing comma", readHook(t, "malformed_trailing_comma.json"), domain.ErrMalformedHook, "invalid JSON at byte offset"},
		{"wrong envelope type", readHook(t, "wrong_event_type.json"), domain.ErrMalformedHook, `eventType "com.okta.oauth2.tokens.transform"`},
		{"events not an array", readHook(t, "events_not_array.json"), domain.ErrMalformedHook, "field data.events has JSON object"},
		{"unsupported version", readHook(t, "unsupported_version.json"), domain.ErrUnsupportedHookVersion, `eventTypeVersion "2.0"`},
		{"no data", readHook(t, "no_data.json"), domain.ErrMalformedHook, "no data.events array"},
		{"empty body", nil, domain.ErrMalformedHook, "invalid JSON at byte offset 0"},
		{"not an object", []byte(`["com.okta.event_hook"]`), domain.ErrMalformedHook, "field (top level) has JSON array"},
		{"null events", []byte(`{"eventType":"com.okta.event_hook","data":{"events":null}}`), domain.ErrMalformedHook, "no data.events array"},
		{"eventType wrong type", []byte(`{"eventType":7,"data":{"events":[]}}`), domain.ErrMalformedHook, "field eventType has JSON number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.NormaliseOktaHook(tc.body, nil, hookReceivedAt)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error = %v, want one wrapping %v", err, tc.sentinel)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not say %q", err, tc.contains)
			}
			if k := domain.KindOf(err); k != domain.ErrorPermanent {
				t.Errorf("error classified %v, want permanent", k)
			}
			if got.Events != nil || got.Ignored != nil {
				t.Errorf("result = %+v alongside an error, want zero", got)
			}
		})
	}
}

// The syntax error's offset points at the offending byte: the '}' after the
// trailing comma in the client object.
func TestNormaliseOktaHookSyntaxErrorOffset(t *testing.T) {
	body := readHook(t, "malformed_trailing_comma.json")
	_, err := domain.NormaliseOktaHook(body, nil, hookReceivedAt)
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Fatalf("error %v does not wrap a *json.SyntaxError", err)
	}
	before := strings.TrimRight(string(body[:syntax.Offset-1]), " \n\t")
	if body[syntax.Offset-1] != '}' || !strings.HasSuffix(before, ",") {
		t.Errorf("offset %d points at %q, want the '}' after a trailing comma", syntax.Offset, body[syntax.Offset-1])
	}
}

// A redelivery of the same log event in another delivery (new envelope
// eventId, other companions) yields the same event id.
func TestNormaliseOktaHookRedeliveryCollides(t *testing.T) {
	first, err := domain.NormaliseOktaHook(readHook(t, "group_membership_add.json"), nil, hookReceivedAt)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(readHook(t, "group_membership_add.json"), &env); err != nil {
		t.Fatal(err)
	}
	env["eventId"] = "11111111-2222-3333-4444-555555555555"
	data := env["data"].(map[string]any)
	events := data["events"].([]any)
	other := map[string]any{"uuid": "ffffffff-0000-11ef-8b1c-000000000000", "published": "2024-05-14T09:13:00Z",
		"eventType": "user.lifecycle.suspend", "target": []any{map[string]any{"id": "00uOTHER", "type": "User"}}}
	data["events"] = append([]any{other}, events...)
	body, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	second, err := domain.NormaliseOktaHook(body, nil, hookReceivedAt.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Events) != 2 {
		t.Fatalf("got %d events, want 2", len(second.Events))
	}
	if first.Events[0].ID != second.Events[1].ID {
		t.Errorf("redelivered event id %s, first delivery %s: want equal", second.Events[1].ID, first.Events[0].ID)
	}
	if second.Events[0].ID == second.Events[1].ID {
		t.Errorf("distinct log events share id %s", second.Events[0].ID)
	}
}

// Targets are matched by type regardless of case, and a User target without
// an id is skipped in favour of one with an id.
func TestNormaliseOktaHookTargetSelection(t *testing.T) {
	body := []byte(`{"eventType":"com.okta.event_hook","eventTypeVersion":"1.1","data":{"events":[
	 {"uuid":"u-1","published":"2024-05-14T09:12:02+02:00","eventType":"group.user_membership.add",
	  "outcome":{"result":"SUCCESS"},
	  "target":[{"type":"User","alternateId":"ghost"},{"id":"00g3vcxkvkIPY52jL4x7","type":"usergroup","alternateId":"unknown"},
	            {"id":"00uREAL","type":"user","alternateId":"real@example.com"}]}]}}`)
	got, err := domain.NormaliseOktaHook(body, hookMapped(hookSupportAgents.OktaID), hookReceivedAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 1 {
		t.Fatalf("got %+v, want one event", got)
	}
	e := got.Events[0]
	if e.Subject.OktaID != "00uREAL" || e.Subject.Login != "real@example.com" || e.Group == nil || e.Group.OktaID != hookSupportAgents.OktaID {
		t.Errorf("event %+v: wrong subject or group", e)
	}
	if want := time.Date(2024, 5, 14, 7, 12, 2, 0, time.UTC); !e.OccurredAt.Equal(want) || e.OccurredAt.Location() != time.UTC {
		t.Errorf("OccurredAt = %v, want %v in UTC", e.OccurredAt, want)
	}
}
