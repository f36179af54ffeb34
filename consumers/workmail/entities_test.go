package workmail_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// TestNameOrAddressHeldByGroupOrResource: users, groups and resources
// share WorkMail's names and addresses. A name a create needs, or an
// address a register or an email change needs, held by a group or a
// resource fails permanently, names that entity by type and id (never an
// address), and changes nothing: no group or resource is touched, and only
// the user idsync's own create made (when the clash is on the address)
// exists.
func TestNameOrAddressHeldByGroupOrResource(t *testing.T) {
	jane := func(t *testing.T) domain.Person { return person(t, "jane_01_observed") }
	tests := []struct {
		name string
		// seed makes the holder and returns its id and type.
		seed func(t *testing.T, f *fixture) (id, kind string)
		// joined: jane has her mailbox first, then changes her login to
		// the held address.
		joined  bool
		wantErr error
		wantOps []domain.OpKind // the ops that ran, the last failing
	}{
		{"create: name held by a group", func(t *testing.T, f *fixture) (string, string) {
			return entity(t)(f.sim.AddGroup(f.org, "jane.doe", ""))
		}, false, workmail.ErrUnmanaged, []domain.OpKind{domain.OpCreate}},
		{"create: name held by a resource", func(t *testing.T, f *fixture) (string, string) {
			return entity(t)(f.sim.AddResource(f.org, "jane.doe", "ROOM", ""))
		}, false, workmail.ErrUnmanaged, []domain.OpKind{domain.OpCreate}},
		{"register: address held by a group", func(t *testing.T, f *fixture) (string, string) {
			return entity(t)(f.sim.AddGroup(f.org, "Mail Team", "jane.doe@example.com"))
		}, false, workmail.ErrAddressInUse, []domain.OpKind{domain.OpCreate, domain.OpRegister}},
		{"register: address held by a resource", func(t *testing.T, f *fixture) (string, string) {
			return entity(t)(f.sim.AddResource(f.org, "room-1", "ROOM", "jane.doe@example.com"))
		}, false, workmail.ErrAddressInUse, []domain.OpKind{domain.OpCreate, domain.OpRegister}},
		{"update-email: address held by a group", func(t *testing.T, f *fixture) (string, string) {
			return entity(t)(f.sim.AddGroup(f.org, "Smiths", "jane.smith@example.com"))
		}, true, workmail.ErrAddressInUse, []domain.OpKind{domain.OpUpdateAttributes, domain.OpUpdateEmail}},
		{"update-email: address held by a resource", func(t *testing.T, f *fixture) (string, string) {
			return entity(t)(f.sim.AddResource(f.org, "projector", "EQUIPMENT", "jane.smith@example.com"))
		}, true, workmail.ErrAddressInUse, []domain.OpKind{domain.OpUpdateAttributes, domain.OpUpdateEmail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := setup(t, simworkmail.Options{})
			a := f.applier(t, f.cfg, workmail.Options{})
			p, last := jane(t), domain.TargetState{}
			if tt.joined {
				_, last, _ = step(t, a, p, last, t0)
				p = person(t, "jane_01_observed", "jane_03_renamed")
			}
			id, kind := tt.seed(t, f)
			before := f.sim.Organizations()

			plan, err := a.Plan(ctx, p, last, t0)
			if err != nil {
				t.Fatal(err)
			}
			state, res, err := consumers.Execute(ctx, a, p, last, plan, nil)
			if !errors.Is(err, tt.wantErr) || domain.KindOf(err) != domain.ErrorPermanent {
				t.Fatalf("err = %v (%s), want permanent %v", err, domain.KindOf(err), tt.wantErr)
			}
			var ran []domain.OpKind
			for _, r := range res {
				ran = append(ran, r.Op.Kind)
			}
			if diff := cmp.Diff(tt.wantOps, ran); diff != "" {
				t.Errorf("ops run (-want +got):\n%s", diff)
			}
			failed := res[len(res)-1]
			if want := "held by " + kind + " " + id; !strings.Contains(failed.Reason, want) || !strings.Contains(err.Error(), want) {
				t.Errorf("reason %q, want it to say %q", failed.Reason, want)
			}
			if strings.Contains(failed.Reason, "@") {
				t.Errorf("reason %q shows an address", failed.Reason)
			}
			after := f.sim.Organizations()
			if diff := cmp.Diff(before[0].Groups, after[0].Groups); diff != "" {
				t.Errorf("groups changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(before[0].Resources, after[0].Resources); diff != "" {
				t.Errorf("resources changed (-before +after):\n%s", diff)
			}
			switch {
			case tt.joined:
				if u := f.user(t, last.RemoteID); len(f.live()) != 1 || u.Email != "jane.doe@example.com" || state.Email != u.Email {
					t.Errorf("user %+v, state %+v; want the mailbox with its old address", u, state)
				}
			case tt.wantErr == workmail.ErrAddressInUse:
				if live := f.live(); len(live) != 1 || live[0].State != simworkmail.StateDisabled || state.RemoteID != live[0].UserID {
					t.Errorf("users %+v, state %+v; want idsync's own disabled user, kept in the state", live, state)
				}
			default:
				if len(f.sim.Users(f.org)) != 0 || !cmp.Equal(state, domain.TargetState{}) {
					t.Errorf("users %+v, state %+v; want none", f.sim.Users(f.org), state)
				}
			}
		})
	}
}

// entity returns the id and lower-case type of a seeded group or
// resource, failing the test on a seeding error.
func entity(t *testing.T) func(e simworkmail.Entity, err error) (string, string) {
	return func(e simworkmail.Entity, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e.ID, strings.ToLower(e.Type)
	}
}
