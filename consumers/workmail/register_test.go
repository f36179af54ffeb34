package workmail_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// TestEnableOfAnAlreadyEnabledUser: idsync disabled the mailbox, an
// administrator enabled it again by hand under another address, and the
// person rejoins: the plan enables it with the planned address. WorkMail's
// RegisterToWorkMail on an ENABLED user "performs no change" (200, the
// address kept) or answers EntityAlreadyRegisteredException; under both
// answers the user must end with the planned primary address, which the
// recorded state then describes.
func TestEnableOfAnAlreadyEnabledUser(t *testing.T) {
	for _, mode := range []struct {
		name string
		v    simworkmail.EnabledRegistration
		note string
	}{
		{"200 no change", simworkmail.RegisterNoChange, "already enabled; primary address changed"},
		{"EntityAlreadyRegisteredException", simworkmail.RegisterAlreadyRegistered, "already registered; primary address changed"},
	} {
		for _, sameAddress := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, same address %v", mode.name, sameAddress), func(t *testing.T) {
				ctx := context.Background()
				f := setup(t, simworkmail.Options{RegisterEnabled: mode.v})
				a := f.applier(t, f.cfg, workmail.Options{})
				_, joined, _ := step(t, a, person(t, "jane_01_observed"), domain.TargetState{}, t0)
				left := person(t, "jane_01_observed", "jane_04_moved", "jane_05_left")
				_, disabled, _ := step(t, a, left, joined, t0)
				if disabled.Status != domain.RemoteDisabled {
					t.Fatalf("state after leaving %+v", disabled)
				}
				rejoined := person(t, "jane_01_observed", "jane_04_moved", "jane_05_left", "jane_06_rejoined")
				plan, err := a.Plan(ctx, rejoined, disabled, t0)
				if err != nil {
					t.Fatal(err)
				}
				if got := kinds(plan.Ops); len(got) == 0 || got[0] != domain.OpEnable {
					t.Fatalf("ops = %v, want enable first", got)
				}
				planned := plan.Ops[0].Email
				byHand := "jane.other@example.com"
				if sameAddress {
					byHand = planned
				}
				if _, err := f.client.RegisterToWorkMail(ctx, &sdk.RegisterToWorkMailInput{OrganizationId: aws.String(f.org),
					EntityId: aws.String(joined.RemoteID), Email: aws.String(byHand)}); err != nil {
					t.Fatal(err)
				}
				f.sim.Control().ResetCounters()
				state, res, err := consumers.Execute(ctx, a, rejoined, disabled, plan, nil)
				if err != nil {
					t.Fatalf("enable: %v", err)
				}
				u := f.user(t, joined.RemoteID)
				if u.State != simworkmail.StateEnabled || u.Email != planned || state.Email != u.Email ||
					state.Status != domain.RemoteEnabled {
					t.Errorf("user %s %s, state %+v; want enabled with the planned address", u.State, u.Email, state)
				}
				c := f.sim.Control().Counters()
				wantUpdates := int64(1)
				if sameAddress {
					wantUpdates = 0
				}
				if n := c["UpdatePrimaryEmailAddress"].Requests; n != wantUpdates {
					t.Errorf("%d UpdatePrimaryEmailAddress calls, want %d", n, wantUpdates)
				}
				if !sameAddress && res[0].Reason != mode.note {
					t.Errorf("reason %q, want %q", res[0].Reason, mode.note)
				}
				if strings.Contains(res[0].Reason, "@") {
					t.Errorf("reason %q shows an address", res[0].Reason)
				}
				if again, err := a.Plan(ctx, rejoined, state, t0); err != nil || len(again.Ops) != 0 {
					t.Errorf("re-plan = %v, %v; want nothing", kinds(again.Ops), err)
				}
			})
		}
	}
}
