package domain_test

import (
	"time"

	"github.com/idsync/idsync/domain"
)

// Fixtures shared by the fold, config and planner tests (prefixed fx so as
// not to collide with other test files of the package).
const (
	fxOkta = "00u1ab2cd3EF4gh5IJ6k7"
	fxIdC  = "9067c53e4f-3a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
	fxOrg  = "m-0123456789abcdef0123456789abcdef"
)

var (
	fxT0 = time.Date(2024, 5, 15, 8, 0, 0, 0, time.UTC)

	fxMail        = domain.GroupRef{OktaID: "00g4wdylwlJQZ63kM5y8", IdCID: "9067c53e4f-11112222-3333-4444-5555-666677778888", Name: "Mail Users"}
	fxMailEU      = domain.GroupRef{OktaID: "00g9euMailUsers00x7", Name: "Mail Users EU"}
	fxAgents      = domain.GroupRef{OktaID: "00g3vcxkvkIPY52jL4x7", IdCID: "9067c53e4f-aaaabbbb-cccc-dddd-eeee-ffff00001111", Name: "Support Agents"}
	fxSupervisors = domain.GroupRef{IdCID: "9067c53e4f-22223333-4444-5555-6666-777788889999", Name: "Support Supervisors"}
	fxUnmapped    = domain.GroupRef{OktaID: "00g0everyone0000x7", Name: "Everyone"}
)

// fxAt returns fxT0 plus n minutes.
func fxAt(n int) time.Time { return fxT0.Add(time.Duration(n) * time.Minute) }

func ptr(s string) *string { return &s }

// fxFact builds a valid event about the fixture person (both ids, login
// jane.doe@example.com) at fxAt(minute); opts adjust it before its
// deterministic id is computed.
func fxFact(kind domain.Kind, minute int, sourceEventID string, opts ...func(*domain.Event)) domain.Event {
	e := domain.Event{
		Source:        domain.SourceOktaHook,
		SourceEventID: sourceEventID,
		Kind:          kind,
		Subject:       domain.Subject{OktaID: fxOkta, IdCUserID: fxIdC, Login: "jane.doe@example.com"},
		OccurredAt:    fxAt(minute),
		ReceivedAt:    fxAt(minute).Add(2 * time.Second),
	}
	for _, o := range opts {
		o(&e)
	}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), e.OccurredAt)
	return e
}

func withGroup(g domain.GroupRef) func(*domain.Event) {
	return func(e *domain.Event) { e.Group = &g }
}

func withGroups(in, out []domain.GroupRef) func(*domain.Event) {
	return func(e *domain.Event) {
		e.Source = domain.SourceIdCSnapshot
		e.Groups, e.NotGroups = in, out
	}
}

func withProfile(p domain.Profile) func(*domain.Event) {
	return func(e *domain.Event) { e.Profile = &p }
}

func withSubject(s domain.Subject) func(*domain.Event) {
	return func(e *domain.Event) { e.Subject = s }
}

// fxJaneProfile is the fixture person's full profile as the snapshot sees it.
func fxJaneProfile() domain.Profile {
	return domain.Profile{
		Login: ptr("jane.doe@example.com"), FirstName: ptr("Jane"), LastName: ptr("Doe"),
		DisplayName: ptr("Jane Doe"), Email: ptr("jane.doe@example.com"),
		Department: ptr("Support"), Title: ptr("Agent"),
	}
}

// fxFold folds events into p in order.
func fxFold(p domain.Person, events ...domain.Event) domain.Person {
	for _, e := range events {
		p, _ = domain.Fold(p, e)
	}
	return p
}

// fxJane is the fixture person as observed at fxT0 with the full profile,
// a member of in and not of out.
func fxJane(in []domain.GroupRef, out ...domain.GroupRef) domain.Person {
	return fxFold(domain.Person{}, fxFact(domain.KindObserved, 0, "snap-0", withGroups(in, out), withProfile(fxJaneProfile())))
}
