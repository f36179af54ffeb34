package connect_test

import (
	"slices"
	"testing"
	"time"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/consumers/targettest"
	"github.com/idsync/idsync/domain"
)

// TestConformance runs the shared target suite against the Connect
// stand-in under both leave policies.
func TestConformance(t *testing.T) {
	for _, config := range []string{"config-delete.json", "config-strip.json"} {
		t.Run(config, func(t *testing.T) {
			targettest.Run(t, func(t *testing.T) targettest.Harness {
				e := newEnv(t)
				cfg := e.config(t, config)
				return &harness{e: e, cfg: cfg, a: e.applier(t, cfg, connect.Options{})}
			})
		})
	}
}

type harness struct {
	e   *env
	cfg domain.ConnectConfig
	a   *connect.Applier
}

func (h *harness) Target() consumers.Target { return h.a }

// Entitle sets the membership of the agents group.
func (h *harness) Entitle(p domain.Person, in bool, at time.Time) domain.Person {
	return targettest.Membership(p, agents, in, at)
}

// Accounts reads every user back; an agent holding exactly the strip
// policy's profiles is one idsync disabled.
func (h *harness) Accounts(*testing.T) map[string]domain.TargetState {
	strip := h.cfg.OnLeave
	out := map[string]domain.TargetState{}
	for _, u := range h.e.sim.Users(h.e.instance) {
		status := domain.RemoteEnabled
		if strip.Action == domain.LeaveStrip && sameSet(u.SecurityProfileIDs, strip.SecurityProfileIDs) && u.RoutingProfileID == strip.RoutingProfileID {
			status = domain.RemoteDisabled
		}
		out[u.ID] = domain.TargetState{RemoteID: u.ID, Status: status, Name: u.Username, Email: u.Email,
			FirstName: u.FirstName, LastName: u.LastName, SecurityProfileIDs: u.SecurityProfileIDs,
			RoutingProfileID: u.RoutingProfileID, HierarchyGroupID: u.HierarchyGroupID}
	}
	return out
}

func (h *harness) Writes() int64 { return h.e.writes() }

// SeedUnmanaged makes an untagged user of that username, as an
// administrator would.
func (h *harness) SeedUnmanaged(t *testing.T, name string) string {
	t.Helper()
	id, err := h.e.sim.SeedUser(h.e.instance, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (h *harness) LeftStatus() domain.RemoteStatus {
	if h.cfg.OnLeave.Action == domain.LeaveStrip {
		return domain.RemoteDisabled
	}
	return domain.RemoteDeleted
}

func sameSet(a, b []string) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}

// CatchUp moves the stand-in's clock past its search lag.
func (h *harness) CatchUp(*testing.T) { h.e.catchUp() }
