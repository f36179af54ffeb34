package workmail_test

import (
	"testing"
	"time"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/targettest"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// TestConformance runs the shared target suite against the WorkMail
// stand-in, with the testdata configuration (leave: disable, delete after
// 30 days).
func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Harness {
		f := setup(t, simworkmail.Options{})
		return &harness{f: f, a: f.applier(t, f.cfg, workmail.Options{})}
	})
}

type harness struct {
	f *fixture
	a *workmail.Applier
}

func (h *harness) Target() consumers.Target { return h.a }

// Entitle sets the membership of the configuration's first mail group.
func (h *harness) Entitle(p domain.Person, in bool, at time.Time) domain.Person {
	return targettest.Membership(p, h.f.cfg.Groups[0].Key(), in, at)
}

func (h *harness) Accounts(*testing.T) map[string]domain.TargetState {
	out := map[string]domain.TargetState{}
	for _, u := range h.f.live() {
		status := domain.RemoteDisabled
		if u.State == simworkmail.StateEnabled {
			status = domain.RemoteEnabled
		}
		out[u.UserID] = domain.TargetState{RemoteID: u.UserID, Status: status, Name: u.Name, Email: u.Email,
			DisplayName: u.DisplayName, FirstName: u.FirstName, LastName: u.LastName}
	}
	return out
}

func (h *harness) Writes() int64 { return h.f.writes() }

// SeedUnmanaged makes an enabled user of name with an address of the
// organisation's other domain, as an administrator would.
func (h *harness) SeedUnmanaged(t *testing.T, name string) string {
	t.Helper()
	id, err := h.f.sim.SeedUser(h.f.org, name, name+"@example.org")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (h *harness) LeftStatus() domain.RemoteStatus { return domain.RemoteDisabled }

// CatchUp does nothing: the WorkMail stand-in's reads see writes at once.
func (h *harness) CatchUp(*testing.T) {}
