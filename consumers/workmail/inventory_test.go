package workmail_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// TestInventoryListsUsers: the drift check's inventory reads every page
// of ListUsers through the real SDK client (150 users: two pages of 100)
// and reports each user's state, display name and IdC link, and its
// address while it is enabled; a user deregistered through the SDK shows
// DISABLED, and a deleted one is left out.
func TestInventoryListsUsers(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	ctx := context.Background()
	var ids []string
	for i := range 150 {
		id, err := f.sim.SeedUser(f.org, fmt.Sprintf("user%03d", i), fmt.Sprintf("user%03d@example.com", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	disabled, deleted := ids[7], ids[8]
	for _, id := range []string{disabled, deleted} {
		if _, err := f.client.DeregisterFromWorkMail(ctx, &sdk.DeregisterFromWorkMailInput{OrganizationId: aws.String(f.org), EntityId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.client.DeleteUser(ctx, &sdk.DeleteUserInput{OrganizationId: aws.String(f.org), UserId: aws.String(deleted)}); err != nil {
		t.Fatal(err)
	}
	before := f.sim.Control().Counters()["ListUsers"].Requests

	inv, err := workmail.NewInventory(workmail.InventoryOptions{API: f.client, Config: f.cfg})
	if err != nil {
		t.Fatal(err)
	}
	got, err := inv.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Control().Counters()["ListUsers"].Requests - before; n != 2 {
		t.Errorf("%d ListUsers requests for 150 users, want 2 pages of 100", n)
	}
	if _, ok := got[deleted]; ok || len(got) != 149 {
		t.Errorf("%d users listed (deleted one listed: %v), want the 149 not deleted", len(got), ok)
	}
	for _, tc := range []struct {
		id   string
		want domain.Observed
	}{
		{ids[0], domain.Observed{
			State:  domain.TargetState{Target: domain.TargetWorkMail, RemoteID: ids[0], Status: domain.RemoteEnabled, DisplayName: "user000", Email: "user000@example.com"},
			Fields: []domain.AccountField{domain.FieldStatus, domain.FieldDisplayName, domain.FieldIdentityProviderUserID, domain.FieldEmail}}},
		{disabled, domain.Observed{
			State:  domain.TargetState{Target: domain.TargetWorkMail, RemoteID: disabled, Status: domain.RemoteDisabled, DisplayName: "user007"},
			Fields: []domain.AccountField{domain.FieldStatus, domain.FieldDisplayName, domain.FieldIdentityProviderUserID}}},
	} {
		if d := cmp.Diff(tc.want, got[tc.id]); d != "" {
			t.Errorf("user %s (-want +got):\n%s", tc.id, d)
		}
	}
}

// TestNewInventoryRefusesBadSetup: no client or an organisation id that
// is not one is a configuration error.
func TestNewInventoryRefusesBadSetup(t *testing.T) {
	f := setup(t, simworkmail.Options{})
	bad := f.cfg
	bad.OrganizationID = "example"
	for _, tc := range []struct {
		name string
		api  workmail.InventoryAPI
		cfg  domain.WorkMailConfig
	}{{"no client", nil, f.cfg}, {"bad organisation", f.client, bad}} {
		if _, err := workmail.NewInventory(workmail.InventoryOptions{API: tc.api, Config: tc.cfg}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
