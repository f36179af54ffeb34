package connect_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
)

// TestDryRun: a dry-run applier sends no write, reports every op as
// "would", returns the last state unchanged, and still reports what reads
// can tell (a clash with an unmanaged user, a missing account).
func TestDryRun(t *testing.T) {
	tests := []struct {
		name   string
		config string
		// setup runs with a real applier and returns jane, her state and
		// the change to plan in dry run.
		setup    func(t *testing.T, e *env, real *connect.Applier) (domain.Person, domain.TargetState)
		outcomes []string
		is       error
		remoteID string // of the first result; "" to skip the check
		adopted  bool
	}{
		{
			name: "join", config: "config-delete.json",
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			outcomes: []string{"create:would"}, remoteID: connect.DryRunUserID,
		},
		{
			name: "move and rename", config: "config-delete.json",
			setup: func(t *testing.T, e *env, real *connect.Applier) (domain.Person, domain.TargetState) {
				p, st := e.joined(t, real)
				p.LastName.Value = "Roe"
				return member(p, supervisors, true, 2), st
			},
			outcomes: []string{"update-identity:would", "update-security-profiles:would", "update-routing-profile:would"},
		},
		{
			name: "leave with delete", config: "config-delete.json",
			setup: func(t *testing.T, e *env, real *connect.Applier) (domain.Person, domain.TargetState) {
				p, st := e.joined(t, real)
				return member(p, agents, false, 2), st
			},
			outcomes: []string{"delete:would"},
		},
		{
			name: "leave with strip", config: "config-strip.json",
			setup: func(t *testing.T, e *env, real *connect.Applier) (domain.Person, domain.TargetState) {
				p, st := e.joined(t, real)
				return member(p, agents, false, 2), st
			},
			outcomes: []string{"strip:would"},
		},
		{
			name: "clash with an unmanaged user", config: "config-delete.json",
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				if _, err := e.sim.SeedUser(e.instance, "jane.doe@example.com"); err != nil {
					t.Fatal(err)
				}
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			outcomes: []string{"create:failed"}, is: connect.ErrNotOwned,
		},
		{
			name: "adoption after a crash", config: "config-delete.json",
			setup: func(t *testing.T, e *env, real *connect.Applier) (domain.Person, domain.TargetState) {
				p, _ := e.joined(t, real)
				return member(p, supervisors, true, 2), domain.TargetState{} // the state was lost
			},
			outcomes: []string{"create:would"}, adopted: true,
		},
		{
			name: "move of a missing account", config: "config-delete.json",
			setup: func(t *testing.T, e *env, real *connect.Applier) (domain.Person, domain.TargetState) {
				p, st := e.joined(t, real)
				e.deleteOutside(t, st.RemoteID)
				return member(p, supervisors, true, 2), st
			},
			outcomes: []string{"update-security-profiles:failed"}, is: connect.ErrAccountMissing,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			cfg := e.config(t, tt.config)
			real := e.applier(t, cfg, connect.Options{})
			dry := e.applier(t, cfg, connect.Options{DryRun: true})
			p, last := tt.setup(t, e, real)
			before := e.sim.Users(e.instance)
			e.sim.Control().ResetCounters()

			plan, err := dry.Plan(ctx, p, last, e.now)
			if err != nil {
				t.Fatal(err)
			}
			st, rs, err := dry.Apply(ctx, p, last, plan)
			if tt.is == nil && err != nil || tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("Apply error %v, want %v", err, tt.is)
			}
			if diff := cmp.Diff(tt.outcomes, outcomes(rs)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if tt.remoteID != "" && rs[0].RemoteID != tt.remoteID {
				t.Errorf("RemoteID %q, want %q", rs[0].RemoteID, tt.remoteID)
			}
			if len(rs) > 0 && rs[0].Adopted != tt.adopted {
				t.Errorf("Adopted = %v, want %v (%s)", rs[0].Adopted, tt.adopted, rs[0].Reason)
			}
			if diff := cmp.Diff(last, st); diff != "" {
				t.Errorf("dry run moved the state (-want +got):\n%s", diff)
			}
			if n := e.writes(); n != 0 {
				t.Errorf("%d write calls in dry run, want 0: %v", n, e.sim.Control().Counters())
			}
			if diff := cmp.Diff(before, e.sim.Users(e.instance)); diff != "" {
				t.Errorf("dry run changed the stand-in (-before +after):\n%s", diff)
			}
		})
	}
}
